"""The garbage collector's decisions and the API server's deletion finalizers, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.api.resources import lookup
from kubesvc.apiserver.store import deletion_finalizers
from kubesvc.controllers.garbagecollector import decide as D

Obj = dict[str, Any]

ALIVE = D.OwnerState(exists=True)
GONE = D.OwnerState(exists=False)
WAITING = D.OwnerState(exists=True, deleting_dependents=True)


def obj(
    name: str,
    *,
    owners: list[str] = (),
    block: bool = True,  # type: ignore[assignment]
    finalizers: list[str] = (),
    deleting: bool = False,
) -> Obj:  # type: ignore[assignment]
    meta: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7"}
    if owners:
        meta["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": o,
                "uid": f"uid-{o}",
                "blockOwnerDeletion": block,
            }
            for o in owners
        ]
    if finalizers:
        meta["finalizers"] = list(finalizers)
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def summary(plan: D.GCPlan) -> Obj:
    out: Obj = {}
    if plan.delete:
        out["delete"] = plan.delete
    if plan.remove_refs:
        out["remove_refs"] = plan.remove_refs
    if plan.unblock_refs:
        out["unblock_refs"] = plan.unblock_refs
    if plan.orphan:
        out["orphan"] = [o["metadata"]["name"] for o in plan.orphan]
    if plan.remove_finalizer:
        out["remove_finalizer"] = plan.remove_finalizer
    if plan.wait_for:
        out["wait_for"] = [o["metadata"]["name"] for o in plan.wait_for]
    return out


@pytest.mark.parametrize(
    ("item", "owners", "dependents", "want"),
    [
        pytest.param(obj("d", owners=["o"]), {"uid-o": ALIVE}, [], {}, id="owner-alive"),
        pytest.param(
            obj("d", owners=["o"]),
            {"uid-o": GONE},
            [],
            {"delete": "Background"},
            id="owner-gone-background",
        ),
        pytest.param(
            obj("d", owners=["o"], finalizers=["orphan"]),
            {"uid-o": GONE},
            [],
            {"delete": "Orphan"},
            id="own-orphan-finalizer-is-kept",
        ),
        pytest.param(
            obj("d", owners=["o", "p"]),
            {"uid-o": GONE, "uid-p": ALIVE},
            [],
            {"remove_refs": ["uid-o"]},
            id="one-owner-left",
        ),
        pytest.param(
            obj("d", owners=["o", "p"]),
            {"uid-o": WAITING, "uid-p": ALIVE},
            [],
            {"remove_refs": ["uid-o"]},
            id="waiting-owner-ref-dropped-when-solid-left",
        ),
        pytest.param(
            obj("d", owners=["o"]),
            {"uid-o": WAITING},
            [],
            {"delete": "Background"},
            id="foreground-owner-leaf-dependent",
        ),
        pytest.param(
            obj("d", owners=["o"]),
            {"uid-o": WAITING},
            [obj("g", owners=["d"])],
            {"delete": "Foreground"},
            id="foreground-cascades",
        ),
        pytest.param(
            obj("d", owners=["o"]),
            {"uid-o": WAITING},
            [obj("g", owners=["d"], finalizers=["foregroundDeletion"], deleting=True)],
            {"delete": "Foreground", "unblock_refs": ["uid-o"]},
            id="cycle-breaker-unblocks",
        ),
        pytest.param(
            obj("d", owners=["o"]), {"uid-o": None}, [], {}, id="unknown-owner-kind-is-kept"
        ),
        pytest.param(
            obj("o", finalizers=["orphan"], deleting=True),
            {},
            [obj("a", owners=["o"]), obj("b", owners=["o"])],
            {"orphan": ["a", "b"], "remove_finalizer": "orphan"},
            id="orphan",
        ),
        pytest.param(
            obj("o", finalizers=["foregroundDeletion"], deleting=True),
            {},
            [obj("a", owners=["o"])],
            {"wait_for": ["a"]},
            id="foreground-waits",
        ),
        pytest.param(
            obj("o", finalizers=["foregroundDeletion"], deleting=True),
            {},
            [obj("a", owners=["o"], block=False)],
            {"remove_finalizer": "foregroundDeletion"},
            id="foreground-ignores-non-blocking",
        ),
        pytest.param(
            obj("o", finalizers=["example.com/x"], deleting=True),
            {},
            [],
            {},
            id="other-finalizers-wait",
        ),
    ],
)
def test_plan_for(
    item: Obj, owners: dict[str, D.OwnerState | None], dependents: list[Obj], want: Obj
) -> None:
    assert summary(D.plan_for(item, owners, dependents)) == want


def test_patches() -> None:
    item = obj("d", owners=["o", "p"], finalizers=["orphan", "x"])
    assert D.remove_refs_patch(item, ["uid-o"]) == {
        "metadata": {"ownerReferences": [{"$patch": "delete", "uid": "uid-o"}], "uid": "uid-d"}
    }
    unblocked = D.unblock_patch(item, ["uid-p"])["metadata"]["ownerReferences"]
    assert [(r["uid"], r["blockOwnerDeletion"]) for r in unblocked] == [("uid-p", False)]
    assert D.remove_finalizer_patch(item, "orphan") == {
        "metadata": {"finalizers": ["x"], "resourceVersion": "7"}
    }


RC = lookup("", "v1", "replicationcontrollers")
RS = lookup("apps", "v1", "replicasets")
EV = lookup("", "v1", "events")


@pytest.mark.parametrize(
    ("resource", "finalizers", "policy", "want"),
    [
        pytest.param(RS, [], "", [], id="apps-default-background"),
        pytest.param(RC, [], "", ["orphan"], id="core-rc-default-orphan"),
        pytest.param(RC, [], "Background", [], id="rc-background"),
        pytest.param(RS, [], "Foreground", ["foregroundDeletion"], id="foreground"),
        pytest.param(RS, ["x"], "Orphan", ["x", "orphan"], id="orphan-kept-others"),
        pytest.param(RS, ["orphan"], "", ["orphan"], id="existing-finalizer-decides"),
        pytest.param(
            RS,
            ["orphan", "x"],
            "Foreground",
            ["x", "foregroundDeletion"],
            id="policy-overrides-finalizer",
        ),
        pytest.param(RS, ["foregroundDeletion"], "Background", [], id="background-clears"),
        pytest.param(EV, [], "Foreground", [], id="events-unsupported"),
    ],
)
def test_deletion_finalizers(
    resource: Any, finalizers: list[str], policy: str, want: list[str]
) -> None:
    assert resource is not None
    assert deletion_finalizers(resource, finalizers, policy) == want
