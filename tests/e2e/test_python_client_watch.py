"""The official Python client (``kubernetes==32.0.1``): lists and watches.

Lists with label and field selectors, ``limit``/``continue`` paging (one
consistent snapshot across pages) and ``resourceVersion``/``resourceVersionMatch``;
watches from a resourceVersion, without one, through a selector, until their
timeout, and from a compacted revision (410, in the two ways the client
handles it: at once with ``timeout_seconds``, after one retry without). The
compaction test runs its own server on the sqlite store, compacting every
second and keeping one revision (``compact_interval``/``compact_keep``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from tests.conftest import ApiProcess, start_server, stop_server

pytestmark = pytest.mark.e2e


def make_client(kubeconfig: Path) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


@pytest.fixture
def v1(api_process: ApiProcess) -> Iterator[client.CoreV1Api]:
    api = make_client(api_process.kubeconfig)
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def ns(v1: client.CoreV1Api) -> Iterator[str]:
    name = f"pyw-{uuid.uuid4().hex[:10]}"
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    v1.delete_namespace(name)


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def wait_until(check: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- lists: selectors, paging, resourceVersion -------------------------------------------


@pytest.fixture
def seven_configmaps(v1: client.CoreV1Api, ns: str) -> str:
    for i in range(7):
        labels = {"i": str(i), "parity": "even" if i % 2 == 0 else "odd"}
        if i < 3:
            labels["low"] = ""
        v1.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{i}", "labels": labels}})
    return ns


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("parity=even", [0, 2, 4, 6], id="equals"),
        pytest.param("parity==odd", [1, 3, 5], id="double-equals"),
        pytest.param("parity!=even", [1, 3, 5], id="not-equals"),
        pytest.param("i in (1,2,9)", [1, 2], id="in"),
        pytest.param("i notin (0,1,2,3)", [4, 5, 6], id="notin"),
        pytest.param("low", [0, 1, 2], id="exists"),
        pytest.param("!low", [3, 4, 5, 6], id="not-exists"),
        pytest.param("parity=even,low", [0, 2], id="and"),
        pytest.param("nothere=x", [], id="no-match"),
    ],
)
def test_list_label_selector(
    v1: client.CoreV1Api, seven_configmaps: str, selector: str, expected: list[int]
) -> None:
    got = v1.list_namespaced_config_map(seven_configmaps, label_selector=selector)
    assert [o.metadata.name for o in got.items] == [f"cm-{i}" for i in expected]


def test_list_field_selector(v1: client.CoreV1Api, seven_configmaps: str) -> None:
    ns = seven_configmaps
    by_name = v1.list_namespaced_config_map(ns, field_selector="metadata.name=cm-3")
    assert [o.metadata.name for o in by_name.items] == ["cm-3"]
    others = v1.list_namespaced_config_map(
        ns, field_selector=f"metadata.name!=cm-3,metadata.namespace={ns}"
    )
    assert len(others.items) == 6
    everywhere = v1.list_config_map_for_all_namespaces(field_selector="metadata.name=cm-5")
    assert [(o.metadata.namespace, o.metadata.name) for o in everywhere.items] == [(ns, "cm-5")]

    v1.create_namespaced_pod(
        ns, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    )
    pending = v1.list_namespaced_pod(ns, field_selector="status.phase=Pending")
    assert [p.metadata.name for p in pending.items] == ["p"]
    assert v1.list_namespaced_pod(ns, field_selector="status.phase=Running").items == []
    assert v1.list_namespaced_pod(ns, field_selector="spec.nodeName=").items[0].metadata.name == "p"

    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map(ns, field_selector="data.key=x")
    assert err.value.status == 400
    assert status_of(err.value)["message"] == (
        '"data.key" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def test_list_paging_is_a_consistent_snapshot(v1: client.CoreV1Api, seven_configmaps: str) -> None:
    ns = seven_configmaps
    first = v1.list_namespaced_config_map(ns, limit=3)
    assert [o.metadata.name for o in first.items] == ["cm-0", "cm-1", "cm-2"]
    assert first.metadata._continue
    assert first.metadata.remaining_item_count == 4

    # Changes after the first page do not show in later pages: one snapshot.
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "cm-9"}})
    v1.delete_namespaced_config_map("cm-4", ns)

    second = v1.list_namespaced_config_map(ns, limit=3, _continue=first.metadata._continue)
    assert [o.metadata.name for o in second.items] == ["cm-3", "cm-4", "cm-5"]
    assert second.metadata.resource_version == first.metadata.resource_version
    assert second.metadata.remaining_item_count == 1
    third = v1.list_namespaced_config_map(ns, limit=3, _continue=second.metadata._continue)
    assert [o.metadata.name for o in third.items] == ["cm-6"]
    assert third.metadata._continue is None
    assert third.metadata.remaining_item_count is None

    now = v1.list_namespaced_config_map(ns)
    assert [o.metadata.name for o in now.items] == [
        "cm-0", "cm-1", "cm-2", "cm-3", "cm-5", "cm-6", "cm-9"
    ]  # fmt: skip

    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map(ns, limit=3, _continue="not-a-token")
    assert err.value.status == 400


def test_list_resource_version(v1: client.CoreV1Api, ns: str) -> None:
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"v": "1"}})
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.patch_namespaced_config_map("a", ns, {"data": {"v": "2"}})
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "b"}})

    def names_and_values(**kw: Any) -> list[tuple[str, str]]:
        items = v1.list_namespaced_config_map(ns, **kw).items
        return [(o.metadata.name, (o.data or {}).get("v", "")) for o in items]

    current = [("a", "2"), ("b", "")]
    assert names_and_values(resource_version="0") == current
    assert names_and_values(resource_version=rv) == current  # "not older than"
    assert names_and_values(resource_version=rv, resource_version_match="NotOlderThan") == current
    # Exact: the state at that revision.
    assert names_and_values(resource_version=rv, resource_version_match="Exact") == [("a", "1")]

    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map(ns, resource_version_match="Exact")
    assert err.value.status == 422
    assert status_of(err.value)["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden unless resourceVersion is provided"
    )


# -- watch ------------------------------------------------------------------------------


def test_watch_from_resource_version(v1: client.CoreV1Api, ns: str) -> None:
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "before"}})
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "w"}, "data": {"v": "1"}})

    seen: list[tuple[str, str, str]] = []
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=10):
        obj = ev["object"]
        assert isinstance(obj, client.V1ConfigMap)
        seen.append((ev["type"], obj.metadata.name, (obj.data or {}).get("v", "")))
        assert int(obj.metadata.resource_version) > int(rv)
        if ev["type"] == "ADDED":
            # Live events: written while the watch is open.
            v1.patch_namespaced_config_map("w", ns, {"data": {"v": "2"}})
        elif ev["type"] == "MODIFIED":
            v1.delete_namespaced_config_map("w", ns)
        else:
            w.stop()
    assert seen == [("ADDED", "w", "1"), ("MODIFIED", "w", "2"), ("DELETED", "w", "2")]


def test_watch_without_resource_version_starts_with_existing_objects(
    v1: client.CoreV1Api, ns: str
) -> None:
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "old"}})
    w = watch.Watch()
    events = []
    for ev in w.stream(v1.list_namespaced_config_map, ns, timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) == 1:
            v1.create_namespaced_config_map(ns, {"metadata": {"name": "new"}})
        else:
            w.stop()
    assert events == [("ADDED", "old"), ("ADDED", "new")]


def test_watch_with_label_selector_follows_objects_in_and_out(
    v1: client.CoreV1Api, ns: str
) -> None:
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "x", "labels": {"on": "yes"}}})
    v1.patch_namespaced_config_map("x", ns, {"metadata": {"labels": {"on": "no"}}})
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "other"}})
    v1.patch_namespaced_config_map("x", ns, {"metadata": {"labels": {"on": "yes"}}})
    w = watch.Watch()
    events = []
    for ev in w.stream(
        v1.list_namespaced_config_map, ns, resource_version=rv, label_selector="on=yes",
        timeout_seconds=10,
    ):  # fmt: skip
        events.append((ev["type"], ev["object"].metadata.name, ev["object"].metadata.labels["on"]))
        if len(events) == 3:
            w.stop()
    assert events == [("ADDED", "x", "yes"), ("DELETED", "x", "no"), ("ADDED", "x", "yes")]


def test_watch_timeout_ends_the_stream(v1: client.CoreV1Api, ns: str) -> None:
    started = time.monotonic()
    events = list(watch.Watch().stream(v1.list_namespaced_config_map, ns, timeout_seconds=1))
    assert events == []
    assert time.monotonic() - started < 5


@pytest.fixture(scope="module")
def compacting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """A server on sqlite that compacts every second, keeping one revision."""
    data_dir = tmp_path_factory.mktemp("compacting")
    url = f"sqlite:///{data_dir / 'state.db'}?compact_interval=1&compact_keep=1"
    server = start_server(data_dir, storage=url)
    yield server
    stop_server(server.proc)


def test_watch_and_list_from_a_compacted_revision_get_410(
    compacting_server: ApiProcess,
) -> None:
    api = make_client(compacting_server.kubeconfig)
    v1 = client.CoreV1Api(api)
    try:
        rv = v1.list_namespaced_config_map("default").metadata.resource_version
        for i in range(3):
            v1.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        page = v1.list_namespaced_config_map("default", limit=1)
        for i in range(3, 5):
            v1.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})

        def compacted() -> bool:
            try:
                v1.list_namespaced_config_map(
                    "default",
                    resource_version=page.metadata.resource_version,
                    resource_version_match="Exact",
                )
            except ApiException as exc:
                assert exc.status == 410, exc.body
                assert status_of(exc)["reason"] == "Expired"
                return True
            return False

        wait_until(compacted, "compaction")

        # The next page of a compacted snapshot is gone too.
        with pytest.raises(ApiException) as err:
            v1.list_namespaced_config_map("default", limit=1, _continue=page.metadata._continue)
        assert err.value.status == 410
        assert status_of(err.value)["message"].startswith(
            "The provided continue parameter is too old to display a consistent list result."
        )

        # With timeout_seconds the client does not retry: the ERROR event's 410
        # becomes an ApiException at once.
        with pytest.raises(ApiException) as err:
            list(watch.Watch().stream(
                v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5
            ))  # fmt: skip
        assert err.value.status == 410
        assert str(err.value.reason).startswith(f"Expired: too old resource version: {rv} (")

        # Without it, the client retries once from the same revision, then gives up.
        with pytest.raises(ApiException) as err:
            list(
                watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version=rv)
            )
        assert err.value.status == 410

        # A watch from the current revision works as usual.
        now = v1.list_namespaced_config_map("default").metadata.resource_version
        w = watch.Watch()
        v1.create_namespaced_config_map("default", {"metadata": {"name": "fresh"}})
        for ev in w.stream(
            v1.list_namespaced_config_map, "default", resource_version=now, timeout_seconds=5
        ):
            assert (ev["type"], ev["object"].metadata.name) == ("ADDED", "fresh")
            w.stop()
    finally:
        api.close()
