"""
DaemonSet behaviours end to end through :class:`controllers.Cluster`, in virtual time.

The scheduler, node lifecycle controller, pod GC and simulated kubelets run
too, so these check the DaemonSet controller against what the rest of the
cluster does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

import reconcile
from controllers import Cluster, run
from controllers.api.apps import ControllerRevision, DaemonSet
from controllers.api.core import Pod
from controllers.api.scheduling import Taint
from controllers.daemonset import HASH_LABEL, target_node
from controllers.kubelet import NodeConfig
from controllers.replicaset import is_pod_ready

T = TypeVar("T")

CONTROL_PLANE = Taint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")


def scenario(
    body: Callable[[Cluster], Awaitable[T]], *, nodes: int | list[NodeConfig | str] = 3
) -> T:
    """Run ``body`` with a fresh cluster."""

    async def main() -> T:
        async with Cluster(nodes=nodes, seed=5) as cluster:
            return await body(cluster)

    return run(main)


def manifest(*, image: str = "agent:1", extra_spec: str = "", pod_spec: str = "") -> str:
    """DaemonSet ``agent`` selecting ``app=agent``."""
    return (
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\n"
        f"spec:\n{extra_spec}"
        "  selector:\n    matchLabels: {app: agent}\n"
        "  template:\n    metadata:\n      labels: {app: agent}\n"
        f"    spec:\n{pod_spec}      containers:\n      - name: agent\n        image: {image}\n"
    )


def daemon_pods(cluster: Cluster) -> list[Pod]:
    """The live pods of ``agent``."""
    return [
        p
        for p in cluster.list("pods", namespace="default", labels="app=agent")
        if isinstance(p, Pod) and p.metadata.deletion_timestamp is None
    ]


def placement(cluster: Cluster) -> list[str]:
    """The nodes running a ready pod of ``agent``, sorted (one entry per pod)."""
    return sorted(p.spec.node_name for p in daemon_pods(cluster) if is_pod_ready(p))


def agent(cluster: Cluster) -> DaemonSet:
    found = cluster.get("ds", "agent")
    assert isinstance(found, DaemonSet)
    return found


def test_daemon_pods_skip_tainted_control_plane() -> None:
    """A tainted control-plane node gets no pod; the workers each get one."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        assert ["worker-1", "worker-2"] == placement(cluster)
        status = agent(cluster).status
        assert (2, 2, 2, 0) == (
            status.desired_number_scheduled,
            status.number_available,
            status.updated_number_scheduled,
            status.number_misscheduled,
        )

    nodes: list[NodeConfig | str] = [
        NodeConfig(name="control-plane", taints=(CONTROL_PLANE,)),
        "worker-1",
        "worker-2",
    ]
    scenario(body, nodes=nodes)


def test_tolerating_daemon_set_runs_on_control_plane_too() -> None:
    """With a toleration of the control-plane taint every node gets a pod."""
    tolerate = (
        "      tolerations:\n"
        "      - {key: node-role.kubernetes.io/control-plane, operator: Exists}\n"
    )

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(pod_spec=tolerate))
        await cluster.settle()
        assert ["control-plane", "worker-1"] == placement(cluster)

    scenario(body, nodes=[NodeConfig(name="control-plane", taints=(CONTROL_PLANE,)), "worker-1"])


def test_cordoned_node_still_gets_daemon_pod() -> None:
    """Cordoning does not keep a daemon pod off: it tolerates the unschedulable taint."""

    async def body(cluster: Cluster) -> None:
        await cluster.cordon("node-2")
        await cluster.settle()
        await cluster.apply(manifest())
        await cluster.settle()
        assert ["node-1", "node-2", "node-3"] == placement(cluster)

    scenario(body)


def test_no_execute_taint_evicts_and_untainting_brings_it_back() -> None:
    """An untolerated NoExecute taint removes the node's pod; removing the taint restores it."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        await cluster.taint_node("node-2", "maintenance", effect="NoExecute")
        await cluster.settle()
        assert ["node-1", "node-3"] == placement(cluster)
        await cluster.untaint_node("node-2", "maintenance")
        await cluster.settle()
        assert ["node-1", "node-2", "node-3"] == placement(cluster)

    scenario(body)


def test_no_schedule_taint_keeps_running_pod_but_blocks_replacement() -> None:
    """A NoSchedule taint lets the pod stay; once deleted, no new pod comes."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        await cluster.taint_node("node-2", "maintenance", effect="NoSchedule")
        await cluster.settle()
        assert ["node-1", "node-2", "node-3"] == placement(cluster)
        victim = next(p for p in daemon_pods(cluster) if p.spec.node_name == "node-2")
        await cluster.delete("pod", victim.metadata.name)
        await cluster.settle()
        assert ["node-1", "node-3"] == placement(cluster)
        status = agent(cluster).status
        assert (2, 0) == (status.desired_number_scheduled, status.number_misscheduled)

    scenario(body)


def test_nodes_added_and_removed_are_followed() -> None:
    """A new node gets a pod; a removed node's pod goes away."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        await cluster.add_node("node-9")
        await cluster.remove_node("node-1")
        await cluster.settle()
        assert ["node-2", "node-3", "node-9"] == placement(cluster)
        assert 3 == len(daemon_pods(cluster))
        assert 3 == agent(cluster).status.desired_number_scheduled

    scenario(body)


def test_relabelled_node_gains_and_loses_pod() -> None:
    """With a node selector, labelling a node adds a pod and unlabelling removes it."""
    selector = "      nodeSelector: {disk: ssd}\n"

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(pod_spec=selector))
        await cluster.settle()
        assert [] == placement(cluster)
        await cluster.label_node("node-3", {"disk": "ssd"})
        await cluster.settle()
        assert ["node-3"] == placement(cluster)
        await cluster.label_node("node-3", {"disk": None})
        await cluster.settle()
        assert [] == daemon_pods(cluster)

    scenario(body)


def test_failed_pod_replaced_after_backoff() -> None:
    """Failed daemon pods are deleted and replaced, at most once per doubling back-off."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        cluster.stop_kubelet("node-1")  # nothing on node-1 will rewrite the pod's status
        deleted: list[float] = []
        since = cluster.api.resource_version

        async def watch() -> None:
            async for event in cluster.api.watch(Pod, namespace="default", since=since):
                if event.type is reconcile.EventType.DELETED:
                    deleted.append(cluster.clock.time())  # noqa: PERF401  (cancelled, never ends)

        async with asyncio.TaskGroup() as tasks:
            watcher = tasks.create_task(watch())
            for _ in range(3):
                victim = next(p for p in daemon_pods(cluster) if target_node(p) == "node-1")
                status = attrs.evolve(victim.status, phase="Failed")
                await cluster.api.update_status(attrs.evolve(victim, status=status))
                await cluster.settle()
            watcher.cancel()
        assert 3 == len(deleted)
        assert deleted[1] - deleted[0] >= 1.0
        assert deleted[2] - deleted[1] >= 2.0
        events = cluster.events(agent(cluster), reason="FailedDaemonPod")
        assert events
        assert "on node node-1, will try to kill it" in events[-1].message
        assert events[-1].message.startswith("Found failed daemon pod default/agent-")
        assert 1 == sum(1 for p in daemon_pods(cluster) if target_node(p) == "node-1")

    scenario(body)


def test_rolling_update_replaces_every_pod() -> None:
    """A new template rolls out to every node; the status reports them all updated."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        await cluster.set_image("ds", "agent", {"agent": "agent:2"})
        await cluster.settle()
        images = {p.spec.containers[0].image for p in daemon_pods(cluster)}
        assert {"agent:2"} == images
        status = agent(cluster).status
        assert 3 == status.updated_number_scheduled == status.number_available
        assert agent(cluster).metadata.generation == status.observed_generation
        assert cluster.rollout_status("agent", kind="ds").finished

    scenario(body)


def test_on_delete_only_updates_deleted_pods() -> None:
    """With OnDelete a new template reaches only the pods the user deletes."""
    on_delete = "  updateStrategy: {type: OnDelete}\n"

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(extra_spec=on_delete))
        await cluster.settle()
        await cluster.set_image("ds", "agent", {"agent": "agent:2"})
        await cluster.settle()
        assert {"agent:1"} == {p.spec.containers[0].image for p in daemon_pods(cluster)}
        victim = next(p for p in daemon_pods(cluster) if p.spec.node_name == "node-2")
        await cluster.delete("pod", victim.metadata.name)
        await cluster.settle()
        images = {p.spec.node_name: p.spec.containers[0].image for p in daemon_pods(cluster)}
        assert {"node-1": "agent:1", "node-2": "agent:2", "node-3": "agent:1"} == images
        assert 1 == agent(cluster).status.updated_number_scheduled

    scenario(body)


def test_history_limit_keeps_recent_revisions() -> None:
    """Old ControllerRevisions beyond revisionHistoryLimit are deleted, oldest first."""
    limit = "  revisionHistoryLimit: 2\n"

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(extra_spec=limit))
        await cluster.settle()
        for version in range(2, 6):
            await cluster.set_image("ds", "agent", {"agent": f"agent:{version}"})
            await cluster.settle()
        revisions = sorted(
            (r for r in cluster.list("controllerrevisions") if isinstance(r, ControllerRevision)),
            key=lambda r: r.revision,
        )
        assert [3, 4, 5] == [r.revision for r in revisions]
        hashes = {p.metadata.labels[HASH_LABEL] for p in daemon_pods(cluster)}
        assert {revisions[-1].metadata.labels[HASH_LABEL]} == hashes

    scenario(body)


def test_rollback_renumbers_the_old_revision() -> None:
    """Going back to an earlier template reuses its revision with the highest number."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        first = {r.metadata.name for r in cluster.list("controllerrevisions")}
        await cluster.set_image("ds", "agent", {"agent": "agent:2"})
        await cluster.settle()
        await cluster.set_image("ds", "agent", {"agent": "agent:1"})
        await cluster.settle()
        revisions = {r.metadata.name: r.revision for r in cluster.list("controllerrevisions")}
        assert 2 == len(revisions)
        (name,) = first
        assert 3 == revisions[name]
        assert {"agent:1"} == {p.spec.containers[0].image for p in daemon_pods(cluster)}

    scenario(body)


def test_adopts_orphans_instead_of_creating_a_second_pod() -> None:
    """A matching orphan on a node is adopted (OnDelete keeps it as it is) and counts there."""

    async def body(cluster: Cluster) -> None:
        orphan = (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: stray\n  labels: {app: agent}\n"
            "spec:\n  nodeName: node-1\n  containers:\n  - name: agent\n    image: agent:1\n"
        )
        await cluster.apply(orphan)
        await cluster.settle()
        await cluster.apply(manifest(extra_spec="  updateStrategy: {type: OnDelete}\n"))
        await cluster.settle()
        pods = {p.metadata.name: p for p in daemon_pods(cluster)}
        assert "stray" in pods
        owner = pods["stray"].metadata.owner_references
        assert ["DaemonSet"] == [ref.kind for ref in owner]
        assert ["node-1", "node-2", "node-3"] == placement(cluster)

    scenario(body)


def test_deleted_revision_is_recreated() -> None:
    """Deleting the current ControllerRevision by hand: the next sync puts it back."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        (revision,) = cluster.list("controllerrevisions")
        await cluster.delete("controllerrevision", revision.metadata.name)
        await cluster.settle()
        (again,) = cluster.list("controllerrevisions")
        assert revision.metadata.name == again.metadata.name
        assert revision.metadata.uid != again.metadata.uid

    scenario(body)


def test_rollout_survives_a_controller_manager_restart() -> None:
    """Restarting kube-controller-manager mid-rollout loses nothing: the rollout completes."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        await cluster.set_image("ds", "agent", {"agent": "agent:2"})
        await cluster.advance(0.5)
        await cluster.restart_controller("kube-controller-manager")
        await cluster.settle()
        images = sorted(
            (p.spec.node_name, p.spec.containers[0].image) for p in daemon_pods(cluster)
        )
        assert [("node-1", "agent:2"), ("node-2", "agent:2"), ("node-3", "agent:2")] == images
        assert 3 == agent(cluster).status.updated_number_scheduled

    scenario(body)


def test_events_name_created_and_deleted_pods() -> None:
    """SuccessfulCreate and SuccessfulDelete events carry Kubernetes' messages."""

    async def body(cluster: Cluster) -> None:
        for name in ("node-1", "node-2", "node-3"):
            await cluster.label_node(name, {"agent": "yes"})
        await cluster.apply(manifest(pod_spec="      nodeSelector: {agent: 'yes'}\n"))
        await cluster.settle()
        created = cluster.events(agent(cluster), reason="SuccessfulCreate")
        names = sorted(p.metadata.name for p in daemon_pods(cluster))
        assert 3 == len(names)
        assert [f"Created pod: {n}" for n in names] == sorted(e.message for e in created)
        await cluster.label_node("node-1", {"agent": None})
        await cluster.settle()
        deleted = cluster.events(agent(cluster), reason="SuccessfulDelete")
        gone = sorted(set(names) - {p.metadata.name for p in daemon_pods(cluster)})
        assert [f"Deleted pod: {n}" for n in gone] == [e.message for e in deleted]

    scenario(body)


def test_not_ready_node_keeps_its_daemon_pod() -> None:
    """A node whose kubelet went silent is tainted unreachable; its daemon pod stays."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest())
        await cluster.settle()
        cluster.stop_kubelet("node-2")
        await cluster.advance(120)
        await cluster.settle()
        silent = cluster.get("node", "node-2")
        keys = {t.key for t in silent.spec.taints if t.effect == "NoExecute"}
        assert keys & {"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}
        assert ["node-1", "node-2", "node-3"] == sorted(
            p.spec.node_name for p in daemon_pods(cluster)
        )
        # Its NoSchedule twin taint is not tolerated: no new pod would go there, so
        # Kubernetes counts the node as misscheduled while the pod stays.
        status = agent(cluster).status
        assert (2, 1) == (status.desired_number_scheduled, status.number_misscheduled)

    scenario(body)


def test_failed_creates_are_reported_and_retried() -> None:
    """Refused creates give FailedCreate events and a retry; slow start limits the attempts."""
    refusing = {"on": True}

    def refuse(new: Pod, old: Pod | None, op: reconcile.Operation) -> list[reconcile.FieldError]:
        if refusing["on"] and op is reconcile.Operation.CREATE and new.metadata.generate_name:
            return [reconcile.FieldError(field="metadata.name", detail="quota exceeded")]
        return []

    async def body(cluster: Cluster) -> None:
        cluster.api.admission.register(Pod, validator=refuse)
        await cluster.apply(manifest())
        await cluster.settle(within=1.0)
        failed = cluster.events(agent(cluster), reason="FailedCreate")
        assert failed
        assert failed[0].message.startswith("Error creating: ")
        assert "quota exceeded" in failed[0].message
        status = agent(cluster).status
        assert (3, 0) == (status.desired_number_scheduled, status.current_number_scheduled)
        assert [] == daemon_pods(cluster)
        refusing["on"] = False
        await cluster.settle()
        assert ["node-1", "node-2", "node-3"] == placement(cluster)

    scenario(body)


def test_failed_pod_held_by_finalizer_is_replaced_at_once() -> None:
    """A failed pod that is being deleted but kept by a finalizer no longer occupies its node."""

    async def body(cluster: Cluster) -> None:
        template_meta = "    metadata:\n      labels: {app: agent}\n"
        held = manifest().replace(
            template_meta, template_meta + "      finalizers: [example.com/keep]\n"
        )
        await cluster.apply(held)
        await cluster.settle()
        cluster.stop_kubelet("node-1")
        victim = next(p for p in daemon_pods(cluster) if target_node(p) == "node-1")
        status = attrs.evolve(victim.status, phase="Failed")
        await cluster.api.update_status(attrs.evolve(victim, status=status))
        await cluster.settle()
        kept = cluster.get("pod", victim.metadata.name)
        assert kept.metadata.deletion_timestamp is not None  # still there: the finalizer
        # Kubernetes leaves deleted terminal pods out of manage: node-1 gets a new pod.
        assert 1 == sum(1 for p in daemon_pods(cluster) if target_node(p) == "node-1")

    scenario(body)
