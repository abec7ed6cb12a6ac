"""
DaemonSet properties over the real embedded cluster (all controllers, simulated kubelets).

Hypothesis draws nodes (labels, taints, a tainted control-plane node,
cordons), a DaemonSet (node selector, tolerations, ``hostNetwork``) and a
short story of node changes; after every settle each node must run exactly
what its verdict allows. A second property rolls a new template out with
random ``maxSurge``/``maxUnavailable``/``minReadySeconds`` while a watch checks
the bounds after every pod event.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import controllers
import reconcile
from controllers.api.apps import DaemonSet, RollingUpdateDaemonSet
from controllers.api.core import Node, Pod
from controllers.api.scheduling import Taint, Toleration
from controllers.daemonset import (
    node_should_run_daemon_pod,
    surge_and_unavailable,
    target_node,
)
from controllers.kubelet import NodeConfig
from controllers.replicaset import is_pod_available
from tests.controllers.daemonset.builders import daemonset

CONTROL_PLANE = Taint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")
TAINTS = st.sampled_from(
    [
        Taint(key="dedicated", value="db", effect="NoSchedule"),
        Taint(key="dedicated", value="db", effect="NoExecute"),
        Taint(key="gpu", effect="NoSchedule"),
        Taint(key="gpu", effect="PreferNoSchedule"),
    ]
)
LABELS = st.dictionaries(st.sampled_from(["zone", "disk"]), st.sampled_from(["a", "b"]), max_size=2)


@st.composite
def node_configs(draw: st.DrawFn) -> list[NodeConfig]:
    """A control-plane node (tainted) and 1-4 workers with random labels, taints, cordons."""
    workers = [
        NodeConfig(
            name=f"worker-{i + 1}",
            labels=draw(LABELS),
            taints=tuple(draw(st.lists(TAINTS, max_size=2, unique_by=lambda t: t.key))),
            unschedulable=draw(st.booleans()),
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    return [NodeConfig(name="control-plane", taints=(CONTROL_PLANE,)), *workers]


@st.composite
def daemonsets(draw: st.DrawFn) -> DaemonSet:
    """A DaemonSet with a random node selector, tolerations and hostNetwork."""
    tolerations = draw(
        st.lists(
            st.sampled_from(
                [
                    Toleration(key="node-role.kubernetes.io/control-plane", operator="Exists"),
                    Toleration(key="dedicated", operator="Equal", value="db"),
                    Toleration(key="gpu", operator="Exists", effect="NoSchedule"),
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    selector = draw(st.sampled_from([None, {"zone": "a"}, {"disk": "b"}]))
    ds = daemonset(
        node_selector=selector, tolerations=tolerations, host_network=draw(st.booleans())
    )
    meta = reconcile.ObjectMeta(name="agent", namespace="default")
    return attrs.evolve(ds, metadata=meta)


ACTIONS = st.one_of(
    st.tuples(st.just("label"), LABELS),
    st.tuples(st.just("taint"), TAINTS),
    st.tuples(st.just("untaint"), st.sampled_from(["dedicated", "gpu"])),
    st.tuples(st.just("cordon"), st.booleans()),
    st.tuples(st.just("add"), LABELS),
    st.tuples(st.just("remove"), st.none()),
)


async def _act(cluster: controllers.Cluster, action: tuple[str, Any], target: str) -> None:
    kind, arg = action
    names = sorted(n.metadata.name for n in cluster.api.list_nowait(Node).items)
    if kind == "add":
        fresh = next(f"extra-{i}" for i in range(len(names) + 1) if f"extra-{i}" not in names)
        await cluster.add_node(fresh, labels=arg)
        return
    if target not in names:
        return
    if kind == "label":
        await cluster.label_node(target, {"zone": arg.get("zone"), "disk": arg.get("disk")})
    elif kind == "taint":
        await cluster.taint_node(target, arg.key, arg.value, arg.effect)
    elif kind == "untaint":
        await cluster.untaint_node(target, arg)
    elif kind == "cordon":
        await (cluster.cordon(target) if arg else cluster.uncordon(target))
    elif kind == "remove":
        await cluster.remove_node(target)


def _check_placement(cluster: controllers.Cluster, ds: DaemonSet) -> None:
    """Each node runs one pod if it should, none if it must not, at most one otherwise."""
    pods = [
        p
        for p in cluster.api.list_nowait(Pod, namespace="default").items
        if p.metadata.deletion_timestamp is None
    ]
    for n in cluster.api.list_nowait(Node).items:
        here = [p for p in pods if target_node(p) == n.metadata.name]
        verdict = node_should_run_daemon_pod(n, ds)
        if verdict.should_run:
            assert 1 == len(here), (n.metadata.name, n.spec.taints, len(here))
        elif not verdict.should_continue_running:
            assert [] == here, (n.metadata.name, n.spec.taints)
        else:
            assert len(here) <= 1
    names = {n.metadata.name for n in cluster.api.list_nowait(Node).items}
    assert all(target_node(p) in names for p in pods)


@settings(max_examples=40, deadline=None)
@given(
    configs=node_configs(),
    ds=daemonsets(),
    story=st.lists(st.tuples(ACTIONS, st.integers(0, 4)), max_size=4),
)
def test_one_pod_on_every_eligible_node_after_each_settle(
    configs: list[NodeConfig], ds: DaemonSet, story: list[tuple[tuple[str, Any], int]]
) -> None:
    """After every settle a DaemonSet has one pod per eligible node and none where it must not."""

    async def main() -> None:
        async with controllers.Cluster(nodes=configs, seed=3, events=False) as cluster:
            created = await cluster.api.create(ds)
            await cluster.settle()
            _check_placement(cluster, created)
            for action, index in story:
                names = sorted(n.metadata.name for n in cluster.api.list_nowait(Node).items)
                await _act(cluster, action, names[index % len(names)] if names else "")
                await cluster.settle()
                _check_placement(cluster, created)

    controllers.run(main)


class _Bounds:
    """Eligible nodes without an available pod, and nodes with two, after every pod event."""

    def __init__(self, cluster: controllers.Cluster, min_ready: int, eligible: set[str]) -> None:
        self.cluster = cluster
        self.min_ready = min_ready
        self.eligible = eligible
        self.pods: dict[str, Pod] = {}
        self.worst_unavailable = 0
        self.worst_extra = 0

    def apply(self, kind: reconcile.EventType, pod: Pod) -> None:
        if kind is reconcile.EventType.DELETED or pod.metadata.deletion_timestamp is not None:
            self.pods.pop(pod.metadata.uid, None)
        else:
            self.pods[pod.metadata.uid] = pod
        self.check()

    def check(self) -> None:
        """Record the counts of this instant."""
        now = self.cluster.clock.now()
        per_node: dict[str, list[Pod]] = {}
        for p in self.pods.values():
            per_node.setdefault(target_node(p), []).append(p)
        unavailable = sum(
            1
            for name in self.eligible
            if not any(is_pod_available(p, self.min_ready, now) for p in per_node.get(name, ()))
        )
        extra = sum(1 for ps in per_node.values() if len(ps) > 1)
        self.worst_unavailable = max(self.worst_unavailable, unavailable)
        self.worst_extra = max(self.worst_extra, extra)


@settings(max_examples=40, deadline=None)
@given(
    workers=st.integers(1, 6),
    surge=st.one_of(st.integers(0, 3), st.sampled_from(["0%", "30%", "100%"])),
    unavailable=st.one_of(st.integers(0, 3), st.sampled_from(["0%", "30%", "100%"])),
    min_ready=st.sampled_from([0, 0, 3]),
)
def test_rolling_update_stays_within_surge_and_unavailable(
    workers: int, surge: int | str, unavailable: int | str, min_ready: int
) -> None:
    """While a template rolls out, unavailable and doubled nodes stay within the bounds."""
    ds = attrs.evolve(
        daemonset(min_ready_seconds=min_ready),
        metadata=reconcile.ObjectMeta(name="agent", namespace="default"),
    )
    rolling = RollingUpdateDaemonSet(max_surge=surge, max_unavailable=unavailable)
    strategy = attrs.evolve(ds.spec.update_strategy, rolling_update=rolling)
    ds = attrs.evolve(ds, spec=attrs.evolve(ds.spec, update_strategy=strategy))
    configs = [NodeConfig(name="control-plane", taints=(CONTROL_PLANE,))] + [
        NodeConfig(name=f"worker-{i + 1}") for i in range(workers)
    ]
    assume(surge not in (0, "0%") or unavailable not in (0, "0%"))  # refused by validation
    max_surge, max_unavailable = surge_and_unavailable(ds, workers)

    async def main() -> None:
        async with controllers.Cluster(nodes=configs, seed=4, events=False) as cluster:
            await cluster.api.create(ds)
            await cluster.settle()
            await cluster.advance(min_ready + 1)
            eligible = {f"worker-{i + 1}" for i in range(workers)}
            bounds = _Bounds(cluster, min_ready, eligible)
            for p in cluster.api.list_nowait(Pod, namespace="default").items:
                bounds.pods[p.metadata.uid] = p
            bounds.check()
            assert 0 == bounds.worst_unavailable
            since = cluster.api.resource_version

            async def follow() -> None:
                async for event in cluster.api.watch(Pod, namespace="default", since=since):
                    if (
                        isinstance(event.object, Pod)
                        and event.type is not reconcile.EventType.BOOKMARK
                    ):
                        bounds.apply(event.type, event.object)

            async with asyncio.TaskGroup() as tasks:
                watch = tasks.create_task(follow())
                await cluster.set_image("ds", "agent", {"agent": "agent:2"})
                await cluster.settle()
                await cluster.advance(min_ready + 1)
                await cluster.settle()
                watch.cancel()
            assert bounds.worst_unavailable <= max_unavailable
            assert bounds.worst_extra <= max_surge
            final = cluster.api.get_nowait(DaemonSet, "agent", namespace="default")
            assert workers == final.status.updated_number_scheduled
            assert workers == final.status.number_available
            live = [
                p
                for p in cluster.api.list_nowait(Pod, namespace="default").items
                if p.metadata.deletion_timestamp is None
            ]
            assert {"agent:2"} == {p.spec.containers[0].image for p in live}
            assert sorted(eligible) == sorted(target_node(p) for p in live)
            now = cluster.clock.now()
            assert all(is_pod_available(p, min_ready, now) for p in live)

    controllers.run(main)
