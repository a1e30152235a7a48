"""A pod's volumes: what each one holds (``plan``, pure) and putting it on disk (``write``).

The pod worker fetches the ConfigMaps and Secrets the pod names
(``envvars.referenced_objects``), calls ``plan.plan_volumes`` and then
``write.materialise`` for each plan, before any container starts. A plan with an
``error`` (a missing ConfigMap or key, a bad path) keeps the pod in
ContainerCreating with a ``FailedMount`` Event, as kubelet does; a plan with an
``unsupported`` note (persistentVolumeClaim, a serviceAccountToken projection)
gets a Warning Event and an empty directory (or the files kubesvc can make).
For each container, ``plan.container_mounts`` turns its ``volumeMounts`` into
the runtime's ``Mount`` objects and ``write.prepare_sub_paths`` makes their
subPath sources.

File-backed volumes (configMap, secret, downwardAPI, projected) live under
``<pod>/volumes/<name>/`` in kubelet's atomic layout: the files sit in a
timestamped ``..<ts>`` directory, ``..data`` links to it, and the names users
see are links through ``..data``; an update writes a new directory and swaps
``..data`` in one rename, so readers never see half of a change. emptyDir is a
plain directory there; hostPath is the host's own path.
"""
