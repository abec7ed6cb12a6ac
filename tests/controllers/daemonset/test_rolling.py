"""The rolling-update planner: bounds resolution, single-step bounds, whole rollouts (pure)."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.core import Node, Pod, PodCondition
from controllers.daemonset import (
    allows_surge,
    plan,
    rolling_update,
    split_new_old,
    surge_and_unavailable,
    template_hash,
)
from controllers.replicaset import is_pod_available
from reconcile import Uid
from tests.controllers.daemonset.builders import T0, daemonset, node, pod

OLD = "old-hash"


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        (None, None, 10, (0, 1)),  # Kubernetes' defaults
        ("10%", "10%", 15, (2, 2)),  # both round up
        (0, "1%", 10, (0, 1)),
        (0, 0, 10, (0, 1)),  # both zero: one may be unavailable
        (0, 0, 0, (0, 0)),
        ("100%", 0, 7, (7, 0)),
        (3, "50%", 5, (3, 3)),
    ],
)
def test_surge_and_unavailable_round_up(
    surge: int | str | None,
    unavailable: int | str | None,
    desired: int,
    expected: tuple[int, int],
) -> None:
    """Percentages of the desired nodes round up, for maxSurge and maxUnavailable alike."""
    ds = daemonset(max_surge=surge, max_unavailable=unavailable)
    assert expected == surge_and_unavailable(ds, desired)


@pytest.mark.parametrize(
    ("surge", "unavailable", "field"),
    [("25", 1, "maxSurge"), (0, "x%", "maxUnavailable"), (-1, 1, "maxSurge")],
)
def test_invalid_bounds_name_the_field(
    surge: int | str, unavailable: int | str, field: str
) -> None:
    """A malformed or negative bound is an error naming its field."""
    ds = daemonset(max_surge=surge, max_unavailable=unavailable)
    with pytest.raises(ValueError, match=f"spec.updateStrategy.rollingUpdate.{field}"):
        surge_and_unavailable(ds, 10)


def test_on_delete_has_no_rolling_bounds() -> None:
    """An OnDelete DaemonSet neither surges nor replaces pods by itself."""
    ds = daemonset(on_delete=True)
    assert (0, 0) == surge_and_unavailable(ds, 10)
    assert not allows_surge(ds)


def test_any_nonzero_surge_percentage_allows_surge() -> None:
    """``maxSurge: 1%`` allows two pods on a node."""
    assert allows_surge(daemonset(max_surge="1%", max_unavailable=0))
    assert not allows_surge(daemonset(max_surge=0))


def test_split_new_old_refuses_doubles() -> None:
    """Two old (or two new) live pods on a node are for the manage step to sort out."""
    ds = daemonset()
    new = template_hash(ds)
    assert (None, None, False) == split_new_old([pod(ds, "n", hash_=OLD)] * 2, new)
    fresh, old = pod(ds, "n"), pod(ds, "n", hash_=OLD)
    assert (fresh, old, True) == split_new_old([old, fresh], new)
    assert (None, None, True) == split_new_old([pod(ds, "n", hash_=OLD, deleting=True)], new)


# -- one step ------------------------------------------------------------------------------------

NODE_STATES = st.sampled_from(
    ["none", "old", "old-unready", "new", "new-unready", "old+new", "old+new-unready", "old+old"]
)


def _pods_for(ds_hash: str, state: str, name: str) -> list[Pod]:
    ds = daemonset()
    made: list[Pod] = []
    for part in state.split("+"):
        if part == "none":
            continue
        ready = None if part.endswith("-unready") else T0
        kind = part.removesuffix("-unready")
        made.append(pod(ds, name, hash_=ds_hash if kind == "new" else OLD, ready_since=ready))
    return made


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[dict[str, list[Pod]], dict[str, bool]]:
    """Pods by node in mixed rollout states, and which nodes should run the pod."""
    states = draw(st.lists(NODE_STATES, min_size=1, max_size=12))
    new = template_hash(daemonset())
    groups = {f"n{i:02d}": _pods_for(new, s, f"n{i:02d}") for i, s in enumerate(states)}
    should_run = {name: draw(st.booleans()) for name in groups}
    return {k: v for k, v in groups.items() if v}, should_run


BOUNDS = st.one_of(st.integers(0, 4), st.sampled_from(["0%", "20%", "50%", "100%"]))


@given(snapshots(), BOUNDS)
def test_without_surge_deletes_at_most_max_unavailable_available_pods(
    snapshot: tuple[dict[str, list[Pod]], dict[str, bool]], unavailable: int | str
) -> None:
    """Without surge a step never deletes more available pods than maxUnavailable allows."""
    groups, should_run = snapshot
    ds = daemonset(max_unavailable=unavailable, max_surge=0)
    step = rolling_update(ds, groups, should_run, hash_=template_hash(ds), now=T0)
    _, limit = surge_and_unavailable(ds, sum(should_run.values()))
    available = [p for p in step.delete if is_pod_available(p, 0, T0)]
    assert len(available) <= limit
    assert not step.create
    assert all(p.metadata.labels["controller-revision-hash"] == OLD for p in step.delete)


@given(snapshots(), st.one_of(st.integers(1, 4), st.sampled_from(["10%", "50%", "100%"])))
def test_with_surge_creates_next_to_at_most_max_surge_available_pods(
    snapshot: tuple[dict[str, list[Pod]], dict[str, bool]], surge: int | str
) -> None:
    """With surge a step adds a pod next to at most maxSurge available old pods."""
    groups, should_run = snapshot
    ds = daemonset(max_unavailable=0, max_surge=surge)
    new = template_hash(ds)
    step = rolling_update(ds, groups, should_run, hash_=new, now=T0)
    limit, _ = surge_and_unavailable(ds, sum(should_run.values()))
    beside_available = [
        name
        for name in step.create
        if any(is_pod_available(p, 0, T0) for p in groups.get(name, ()))
    ]
    assert len(beside_available) <= limit
    assert len(set(step.create)) == len(step.create)
    for victim in step.delete:  # an old pod goes only when its node has an available new one
        name = next(n for n, ps in groups.items() if victim in ps)
        fresh, old, _ = split_new_old(groups[name], new)
        assert old is victim
        assert fresh is None or is_pod_available(fresh, 0, T0)


@given(snapshots())
def test_rolling_step_is_deterministic(
    snapshot: tuple[dict[str, list[Pod]], dict[str, bool]],
) -> None:
    """The same snapshot gives the same step."""
    groups, should_run = snapshot
    ds = daemonset(max_unavailable="50%", max_surge=1)
    first = rolling_update(ds, groups, should_run, hash_=template_hash(ds), now=T0)
    assert first == rolling_update(
        ds, dict(reversed(groups.items())), should_run, hash_=template_hash(ds), now=T0
    )


# -- whole rollouts ------------------------------------------------------------------------------


@attrs.define
class _Model:
    """Nodes each running an old available pod; new pods become ready ``delay`` steps late."""

    nodes: list[Node]
    pods: list[Pod]
    delay: int
    born: dict[str, int] = attrs.field(factory=dict)

    def step(self, ds_hash: str, made: list[Pod], deleted: set[Uid], at: int) -> None:
        self.pods = [p for p in self.pods if p.metadata.uid not in deleted]
        for p in made:
            self.born[p.metadata.uid] = at
        self.pods += made
        self.pods = [self._ripen(p, at) for p in self.pods]

    def _ripen(self, p: Pod, at: int) -> Pod:
        born = self.born.get(p.metadata.uid)
        if born is None or at - born < self.delay:
            return p
        return pod_ready(p)


def pod_ready(p: Pod) -> Pod:
    """``p`` ready since T0."""
    conditions = (PodCondition(type="Ready", status="True", last_transition_time=T0),)
    return attrs.evolve(p, status=attrs.evolve(p.status, conditions=conditions))


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(1, 12),
    surge=BOUNDS,
    unavailable=BOUNDS,
    delay=st.integers(0, 2),
)
def test_rollout_converges_within_bounds(
    count: int, surge: int | str, unavailable: int | str, delay: int
) -> None:
    """A rollout ends with a new available pod on every node, within both bounds at every step."""
    ds = daemonset(image="agent:2", max_surge=surge, max_unavailable=unavailable)
    new = template_hash(ds)
    names = [f"n{i:02d}" for i in range(count)]
    model = _Model(
        nodes=[node(n) for n in names], pods=[pod(ds, n, hash_=OLD) for n in names], delay=delay
    )
    max_surge, max_unavailable = surge_and_unavailable(ds, count)
    now = T0 + dt.timedelta(hours=1)
    for at in range(1, 6 * count + 10):
        step = plan(ds, model.nodes, model.pods, now=now)
        if not step.writes_pods and all(is_pod_available(p, 0, now) for p in model.pods):
            break
        creates = [*step.manage.create, *step.rollout.create]
        made = [pod(ds, n, ready_since=None) for n in creates]
        deleted = {p.metadata.uid for p in (*step.manage.delete, *step.rollout.delete)}
        model.step(new, made, deleted, at)
        live = {n: [p for p in model.pods if p.spec.node_name == n] for n in names}
        without = [n for n, ps in live.items() if not any(is_pod_available(p, 0, now) for p in ps)]
        extra = [n for n, ps in live.items() if len(ps) > 1]
        assert len(without) <= max_unavailable, (at, without)
        assert len(extra) <= max_surge, (at, extra)
    assert sorted(names) == sorted(p.spec.node_name for p in model.pods)
    assert all(p.metadata.labels["controller-revision-hash"] == new for p in model.pods)
    assert all(is_pod_available(p, 0, now) for p in model.pods)


def test_surge_replaces_unavailable_old_pods_at_once_and_sunsets_others_when_spare() -> None:
    """Surge: unavailable old pods are replaced at once; unwanted available ones go while spare."""
    ds = daemonset(max_surge=1, max_unavailable=0)
    new = template_hash(ds)
    groups = {
        "broken-1": [pod(ds, "broken-1", hash_=OLD, ready_since=None)],
        "broken-2": [pod(ds, "broken-2", hash_=OLD, ready_since=None)],
        "fine": [pod(ds, "fine", hash_=OLD)],
        "leaving": [pod(ds, "leaving", hash_=OLD)],
        "done": [pod(ds, "done", hash_=new)],
    }
    should_run = {"broken-1": True, "broken-2": True, "fine": True, "leaving": False, "done": True}
    step = rolling_update(ds, groups, should_run, hash_=new, now=T0)
    assert ("broken-1", "broken-2", "fine") == step.create
    assert () == step.delete  # available: fine, leaving, done = 3 < desired 4
    should_run["broken-2"] = False  # now 3 available against 3 desired: still no spare
    step = rolling_update(ds, groups, should_run, hash_=new, now=T0)
    assert (groups["broken-2"][0],) == step.delete  # unavailable and unwanted: deleted
    should_run["broken-1"] = False  # 3 available against 2 desired: one spare
    step = rolling_update(ds, groups, should_run, hash_=new, now=T0)
    assert {
        groups["broken-1"][0].metadata.uid,
        groups["broken-2"][0].metadata.uid,
        groups["leaving"][0].metadata.uid,
    } == {p.metadata.uid for p in step.delete}


def test_desired_node_without_pod_counts_as_unavailable() -> None:
    """A node that should run a pod and has none uses up maxUnavailable like any other."""
    ds = daemonset(max_unavailable=1)
    groups = {"n1": [pod(ds, "n1", hash_=OLD)]}
    step = rolling_update(ds, groups, {"n1": True, "n2": True}, hash_=template_hash(ds), now=T0)
    assert () == step.delete
    step = rolling_update(ds, groups, {"n1": True, "n2": False}, hash_=template_hash(ds), now=T0)
    assert (groups["n1"][0],) == step.delete
