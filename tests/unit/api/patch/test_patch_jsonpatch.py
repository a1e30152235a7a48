"""JSON patch (RFC 6902) as the apiserver applies it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesvc.api.patch import GENERIC_422, PatchError, apply_json_patch
from kubesvc.api.patch.jsonpatch import encode_pointer_token

DOC: dict[str, Any] = {
    "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a", "b"]},
    "spec": {"ports": [{"port": 80}, {"port": 443}]},
}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/tier", "value": "front"}],
            {"labels": {"app": "web", "tier": "front"}},
            id="add-member",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/finalizers/1", "value": "x"}],
            {"finalizers": ["a", "x", "b"]},
            id="add-inserts-at-index",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/finalizers/-", "value": "z"}],
            {"finalizers": ["a", "b", "z"]},
            id="add-dash-appends",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/finalizers/2", "value": "z"}],
            {"finalizers": ["a", "b", "z"]},
            id="add-at-length-appends",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/finalizers/-1", "value": "z"}],
            {"finalizers": ["a", "b", "z"]},
            id="add-negative-index-counts-from-end",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels", "value": {"new": "only"}}],
            {"labels": {"new": "only"}},
            id="add-replaces-existing-member",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/a~1b~0c", "value": "v"}],
            {"labels": {"app": "web", "a/b~c": "v"}},
            id="pointer-escapes-decode",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/labels/app"}],
            {"labels": {}},
            id="remove-member",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/finalizers/0"}],
            {"finalizers": ["b"]},
            id="remove-index",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/finalizers"}],
            {"finalizers": None},
            id="remove-whole-list",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/name", "value": "api"}],
            {"name": "api"},
            id="replace-member",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/finalizers/1", "value": "c"}],
            {"finalizers": ["a", "c"]},
            id="replace-index",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/generateName", "value": "w-"}],
            {"generateName": "w-"},
            id="replace-missing-member-adds-as-upstream-v4",
        ),
        pytest.param(
            [{"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/name"}],
            {"labels": {"name": "web"}},
            id="move",
        ),
        pytest.param(
            [{"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"}],
            {"annotations": {"app": "web"}},
            id="copy",
        ),
        pytest.param(
            [
                {"op": "test", "path": "/metadata/name", "value": "web"},
                {"op": "replace", "path": "/metadata/name", "value": "api"},
            ],
            {"name": "api"},
            id="test-passes-then-continues",
        ),
        pytest.param(
            [{"op": "test", "path": "/metadata/uid", "value": None}],
            {},
            id="test-null-matches-missing",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/ports", "value": [{"port": 80}, {"port": 443}]}],
            {},
            id="test-deep-equality",
        ),
        pytest.param(None, {}, id="null-patch-is-no-op"),
    ],
)
def test_json_patch_applies(ops: Any, expected: dict[str, Any]) -> None:
    result = apply_json_patch(DOC, ops)
    want = {**DOC["metadata"], **expected}
    want = {k: v for k, v in want.items() if v is not None}
    assert result["metadata"] == want
    assert result["spec"] == DOC["spec"]


def test_json_patch_does_not_mutate_its_inputs() -> None:
    doc = {"a": {"b": [1]}}
    value = {"c": 1}
    result = apply_json_patch(doc, [{"op": "add", "path": "/a/x", "value": value}])
    result["a"]["x"]["c"] = 2
    result["a"]["b"].append(2)
    assert doc == {"a": {"b": [1]}}
    assert value == {"c": 1}


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        pytest.param(
            [{"op": "test", "path": "/metadata/name", "value": "api"}],
            "testing value /metadata/name failed: test failed",
            id="test-fails",
        ),
        pytest.param(
            [{"op": "test", "path": "/metadata/uid", "value": "x"}],
            "testing value /metadata/uid failed: test failed",
            id="test-missing-member-fails",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/ports/0/port", "value": True}],
            "testing value /spec/ports/0/port failed: test failed",
            id="test-bool-is-not-number",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/affinity"}],
            "error in remove for path: '/metadata/affinity': "
            "Unable to remove nonexistent key: affinity: missing value",
            id="remove-missing-member",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/template/spec"}],
            'remove operation does not apply: doc is missing path: "/spec/template/spec": '
            "missing value",
            id="remove-missing-parent",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/template/spec", "value": 1}],
            'add operation does not apply: doc is missing path: "/spec/template/spec": '
            "missing value",
            id="add-missing-parent",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/finalizers/5", "value": "x"}],
            "error in add for path: '/metadata/finalizers/5': "
            "Unable to access invalid index: 5: invalid index referenced",
            id="add-index-out-of-range",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/finalizers/x", "value": "x"}],
            "error in add for path: '/metadata/finalizers/x': value was not a proper array "
            "index: 'x': strconv.Atoi: parsing \"x\": invalid syntax",
            id="add-bad-index",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/finalizers/9", "value": "x"}],
            "replace operation does not apply: doc is missing key: /metadata/finalizers/9: "
            "missing value",
            id="replace-index-out-of-range",
        ),
        pytest.param(
            [{"op": "move", "from": "/metadata/nope", "path": "/metadata/x"}],
            "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
            id="move-missing-source",
        ),
        pytest.param(
            [{"op": "copy", "from": "/metadata/name", "path": "/nope/x"}],
            "copy operation does not apply: doc is missing destination path: /nope/x: "
            "missing value",
            id="copy-missing-destination",
        ),
        pytest.param(
            [{"op": "frobnicate", "path": "/a"}], "Unexpected kind: frobnicate", id="bad-op"
        ),
        pytest.param([{"path": "/a"}], "Unexpected kind: unknown", id="missing-op"),
        pytest.param(
            [{"op": "add", "value": 1}],
            "add operation failed to decode path: missing value",
            id="missing-path",
        ),
        pytest.param(
            [{"op": "add", "path": "", "value": {}}],
            'add operation does not apply: doc is missing path: "": missing value',
            id="root-path-unsupported",
        ),
    ],
)
def test_json_patch_failures_are_422(ops: Any, message: str) -> None:
    with pytest.raises(PatchError) as info:
        apply_json_patch(DOC, ops)
    assert info.value.message == message
    assert info.value.code == 422
    assert info.value.reason == "Invalid"
    assert info.value.status_message == GENERIC_422


@pytest.mark.parametrize(
    ("ops", "message", "code"),
    [
        pytest.param(
            {"op": "add"},
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
            400,
            id="not-a-list",
        ),
        pytest.param(
            ["add"],
            "json: cannot unmarshal string into Go value of type jsonpatch.Operation",
            400,
            id="operation-not-an-object",
        ),
        pytest.param(
            [{"op": "test", "path": "/a", "value": 1}] * 10001,
            "The allowed maximum operations in a JSON patch is 10000, got 10001",
            413,
            id="too-many-operations",
        ),
    ],
)
def test_json_patch_malformed(ops: Any, message: str, code: int) -> None:
    with pytest.raises(PatchError) as info:
        apply_json_patch({"a": 1}, ops)
    assert (info.value.message, info.value.code) == (message, code)
    assert info.value.status_message == message


def test_a_failed_operation_leaves_no_partial_result() -> None:
    doc = {"a": 1}
    with pytest.raises(PatchError):
        apply_json_patch(
            doc,
            [{"op": "add", "path": "/b", "value": 2}, {"op": "test", "path": "/a", "value": 9}],
        )
    assert doc == {"a": 1}


@given(key=st.text(max_size=8), value=st.integers())
def test_any_member_name_round_trips_through_pointer_escaping(key: str, value: int) -> None:
    path = "/m/" + encode_pointer_token(key)
    added = apply_json_patch({"m": {}}, [{"op": "add", "path": path, "value": value}])
    assert added == {"m": {key: value}}
    assert apply_json_patch(added, [{"op": "remove", "path": path}]) == {"m": {}}
