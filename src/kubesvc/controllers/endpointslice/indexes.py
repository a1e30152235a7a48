"""Cache indexes that answer "which pods does this Service select" and the reverse fast.

A Service selector is a set of ``key=value`` pairs that must all match, so every
selected pod carries each pair. Pods are filed under ``namespace/key=value`` for
each of their labels, Services under the same string for each pair of their
selector. ``pods_for_service`` reads the pods filed under the selector's rarest
pair; ``services_for_pod`` reads the Services filed under any of the pod's
labels. Both return *candidates*: callers still check the full selector.

Informers are shared, so the indexes carry a prefixed name and are added once
(``ensure_index``).
"""

from __future__ import annotations

from typing import Any

from kubesvc.client.cache import IndexFunc
from kubesvc.client.informer import Informer
from kubesvc.controllers.endpointslice.pods import labels_of, meta, service_selector

Obj = dict[str, Any]

POD_LABELS = "endpoints/pod-labels"
SERVICE_SELECTOR = "endpoints/service-selector"


def pod_label_index(pod: Obj) -> list[str]:
    ns = meta(pod).get("namespace") or ""
    return [f"{ns}/{k}={v}" for k, v in labels_of(pod).items()]


def service_selector_index(service: Obj) -> list[str]:
    selector = service_selector(service)
    if selector is None:
        return []
    ns = meta(service).get("namespace") or ""
    return [f"{ns}/{k}={v}" for k, v in selector.items()]


def ensure_index(informer: Informer, name: str, fn: IndexFunc) -> None:
    try:
        informer.add_indexer(name, fn)
    except ValueError:
        pass  # another controller sharing this informer added it already


def pods_for_service(pods: Informer, service: Obj) -> list[Obj]:
    """Candidate pods: those carrying the selector pair that the fewest pods carry."""
    selector = service_selector(service)
    if selector is None:
        return []
    ns = meta(service).get("namespace") or ""
    best: list[str] | None = None
    for k, v in selector.items():
        keys = pods.cache.index_keys(POD_LABELS, f"{ns}/{k}={v}")
        if best is None or len(keys) < len(best):
            best = keys
        if not best:
            break
    return [o for o in (pods.cache.get(k) for k in best or []) if o is not None]


def services_for_pod(services: Informer, pod: Obj) -> list[Obj]:
    """Candidate Services: those whose selector shares at least one pair with the pod."""
    ns = meta(pod).get("namespace") or ""
    keys: set[str] = set()
    for k, v in labels_of(pod).items():
        keys.update(services.cache.index_keys(SERVICE_SELECTOR, f"{ns}/{k}={v}"))
    return [o for o in (services.cache.get(k) for k in sorted(keys)) if o is not None]
