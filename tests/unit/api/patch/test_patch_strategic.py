"""Strategic merge patch against the fake schema in conftest (every directive, merge keys)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesvc.api.patch import (
    PatchError,
    SchemaLookup,
    apply_merge_patch,
    apply_strategic,
    create_two_way_merge_patch,
)

ROOT = "T.Root"

LIVE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Root",
    "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a", "b"]},
    "spec": {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
        "items": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "b:1"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tags": ["t1", "t2"],
        "args": ["--x", "--y"],
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "config": {"deep": {"list": [1, 2], "keep": True}},
    },
}


def _spec(**changes: Any) -> dict[str, Any]:
    out = dict(LIVE["spec"])
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


CASES = [
    pytest.param({"spec": {"replicas": 3}}, _spec(replicas=3), id="add-scalar"),
    pytest.param({"spec": {"args": None}}, _spec(args=None), id="null-deletes"),
    pytest.param({"spec": {"args": ["--z"]}}, _spec(args=["--z"]), id="atomic-list-replaced"),
    pytest.param(
        {"spec": {"config": {"deep": {"list": [3], "keep": None, "new": 1}}}},
        _spec(config={"deep": {"list": [3], "new": 1}}),
        id="free-form-object-merges-like-merge-patch",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "a", "image": "a:2"}]}},
        _spec(
            items=[
                {"name": "a", "image": "a:2", "env": [{"name": "X", "value": "1"}]},
                {"name": "b", "image": "b:1"},
            ]
        ),
        id="merge-key-updates-item-in-place",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}},
        _spec(
            items=[
                {
                    "name": "a",
                    "image": "a:1",
                    "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}],
                },
                {"name": "b", "image": "b:1"},
            ]
        ),
        id="nested-merge-list-new-item-goes-first-as-upstream",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "c", "image": "c:1"}]}},
        _spec(
            items=[
                {"name": "c", "image": "c:1"},
                LIVE["spec"]["items"][0],
                LIVE["spec"]["items"][1],
            ]
        ),
        id="new-item-without-order-directive-goes-first",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "b", "image": "b:2"}, {"name": "c"}]}},
        _spec(items=[LIVE["spec"]["items"][0], {"name": "b", "image": "b:2"}, {"name": "c"}]),
        id="new-item-follows-patched-neighbour",
    ),
    pytest.param(
        {
            "spec": {
                "$setElementOrder/items": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
                "items": [{"name": "c", "image": "c:1"}],
            }
        },
        _spec(
            items=[
                LIVE["spec"]["items"][1],
                {"name": "c", "image": "c:1"},
                LIVE["spec"]["items"][0],
            ]
        ),
        id="set-element-order",
    ),
    pytest.param(
        {"spec": {"$setElementOrder/items": [{"name": "b"}, {"name": "a"}]}},
        _spec(items=[LIVE["spec"]["items"][1], LIVE["spec"]["items"][0]]),
        id="set-element-order-alone-reorders",
    ),
    pytest.param(
        {"spec": {"$setElementOrder/tags": ["t2", "t3", "t1"], "tags": ["t3"]}},
        _spec(tags=["t2", "t3", "t1"]),
        id="set-element-order-primitives",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "a", "$patch": "delete"}]}},
        _spec(items=[LIVE["spec"]["items"][1]]),
        id="patch-delete-list-item",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "z", "image": "z:1"}, {"$patch": "replace"}]}},
        _spec(items=[{"name": "z", "image": "z:1"}]),
        id="patch-replace-in-list",
    ),
    pytest.param(
        {"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}},
        _spec(strategy={"type": "Recreate"}),
        id="patch-replace-map",
    ),
    pytest.param(
        {"spec": {"strategy": {"$patch": "delete"}}},
        _spec(strategy=None),
        id="patch-delete-map-removes-field",
    ),
    pytest.param(
        {"spec": {"strategy": {"$patch": "merge", "type": "Recreate"}}},
        _spec(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
        id="patch-merge-map-is-default",
    ),
    pytest.param(
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        _spec(strategy={"type": "Recreate"}),
        id="retain-keys-clears-unlisted",
    ),
    pytest.param(
        {
            "spec": {
                "$setElementOrder/volumes": [{"name": "data"}],
                "volumes": [
                    {
                        "name": "data",
                        "hostPath": {"path": "/x"},
                        "$retainKeys": ["hostPath", "name"],
                    }
                ],
            }
        },
        _spec(volumes=[{"name": "data", "hostPath": {"path": "/x"}}]),
        id="retain-keys-in-list-item",
    ),
    pytest.param(
        {"spec": {"tags": ["t3", "t1"]}},
        _spec(tags=["t3", "t1", "t2"]),
        id="primitive-merge-list-is-a-set",
    ),
    pytest.param(
        {"spec": {"$deleteFromPrimitiveList/tags": ["t1", "nope"]}},
        _spec(tags=["t2"]),
        id="delete-from-primitive-list",
    ),
    pytest.param(
        {"spec": {"$deleteFromPrimitiveList/tags": ["t1"], "tags": ["t9"]}},
        _spec(tags=["t9", "t2"]),
        id="delete-and-add-primitives",
    ),
    pytest.param(
        {"spec": {"$deleteFromPrimitiveList/missing": ["x"]}},
        _spec(),
        id="delete-from-absent-list-is-no-op",
    ),
    pytest.param(
        {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}},
        _spec(ports=[{"port": 80, "protocol": "TCP", "targetPort": 9090}]),
        id="ports-merge-by-port",
    ),
    pytest.param(
        {"spec": {"args": {"not": "a list"}}},
        _spec(args={"not": "a list"}),
        id="type-change-replaces",
    ),
]


@pytest.mark.parametrize(("patch", "spec"), CASES)
def test_strategic_merge(patch: dict[str, Any], spec: dict[str, Any], lookup: SchemaLookup) -> None:
    result = apply_strategic(LIVE, patch, ROOT, lookup)
    assert result["spec"] == spec


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param(
            {"metadata": {"finalizers": ["c"]}},
            {"name": "web", "labels": {"app": "web"}, "finalizers": ["c", "a", "b"]},
            id="finalizers-set-union",
        ),
        pytest.param(
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
            {"name": "web", "labels": {"app": "web"}, "finalizers": ["b"]},
            id="finalizers-delete",
        ),
        pytest.param(
            {"metadata": {"labels": {"app": None, "tier": "x"}}},
            {"name": "web", "labels": {"tier": "x"}, "finalizers": ["a", "b"]},
            id="labels-map",
        ),
        pytest.param(
            {"metadata": {"labels": {"$patch": "replace", "only": "me"}}},
            {"name": "web", "labels": {"only": "me"}, "finalizers": ["a", "b"]},
            id="labels-replace",
        ),
    ],
)
def test_strategic_merge_metadata(
    patch: dict[str, Any], expected: dict[str, Any], lookup: SchemaLookup
) -> None:
    assert apply_strategic(LIVE, patch, ROOT, lookup)["metadata"] == expected


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        pytest.param(
            {"metadata": {"name": "x"}},
            {
                "spec": {
                    "$setElementOrder/items": [{"name": "b"}],
                    "items": [
                        {"name": "a", "$patch": "delete"},
                        {"name": "b", "$retainKeys": ["name"]},
                    ],
                    "strategy": {"$patch": "delete"},
                    "selector": {"$patch": "replace", "k": "v"},
                }
            },
            {"metadata": {"name": "x"}, "spec": {"items": [{"name": "b"}], "selector": {"k": "v"}}},
            id="directives-in-new-values-are-carried-out",
        ),
        pytest.param(
            {"a": 1},
            {"$patch": "replace", "b": 2},
            {"b": 2},
            id="root-replace",
        ),
        pytest.param({"a": 1}, {"$patch": "delete"}, {}, id="root-delete"),
        pytest.param(
            {"spec": {"items": [{"name": "a"}]}},
            {"spec": {"items": [{"name": "b"}, {"name": "b", "image": "i"}]}},
            {"spec": {"items": [{"name": "b", "image": "i"}, {"name": "a"}]}},
            id="duplicate-patch-items-merge-together",
        ),
    ],
)
def test_strategic_merge_edge_cases(
    original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any], lookup: SchemaLookup
) -> None:
    assert apply_strategic(original, patch, ROOT, lookup) == expected


def test_strategic_merge_does_not_mutate_inputs(lookup: SchemaLookup) -> None:
    import copy

    live = copy.deepcopy(LIVE)
    patch = {"spec": {"items": [{"name": "a", "$patch": "delete"}], "$retainKeys": ["items"]}}
    before = copy.deepcopy(patch)
    apply_strategic(live, patch, ROOT, lookup)
    assert live == LIVE
    assert patch == before


@pytest.mark.parametrize(
    ("patch", "message", "code"),
    [
        pytest.param(
            {"spec": {"strategy": {"$patch": "frob", "a": 1}}},
            "unknown patch type: frob in map: map[$patch:frob a:1]",
            500,
            id="unknown-map-directive",
        ),
        pytest.param(
            {"spec": {"items": [{"name": "a", "$patch": "frob"}]}},
            "unknown patch type: frob in map: map[$patch:frob name:a]",
            500,
            id="unknown-list-directive",
        ),
        pytest.param(
            {"spec": {"items": [{"$patch": "merge"}]}},
            "merging lists cannot yet be specified in the patch",
            500,
            id="merge-directive-in-list",
        ),
        pytest.param(
            {"spec": {"items": [{"$patch": "delete"}]}},
            "map: map[$patch:delete] does not contain declared merge key: name",
            500,
            id="delete-without-merge-key",
        ),
        pytest.param(
            {"spec": {"items": [{"image": "x"}]}},
            "map: map[image:x] does not contain declared merge key: name",
            500,
            id="item-without-merge-key",
        ),
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": "type"}}},
            "invalid patch format of retainKeys",
            400,
            id="retain-keys-not-a-list",
        ),
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
            "invalid patch format of retainKeys",
            400,
            id="retain-keys-misses-patched-field",
        ),
        pytest.param(
            {"spec": {"$deleteFromPrimitiveList/tags": "t1"}},
            "invalid patch format of primitive list",
            400,
            id="delete-list-not-a-list",
        ),
        pytest.param(
            {"spec": {"$setElementOrder/items": {"name": "a"}}},
            "invalid patch format of setElementOrder list",
            400,
            id="order-not-a-list",
        ),
        pytest.param(
            {"spec": {"$setElementOrder": []}},
            "invalid patch format of setElementOrder list",
            400,
            id="order-without-field",
        ),
        pytest.param(
            {
                "spec": {
                    "$setElementOrder/items": [{"name": "a"}, {"name": "b"}],
                    "items": [{"name": "b"}, {"name": "a"}],
                }
            },
            "The order in patch list:\n[map[name:b] map[name:a]]\n doesn't match "
            "$setElementOrder list:\n[map[name:a] map[name:b]]\n",
            500,
            id="order-mismatch",
        ),
        pytest.param(
            {"spec": {"tags": [["nested"]]}},
            "lists of lists are not supported",
            422,
            id="list-of-lists",
        ),
    ],
)
def test_strategic_merge_errors(
    patch: dict[str, Any], message: str, code: int, lookup: SchemaLookup
) -> None:
    with pytest.raises(PatchError) as info:
        apply_strategic(LIVE, patch, ROOT, lookup)
    assert (info.value.message, info.value.code) == (message, code)


def test_strategic_patch_must_be_an_object(lookup: SchemaLookup) -> None:
    with pytest.raises(PatchError) as info:
        apply_strategic(LIVE, [], ROOT, lookup)  # type: ignore[arg-type]
    assert info.value.code == 400


# -- properties -----------------------------------------------------------------------

_keys = st.sampled_from(["a", "b", "c", "spec", "items"])
_scalars = st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y"]))
_values = st.recursive(
    st.one_of(_scalars, st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=12,
)
_docs = st.dictionaries(_keys, _values, max_size=4)


@given(original=_docs, patch=_docs)
def test_without_schema_and_directives_smp_equals_merge_patch(
    original: dict[str, Any], patch: dict[str, Any]
) -> None:
    def nothing(_: str) -> None:
        return None

    assert apply_strategic(original, patch, "", nothing) == apply_merge_patch(original, patch)


_names = st.sampled_from(["a", "b", "c", "d"])
_items = st.lists(
    st.fixed_dictionaries(
        {"name": _names},
        optional={
            "image": st.sampled_from(["i:1", "i:2"]),
            "env": st.lists(
                st.fixed_dictionaries({"name": _names, "value": st.sampled_from(["1", "2"])}),
                max_size=3,
                unique_by=lambda e: e["name"],
            ),
        },
    ),
    max_size=4,
    unique_by=lambda i: i["name"],
)
_specs = st.fixed_dictionaries(
    {},
    optional={
        "items": _items,
        "tags": st.lists(st.sampled_from(["t1", "t2", "t3", "t4"]), unique=True, max_size=4),
        "args": st.lists(st.sampled_from(["-a", "-b"]), max_size=3),
        "selector": st.dictionaries(_names, st.sampled_from(["x", "y"]), max_size=3),
        "strategy": st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["Recreate", "RollingUpdate"]),
                "rollingUpdate": st.fixed_dictionaries({"maxSurge": st.integers(0, 2)}),
            },
        ),
        "replicas": st.integers(0, 3),
    },
)


@given(original=_specs, modified=_specs)
def test_two_way_patch_reproduces_modified(
    original: dict[str, Any], modified: dict[str, Any], lookup: SchemaLookup
) -> None:
    old = {"spec": original}
    new = {"spec": modified}
    patch = create_two_way_merge_patch(old, new, ROOT, lookup)
    assert apply_strategic(old, patch, ROOT, lookup) == new


def test_two_way_patch_is_what_kubectl_sends(lookup: SchemaLookup) -> None:
    old = {"spec": {"ports": [{"port": 80, "targetPort": 8080}], "tags": ["a", "b"]}}
    new = {"spec": {"ports": [{"port": 80, "targetPort": 9090}], "tags": ["b", "c"]}}
    assert create_two_way_merge_patch(old, new, ROOT, lookup) == {
        "spec": {
            "$setElementOrder/ports": [{"port": 80}],
            "ports": [{"port": 80, "targetPort": 9090}],
            "tags": ["c"],
            "$deleteFromPrimitiveList/tags": ["a"],
            "$setElementOrder/tags": ["b", "c"],
        }
    }
