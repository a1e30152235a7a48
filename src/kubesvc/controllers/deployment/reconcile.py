"""The Deployment reconciler (pure): one sync of upstream's deployment controller.

``reconcile(deployment, replica_sets, pods_by_rs, now)`` returns a
``DeploymentPlan``. It works on private copies and records what a sync would
write, in order: the ReplicaSet to create, the ReplicaSet updates (scale and
annotations), the ReplicaSets to delete (history cleanup), the Deployment's
annotations and status, the Events, and when to look again. The controller
applies the plan in that order and stops at the first failure.

The steps (upstream ``syncDeployment``):

1. Claim ReplicaSets: adopt orphans that match the selector, release ours
   that stopped matching.
2. A Deployment being deleted only gets its status refreshed.
3. ``spec.paused`` sets/clears the ``Progressing=Unknown`` paused condition;
   a paused Deployment, or one whose active ReplicaSets were annotated with
   another ``desired-replicas`` (a scaling event), is only *scaled*: the
   extra (or missing) replicas are spread over the active ReplicaSets in
   proportion to their size (``max-replicas`` annotations), leftovers going
   to the largest.
4. Otherwise roll out. The *new* ReplicaSet is the oldest one whose template
   equals the Deployment's, ignoring ``pod-template-hash``; its revision
   becomes max(old revisions)+1 (a roll-back to an old template revives that
   ReplicaSet and records its previous revisions in ``revision-history``).
   If none exists it is created as ``<name>-<hash>`` (``workload.hashing``).

   * RollingUpdate: scale the new ReplicaSet up while the total stays within
     replicas+maxSurge; then scale old ones down while at least
     replicas-maxUnavailable stay available: first their unavailable pods
     (oldest ReplicaSet first), then available ones.
   * Recreate: scale every old ReplicaSet to zero; once none of their pods
     runs, create/scale the new ReplicaSet to ``spec.replicas``.
5. When the rollout is complete, delete the oldest old ReplicaSets (zero
   replicas, status observed) beyond ``revisionHistoryLimit``.
6. Status: counts summed over the ReplicaSets, ``Available`` (at least
   replicas-maxUnavailable available) and ``Progressing`` (NewReplicaSetCreated /
   FoundNewReplicaSet / ReplicaSetUpdated / NewReplicaSetAvailable, or
   ProgressDeadlineExceeded once ``progressDeadlineSeconds`` pass without
   progress), plus the ReplicaSets' ``ReplicaFailure``.

Not implemented: the deprecated ``deprecated.deployment.rollback.to``
annotation (apps/v1 has no rollbackTo; ``kubectl rollout undo`` patches the
template instead).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesvc.api import selectors
from kubesvc.controllers.deployment import util as U
from kubesvc.controllers.workload import claim as C
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.hashing import compute_hash

Obj = dict[str, Any]


@dataclass
class Event:
    type: str
    reason: str
    message: str


@dataclass
class DeploymentPlan:
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)
    create: Obj | None = None
    """The new ReplicaSet to create (its name is ``<deployment>-<hash>``)."""
    updates: list[Obj] = field(default_factory=list)
    """ReplicaSets to replace (PUT), with the resourceVersion they were read at."""
    deletes: list[Obj] = field(default_factory=list)
    deployment: Obj | None = None
    """The Deployment with new annotations and status, when either changed."""
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None


def selector_of(d: Mapping[str, Any]) -> selectors.Selector:
    sel = P.spec(d).get("selector")
    try:
        return selectors.from_label_selector(sel if isinstance(sel, dict) else None)
    except selectors.SelectorError:
        return selectors.NOTHING


def reconcile(
    deployment: Mapping[str, Any],
    replica_sets: Sequence[Obj],
    pods_by_rs: Mapping[str, Sequence[Obj]] | None = None,
    now: datetime | None = None,
) -> DeploymentPlan:
    """One sync (see the module docstring); ``pods_by_rs`` maps ReplicaSet uid to its pods."""
    if now is None:
        raise ValueError("reconcile needs the current time")
    return _Sync(deployment, replica_sets, pods_by_rs or {}, now).run()


class _Sync:
    def __init__(
        self,
        deployment: Mapping[str, Any],
        replica_sets: Sequence[Obj],
        pods_by_rs: Mapping[str, Sequence[Obj]],
        now: datetime,
    ) -> None:
        self.original = deployment
        self.d: Obj = copy.deepcopy(dict(deployment))
        self.d.setdefault("status", {})
        self.now = now
        self.pods_by_rs = pods_by_rs
        self.plan = DeploymentPlan()
        claimed = C.claim(deployment, selector_of(deployment).matches, replica_sets)
        self.plan.adopt, self.plan.release = claimed.adopt, claimed.release
        self.rss: list[Obj] = [copy.deepcopy(rs) for rs in claimed.owned + claimed.adopt]
        self._updated: dict[str, Obj] = {}

    # -- top level -------------------------------------------------------------
    def run(self) -> DeploymentPlan:
        d = self.d
        if P.is_being_deleted(d):
            self.sync_status_only()
        else:
            self.check_paused_conditions()
            if P.spec(d).get("paused") or self.is_scaling_event():
                self.sync_scale()
            elif U.is_rolling(d):
                self.rollout_rolling()
            else:
                self.rollout_recreate()
        self.plan.updates = list(self._updated.values())
        if _differs(self.original, d):
            self.plan.deployment = d
        return self.plan

    # -- replica sets ------------------------------------------------------------
    def find_new(self) -> Obj | None:
        template = U.template_of(self.d)
        for rs in U.oldest_first(self.rss):
            if U.equal_ignore_hash(U.template_of(rs), template):
                return rs
        return None

    def new_and_old(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``: the new RS (created if asked) and the rest."""
        existing = self.find_new()
        old = [rs for rs in self.rss if rs is not existing]
        new_revision = str(U.max_revision(old) + 1)
        if existing is not None:
            changed = self.set_new_rs_annotations(existing, new_revision, exists=True)
            if changed or U.min_ready_seconds(existing) != U.min_ready_seconds(self.d):
                existing.setdefault("spec", {})["minReadySeconds"] = U.min_ready_seconds(self.d)
                if not existing["spec"]["minReadySeconds"]:
                    existing["spec"].pop("minReadySeconds")
                self.mark_updated(existing)
            self.set_deployment_revision(U.annotations_of(existing).get(U.REVISION, ""))
            if U.progress_deadline(self.d) is not None and (
                U.get_condition(self.d["status"], U.PROGRESSING) is None
            ):
                U.set_condition(
                    self.d["status"],
                    U.new_condition(
                        U.PROGRESSING,
                        "True",
                        U.FOUND_NEW_RS,
                        f'Found new replica set "{P.meta(existing).get("name")}"',
                        self.now,
                    ),
                )
            return existing, old
        if not create:
            return None, old
        new = self.build_new_rs(old, new_revision)
        self.rss.append(new)
        self.plan.create = new
        count = U.replicas(new)
        if count > 0:
            self.event(
                "ScalingReplicaSet",
                f"Scaled up replica set {P.meta(new)['name']} from 0 to {count}",
            )
        self.set_deployment_revision(new_revision)
        if U.progress_deadline(self.d) is not None:
            U.set_condition(
                self.d["status"],
                U.new_condition(
                    U.PROGRESSING,
                    "True",
                    U.NEW_RS_CREATED,
                    f'Created new replica set "{P.meta(new)["name"]}"',
                    self.now,
                ),
            )
        return new, old

    def build_new_rs(self, old: list[Obj], new_revision: str) -> Obj:
        d = self.d
        template = copy.deepcopy(U.template_of(d))
        collision = P.status(d).get("collisionCount")
        pod_hash = compute_hash(template, collision if isinstance(collision, int) else None)
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), U.HASH_LABEL: pod_hash}
        selector = copy.deepcopy(P.spec(d).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), U.HASH_LABEL: pod_hash}
        meta = P.meta(d)
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta['name']}-{pod_hash}",
                "namespace": meta.get("namespace", ""),
                "labels": dict(tmeta["labels"]),
                "ownerReferences": [P.new_controller_ref(d)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        if U.min_ready_seconds(d):
            rs["spec"]["minReadySeconds"] = U.min_ready_seconds(d)
        rs["spec"]["replicas"] = self.new_rs_replicas([*old, rs], rs)
        self.set_new_rs_annotations(rs, new_revision, exists=False)
        return rs

    def set_new_rs_annotations(self, rs: Obj, new_revision: str, *, exists: bool) -> bool:
        changed = False
        for key, value in U.annotations_of(self.d).items():
            if key in U.NOT_COPIED or U.annotations_of(rs).get(key) == value:
                continue
            U.set_annotation(rs, key, value)
            changed = True
        old_text = U.annotations_of(rs).get(U.REVISION)
        try:
            old_rev = int(old_text) if old_text is not None else 0
        except ValueError:
            return False
        new_rev = int(new_revision)
        if old_rev < new_rev:
            U.set_annotation(rs, U.REVISION, new_revision)
            changed = True
            if old_text is not None:
                self._append_revision_history(rs, old_text)
        if not exists and self.set_replicas_annotations(rs):
            changed = True
        return changed

    @staticmethod
    def _append_revision_history(rs: Obj, old_revision: str) -> None:
        history = U.annotations_of(rs).get(U.REVISION_HISTORY, "")
        if not history:
            U.set_annotation(rs, U.REVISION_HISTORY, old_revision)
            return
        parts = history.split(",")
        total = len(history) + len(old_revision) + 1
        start = 0
        while total > U.MAX_REVISION_HISTORY_CHARS and start < len(parts):
            total -= len(parts[start]) + 1
            start += 1
        if total <= U.MAX_REVISION_HISTORY_CHARS:
            U.set_annotation(rs, U.REVISION_HISTORY, ",".join([*parts[start:], old_revision]))

    def set_replicas_annotations(self, rs: Obj) -> bool:
        desired = str(U.replicas(self.d))
        most = str(U.replicas(self.d) + U.max_surge(self.d))
        ann = U.annotations_of(rs)
        if ann.get(U.DESIRED_REPLICAS) == desired and ann.get(U.MAX_REPLICAS) == most:
            return False
        U.set_annotation(rs, U.DESIRED_REPLICAS, desired)
        U.set_annotation(rs, U.MAX_REPLICAS, most)
        return True

    def set_deployment_revision(self, value: str) -> None:
        if U.annotations_of(self.d).get(U.REVISION) != value:
            U.set_annotation(self.d, U.REVISION, value)

    def mark_updated(self, rs: Obj) -> None:
        if rs is self.plan.create:
            return
        self._updated[P.meta(rs)["name"]] = rs

    def scale_rs(self, rs: Obj, new_scale: int) -> bool:
        """``scaleReplicaSet``: set size and replica annotations; an Event when the size moves."""
        old_scale = U.replicas(rs)
        size_changes = old_scale != new_scale
        ann = U.annotations_of(rs)
        annotations_change = ann.get(U.DESIRED_REPLICAS) != str(U.replicas(self.d)) or ann.get(
            U.MAX_REPLICAS
        ) != str(U.replicas(self.d) + U.max_surge(self.d))
        if not (size_changes or annotations_change):
            return False
        rs.setdefault("spec", {})["replicas"] = new_scale
        self.set_replicas_annotations(rs)
        self.mark_updated(rs)
        if size_changes:
            operation = "up" if old_scale < new_scale else "down"
            self.event(
                "ScalingReplicaSet",
                f"Scaled {operation} replica set {P.meta(rs)['name']} "
                f"from {old_scale} to {new_scale}",
            )
        return size_changes

    def scale_if_needed(self, rs: Obj, new_scale: int) -> bool:
        """``scaleReplicaSetAndRecordEvent``: nothing at all when the size is right."""
        if U.replicas(rs) == new_scale:
            return False
        return self.scale_rs(rs, new_scale)

    def event(self, reason: str, message: str, type_: str = "Normal") -> None:
        self.plan.events.append(Event(type_, reason, message))

    # -- sizes -------------------------------------------------------------------
    def new_rs_replicas(self, all_rss: list[Obj], new: Obj) -> int:
        """``NewRSNewReplicas``: how big the new ReplicaSet may be now."""
        d = self.d
        if not U.is_rolling(d):
            return U.replicas(d)
        current = U.sum_replicas(all_rss)
        most = U.replicas(d) + U.max_surge(d)
        if current >= most:
            return U.replicas(new)
        grow = min(most - current, U.replicas(d) - U.replicas(new))
        return U.replicas(new) + grow

    def is_scaling_event(self) -> bool:
        new, old = self.new_and_old(create=False)
        for rs in U.active([*old, new]):
            desired = U.annotations_of(rs).get(U.DESIRED_REPLICAS)
            if desired is None:
                continue
            try:
                if int(desired) != U.replicas(self.d):
                    return True
            except ValueError:
                continue
        return False

    # -- paused / scale ---------------------------------------------------------
    def check_paused_conditions(self) -> None:
        if U.progress_deadline(self.d) is None:
            return
        status = self.d["status"]
        cond = U.get_condition(status, U.PROGRESSING)
        if cond is not None and cond.get("reason") == U.TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == U.PAUSED
        paused = bool(P.spec(self.d).get("paused"))
        if paused and not paused_cond:
            U.set_condition(
                status,
                U.new_condition(
                    U.PROGRESSING, "Unknown", U.PAUSED, "Deployment is paused", self.now
                ),
            )
        elif not paused and paused_cond:
            U.set_condition(
                status,
                U.new_condition(
                    U.PROGRESSING, "Unknown", U.RESUMED, "Deployment is resumed", self.now
                ),
            )

    def sync_scale(self) -> None:
        new, old = self.new_and_old(create=False)
        self.scale(new, old)
        if P.spec(self.d).get("paused"):
            self.cleanup(old)
        self.sync_status([*old, *([new] if new else [])], new)

    def scale(self, new: Obj | None, old: list[Obj]) -> None:
        d = self.d
        target = U.replicas(d)
        newest_first = sorted(
            old, key=lambda rs: (U._created(rs), P.meta(rs).get("name", "")), reverse=True
        )
        candidates = U.active([*newest_first, new])
        if new is not None or old:
            only: Obj | None = None
            if not candidates:
                only = new if new is not None else newest_first[0]
            elif len(candidates) == 1:
                only = candidates[0]
            if only is not None:
                self.scale_if_needed(only, target)
                return
        if self.is_saturated(new):
            for rs in U.active(old):
                self.scale_if_needed(rs, 0)
            return
        if not U.is_rolling(d):
            return
        all_active = U.active([*old, new])
        allowed = target + U.max_surge(d) if target > 0 else 0
        to_add = allowed - U.sum_replicas(all_active)
        if to_add > 0:
            ordered = U.largest_first_newer(all_active)
        elif to_add < 0:
            ordered = U.largest_first_older(all_active)
        else:
            ordered = all_active
        added = 0
        sizes: dict[str, int] = {}
        for rs in ordered:
            name = P.meta(rs)["name"]
            if to_add != 0:
                share = self.proportion(rs, to_add, added)
                sizes[name] = U.replicas(rs) + share
                added += share
            else:
                sizes[name] = U.replicas(rs)
        for i, rs in enumerate(ordered):
            name = P.meta(rs)["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(0, sizes[name] + to_add - added)
            self.scale_rs(rs, sizes[name])

    def is_saturated(self, rs: Obj | None) -> bool:
        if rs is None:
            return False
        target = U.replicas(self.d)
        desired = U.annotations_of(rs).get(U.DESIRED_REPLICAS)
        return (
            U.replicas(rs) == target
            and desired == str(target)
            and U.status_count(rs, "availableReplicas") == target
        )

    def proportion(self, rs: Obj, to_add: int, added: int) -> int:
        if U.replicas(rs) == 0 or to_add == 0 or to_add == added:
            return 0
        fraction = self.fraction(rs)
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    def fraction(self, rs: Obj) -> int:
        d = self.d
        if U.replicas(d) == 0:
            return -U.replicas(rs)
        deployment_replicas = U.replicas(d) + U.max_surge(d)
        try:
            annotated = int(U.annotations_of(rs)[U.MAX_REPLICAS])
        except (KeyError, ValueError):
            annotated = U.status_count(d, "replicas")
        if annotated == 0:
            return 0
        size = U.replicas(rs) * deployment_replicas / annotated
        return _round_half_away(size) - U.replicas(rs)

    # -- rolling update ------------------------------------------------------------
    def rollout_rolling(self) -> None:
        new, old = self.new_and_old(create=True)
        assert new is not None
        all_rss = [*old, new]
        if self.reconcile_new(all_rss, new):
            self.sync_rollout_status(all_rss, new)
            return
        if self.reconcile_old(all_rss, U.active(old), new):
            self.sync_rollout_status(all_rss, new)
            return
        if deployment_complete(self.original, P.status(self.original)):
            self.cleanup(old)
        self.sync_rollout_status(all_rss, new)

    def reconcile_new(self, all_rss: list[Obj], new: Obj) -> bool:
        target = U.replicas(self.d)
        if U.replicas(new) == target:
            return False
        if U.replicas(new) > target:
            return self.scale_if_needed(new, target)
        return self.scale_if_needed(new, self.new_rs_replicas(all_rss, new))

    def reconcile_old(self, all_rss: list[Obj], old: list[Obj], new: Obj) -> bool:
        if U.sum_replicas(old) == 0:
            return False
        min_available = U.replicas(self.d) - U.max_unavailable(self.d)
        new_unavailable = U.replicas(new) - U.status_count(new, "availableReplicas")
        max_scaled_down = U.sum_replicas(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self.cleanup_unhealthy(old, max_scaled_down)
        scaled = self.scale_down_old_for_rolling([*old, new], old)
        return cleaned + scaled > 0

    def cleanup_unhealthy(self, old: list[Obj], most: int) -> int:
        total = 0
        for rs in U.oldest_first(old):
            if total >= most:
                break
            size = U.replicas(rs)
            available = U.status_count(rs, "availableReplicas")
            if size == 0 or available >= size:
                continue  # nothing unhealthy (upstream errors out when available > size)
            down = min(most - total, size - available)
            self.scale_if_needed(rs, size - down)
            total += down
        return total

    def scale_down_old_for_rolling(self, all_rss: list[Obj], old: list[Obj]) -> int:
        min_available = U.replicas(self.d) - U.max_unavailable(self.d)
        # Upstream sums status.availableReplicas as is. A ReplicaSet just scaled down
        # still reports the pods it is about to delete, and counting them could take
        # availability below the minimum; at most spec.replicas of them will remain.
        available = sum(
            min(U.status_count(rs, "availableReplicas"), U.replicas(rs)) for rs in all_rss
        )
        if available <= min_available:
            return 0
        wanted = available - min_available
        total = 0
        for rs in U.oldest_first(old):
            if total >= wanted:
                break
            size = U.replicas(rs)
            if size == 0:
                continue
            down = min(size, wanted - total)
            self.scale_if_needed(rs, size - down)
            total += down
        return total

    # -- recreate ---------------------------------------------------------------
    def rollout_recreate(self) -> None:
        new, old = self.new_and_old(create=False)
        all_rss = [*old, *([new] if new else [])]
        scaled = False
        for rs in U.active(old):
            if self.scale_if_needed(rs, 0):
                scaled = True
        if scaled:
            self.sync_rollout_status(all_rss, new)
            return
        if self.old_pods_running(new, old):
            self.sync_rollout_status(all_rss, new)
            return
        if new is None:
            new, old = self.new_and_old(create=True)
            assert new is not None
            all_rss = [*old, new]
        if U.replicas(new) != U.replicas(self.d):
            self.scale_if_needed(new, U.replicas(self.d))
        if deployment_complete(self.original, P.status(self.original)):
            self.cleanup(old)
        self.sync_rollout_status(all_rss, new)

    def old_pods_running(self, new: Obj | None, old: list[Obj]) -> bool:
        if U.sum_status(old, "replicas") > 0:
            return True
        new_uid = P.meta(new).get("uid") if new is not None else None
        for rs in old:
            uid = str(P.meta(rs).get("uid") or "")
            if not uid or uid == new_uid:
                continue
            for pod in self.pods_by_rs.get(uid, ()):
                if P.phase(pod) in ("Failed", "Succeeded"):
                    continue
                return True
        return False

    # -- history -------------------------------------------------------------------
    def cleanup(self, old: list[Obj]) -> None:
        limit = U.revision_history_limit(self.d)
        if limit is None:
            return
        alive = [rs for rs in old if not P.is_being_deleted(rs)]
        diff = len(alive) - limit
        if diff <= 0:
            return
        for rs in U.by_revision(alive)[:diff]:
            if (
                U.status_count(rs, "replicas") != 0
                or U.replicas(rs) != 0
                or int(P.meta(rs).get("generation") or 0) > U.status_count(rs, "observedGeneration")
                or rs.get("metadata", {}).get("name") in self._updated
            ):
                continue
            self.plan.deletes.append(rs)

    # -- status ----------------------------------------------------------------------
    def sync_status_only(self) -> None:
        new, old = self.new_and_old(create=False)
        self.sync_status([*old, *([new] if new else [])], new)

    def sync_status(self, all_rss: list[Obj], new: Obj | None) -> None:
        self.d["status"] = calculate_status(all_rss, new, self.d, self.now)

    def sync_rollout_status(self, all_rss: list[Obj], new: Obj | None) -> None:
        d = self.d
        status = calculate_status(all_rss, new, d, self.now)
        deadline = U.progress_deadline(d)
        if deadline is None:
            U.remove_condition(status, U.PROGRESSING)
        current = U.get_condition(P.status(d), U.PROGRESSING)
        complete_before = (
            status.get("replicas", 0) == status.get("updatedReplicas", 0)
            and current is not None
            and current.get("reason") == U.NEW_RS_AVAILABLE
        )
        new_name = P.meta(new).get("name") if new is not None else None
        name = P.meta(d).get("name")
        if deadline is not None and not complete_before:
            if deployment_complete(d, status):
                msg = (
                    f'ReplicaSet "{new_name}" has successfully progressed.'
                    if new_name
                    else f'Deployment "{name}" has successfully progressed.'
                )
                U.set_condition(
                    status,
                    U.new_condition(U.PROGRESSING, "True", U.NEW_RS_AVAILABLE, msg, self.now),
                )
            elif deployment_progressing(d, status):
                msg = (
                    f'ReplicaSet "{new_name}" is progressing.'
                    if new_name
                    else f'Deployment "{name}" is progressing.'
                )
                cond = U.new_condition(U.PROGRESSING, "True", U.RS_UPDATED, msg, self.now)
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    U.remove_condition(status, U.PROGRESSING)
                U.set_condition(status, cond)
            elif self.timed_out(status):
                msg = (
                    f'ReplicaSet "{new_name}" has timed out progressing.'
                    if new_name
                    else f'Deployment "{name}" has timed out progressing.'
                )
                U.set_condition(
                    status, U.new_condition(U.PROGRESSING, "False", U.TIMED_OUT, msg, self.now)
                )
        failure = replica_failure(all_rss)
        if failure is not None:
            U.set_condition(status, failure)
        else:
            U.remove_condition(status, U.REPLICA_FAILURE)
        if _normal_status(status) == _normal_status(P.status(d)):
            self.plan.requeue_after = self.stuck_requeue(status)
        d["status"] = status

    def timed_out(self, status: Obj) -> bool:
        deadline = U.progress_deadline(self.d)
        if deadline is None:
            return False
        cond = U.get_condition(status, U.PROGRESSING)
        if cond is None or cond.get("reason") == U.NEW_RS_AVAILABLE:
            return False
        if cond.get("reason") == U.TIMED_OUT:
            return True
        since = P.parse_time(cond.get("lastUpdateTime"))
        return since is not None and (self.now - since).total_seconds() > deadline

    def stuck_requeue(self, status: Obj) -> float | None:
        deadline = U.progress_deadline(self.d)
        current = U.get_condition(P.status(self.d), U.PROGRESSING)
        if deadline is None or current is None:
            return None
        if deployment_complete(self.d, status) or current.get("reason") == U.TIMED_OUT:
            return None
        since = P.parse_time(current.get("lastUpdateTime"))
        if since is None:
            return None
        after = deadline - (self.now - since).total_seconds()
        return max(after, 0.0) + 1.0


def _round_half_away(x: float) -> int:
    """Go's ``math.Round``: halves away from zero."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def calculate_status(all_rss: list[Obj], new: Obj | None, d: Obj, now: datetime) -> Obj:
    available = U.sum_status(all_rss, "availableReplicas")
    unavailable = max(U.sum_replicas(all_rss) - available, 0)
    old_status = P.status(d)
    status: Obj = {
        "observedGeneration": P.meta(d).get("generation") or 0,
        "replicas": U.sum_status(all_rss, "replicas"),
        "updatedReplicas": U.sum_status([new], "replicas"),
        "readyReplicas": U.sum_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    status = {k: v for k, v in status.items() if v}
    if "collisionCount" in old_status:
        status["collisionCount"] = old_status["collisionCount"]
    conditions = [copy.deepcopy(c) for c in old_status.get("conditions") or []]
    if conditions:
        status["conditions"] = conditions
    if available >= U.replicas(d) - U.max_unavailable(d):
        cond = U.new_condition(
            U.AVAILABLE, "True", U.MIN_AVAILABLE, "Deployment has minimum availability.", now
        )
    else:
        cond = U.new_condition(
            U.AVAILABLE,
            "False",
            U.MIN_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    U.set_condition(status, cond)
    return status


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    target = U.replicas(d)
    return (
        int(status.get("updatedReplicas") or 0) == target
        and int(status.get("replicas") or 0) == target
        and int(status.get("availableReplicas") or 0) == target
        and int(status.get("observedGeneration") or 0) >= int(P.meta(d).get("generation") or 0)
    )


def deployment_progressing(d: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old = P.status(d)

    def n(s: Mapping[str, Any], k: str) -> int:
        return int(s.get(k) or 0)

    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(new, "replicas") - n(new, "updatedReplicas")
    return (
        n(new, "updatedReplicas") > n(old, "updatedReplicas")
        or new_old < old_old
        or n(new, "readyReplicas") > n(old, "readyReplicas")
        or n(new, "availableReplicas") > n(old, "availableReplicas")
    )


def replica_failure(all_rss: list[Obj]) -> Obj | None:
    """The first ``ReplicaFailure`` condition of the ReplicaSets, as a Deployment condition."""
    for rs in all_rss:
        for cond in P.status(rs).get("conditions") or []:
            if cond.get("type") == U.REPLICA_FAILURE:
                out: Obj = {
                    "type": U.REPLICA_FAILURE,
                    "status": cond.get("status", "True"),
                    "lastUpdateTime": cond.get("lastTransitionTime"),
                    "lastTransitionTime": cond.get("lastTransitionTime"),
                    "reason": cond.get("reason", ""),
                    "message": cond.get("message", ""),
                }
                return out
    return None


def _normal_status(status: Mapping[str, Any]) -> Obj:
    return {k: v for k, v in status.items() if v or k == "collisionCount"}


def _differs(original: Mapping[str, Any], d: Obj) -> bool:
    if U.annotations_of(original) != U.annotations_of(d):
        return True
    return _normal_status(P.status(original)) != _normal_status(P.status(d))
