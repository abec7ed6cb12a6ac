"""Properties of the pure planner: claims, bounds, status, idempotence and convergence."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import ReplicaSet
from controllers.api.core import Pod
from controllers.replicaset import (
    BURST_REPLICAS,
    REPLICA_FAILURE,
    calculate_status,
    claim,
    is_pod_active,
    next_available_in,
    plan,
    pod_from_template,
)
from reconcile import ConditionStatus, ObjectMeta, Uid, controller_of, is_controlled_by
from tests.controllers.replicaset.builders import (
    LABELS,
    RS_UID,
    T0,
    pod,
    pods,
    replicaset,
    unique_uids,
)

NOW = T0 + dt.timedelta(hours=1)
_names = itertools.count()

replicasets = st.builds(
    replicaset,
    replicas=st.none() | st.integers(min_value=0, max_value=8),
    min_ready_seconds=st.integers(min_value=0, max_value=30),
    deleting=st.integers(min_value=0, max_value=4).map(lambda n: n == 0),
)
pod_lists = st.lists(pods(), max_size=12).filter(unique_uids)


def apply(rs: ReplicaSet, candidates: list[Pod], *, now: dt.datetime) -> list[Pod]:
    """The pods after every write of ``plan`` succeeded (created pods are pending, unassigned)."""
    p = plan(rs, candidates, now=now)
    adopted = {x.metadata.uid for x in p.claim.adopt}
    released = {x.metadata.uid for x in p.claim.release}
    deleted = {x.metadata.uid for x in p.scale.delete}
    ref = pod_from_template(rs).metadata.owner_references
    after = []
    for x in candidates:
        uid = x.metadata.uid
        if uid in deleted:
            continue
        refs = x.metadata.owner_references
        if uid in adopted:
            refs = (*refs, *ref)
        elif uid in released:
            refs = tuple(r for r in refs if r.uid != rs.metadata.uid)
        after.append(attrs.evolve(x, metadata=attrs.evolve(x.metadata, owner_references=refs)))
    for _ in range(p.scale.create):
        new = pod_from_template(rs)
        n = next(_names)
        meta = attrs.evolve(
            new.metadata,
            name=f"web-{n}",
            uid=Uid(f"new-{n}"),
            creation_timestamp=now,
        )
        after.append(attrs.evolve(new, metadata=meta))
    return after


@given(replicasets, pod_lists)
def test_claim_never_takes_pods_another_controller_owns(
    rs: ReplicaSet, candidates: list[Pod]
) -> None:
    """Adopted pods are orphans; kept and released pods are ours; the three sets are disjoint."""
    c = claim(rs, candidates)
    assert all(controller_of(p.metadata) is None for p in c.adopt)
    assert all(is_controlled_by(p.metadata, RS_UID) for p in (*c.owned, *c.release))
    uids = [p.metadata.uid for p in (*c.owned, *c.adopt, *c.release)]
    assert len(set(uids)) == len(uids)
    assert all(is_pod_active(p) for p in (*c.owned, *c.adopt, *c.release))
    assert all(
        rs.spec.selector is not None and rs.spec.selector.matches(p.metadata.labels)
        for p in (*c.owned, *c.adopt)
    )
    if rs.metadata.deleting:
        assert () == c.adopt == c.release


@given(replicasets, pod_lists)
def test_plan_stays_within_bounds(rs: ReplicaSet, candidates: list[Pod]) -> None:
    """Never more creates than missing pods (nor 500), never deletes pods that are not ours."""
    p = plan(rs, candidates, now=NOW)
    mine = [*p.claim.owned, *p.claim.adopt]
    desired = 1 if rs.spec.replicas is None else rs.spec.replicas
    assert 0 <= p.scale.create <= min(max(0, desired - len(mine)), BURST_REPLICAS)
    assert not (p.scale.create and p.scale.delete)
    if not rs.metadata.deleting:
        assert max(0, min(len(mine) - desired, BURST_REPLICAS)) == len(p.scale.delete)
    mine_uids = {x.metadata.uid for x in mine}
    assert all(x.metadata.uid in mine_uids for x in p.scale.delete)
    if rs.metadata.deleting:
        assert 0 == p.scale.create
        assert () == p.scale.delete


@given(replicasets.filter(lambda rs: not rs.metadata.deleting), pod_lists)
def test_plan_is_idempotent(rs: ReplicaSet, candidates: list[Pod]) -> None:
    """Applying a plan and planning again gives a plan that writes no pod."""
    after = apply(rs, candidates, now=NOW)
    again = plan(rs, after, now=NOW)
    assert not again.writes_pods
    desired = 1 if rs.spec.replicas is None else rs.spec.replicas
    assert desired == again.status.replicas


@given(st.integers(min_value=0, max_value=1300), st.integers(min_value=0, max_value=1300))
def test_plan_converges_in_bursts_of_500(start: int, desired: int) -> None:
    """From any count, ``ceil(|diff| / 500)`` syncs reach spec.replicas; then nothing is left."""
    rs = replicaset(replicas=desired)
    current = [pod(owner=rs, ready=T0) for _ in range(start)]
    steps = math.ceil(abs(start - desired) / BURST_REPLICAS)
    for _ in range(steps):
        current = apply(rs, current, now=NOW)
    assert desired == len(current)
    assert not plan(rs, current, now=NOW).writes_pods


@given(replicasets, pod_lists)
def test_status_counts_are_nested(rs: ReplicaSet, candidates: list[Pod]) -> None:
    """available <= ready <= replicas, fullyLabeled <= replicas, observedGeneration follows."""
    status = plan(rs, candidates, now=NOW).status
    assert 0 <= status.available_replicas <= status.ready_replicas <= status.replicas
    assert 0 <= status.fully_labeled_replicas <= status.replicas
    assert rs.metadata.generation == status.observed_generation


def test_status_counts_fully_labeled_ready_and_available() -> None:
    """Template labels must all be present; availability waits minReadySeconds."""
    rs = replicaset(replicas=4, min_ready_seconds=10, template_labels={"app": "web", "v": "1"})
    ours = [
        pod(owner=rs, labels={"app": "web", "v": "1"}, ready=NOW - dt.timedelta(seconds=10)),
        pod(
            owner=rs, labels={"app": "web", "v": "1", "x": "y"}, ready=NOW - dt.timedelta(seconds=3)
        ),
        pod(owner=rs, labels={"app": "web"}),
    ]
    status = calculate_status(rs, ours, now=NOW)
    assert (3, 2, 2, 1) == (
        status.replicas,
        status.fully_labeled_replicas,
        status.ready_replicas,
        status.available_replicas,
    )
    assert 7 == next_available_in(rs, ours, now=NOW)


def test_replica_failure_condition_is_set_once_and_removed_on_success() -> None:
    """An error adds ReplicaFailure/FailedCreate; a later error keeps it; success removes it."""
    rs = replicaset(replicas=3)
    failed = calculate_status(rs, [], now=NOW, error="quota exceeded")
    (condition,) = failed.conditions
    assert (REPLICA_FAILURE, ConditionStatus.TRUE, "FailedCreate", "quota exceeded", NOW) == (
        condition.type,
        condition.status,
        condition.reason,
        condition.message,
        condition.last_transition_time,
    )
    rs = attrs.evolve(rs, status=failed)
    later = calculate_status(rs, [], now=NOW + dt.timedelta(seconds=5), error="other")
    assert failed.conditions == later.conditions
    assert () == calculate_status(rs, [], now=NOW).conditions


def test_pod_from_template_is_controlled_and_generated() -> None:
    """New pods get generateName ``<rs>-``, the template labels and a controller reference."""
    rs = replicaset()
    new = pod_from_template(rs)
    assert ObjectMeta().name == new.metadata.name
    assert ("web-", "default", LABELS) == (
        new.metadata.generate_name,
        new.metadata.namespace,
        dict(new.metadata.labels),
    )
    ref = controller_of(new.metadata)
    assert ref is not None
    assert ("apps/v1", "ReplicaSet", "web", RS_UID, True, True) == (
        ref.api_version,
        ref.kind,
        ref.name,
        ref.uid,
        ref.controller,
        ref.block_owner_deletion,
    )
    assert rs.spec.template.spec == new.spec


def test_deleting_replicaset_neither_scales_nor_adopts() -> None:
    """A ReplicaSet being deleted keeps counting its pods but writes none."""
    rs = replicaset(replicas=5, deleting=True)
    p = plan(rs, [pod(owner=rs), pod()], now=NOW)
    assert not p.writes_pods
    assert 1 == p.status.replicas
