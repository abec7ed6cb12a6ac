"""The :class:`Workloads` mixin on its own: an API server and a clock, no controllers."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from controllers.api import install_admission
from controllers.api.apps import Deployment, DeploymentStatus
from controllers.cluster.workloads import Workloads
from controllers.kubectl import KubectlError, RolloutTimeoutError
from reconcile import Clock, MemoryCluster, Uid
from reconcile.testing import VirtualClock, run
from tests.controllers.kubectl.builders import deployment

SUCCESS = 'deployment "web" successfully rolled out'


class Kubectl(Workloads):
    """The mixin over a bare API server, the test's stand-in for a Cluster."""

    def __init__(self, clock: VirtualClock) -> None:
        self.api = MemoryCluster(clock=clock, seed=3)
        install_admission(self.api.admission)
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock


async def _apply_web(kubectl: Kubectl) -> Deployment:
    d = deployment()
    fresh = attrs.evolve(d, metadata=attrs.evolve(d.metadata, uid=Uid(""), generation=0))
    return await kubectl.api.create(attrs.evolve(fresh, status=DeploymentStatus()))


async def _write_status(kubectl: Kubectl, updated: int, available: int) -> None:
    d = kubectl.api.get_nowait(Deployment, "web", namespace="default")
    status = attrs.evolve(
        d.status,
        observed_generation=d.metadata.generation,
        replicas=3,
        updated_replicas=updated,
        ready_replicas=available,
        available_replicas=available,
    )
    await kubectl.api.update_status(attrs.evolve(d, status=status))


def test_wait_keeps_distinct_messages_only() -> None:
    """Repeated statuses are reported once; the wait ends at success."""

    async def scenario(clock: VirtualClock) -> list[str]:
        kubectl = Kubectl(clock)
        await _apply_web(kubectl)

        async def controller() -> None:
            for updated, available in ((0, 0), (3, 0), (3, 1), (3, 1), (3, 3)):
                await clock.advance(1)
                await _write_status(kubectl, updated, available)

        task = asyncio.create_task(controller())
        messages = await kubectl.wait_for_rollout("web")
        await task
        return messages

    waiting = 'Waiting for deployment "web" rollout to finish: '
    assert [
        "Waiting for deployment spec update to be observed...",
        f"{waiting}0 out of 3 new replicas have been updated...",
        f"{waiting}0 of 3 updated replicas are available...",
        f"{waiting}1 of 3 updated replicas are available...",
        SUCCESS,
    ] == run(scenario)


def test_wait_times_out_in_virtual_time_with_the_messages_seen() -> None:
    """Nothing observes the spec: after ``timeout`` simulated seconds, the messages are kept."""

    async def scenario(clock: VirtualClock) -> tuple[tuple[str, ...], float]:
        kubectl = Kubectl(clock)
        await _apply_web(kubectl)
        start = clock.time()
        with pytest.raises(RolloutTimeoutError) as info:
            await kubectl.wait_for_rollout("web", timeout=30)
        assert "timed out waiting for the condition" == str(info.value)
        return info.value.messages, clock.time() - start

    messages, waited = run(scenario)
    assert ("Waiting for deployment spec update to be observed...",) == messages
    assert 30 == pytest.approx(waited)


def test_status_of_other_kinds_is_refused() -> None:
    """Only Deployments and DaemonSets have a rollout status."""

    async def scenario(clock: VirtualClock) -> None:
        with pytest.raises(KubectlError, match="no status viewer has been implemented for"):
            Kubectl(clock).rollout_status("web", kind="rs")

    run(scenario)


def test_restart_uses_the_clock_and_table_the_age() -> None:
    """restartedAt and AGE both come from the injected clock."""

    async def scenario(clock: VirtualClock) -> tuple[str, str]:
        kubectl = Kubectl(clock)
        await _apply_web(kubectl)
        await clock.advance(125)
        d = await kubectl.rollout_restart("web")
        stamp = d.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]
        return stamp, kubectl.table("deployments").split("\n")[1].split()[-1]

    assert ("2025-01-01T00:02:05Z", "2m5s") == run(scenario)
    with pytest.raises(KubectlError, match="no table for Node"):
        run(lambda clock: _table_of_nodes(Kubectl(clock)))


async def _table_of_nodes(kubectl: Kubectl) -> str:
    return kubectl.table("nodes")
