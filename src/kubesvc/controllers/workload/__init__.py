"""What the workload controllers share: pod predicates, ownership, expectations, hashing.

The ReplicaSet/ReplicationController, Deployment and DaemonSet controllers all
decide over the same facts: which pods are active, ready and available; which
object controls which (``ownerReferences`` with ``controller: true``); which
pods to delete first when scaling down; how many creations and deletions are
still in flight (expectations). Everything here is pure except
``Expectations``, which holds in-memory bookkeeping with an injected clock.
"""
