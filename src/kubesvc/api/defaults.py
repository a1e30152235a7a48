"""Defaulting of objects as Kubernetes 1.32 does it on create and update (pure).

Each function takes the decoded object and fills in what the upstream
``SetDefaults_*`` functions fill in, in place, so that what is stored and served
looks as on a real cluster (``kubectl get -o yaml`` and ``describe`` print these
fields). Only fields whose default is unconditional live here; defaults that need
allocation (ClusterIPs, node ports) belong to the API server's strategies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    if "imagePullPolicy" not in c:
        image = str(c.get("image", ""))
        tagless = ":" not in image.rsplit("/", 1)[-1] and "@" not in image
        latest = image.endswith(":latest") or tagless
        c["imagePullPolicy"] = "Always" if latest else "IfNotPresent"
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(probe_name)
        if isinstance(probe, dict):
            _probe(probe)
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")


def _probe(p: Obj) -> None:
    p.setdefault("timeoutSeconds", 1)
    p.setdefault("periodSeconds", 10)
    p.setdefault("successThreshold", 1)
    p.setdefault("failureThreshold", 3)
    http = p.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _container(c)
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        for src in ("configMap", "secret", "downwardAPI", "projected"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
    if spec.get("hostNetwork"):
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                for p in (c.get("ports") or []) if isinstance(c, dict) else []:
                    if isinstance(p, dict) and "containerPort" in p:
                        p.setdefault("hostPort", p["containerPort"])


def pod(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        pod_spec(spec)
        if spec.get("serviceAccountName") is None and spec.get("serviceAccount") is None:
            spec["serviceAccountName"] = "default"
            spec["serviceAccount"] = "default"
        spec.setdefault("priority", 0)
        tolerations = spec.setdefault("tolerations", [])
        if isinstance(tolerations, list) and not tolerations:
            for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
                tolerations.append(
                    {
                        "key": key,
                        "operator": "Exists",
                        "effect": "NoExecute",
                        "tolerationSeconds": 300,
                    }
                )
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", "BestEffort")


def _template(obj: Obj) -> None:
    tmpl = (obj.get("spec") or {}).get("template")
    if isinstance(tmpl, dict):
        spec = tmpl.setdefault("spec", {})
        if isinstance(spec, dict):
            pod_spec(spec)
        meta = tmpl.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta.setdefault("creationTimestamp", None)


def replication_controller(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not spec.get("selector") and labels:
        spec["selector"] = dict(labels)
    if not (obj.get("metadata") or {}).get("labels") and labels:
        obj.setdefault("metadata", {})["labels"] = dict(labels)
    spec.setdefault("replicas", 1)
    _template(obj)
    obj.setdefault("status", {}).setdefault("replicas", 0)


def replica_set(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
    _template(obj)
    obj.setdefault("status", {}).setdefault("replicas", 0)


def deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            if isinstance(ru, dict):
                ru.setdefault("maxUnavailable", "25%")
                ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)
    obj.setdefault("status", {})


def daemon_set(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            if isinstance(ru, dict):
                ru.setdefault("maxUnavailable", 1)
                ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        for key in (
            "currentNumberScheduled",
            "desiredNumberScheduled",
            "numberMisscheduled",
            "numberReady",
        ):
            status.setdefault(key, 0)


def _externally_accessible(spec: Obj) -> bool:
    stype = spec.get("type")
    return stype in ("LoadBalancer", "NodePort") or (
        stype == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def service(obj: Obj) -> None:
    """``SetDefaults_Service`` (1.32), applied on every create and update.

    What needs cluster state is not here: clusterIP(s), ipFamilies and
    ipFamilyPolicy, node ports and the health-check node port are filled in by
    the allocation step of the API server's Service strategy.
    """
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = spec.get("sessionAffinityConfig")
        client_ip = cfg.get("clientIP") if isinstance(cfg, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    stype = spec["type"]
    for p in spec.get("ports") or []:
        if not isinstance(p, dict):
            continue
        if not p.get("protocol"):
            p["protocol"] = "TCP"
        if p.get("targetPort") in (None, 0, ""):
            port = p.get("port")
            p["targetPort"] = port if isinstance(port, int) else 0
    if _externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and stype in (
        "NodePort",
        "LoadBalancer",
        "ClusterIP",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if stype == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        lb = status.setdefault("loadBalancer", {})
        if stype == "LoadBalancer" and isinstance(lb, dict):
            # LoadBalancerIPMode (on by default since 1.30): an IP without a mode is a VIP.
            for ing in lb.get("ingress") or []:
                if isinstance(ing, dict) and ing.get("ip") and ing.get("ipMode") is None:
                    ing["ipMode"] = "VIP"


def namespace(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("finalizers", ["kubernetes"])
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Active")
    meta = obj.setdefault("metadata", {})
    labels = meta.setdefault("labels", {})
    if isinstance(labels, dict) and meta.get("name"):
        labels["kubernetes.io/metadata.name"] = meta["name"]


def secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")


def endpoint_slice(obj: Obj) -> None:
    for p in obj.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            p.setdefault("name", "")
    for e in obj.get("endpoints") or []:
        if isinstance(e, dict):
            e.setdefault("conditions", {})


def endpoints(obj: Obj) -> None:
    for subset in obj.get("subsets") or []:
        for p in (subset.get("ports") or []) if isinstance(subset, dict) else []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")


def ingress(obj: Obj) -> None:
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def event(obj: Obj) -> None:
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")


DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "Pod"): pod,
    ("", "ReplicationController"): replication_controller,
    ("", "Service"): service,
    ("", "Namespace"): namespace,
    ("", "Secret"): secret,
    ("", "Endpoints"): endpoints,
    ("", "Event"): event,
    ("apps", "Deployment"): deployment,
    ("apps", "ReplicaSet"): replica_set,
    ("apps", "DaemonSet"): daemon_set,
    ("discovery.k8s.io", "EndpointSlice"): endpoint_slice,
    ("networking.k8s.io", "Ingress"): ingress,
}


def apply_defaults(group: str, kind: str, obj: Obj) -> None:
    """Default ``obj`` in place as Kubernetes would for its kind."""
    fn = DEFAULTERS.get((group, kind))
    if fn is not None:
        fn(obj)
