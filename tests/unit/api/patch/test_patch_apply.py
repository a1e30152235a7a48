"""Server-side apply and managedFields tracking, on the fake schema of conftest."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesvc.api.patch import (
    ApplyResult,
    PatchError,
    SchemaLookup,
    apply_config,
    conflict_causes,
    conflict_message,
    update_managed_fields,
)
from kubesvc.api.patch import fieldpath as fp
from kubesvc.api.patch.apply import Manager, managed_field_sets

ROOT = "T.Root"
T0, T1, T2 = "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"


def config(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Root", "metadata": {"name": "x"}, "spec": spec}


def apply(
    lookup: SchemaLookup,
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    *,
    force: bool = False,
    now: str = T1,
) -> ApplyResult:
    return apply_config(live, applied, ROOT, manager, force=force, now=now, lookup=lookup)


def applied_ok(
    lookup: SchemaLookup,
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    **kw: Any,
) -> dict[str, Any]:
    result = apply(lookup, live, applied, manager, **kw)
    assert result.conflicts == ()
    assert result.obj is not None
    return result.obj


def owners(obj: dict[str, Any]) -> dict[str, set[str]]:
    return {
        m.name: {fp.path_string(p) for p in paths} for m, paths in managed_field_sets(obj).items()
    }


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("managedFields", None)
    return out


PORT80 = '.spec.ports[port=80,protocol="TCP"]'


def test_create_records_the_apply_entry(lookup: SchemaLookup) -> None:
    applied = config(ports=[{"port": 80, "targetPort": 8080}], tags=["a"], args=["-x"])
    applied["metadata"]["labels"] = {"app": "x"}
    obj = applied_ok(lookup, None, applied, "kubectl", now=T0)
    assert strip(obj) == applied
    assert obj["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:args": {},
                    "f:ports": {
                        'k:{"port":80,"protocol":"TCP"}': {
                            ".": {},
                            "f:port": {},
                            "f:targetPort": {},
                        }
                    },
                    "f:tags": {'v:"a"': {}},
                },
            },
        }
    ]


def test_reapplying_the_same_config_changes_nothing(lookup: SchemaLookup) -> None:
    applied = config(ports=[{"port": 80, "targetPort": 8080}])
    first = applied_ok(lookup, None, applied, "kubectl", now=T0)
    again = applied_ok(lookup, first, applied, "kubectl", now=T2)
    assert again == first  # time included: the object did not change


@pytest.mark.parametrize(
    ("first", "second", "expected_spec"),
    [
        pytest.param(
            {"ports": [{"port": 80, "targetPort": 1}, {"port": 443}]},
            {"ports": [{"port": 80, "targetPort": 1}]},
            {"ports": [{"port": 80, "targetPort": 1}]},
            id="dropped-list-item-is-pruned",
        ),
        pytest.param(
            {"ports": [{"port": 80, "targetPort": 1}]},
            {"ports": [{"port": 80}]},
            {"ports": [{"port": 80}]},
            id="dropped-field-of-item-is-pruned",
        ),
        pytest.param(
            {"tags": ["a", "b"], "replicas": 2},
            {"tags": ["b"]},
            {"tags": ["b"]},
            id="dropped-set-item-and-scalar-are-pruned",
        ),
        pytest.param(
            {"selector": {"a": "1", "b": "2"}},
            {"selector": {"b": "2"}},
            {"selector": {"b": "2"}},
            id="dropped-map-entry-is-pruned",
        ),
        pytest.param(
            {"selector": {"a": "1"}},
            {"replicas": 1},
            {"replicas": 1},
            id="emptied-map-goes-away",
        ),
        pytest.param(
            {"args": ["-a", "-b"]},
            {"args": ["-c"]},
            {"args": ["-c"]},
            id="atomic-list-is-replaced",
        ),
        pytest.param(
            {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]},
            {"ports": [{"port": 53, "protocol": "UDP", "targetPort": 5353}]},
            {"ports": [{"port": 53, "protocol": "UDP", "targetPort": 5353}]},
            id="keys-include-protocol",
        ),
    ],
)
def test_applier_owns_exactly_its_config(
    lookup: SchemaLookup, first: dict[str, Any], second: dict[str, Any], expected_spec: Any
) -> None:
    obj = applied_ok(lookup, None, config(**first), "kubectl")
    obj = applied_ok(lookup, obj, config(**second), "kubectl", now=T2)
    assert obj["spec"] == expected_spec
    assert obj["metadata"]["managedFields"][0]["time"] == T2


def test_conflict_with_another_applier(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(ports=[{"port": 80, "targetPort": 8080}]), "a")
    result = apply(lookup, obj, config(ports=[{"port": 80, "targetPort": 9090}]), "b")
    assert result.obj is None
    assert conflict_message(result.conflicts) == (
        f'Apply failed with 1 conflict: conflict with "a": {PORT80}.targetPort'
    )
    assert conflict_causes(result.conflicts) == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "a"',
            "field": f"{PORT80}.targetPort",
        }
    ]


def test_force_moves_ownership(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(ports=[{"port": 80, "targetPort": 8080}]), "a")
    obj = applied_ok(lookup, obj, config(ports=[{"port": 80, "targetPort": 9090}]), "b", force=True)
    assert obj["spec"]["ports"] == [{"port": 80, "targetPort": 9090}]
    assert owners(obj) == {
        "a": {PORT80, f"{PORT80}.port"},
        "b": {PORT80, f"{PORT80}.port", f"{PORT80}.targetPort"},
    }


def test_same_value_is_shared_and_survives_one_owner_leaving(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(replicas=3, tags=["a"]), "a")
    obj = applied_ok(lookup, obj, config(replicas=3), "b")
    assert owners(obj)["b"] == {".spec.replicas"}
    assert ".spec.replicas" in owners(obj)["a"]
    obj = applied_ok(lookup, obj, config(tags=["a"]), "a", now=T2)
    assert obj["spec"] == {"replicas": 3, "tags": ["a"]}
    assert owners(obj) == {"a": {'.spec.tags[="a"]'}, "b": {".spec.replicas"}}


def test_sets_union_across_appliers(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(tags=["a", "b"]), "one")
    obj = applied_ok(lookup, obj, config(tags=["c"]), "two")
    assert obj["spec"]["tags"] == ["a", "b", "c"]


def test_several_conflicts_are_grouped_by_manager(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(replicas=1, selector={"k": "v"}), "a")
    obj = applied_ok(lookup, obj, config(args=["-x"]), "b")
    result = apply(lookup, obj, config(replicas=2, selector={"k": "w"}, args=["-y"]), "c")
    assert conflict_message(result.conflicts) == (
        'Apply failed with 3 conflicts: conflicts with "a":\n'
        "- .spec.replicas\n"
        "- .spec.selector.k\n"
        'conflicts with "b":\n'
        "- .spec.args"
    )


def test_update_after_create_then_server_side_apply(lookup: SchemaLookup) -> None:
    """kubectl create, then kubectl apply --server-side (same values, then a change)."""
    created = update_managed_fields(
        None,
        config(ports=[{"port": 80, "targetPort": 8080}], replicas=1),
        "kubectl-create",
        definition_name=ROOT,
        now=T0,
        lookup=lookup,
    )
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:spec": {
            "f:ports": {
                ".": {},
                'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:targetPort": {}},
            },
            "f:replicas": {},
        }
    }
    same = apply(lookup, created, config(ports=[{"port": 80, "targetPort": 8080}]), "kubectl")
    assert same.conflicts == ()
    changed = apply(lookup, created, config(ports=[{"port": 80, "targetPort": 9090}]), "kubectl")
    assert conflict_message(changed.conflicts) == (
        f'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: '
        f"{PORT80}.targetPort"
    )


def test_update_takes_changed_fields_from_appliers(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(replicas=1, selector={"k": "v"}), "kubectl")
    edited = copy.deepcopy(obj)
    edited["spec"]["replicas"] = 5
    del edited["spec"]["selector"]
    edited["metadata"].pop("managedFields")  # the client did not send them back
    result = update_managed_fields(
        obj, edited, "kubectl-edit", definition_name=ROOT, now=T2, lookup=lookup
    )
    assert owners(result) == {"kubectl-edit": {".spec.replicas"}}
    edit_entry = next(
        e for e in result["metadata"]["managedFields"] if e["manager"] == "kubectl-edit"
    )
    assert edit_entry == {
        "manager": "kubectl-edit",
        "operation": "Update",
        "apiVersion": "v1",
        "time": T2,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:replicas": {}}},
    }


def test_update_without_changes_keeps_entries_and_times(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(replicas=1), "kubectl", now=T0)
    again = update_managed_fields(
        obj, strip(obj), "other", definition_name=ROOT, now=T2, lookup=lookup
    )
    assert again["metadata"]["managedFields"] == obj["metadata"]["managedFields"]


def test_update_with_single_empty_entry_resets(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(replicas=1), "kubectl", now=T0)
    sent = strip(obj)
    sent["metadata"]["managedFields"] = [{}]
    result = update_managed_fields(
        obj, sent, "patcher", definition_name=ROOT, now=T2, lookup=lookup
    )
    assert "managedFields" not in result["metadata"]


def test_update_keeps_managed_fields_the_client_sent(lookup: SchemaLookup) -> None:
    obj = applied_ok(lookup, None, config(replicas=1, args=["-x"]), "kubectl", now=T0)
    sent = copy.deepcopy(obj)
    sent["metadata"]["managedFields"][0]["fieldsV1"] = {"f:spec": {"f:args": {}}}
    result = update_managed_fields(obj, sent, "x", definition_name=ROOT, now=T2, lookup=lookup)
    assert owners(result) == {"kubectl": {".spec.args"}}


def test_object_without_managed_fields_belongs_to_before_first_apply(lookup: SchemaLookup) -> None:
    live = config(replicas=1)
    result = apply(lookup, live, config(replicas=2), "kubectl")
    assert conflict_message(result.conflicts) == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .spec.replicas'
    )


def test_identity_fields_are_never_owned(lookup: SchemaLookup) -> None:
    applied = config(replicas=1)
    applied["metadata"].update(namespace="ns", uid="u", resourceVersion="7")
    obj = applied_ok(lookup, None, applied, "kubectl")
    assert owners(obj) == {"kubectl": {".spec.replicas"}}


def test_ignored_roots_are_not_tracked(lookup: SchemaLookup) -> None:
    applied = config(replicas=1)
    applied["status"] = {"phase": "Running"}
    result = apply_config(
        None, applied, ROOT, "kubectl", force=False, now=T0, lookup=lookup, ignored=[("status",)]
    )
    assert result.obj is not None
    assert owners(result.obj) == {"kubectl": {".spec.replicas"}}


def test_missing_list_key_is_an_error(lookup: SchemaLookup) -> None:
    with pytest.raises(PatchError) as info:
        apply(lookup, None, config(ports=[{"targetPort": 1}]), "kubectl")
    assert info.value.code == 500
    assert info.value.message == (
        "failed to create typed patch object (/x; /v1, Kind=Root): .spec.ports: element 0: "
        'associative list with keys has an element that omits key field "port" '
        "(and doesn't have default value)"
    )


def test_applied_config_may_not_carry_managed_fields(lookup: SchemaLookup) -> None:
    applied = config(replicas=1)
    applied["metadata"]["managedFields"] = []
    with pytest.raises(PatchError) as info:
        apply(lookup, None, applied, "kubectl")
    assert (info.value.code, info.value.message) == (400, "metadata.managedFields must be nil")


def test_apply_does_not_mutate_inputs(lookup: SchemaLookup) -> None:
    live = applied_ok(lookup, None, config(ports=[{"port": 80}], tags=["a"]), "a")
    applied = config(ports=[{"port": 80, "targetPort": 1}], tags=["b"])
    live_before, applied_before = copy.deepcopy(live), copy.deepcopy(applied)
    applied_ok(lookup, live, applied, "a")
    assert (live, applied) == (live_before, applied_before)


def test_manager_descriptions() -> None:
    assert Manager("kubectl", "Apply", "v1").describe() == '"kubectl"'
    assert Manager("k", "Update", "apps/v1").describe() == '"k" using apps/v1'
    assert (
        Manager("k", "Update", "v1", "status").describe()
        == '"k" with subresource "status" using v1'
    )


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param(
            config(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}),
            config(strategy={"type": "Recreate"}),
            {"spec": {"strategy": {"type": "Recreate"}}},
            id="struct-whose-fields-all-went-is-removed",
        ),
        pytest.param(
            {**config(replicas=1), "metadata": {"name": "x", "labels": {"a": "b"}}},
            config(replicas=1),
            {"metadata": {"name": "x"}},
            id="metadata-survives-losing-its-labels",
        ),
        pytest.param(
            config(items=[{"name": "a", "env": [{"name": "X", "value": "1"}]}]),
            config(items=[{"name": "a"}]),
            {"spec": {"items": [{"name": "a"}]}},
            id="nested-list-dropped-whole",
        ),
    ],
)
def test_pruning_shapes(
    lookup: SchemaLookup, first: dict[str, Any], second: dict[str, Any], expected: dict[str, Any]
) -> None:
    obj = applied_ok(lookup, None, first, "kubectl")
    obj = strip(applied_ok(lookup, obj, second, "kubectl"))
    for key, value in expected.items():
        assert obj[key] == value


_names = st.sampled_from(["a", "b", "c"])
_spec = st.fixed_dictionaries(
    {},
    optional={
        "ports": st.lists(
            st.fixed_dictionaries(
                {"port": st.sampled_from([80, 443, 53])},
                optional={"targetPort": st.sampled_from([1, 2, "http"])},
            ),
            unique_by=lambda p: p["port"],
            max_size=3,
        ),
        "items": st.lists(
            st.fixed_dictionaries(
                {"name": _names},
                optional={
                    "image": st.sampled_from(["i:1", "i:2"]),
                    "env": st.lists(
                        st.fixed_dictionaries(
                            {"name": _names, "value": st.sampled_from(["1", "2"])}
                        ),
                        unique_by=lambda e: e["name"],
                        max_size=2,
                    ),
                },
            ),
            unique_by=lambda i: i["name"],
            max_size=3,
        ),
        "tags": st.lists(_names, unique=True, max_size=3),
        "args": st.lists(_names, max_size=3),
        "selector": st.dictionaries(_names, st.sampled_from(["x", "y"]), max_size=2),
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


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


@given(first=_spec, second=_spec)
def test_a_sole_applier_gets_exactly_its_config(
    lookup: SchemaLookup, first: dict[str, Any], second: dict[str, Any]
) -> None:
    # empty lists and maps own nothing (as upstream), so leave them out of the configs
    first, second = _drop_empty(first), _drop_empty(second)
    obj = applied_ok(lookup, None, config(**first), "kubectl", now=T0)
    obj = applied_ok(lookup, obj, config(**second), "kubectl", now=T1)
    assert _drop_empty(obj.get("spec", {})) == second
    again = applied_ok(lookup, obj, config(**second), "kubectl", now=T2)
    assert again == obj


@given(first=_spec, second=_spec)
def test_withdrawing_leaves_the_other_appliers_config(
    lookup: SchemaLookup, first: dict[str, Any], second: dict[str, Any]
) -> None:
    first, second = _drop_empty(first), _drop_empty(second)
    alone = applied_ok(lookup, None, config(**first), "one")
    result = apply(lookup, alone, config(**second), "two")
    if result.conflicts:
        assert result.obj is None
        return
    assert result.obj is not None
    withdrawn = applied_ok(lookup, result.obj, config(), "two")
    # list order may differ from "one"'s config after "two" added items
    assert _canonical(withdrawn.get("spec", {})) == _canonical(alone.get("spec", {}))


def _canonical(value: Any) -> Any:
    value = _drop_empty(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=repr)
    return value
