"""The pure decisions of the ``pods/binding`` subresource."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.api import errors
from kubesvc.apiserver import binding

POD: dict[str, Any] = {
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default", "uid": "u1"},
    "spec": {"containers": [{"name": "c", "image": "x"}]},
}


def target(name: str = "node-a", kind: str = "Node", **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", **meta}, "target": {"kind": kind, "name": name}}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        pytest.param(
            {"metadata": {"name": "q"}, "target": {"name": "n"}},
            400,
            "name in URL does not match name in Binding object",
            id="name-mismatch",
        ),
        pytest.param(
            target(kind="Pod"),
            422,
            'Binding "p" is invalid: target.kind: Unsupported value: "Pod": supported values: '
            '"Node", "<empty>"',
            id="not-a-node",
        ),
        pytest.param(
            {"target": {}},
            422,
            'Binding "p" is invalid: target.name: Required value',
            id="no-node",
        ),
        pytest.param(["x"], 400, "the body must be a Binding object", id="not-an-object"),
    ],
)
def test_check_rejects(body: Any, code: int, message: str) -> None:
    with pytest.raises(errors.StatusError) as err:
        binding.check(body, "p")
    assert (err.value.code, err.value.message) == (code, message)


@pytest.mark.parametrize(
    ("body", "node"),
    [
        pytest.param(target(), "node-a", id="node"),
        pytest.param({"target": {"name": "node-b"}}, "node-b", id="kind-and-name-omitted"),
    ],
)
def test_check_accepts(body: Any, node: str) -> None:
    assert binding.check(body, "p") == node


def test_bind_sets_node_and_annotations_without_touching_the_input() -> None:
    body = target(annotations={"a": "1"})
    bound = binding.bind(POD, body, "node-a")
    assert bound["spec"]["nodeName"] == "node-a"
    assert bound["metadata"]["annotations"] == {"a": "1"}
    assert "nodeName" not in POD["spec"]


EARLIER = {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("conditions", "want"),
    [
        pytest.param(
            [],
            [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
              "lastTransitionTime": "2026-01-02T03:04:05Z"}],
            id="added",
        ),
        pytest.param(
            [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
              "message": "0/1 nodes are available", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            [{"type": "PodScheduled", "status": "True",
              "lastTransitionTime": "2026-01-02T03:04:05Z"}],
            id="unschedulable-becomes-true",
        ),
        pytest.param([EARLIER], [EARLIER], id="already-true-kept"),
    ],
)  # fmt: skip
def test_bind_sets_the_pod_scheduled_condition(
    conditions: list[dict[str, Any]], want: list[dict[str, Any]]
) -> None:
    pod = {**POD, "status": {"conditions": conditions}}
    bound = binding.bind(pod, target(), "node-a", "2026-01-02T03:04:05Z")
    assert bound["status"]["conditions"] == want


@pytest.mark.parametrize(
    ("pod", "body", "detail"),
    [
        pytest.param(
            {**POD, "spec": {**POD["spec"], "nodeName": "node-z"}},
            target(),
            'pod p is already assigned to node "node-z"',
            id="assigned",
        ),
        pytest.param(
            {**POD, "metadata": {**POD["metadata"], "deletionTimestamp": "2025-01-01T00:00:00Z"}},
            target(),
            "pod p is being deleted, cannot be assigned to a host",
            id="deleting",
        ),
        pytest.param(
            POD,
            target(uid="u2"),
            "Precondition failed: UID in precondition: u2, UID in object meta: u1",
            id="uid-precondition",
        ),
    ],
)
def test_bind_conflicts(pod: dict[str, Any], body: dict[str, Any], detail: str) -> None:
    with pytest.raises(errors.StatusError) as err:
        binding.bind(pod, body, "node-a")
    assert err.value.code == 409
    assert err.value.message == f'Operation cannot be fulfilled on pods/binding "p": {detail}'
