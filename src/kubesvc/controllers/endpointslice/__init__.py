"""EndpointSlices for Services with a selector, computed as Kubernetes computes them.

* ``pods``: which pods count as endpoints and how (pure predicates);
* ``reconciler``: ``reconcile(service, pods, slices) -> SlicePlan`` (pure; the
  algorithm is in its docstring);
* ``tracker``: the generations we wrote, so the controller never acts on a
  cache older than its own writes;
* ``triggertime``: the ``last-change-trigger-time`` annotation;
* ``indexes``: cache indexes from selectors to pods and back;
* ``controller``: informers, handlers that enqueue, and the sync that applies
  the plan.

The Endpoints controller (``controllers.endpoints``) and the mirroring
controller (``controllers.endpointslicemirroring``) reuse ``pods``,
``tracker`` and ``triggertime``.
"""
