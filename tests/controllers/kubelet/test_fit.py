"""
The kubelet refuses a pod bound to its node when the pod does not fit what is left.

:func:`controllers.kubelet.fit.reject` decides; on the cluster the pod ends
``Failed`` with Kubernetes' ``OutOf<resource>`` reason, without running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from controllers import Cluster, run
from controllers.api import load
from controllers.api.pod import Pod
from controllers.kubelet.fit import Rejection, reject

NODE = {"cpu": 4000, "memory": 4 * 2**30, "pods": 110, "ephemeral-storage": 10 * 2**30}


def pod(
    name: str = "p", *requests: Mapping[str, Any], node: str = "node-1", policy: str = "Always"
) -> dict[str, Any]:
    """A pod manifest bound to ``node``, one nginx container per entry of ``requests``."""
    containers = [
        {"name": f"c{i}", "image": "nginx", "resources": {"requests": dict(r)}}
        for i, r in enumerate(requests or ({},))
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "restartPolicy": policy, "containers": containers},
    }


def loaded(manifest: Mapping[str, Any]) -> Pod:
    obj = load(manifest)
    assert isinstance(obj, Pod)
    return obj


def rejection(new: Mapping[str, Any], *others: Mapping[str, Any]) -> Rejection | None:
    admitted: Sequence[Pod] = [loaded(o) for o in others]
    return reject(loaded(new), allocatable=NODE, admitted=admitted)


# -- the pure decision -------------------------------------------------------------------------


def test_admits_a_pod_that_fits_what_is_left() -> None:
    """Requests within allocatable minus the other pods' requests fit."""
    assert None is rejection(pod("b", {"cpu": "1"}), pod("a", {"cpu": "3"}))


def test_rejects_a_pod_without_enough_cpu_left() -> None:
    """Kubernetes' reason and message: requested, used by the others, allocatable."""
    message = "Node didn't have enough resource: cpu, requested: 2000, used: 3000, capacity: 4000"
    expected = Rejection(reason="OutOfcpu", message=message)
    assert expected == rejection(pod("b", {"cpu": "2"}), pod("a", {"cpu": "3"}))


def test_rejects_a_pod_without_enough_memory_left_in_bytes() -> None:
    """Memory is compared and reported in bytes."""
    found = rejection(pod("b", {"memory": "1Gi"}), pod("a", {"memory": "3584Mi"}))
    assert found is not None
    assert "OutOfmemory" == found.reason
    assert (
        "Node didn't have enough resource: memory, requested: 1073741824, "
        "used: 3758096384, capacity: 4294967296"
    ) == found.message


def test_sums_containers_and_takes_the_larger_init_container() -> None:
    """The pod's requests are the scheduler's: containers add up, init containers take the max."""
    manifest = pod("b", {"cpu": "1"}, {"cpu": "1500m"})
    manifest["spec"]["initContainers"] = [
        {"name": "init", "image": "busybox", "resources": {"requests": {"cpu": "3"}}}
    ]
    found = rejection(manifest, pod("a", {"cpu": "1500m"}))
    assert found is not None
    assert found.message.startswith("Node didn't have enough resource: cpu, requested: 3000,")


def test_names_the_pod_count_before_cpu_and_cpu_before_memory() -> None:
    """Kubernetes checks the pod count, then cpu, memory and ephemeral-storage."""
    everything = {"cpu": "5", "memory": "5Gi"}
    assert "OutOfcpu" == getattr(rejection(pod("b", everything)), "reason", None)
    full = [pod(f"o{i}") for i in range(110)]
    found = rejection(pod("b", everything), *full)
    assert found is not None
    assert "OutOfpods" == found.reason
    assert "Node didn't have enough resource: pods, requested: 1, used: 110, capacity: 110" == (
        found.message
    )


def test_a_pod_without_requests_only_counts_against_pods() -> None:
    """An over-committed node still takes a pod that requests nothing, until it is full."""
    assert None is rejection(pod("b"), pod("a", {"cpu": "6"}))


def test_ignores_extended_resources_the_node_does_not_offer() -> None:
    """``example.com/gpu`` on a node without it is left to cluster-level allocation."""
    assert None is rejection(pod("b", {"example.com/gpu": "1"}))


# -- on the cluster ------------------------------------------------------------------------------


def _apply(manifest: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(manifest))


def test_rejects_an_over_committed_pod_bound_to_the_node() -> None:
    """Phase Failed, reason OutOfcpu, no container started, and a Warning event."""

    async def main() -> tuple[Any, Any, list[tuple[str, str, str]]]:
        async with Cluster(nodes=1, seed=1) as cluster:
            await cluster.apply(_apply(pod("big", {"cpu": "3"})))
            await cluster.advance(5)
            await cluster.apply(_apply(pod("late", {"cpu": "2"})))
            await cluster.advance(5)
            late = cluster.get("Pod", "late")
            events = [(e.type, e.reason, e.message) for e in cluster.events(late)]
            return cluster.get("Pod", "big").status, late.status, events

    big, late, events = run(main)
    assert "Running" == big.phase
    message = "Node didn't have enough resource: cpu, requested: 2000, used: 3000, capacity: 4000"
    assert ("Failed", "OutOfcpu", f"Pod was rejected: {message}") == (
        late.phase,
        late.reason,
        late.message,
    )
    assert () == late.container_statuses
    assert "Burstable" == late.qos_class
    assert [("Warning", "OutOfcpu", message)] == events


def test_terminal_pods_leave_their_resources_to_the_next_pod() -> None:
    """A pod that completed no longer counts: the next one fits."""

    async def main() -> str:
        async with Cluster(nodes=1, seed=1) as cluster:
            done = pod("done", {"cpu": "3"}, policy="Never")
            done["metadata"]["annotations"] = {"script.sim.reconcile.dev/c0": "exit=0@2s"}
            await cluster.apply(_apply(done))
            await cluster.advance(10)
            assert "Succeeded" == cluster.get("Pod", "done").status.phase
            await cluster.apply(_apply(pod("next", {"cpu": "2"})))
            await cluster.advance(5)
            phase: str = cluster.get("Pod", "next").status.phase
            return phase

    assert "Running" == run(main)


def test_a_replica_set_replaces_a_rejected_pod() -> None:
    """The rejected pod is terminal, so its ReplicaSet creates another, which runs once it fits."""
    blocker = pod("blocker", {"cpu": "3"}, policy="Never")
    blocker["metadata"]["annotations"] = {"script.sim.reconcile.dev/c0": "exit=0@3s"}
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": pod("", {"cpu": "2"})["spec"],
            },
        },
    }

    async def main() -> tuple[int, int]:
        async with Cluster(nodes=1, seed=1, events=False) as cluster:
            await cluster.apply(_apply(blocker))
            await cluster.advance(4.2)  # the blocker runs until 4.5 s
            await cluster.apply(_apply(manifest))
            await cluster.advance(5)
            pods = cluster.list("Pod", namespace="default", labels="app=web")
            running = sum(p.status.phase == "Running" for p in pods)
            rejected = sum(p.status.reason == "OutOfcpu" for p in pods)
            return running, rejected

    running, rejected = run(main)
    assert 1 == running
    assert rejected >= 1
