"""The DaemonSet planner: claiming, managing nodes, status, idempotence (pure)."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.core import Node, Pod
from controllers.daemonset import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    FailureBackoff,
    backoff_remaining,
    claim,
    judge_nodes,
    manage,
    next_backoff,
    node_should_run_daemon_pod,
    plan,
    pods_by_node,
    target_node,
    template_hash,
)
from reconcile import FrozenDict, OwnerReference, Uid
from tests.controllers.daemonset.builders import (
    OTHER_UID,
    T0,
    daemonset,
    node,
    nodes,
    pod,
    taint,
)

LATER = T0 + dt.timedelta(hours=1)


def _orphan(p: Pod) -> Pod:
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, owner_references=()))


def _owned_by_other(p: Pod) -> Pod:
    ref = OwnerReference(
        api_version="apps/v1", kind="ReplicaSet", name="x", uid=OTHER_UID, controller=True
    )
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, owner_references=(ref,)))


def _relabelled(p: Pod) -> Pod:
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, labels=FrozenDict({"app": "other"})))


def test_claim_adopts_orphans_releases_strays_and_never_steals() -> None:
    """Matching orphans are adopted, non-matching owned pods released, others' pods ignored."""
    ds = daemonset()
    mine, orphan = pod(ds, "n1"), _orphan(pod(ds, "n2"))
    stray, foreign = _relabelled(pod(ds, "n3")), _owned_by_other(pod(ds, "n4"))
    claimed = claim(ds, [mine, orphan, stray, foreign])
    assert (mine,) == claimed.owned
    assert (orphan,) == claimed.adopt
    assert (stray,) == claimed.release


def test_creates_pods_on_eligible_nodes_only() -> None:
    """A pod is planned for every node that should run one, and none for the others."""
    ds = daemonset()
    cluster = [
        node("worker-1"),
        node("worker-2"),
        node("control-plane", taints=[taint("node-role.kubernetes.io/control-plane")]),
        node("cordoned", unschedulable=True, taints=[taint("node.kubernetes.io/unschedulable")]),
    ]
    step = plan(ds, cluster, [], now=T0)
    assert ("cordoned", "worker-1", "worker-2") == step.manage.create
    assert 3 == step.status.desired_number_scheduled


def test_does_nothing_when_converged() -> None:
    """One available up-to-date pod per eligible node: nothing to write, status complete."""
    ds = daemonset()
    cluster = [node("n1"), node("n2")]
    step = plan(ds, cluster, [pod(ds, "n1"), pod(ds, "n2")], now=LATER)
    assert not step.writes_pods
    assert 2 == step.status.number_available == step.status.updated_number_scheduled
    assert 0 == step.status.number_unavailable
    assert ds.metadata.generation == step.status.observed_generation


def test_keeps_the_oldest_bound_pod_and_deletes_the_others() -> None:
    """Extra pods on a node: the bound, oldest one stays; the rest go."""
    ds = daemonset()
    oldest = pod(ds, "n1", created=T0)
    newer = pod(ds, "n1", created=T0 + dt.timedelta(seconds=5))
    unbound_older = pod(ds, "n1", created=T0 - dt.timedelta(seconds=5), bound=False)
    step = plan(ds, [node("n1")], [newer, unbound_older, oldest], now=LATER)
    assert {newer.metadata.uid, unbound_older.metadata.uid} == {
        p.metadata.uid for p in step.manage.delete
    }


def test_no_execute_taint_deletes_and_no_schedule_taint_keeps() -> None:
    """An untolerated NoExecute taint removes the pod; NoSchedule lets it stay."""
    ds = daemonset()
    cluster = [node("evict", taints=[taint("x", "NoExecute")]), node("keep", taints=[taint("x")])]
    evicted, kept = pod(ds, "evict"), pod(ds, "keep")
    step = plan(ds, cluster, [evicted, kept], now=LATER)
    assert (evicted,) == step.manage.delete
    assert () == step.manage.create
    # Both pods run where no new pod would go: Kubernetes counts both as misscheduled.
    assert 2 == step.status.number_misscheduled
    assert 0 == step.status.desired_number_scheduled


def test_unbound_pods_for_missing_nodes_are_deleted() -> None:
    """A pod waiting for a node that is gone is deleted; a bound one is left to the pod GC."""
    ds = daemonset()
    waiting, bound = pod(ds, "gone", bound=False), pod(ds, "gone-too")
    step = plan(ds, [], [waiting, bound], now=LATER)
    assert (waiting,) == step.manage.delete


def test_failed_pod_is_deleted_then_held_by_backoff() -> None:
    """The first failed pod goes at once; the next within the back-off waits for it."""
    ds = daemonset()
    failed = pod(ds, "n1", phase="Failed", ready_since=None)
    verdicts = judge_nodes(ds, [node("n1")])
    groups = pods_by_node([failed])
    first = manage(ds, verdicts, groups, hash_=template_hash(ds), now=T0)
    assert ((failed, "n1"),) == first.failed
    assert (failed,) == first.delete
    again = manage(
        ds,
        verdicts,
        groups,
        hash_=template_hash(ds),
        now=T0 + dt.timedelta(seconds=0.5),
        backoff=first.backoff,
    )
    assert () == again.delete
    assert 0.5 == again.retry_after
    later = manage(
        ds,
        verdicts,
        groups,
        hash_=template_hash(ds),
        now=T0 + dt.timedelta(seconds=1),
        backoff=first.backoff,
    )
    assert (failed,) == later.delete
    assert 2 * BACKOFF_INITIAL == later.backoff["n1"].delay


def test_two_failed_pods_on_one_node_share_its_backoff() -> None:
    """Deleting the first failed pod starts the node's back-off: the second waits for it."""
    ds = daemonset()
    first, second = (pod(ds, "n1", phase="Failed", ready_since=None) for _ in range(2))
    verdicts = judge_nodes(ds, [node("n1")])
    step = manage(ds, verdicts, pods_by_node([first, second]), hash_=template_hash(ds), now=T0)
    assert ((first, "n1"),) == step.failed
    assert (first,) == step.delete
    assert BACKOFF_INITIAL == step.retry_after
    assert BACKOFF_INITIAL == step.backoff["n1"].delay


def test_backoff_doubles_up_to_its_maximum_and_expires() -> None:
    """1 s, 2 s, 4 s ... capped at 15 min; forgotten after twice the maximum."""
    entry = None
    delays = []
    for _ in range(12):
        entry = next_backoff(entry, T0)
        delays.append(entry.delay)
    assert [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900] == delays
    assert BACKOFF_MAX == backoff_remaining(entry, T0)
    stale = T0 + dt.timedelta(seconds=2 * BACKOFF_MAX + 1)
    assert 0 == backoff_remaining(entry, stale)
    assert BACKOFF_INITIAL == next_backoff(entry, stale).delay


def test_succeeded_pods_are_deleted() -> None:
    """A daemon pod that exited successfully is removed (and replaced later)."""
    ds = daemonset()
    done = pod(ds, "n1", phase="Succeeded", ready_since=None)
    step = plan(ds, [node("n1")], [done], now=LATER)
    assert ((done, "n1"),) == step.manage.succeeded
    assert (done,) == step.manage.delete


def test_terminating_pod_blocks_a_new_one_without_surge() -> None:
    """A node whose pod is terminating gets its replacement only once it is gone."""
    ds = daemonset()
    step = plan(ds, [node("n1")], [pod(ds, "n1", deleting=True)], now=LATER)
    assert not step.writes_pods


def test_status_counts_nodes_by_their_first_pod() -> None:
    """Ready, available and updated are judged on each node's first pod."""
    ds = daemonset(min_ready_seconds=30)
    cluster = [node("n1"), node("n2"), node("n3"), node("n4", taints=[taint("x", "NoExecute")])]
    pods = [
        pod(ds, "n1", ready_since=T0),  # available at T0 + 30 s
        pod(ds, "n2", hash_="old", ready_since=T0 - dt.timedelta(minutes=5)),
        pod(ds, "n4"),
    ]
    step = plan(ds, cluster, pods, now=T0 + dt.timedelta(seconds=10), manage_pods=False)
    status = step.status
    assert (3, 2, 1) == (
        status.desired_number_scheduled,
        status.current_number_scheduled,
        status.number_misscheduled,
    )
    assert (2, 1, 1, 2) == (
        status.number_ready,
        status.number_available,
        status.updated_number_scheduled,
        status.number_unavailable,
    )
    assert 0 == status.observed_generation  # expectations pending: generation not observed
    assert 20.0 == step.requeue_after


# -- properties --------------------------------------------------------------------------------

PHASES = st.sampled_from(["Pending", "Running", "Running", "Running"])


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[Node], list[Pod]]:
    """Random nodes and daemon pods on them (and on a few nodes that do not exist)."""
    ds = daemonset()
    drawn = draw(nodes(max_size=6))
    names = [n.metadata.name for n in drawn] + ["ghost"]
    pods = [
        pod(
            ds,
            name,
            hash_=draw(st.sampled_from([None, "old"])),
            phase=draw(PHASES),
            ready_since=draw(st.sampled_from([None, T0])),
            created=T0 + dt.timedelta(seconds=draw(st.integers(0, 3))),
            bound=draw(st.booleans()),
        )
        for name in names
        for _ in range(draw(st.integers(0, 2)))
    ]
    return drawn, pods


def _apply(ds_pods: list[Pod], step_create: tuple[str, ...], deleted: set[Uid]) -> list[Pod]:
    ds = daemonset()
    return [p for p in ds_pods if p.metadata.uid not in deleted] + [
        pod(ds, n, ready_since=None, phase="Pending") for n in step_create
    ]


@settings(max_examples=80, deadline=None)
@given(clusters(), st.sampled_from([0, 1, "50%"]))
def test_manage_is_idempotent(cluster: tuple[list[Node], list[Pod]], surge: int | str) -> None:
    """Once a manage step is applied, planning again manages nothing."""
    nodes_, pods = cluster
    ds = daemonset(max_surge=surge, max_unavailable=0 if surge else 1)
    first = plan(ds, nodes_, pods, now=LATER)
    assert first == plan(ds, nodes_, pods, now=LATER)  # deterministic
    deleted = {p.metadata.uid for p in first.manage.delete}
    after = _apply(pods, first.manage.create, deleted)
    second = plan(ds, nodes_, after, now=LATER)
    assert second.manage.empty, second.manage


@settings(max_examples=80, deadline=None)
@given(clusters())
def test_manage_leaves_one_pod_per_eligible_node(cluster: tuple[list[Node], list[Pod]]) -> None:
    """Without surge, after one managed step each node keeps exactly what its verdict allows."""
    nodes_, pods = cluster
    ds = daemonset()
    step = plan(ds, nodes_, pods, now=LATER)
    deleted = {p.metadata.uid for p in step.manage.delete}
    after = _apply(pods, step.manage.create, deleted)
    for n in nodes_:
        verdict = node_should_run_daemon_pod(n, ds)
        here = [p for p in after if target_node(p) == n.metadata.name]
        if verdict.should_run:
            assert 1 == len(here)
        elif not verdict.should_continue_running:
            assert [] == here
        else:
            assert len(here) <= 1
    assert len(step.manage.create) <= len(nodes_)


def test_orphan_adoption_counts_in_the_plan() -> None:
    """An adopted orphan already runs on its node: no second pod is planned there."""
    ds = daemonset()
    orphan = _orphan(pod(ds, "n1"))
    step = plan(ds, [node("n1")], [orphan], now=LATER)
    assert (orphan,) == step.claim.adopt
    assert () == step.manage.create


def test_being_deleted_manages_nothing() -> None:
    """A DaemonSet with a deletion timestamp creates no pods."""
    ds = daemonset()
    ds = attrs.evolve(ds, metadata=attrs.evolve(ds.metadata, deletion_timestamp=T0))
    assert not plan(ds, [node("n1")], [], now=LATER).writes_pods


def test_backoff_delay_must_be_positive() -> None:
    """A back-off entry with no delay is refused, naming the field."""
    with pytest.raises(ValueError, match="delay"):
        FailureBackoff(delay=0, last=T0)
