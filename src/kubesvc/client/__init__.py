"""Everything that talks to the API: every component is a client of it.

* ``kubeconfig``: where the API is and how to authenticate (``ClientConfig``);
* ``rest``: the verbs (``ApiClient``) over plain dicts, and watch streams;
* ``errors``: what a call can raise (the tree is drawn in its docstring);
* ``cache``, ``reflector``, ``informer``, ``factory``: list+watch into an
  indexed cache with handler fan-out, shared per process;
* ``workqueue``, ``ratelimit``: the keyed queue controllers work from;
* ``controller``: ``QueueController``, the worker loop around ``sync(key)``;
* ``events``: ``EventRecorder``, core/v1 Events with aggregation.

The client never imports the API server or storage: it speaks HTTP only.
"""
