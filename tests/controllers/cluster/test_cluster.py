"""The :class:`controllers.Cluster` facade: lifecycle, object verbs, components and determinism."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import pytest

import reconcile
from controllers import Cluster, run
from controllers.api import dump, load_all
from controllers.api.core import ConfigMap, Node, Pod
from controllers.cluster import (
    COMPONENTS,
    SIMULATION_GC_THRESHOLDS,
    resolve_kind,
    simulation_collector,
)
from controllers.cluster.apply import LAST_APPLIED
from reconcile.testing import History

T = TypeVar("T")

WEB = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  containers:
  - name: web
    image: nginx
"""

CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: web}
data:
  colour: blue
  size: large
"""


def scenario(body: Callable[[Cluster], Awaitable[T]], *, nodes: int = 3, seed: int = 7) -> T:
    async def main() -> T:
        async with Cluster(nodes=nodes, seed=seed) as cluster:
            return await body(cluster)

    return run(main)


def condition(obj: Pod | Node, type_: str) -> Any:
    return next((c for c in obj.status.conditions if c.type == type_), None)


# -- lifecycle -----------------------------------------------------------------------------------


def test_cluster_outside_a_virtual_loop_raises_a_clear_error() -> None:
    async def main() -> None:
        async with Cluster(nodes=1):
            pass  # pragma: no cover

    with pytest.raises(RuntimeError, match=r"virtual time.*controllers\.run"):
        asyncio.run(main())


def test_cluster_not_started_has_no_api() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = Cluster(nodes=1).api


def test_nodes_register_ready_with_leases_renewed_every_ten_seconds() -> None:
    async def body(cluster: Cluster) -> None:
        nodes = cluster.list("nodes")
        assert [n.metadata.name for n in nodes] == ["node-1", "node-2", "node-3"]
        assert all(condition(n, "Ready").status == "True" for n in nodes)
        leases = cluster.list("Lease", namespace="kube-node-lease")
        assert [lease.metadata.name for lease in leases] == ["node-1", "node-2", "node-3"]
        start = cluster.clock.now()
        renewals: set[float] = set()
        for _ in range(6):
            await cluster.advance(5)
            lease = cluster.get("Lease", "node-1", namespace="kube-node-lease")
            renewals.add((lease.spec.renew_time - start).total_seconds())
        gaps = sorted(renewals)
        assert len(gaps) >= 3
        assert {b - a for a, b in itertools.pairwise(gaps)} == {10.0}
        assert lease.spec.holder_identity == "node-1"

    scenario(body)


def test_added_node_registers_ready() -> None:
    async def body(cluster: Cluster) -> None:
        node = await cluster.add_node("node-4", labels={"zone": "b"})
        assert node.metadata.labels["zone"] == "b"
        assert condition(node, "Ready").status == "True"
        assert len(cluster.list("nodes", labels="zone=b")) == 1

    scenario(body)


# -- apply ---------------------------------------------------------------------------------------


def test_apply_creates_then_updates_with_a_three_way_merge() -> None:
    async def body(cluster: Cluster) -> None:
        [created] = await cluster.apply(CONFIG)
        assert created.metadata.annotations[LAST_APPLIED]
        # Someone else adds a field the manifest never set.
        live = cluster.get("cm", "settings")
        assert isinstance(live, ConfigMap)
        data: reconcile.FrozenDict[str, str] = reconcile.FrozenDict({**live.data, "owner": "ops"})
        await cluster.api.update(attrs.evolve(live, data=data))
        changed = CONFIG.replace("  size: large\n", "").replace("blue", "green")
        [updated] = await cluster.apply(changed)
        assert isinstance(updated, ConfigMap)
        assert dict(updated.data) == {"colour": "green", "owner": "ops"}
        recorded = json.loads(updated.metadata.annotations[LAST_APPLIED])
        assert recorded["data"] == {"colour": "green"}
        assert updated.metadata.uid == created.metadata.uid

    scenario(body)


def test_apply_removes_a_label_dropped_from_the_manifest() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(WEB)
        await cluster.settle()
        [updated] = await cluster.apply(WEB.replace(", tier: front", ""))
        assert isinstance(updated, Pod)
        assert dict(updated.metadata.labels) == {"app": "web"}
        assert updated.spec.node_name  # set by the scheduler: kept
        assert cluster.get("pod", "web").status.phase == "Running"

    scenario(body)


def test_apply_twice_is_a_no_op_for_the_spec() -> None:
    async def body(cluster: Cluster) -> None:
        [first] = await cluster.apply(CONFIG)
        [second] = await cluster.apply(CONFIG)
        assert dump(first) == dump(second)
        assert (
            second.metadata.annotations[LAST_APPLIED] == (first.metadata.annotations[LAST_APPLIED])
        )

    scenario(body)


def test_apply_of_several_documents_applies_each() -> None:
    async def body(cluster: Cluster) -> None:
        applied = await cluster.apply(WEB + "---\n" + CONFIG)
        assert [type(o).__name__ for o in applied] == ["Pod", "ConfigMap"]

    scenario(body)


# -- get / list / kinds --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["po", "pod", "Pod", "pods", "PODS"])
def test_resolve_kind_accepts_kubectl_names_for_pods(name: str) -> None:
    assert resolve_kind(name) is Pod


@pytest.mark.parametrize("name", ["deploy", "deployment", "Deployment", "deployments"])
def test_resolve_kind_accepts_kubectl_names_for_deployments(name: str) -> None:
    assert reconcile.kind_of(resolve_kind(name)).kind == "Deployment"


def test_resolve_kind_of_a_class_is_the_class() -> None:
    assert resolve_kind(Node) is Node


def test_resolve_kind_of_an_unknown_name_raises() -> None:
    with pytest.raises(LookupError, match="doesn't have a resource type 'frobnicators'"):
        resolve_kind("frobnicators")


def test_get_and_list_with_labels() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(WEB)
        await cluster.apply(CONFIG)
        await cluster.apply(WEB.replace("name: web\n  labels: {app: web, tier: front}", "name: db"))
        assert cluster.get("pod", "missing") is None
        assert cluster.get("po", "web").metadata.name == "web"
        assert [p.metadata.name for p in cluster.list("pods")] == ["db", "web"]
        assert [p.metadata.name for p in cluster.list("Pod", labels="app=web")] == ["web"]
        assert cluster.list("pods", labels="tier=back") == []
        assert cluster.list("pods", namespace="kube-system") == []
        assert cluster.get("node", "node-1", namespace="ignored") is not None

    scenario(body)


# -- delete --------------------------------------------------------------------------------------


def test_delete_of_a_running_pod_is_graceful() -> None:
    slow = WEB.replace(
        "  labels:", "  annotations: {script.sim.reconcile.dev/web: 'stop=10s'}\n  labels:"
    )

    async def body(cluster: Cluster) -> None:
        await cluster.apply(slow)
        await cluster.settle()
        held = await cluster.delete("pod", "web")
        assert held is not None
        assert held.metadata.deletion_timestamp is not None
        await cluster.advance(5)
        terminating = cluster.get("pod", "web")
        assert terminating is not None
        assert terminating.status.container_statuses[0].state.running is not None
        await cluster.advance(6)
        assert cluster.get("pod", "web") is None
        killing = [e for e in cluster.events(reason="Killing") if e.involved_object.name == "web"]
        assert [e.message for e in killing] == ["Stopping container web"]

    scenario(body)


def test_delete_of_a_missing_object_raises_not_found() -> None:
    async def body(cluster: Cluster) -> None:
        with pytest.raises(reconcile.NotFoundError):
            await cluster.delete("pod", "ghost")

    scenario(body)


# -- events --------------------------------------------------------------------------------------


def test_events_are_ordered_by_time_and_filtered() -> None:
    crashing = WEB.replace(
        "  labels:", "  annotations: {script.sim.reconcile.dev/web: 'crash@5s'}\n  labels:"
    )

    async def body(cluster: Cluster) -> None:
        await cluster.apply(crashing)
        await cluster.advance(60)
        web = cluster.get("pod", "web")
        events = cluster.events(web)
        reasons = [e.reason for e in events]
        assert reasons[:3] == ["Pulled", "Created", "Started"]
        assert "BackOff" in reasons
        times = [e.last_timestamp for e in events]
        assert times == sorted(times)  # type: ignore[type-var]
        backoff = cluster.events(web, reason="BackOff")
        assert backoff
        assert all(e.reason == "BackOff" and e.type == "Warning" for e in backoff)
        assert backoff[0].count >= 2
        assert cluster.events(web, reason="Nothing") == []
        assert cluster.events(reason="BackOff", namespace="kube-system") == []

    scenario(body)


# -- components ----------------------------------------------------------------------------------


@pytest.mark.parametrize("component", COMPONENTS)
def test_restarted_component_keeps_the_cluster_working(component: str) -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(WEB)
        await cluster.settle()
        await cluster.restart_controller(component)
        await cluster.apply(WEB.replace("name: web\n", "name: web-2\n"))
        await cluster.settle()
        await cluster.advance(60)
        for name in ("web", "web-2"):
            found = cluster.get("pod", name)
            assert found.status.phase == "Running", name
            assert found.status.container_statuses[0].restart_count == 0
        assert all(condition(n, "Ready").status == "True" for n in cluster.list("nodes"))
        await cluster.delete("pod", "web")
        await cluster.settle()
        assert cluster.get("pod", "web") is None

    scenario(body)


def test_restart_of_an_unknown_component_is_refused() -> None:
    async def body(cluster: Cluster) -> None:
        with pytest.raises(ValueError, match="kube-scheduler"):
            await cluster.restart_controller("etcd")

    scenario(body)


def test_after_dropped_watches_the_cluster_still_converges() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(WEB)
        await cluster.settle()
        cluster.drop_watches(Pod)
        await cluster.apply(WEB.replace("name: web\n", "name: web-2\n"))
        await cluster.delete("pod", "web")
        cluster.drop_watches()
        await cluster.settle()
        await cluster.advance(30)
        assert cluster.get("pod", "web") is None
        assert cluster.get("pod", "web-2").status.phase == "Running"

    scenario(body)


# -- static pods ---------------------------------------------------------------------------------

STATIC = """
apiVersion: v1
kind: Pod
metadata: {name: etcd, namespace: kube-system}
spec:
  containers:
  - {name: etcd, image: registry.k8s.io/etcd}
"""


def test_static_pods_appear_as_mirror_pods_and_go_away_when_removed() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.add_static_pod("node-1", STATIC)
        await cluster.settle()
        await cluster.advance(5)
        mirror = cluster.get("pod", "etcd-node-1", namespace="kube-system")
        assert mirror is not None
        assert "kubernetes.io/config.mirror" in mirror.metadata.annotations
        assert mirror.spec.node_name == "node-1"
        assert mirror.status.phase == "Running"
        await cluster.remove_static_pod("node-1", "etcd")
        await cluster.settle()
        await cluster.advance(5)
        assert cluster.get("pod", "etcd-node-1", namespace="kube-system") is None

    scenario(body)


def test_drain_leaves_mirror_pods_alone() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.add_static_pod("node-1", STATIC)
        await cluster.settle()
        await cluster.advance(5)
        evicted = await cluster.drain("node-1")
        assert all(p.metadata.name != "etcd-node-1" for p in evicted)
        await cluster.settle()
        assert cluster.get("pod", "etcd-node-1", namespace="kube-system") is not None

    scenario(body)


# -- determinism ---------------------------------------------------------------------------------

CRASHING_REPLICA = """
apiVersion: v1
kind: Pod
metadata:
  generateName: worker-
  namespace: default
  labels: {app: worker}
  annotations: {script.sim.reconcile.dev/worker: 'crash@7s*2; unready=3s..9s'}
spec:
  containers:
  - name: worker
    image: nginx
    readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 2}
"""


def _everything(cluster: Cluster) -> str:
    dumped = [
        dump(obj)
        for cls in reconcile.registry
        if cls.__module__.startswith(("controllers.", "reconcile."))
        for obj in cluster.api.list_nowait(cls).items
    ]
    return json.dumps(dumped, sort_keys=True)


def _history_run(seed: int) -> tuple[str, str, int]:
    async def body(cluster: Cluster) -> tuple[str, str, int]:
        history = History(cluster.api)
        for _ in range(4):
            await cluster.api.create(load_all(CRASHING_REPLICA)[0])
        await cluster.advance(90)
        await cluster.cordon("node-2")
        await cluster.delete("pods", cluster.list("pods")[0].metadata.name)
        await cluster.advance(60)
        return _everything(cluster), history.digest(), history.count

    return scenario(body, seed=seed)


def test_same_seed_gives_the_same_history_and_objects() -> None:
    first, second = _history_run(7), _history_run(7)
    assert first[2] > 50
    assert first == second


def test_a_different_seed_gives_different_uids() -> None:
    assert _history_run(7)[0] != _history_run(8)[0]


def test_run_raises_the_collector_thresholds_and_restores_them() -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:

        async def main() -> tuple[int, int, int]:
            return gc.get_threshold()

        during = run(main)
        after = gc.get_threshold()
        with simulation_collector():
            gc.set_threshold(*during)  # a program may change them: the exit still restores
        restored = gc.get_threshold()
    finally:
        gc.set_threshold(*before)
    assert during == SIMULATION_GC_THRESHOLDS
    assert after == restored == (700, 10, 10)
