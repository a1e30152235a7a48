"""The node agent: kubelet's job for kubesvc.

It registers a Node, renews its Lease, and runs the pods the scheduler bound
to it as ordinary processes, reporting their status back through the API so
that endpoints follow real readiness.

Seams (each a narrow protocol with its implementations beside it):

* ``sandbox``: a pod's network and identity (netns mode: its own network, mount
  and UTS namespaces on the bridge ``kubesvc0``; loopback mode: an address in
  127.0.0.0/8). ``sandbox.base.Sandbox``.
* ``runtime``: containers as processes (later, images through a container
  runtime). ``runtime.base.ContainerRuntime``.
* ``probes``, ``logs``, ``volumes``: what the pod worker uses around them.

Invariant: everything the agent creates on the host (processes, namespaces,
veths, mounts, files) is recorded under its state directory before it is
created, so that a restarted agent re-adopts it and ``kubesvc node --cleanup``
removes it.
"""
