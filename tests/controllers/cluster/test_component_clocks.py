"""
Each component runs on its own clock: skew, steps and pauses of one process, in virtual time.

The kubelet stamps a pod Ready on its clock; the kube-controller-manager counts
``minReadySeconds`` on its own. A skewed or stepped controller manager therefore
sees pods become available early or late, as in Kubernetes, and still converges.
"""

from __future__ import annotations

import pytest

from controllers import Cluster, run
from controllers.api.apps import Deployment
from controllers.api.core import Event, Node, Pod

KCM = "kube-controller-manager"
MIN_READY = 10
DEPLOYMENT = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  minReadySeconds: {MIN_READY}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: nginx}}]
"""
UNSCHEDULABLE = """
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  nodeSelector: {disk: none}
  containers: [{name: c, image: nginx}]
"""


def _available(cluster: Cluster) -> int:
    return cluster.api.get_nowait(Deployment, "web", namespace="default").status.available_replicas


async def _seconds_until_available(cluster: Cluster, *, limit: float = 120.0) -> float:
    """Virtual seconds from now until all 3 replicas of ``web`` are available."""
    start = cluster.clock.time()
    while _available(cluster) < 3:
        assert cluster.clock.time() - start < limit, "the Deployment did not converge"
        await cluster.advance(0.5)
    return cluster.clock.time() - start


def _rollout(*, skew: float = 0.0, jump: float = 0.0) -> float:
    """Time for ``web`` to become available with the controller manager skewed, then stepped."""

    async def main() -> float:
        async with Cluster(nodes=2, seed=3) as cluster:
            cluster.skew(KCM, skew)
            await cluster.apply(DEPLOYMENT)
            await cluster.advance(3)  # the pods are up and Ready; minReadySeconds is running
            if jump:
                cluster.jump_clock(KCM, jump)
            took = 3 + await _seconds_until_available(cluster)
            await cluster.settle()
            assert 3 == _available(cluster)
            return took

    return run(main)


def test_skewed_controller_manager_counts_min_ready_seconds_on_its_own_clock() -> None:
    """A controller manager 5 s ahead finds pods available 5 s early; 5 s behind, 5 s late."""
    on_time, ahead, behind = _rollout(), _rollout(skew=5), _rollout(skew=-5)
    assert on_time > MIN_READY
    assert pytest.approx(on_time - 5, abs=0.5) == ahead
    assert pytest.approx(on_time + 5, abs=0.5) == behind


@pytest.mark.parametrize("jump", [30.0, -30.0])
def test_controller_manager_clock_step_still_converges(jump: float) -> None:
    """A step of the controller manager's wall clock mid-wait: back delays availability, then
    it converges; forward changes nothing, since the wait is timed on the monotonic clock."""
    on_time = _rollout()
    stepped = _rollout(jump=jump)
    if jump > 0:
        # Already due on the stepped wall clock, but the requeue it waits for is
        # timed on the monotonic clock, which a step does not move.
        assert on_time == stepped
    else:
        assert pytest.approx(on_time - jump, abs=0.5) == stepped


def test_kubelet_and_scheduler_stamp_times_on_their_own_clocks() -> None:
    """A pod turns Ready at the kubelet's time; the scheduler's Events carry the scheduler's."""

    async def main() -> tuple[float, float]:
        async with Cluster(nodes=1, seed=3) as cluster:
            cluster.skew("kubelet", 100)
            cluster.skew("kube-scheduler", -100)
            applied = cluster.clock.now()
            await cluster.apply(DEPLOYMENT)
            await cluster.settle()
            pod = cluster.api.list_nowait(Pod, namespace="default").items[0]
            ready = next(c for c in pod.status.conditions if c.type == "Ready")
            await cluster.apply(UNSCHEDULABLE)
            await cluster.advance(1)
            scheduled = next(
                e
                for e in cluster.api.list_nowait(Event, namespace="default").items
                if e.reason == "FailedScheduling"
            )
            assert ready.last_transition_time is not None
            assert scheduled.first_timestamp is not None
            return (
                (ready.last_transition_time - applied).total_seconds(),
                (scheduled.first_timestamp - applied).total_seconds(),
            )

    ready, scheduled = run(main)
    assert 100 < ready < 110
    assert -100 < scheduled < -90


def test_paused_kubelet_goes_silent_and_its_nodes_recover_after_thaw() -> None:
    """
    Pausing the kubelet process stops heartbeats: nodes turn Unknown; once it resumes
    (and its wall clock is stepped back to the right time, as a resumed machine
    does) they are Ready again.
    """

    async def main() -> tuple[set[str], set[str]]:
        async with Cluster(nodes=2, seed=3) as cluster:
            cluster.freeze("kubelet")
            await cluster.advance(60)  # past the 40 s node monitor grace period
            paused = _ready_statuses(cluster)
            cluster.thaw("kubelet")
            cluster.jump_clock("kubelet", 60)
            await cluster.advance(15)
            return paused, _ready_statuses(cluster)

    paused, resumed = run(main)
    assert {"Unknown"} == paused
    assert {"True"} == resumed


def _ready_statuses(cluster: Cluster) -> set[str]:
    return {
        str(c.status.value if hasattr(c.status, "value") else c.status)
        for n in cluster.api.list_nowait(Node).items
        for c in n.status.conditions
        if c.type == "Ready"
    }


def test_unknown_component_is_named_in_the_error() -> None:
    """A clock fault aimed at a component that does not exist says which ones do."""

    async def main() -> None:
        async with Cluster(nodes=1) as cluster:
            cluster.skew("kube-apiserver", 1)

    with pytest.raises(ValueError, match="component: must be one of kube-scheduler"):
        run(main)


READY_WEB = """
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: web
    image: nginx
    readinessProbe:
      httpGet: {path: /, port: 80}
      periodSeconds: 5
"""


def test_probe_fault_on_a_skewed_kubelet_is_timed_on_the_kubelet_clock() -> None:
    """A failing probe window is measured on the node's clock, however far it is off."""

    async def main() -> tuple[str, str]:
        async with Cluster(nodes=1, seed=3) as cluster:
            cluster.skew("kubelet", 120)
            await cluster.apply(READY_WEB)
            await cluster.advance(10)
            cluster.fail_probe("web", "readiness", duration=30)
            await cluster.advance(16)  # three failures at period 5 s
            during = _ready(cluster)
            await cluster.advance(30)
            return during, _ready(cluster)

    assert ("False", "True") == run(main)


def _ready(cluster: Cluster) -> str:
    pod = cluster.api.get_nowait(Pod, "web", namespace="default")
    return next(str(c.status) for c in pod.status.conditions if c.type == "Ready")


def test_restarting_a_paused_component_ends_the_pause() -> None:
    """A paused process that is restarted comes back running (killed, not resumed)."""

    async def main() -> tuple[bool, int]:
        async with Cluster(nodes=1, seed=3) as cluster:
            cluster.freeze(KCM)
            await cluster.apply(DEPLOYMENT)
            await cluster.restart_controller(KCM)
            frozen = cluster.component_clock(KCM).frozen
            await cluster.settle()
            return frozen, _available(cluster)

    assert (False, 3) == run(main)
