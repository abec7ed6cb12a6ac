"""LeaderElector: client-go lease semantics on MemoryCluster, in virtual time."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import cast

import attrs
import pytest

from reconcile.cluster.client import Client
from reconcile.cluster.memory import MemoryCluster
from reconcile.model.coordination import Lease, LeaseSpec
from reconcile.primitives.virtual import DEFAULT_EPOCH, VirtualClock
from reconcile.runtime.leaderelection import (
    LeaderElectionStatistics,
    LeaderElector,
    LeadershipLostError,
)
from tests.stalling import FlakyClient


def _elector(
    client: MemoryCluster | FlakyClient, identity: str, clock: VirtualClock
) -> LeaderElector:
    return LeaderElector(
        cast("Client", client), name="lock", namespace="ns", identity=identity, clock=clock
    )


def _lease(cluster: MemoryCluster) -> LeaseSpec:
    return cluster.get_nowait(Lease, "lock", namespace="ns").spec


def _at(seconds: float) -> dt.datetime:
    return DEFAULT_EPOCH + dt.timedelta(seconds=seconds)


async def _forever() -> None:
    await asyncio.Event().wait()


async def _until_lost(elector: LeaderElector) -> int:
    """Run ``elector`` until it loses leadership; return its count of losses."""
    with pytest.raises(LeadershipLostError):
        await elector.run(_forever)
    return elector.statistics().losses


def test_acquires_a_free_lease_and_runs_the_work() -> None:
    """With no lease, the first candidate creates it as holder and its work runs as leader."""
    clock = VirtualClock()

    async def scenario() -> tuple[bool, LeaseSpec]:
        cluster = MemoryCluster(clock=clock)
        elector = _elector(cluster, "a", clock)
        seen: list[bool] = []

        async def work() -> None:
            seen.append(elector.is_leader)

        await elector.run(work)
        return seen[0], _lease(cluster)

    leading, spec = clock.run(scenario())
    assert True is leading
    assert (
        LeaseSpec(
            holder_identity=None,
            lease_duration_seconds=1,
            acquire_time=_at(0),
            renew_time=_at(0),
            lease_transitions=0,
        )
        == spec
    )


def test_renews_every_retry_period_while_leading() -> None:
    """A leader rewrites renewTime every retry_period and counts its renewals."""
    clock = VirtualClock()

    async def scenario() -> tuple[LeaseSpec, LeaderElectionStatistics]:
        cluster = MemoryCluster(clock=clock)
        elector = _elector(cluster, "a", clock)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(elector.run(_forever))
            await clock.advance(7.0)
            spec, stats = _lease(cluster), elector.statistics()
            task.cancel()
        return spec, stats

    spec, stats = clock.run(scenario())
    assert (
        LeaseSpec(
            holder_identity="a",
            lease_duration_seconds=15,
            acquire_time=_at(0),
            renew_time=_at(6),
            lease_transitions=0,
        )
        == spec
    )
    assert (
        LeaderElectionStatistics(
            identity="a",
            is_leader=True,
            holder="a",
            transitions=0,
            acquisitions=1,
            renewals=3,
            failures=0,
            losses=0,
            releases=0,
        )
        == stats
    )


def test_standby_waits_while_the_leader_renews() -> None:
    """A second candidate never leads while the holder keeps renewing."""
    clock = VirtualClock()

    async def scenario() -> tuple[bool, bool, str | None]:
        cluster = MemoryCluster(clock=clock)
        a, b = _elector(cluster, "a", clock), _elector(cluster, "b", clock)
        async with asyncio.TaskGroup() as tg:
            ta = tg.create_task(a.run(_forever))
            await clock.advance(0.0)
            tb = tg.create_task(b.run(_forever))
            await clock.advance(60.0)
            result = (a.is_leader, b.is_leader, _lease(cluster).holder_identity)
            ta.cancel()
            tb.cancel()
        return result

    assert (True, False, "a") == clock.run(scenario())


def test_release_on_graceful_stop_lets_a_standby_take_over_at_once() -> None:
    """Cancelling the leader clears holderIdentity; the standby leads at its next retry."""
    clock = VirtualClock()

    async def scenario() -> tuple[float, LeaseSpec, int]:
        cluster = MemoryCluster(clock=clock)
        a, b = _elector(cluster, "a", clock), _elector(cluster, "b", clock)
        async with asyncio.TaskGroup() as tg:
            ta = tg.create_task(a.run(_forever))
            await clock.advance(0.0)
            tb = tg.create_task(b.run(_forever))
            await clock.advance(3.0)
            ta.cancel()
            await b.wait_leading()
            took_over = clock.time()
            spec = _lease(cluster)
            tb.cancel()
        return took_over, spec, a.statistics().releases

    took_over, spec, releases = clock.run(scenario())
    assert (4.0, "b", 1, 1) == (took_over, spec.holder_identity, spec.lease_transitions, releases)


def test_standby_takes_over_only_after_the_lease_expires() -> None:
    """When the leader goes silent, the standby acquires once renewTime + duration has passed."""
    clock = VirtualClock()

    async def scenario() -> tuple[float, LeaseSpec]:
        cluster = MemoryCluster(clock=clock)
        flaky = FlakyClient(cluster, clock)
        a, b = _elector(flaky, "a", clock), _elector(cluster, "b", clock)
        async with asyncio.TaskGroup() as tg:
            ta = tg.create_task(_until_lost(a))
            await clock.advance(0.0)
            tb = tg.create_task(b.run(_forever))
            await clock.advance(5.0)
            flaky.failing = True  # a's last renewal was at t=4: the lease expires after t=19
            await b.wait_leading()
            took_over = clock.time()
            spec = _lease(cluster)
            tb.cancel()
        assert 1 == ta.result()
        return took_over, spec

    took_over, spec = clock.run(scenario())
    assert (20.0, "b", 1, _at(20)) == (
        took_over,
        spec.holder_identity,
        spec.lease_transitions,
        spec.acquire_time,
    )


def test_a_leader_that_cannot_renew_stops_acting_before_its_lease_expires() -> None:
    """Failed renewals cancel the work renew_deadline after the last success, before expiry."""
    clock = VirtualClock()

    async def scenario() -> tuple[float, dt.datetime | None, LeaderElectionStatistics]:
        cluster = MemoryCluster(clock=clock)
        flaky = FlakyClient(cluster, clock)
        elector = _elector(flaky, "a", clock)
        stopped: list[float] = []

        async def work() -> None:
            await clock.sleep(5.0)
            flaky.failing = True
            try:
                await _forever()
            finally:
                stopped.append(clock.time())

        with pytest.raises(LeadershipLostError):
            await elector.run(work)
        return stopped[0], _lease(cluster).expires_at(), elector.statistics()

    stopped, expires, stats = clock.run(scenario())
    assert (14.0, _at(19)) == (stopped, expires)
    assert (False, 2, 4, 1) == (stats.is_leader, stats.renewals, stats.failures, stats.losses)


def test_a_hanging_renewal_does_not_extend_leadership() -> None:
    """Leadership ends at the deadline even while a renewal request is still in flight."""
    clock = VirtualClock()

    async def scenario() -> float:
        cluster = MemoryCluster(clock=clock)
        flaky = FlakyClient(cluster, clock)
        elector = _elector(flaky, "a", clock)
        stopped: list[float] = []

        async def work() -> None:
            await clock.sleep(1.0)
            flaky.delay = 1000.0
            try:
                await _forever()
            finally:
                stopped.append(clock.time())

        with pytest.raises(LeadershipLostError):
            await elector.run(work)
        return stopped[0]

    assert 10.0 == clock.run(scenario())


def test_loses_leadership_at_once_when_another_holder_appears() -> None:
    """Seeing someone else's name on the lease at a renewal ends leadership immediately."""
    clock = VirtualClock()

    async def scenario() -> float:
        cluster = MemoryCluster(clock=clock)
        elector = _elector(cluster, "a", clock)

        async def work() -> None:
            await clock.sleep(3.0)
            lease = cluster.get_nowait(Lease, "lock", namespace="ns")
            await cluster.update(attrs.evolve(lease, spec=LeaseSpec(holder_identity="intruder")))
            await _forever()

        with pytest.raises(LeadershipLostError, match="intruder"):
            await elector.run(work)
        return clock.time()

    assert 4.0 == clock.run(scenario())


def test_a_failing_work_releases_the_lease_and_propagates() -> None:
    """An exception from the leader's work is raised by run(), after the lease is released."""
    clock = VirtualClock()

    async def scenario() -> str | None:
        cluster = MemoryCluster(clock=clock)
        elector = _elector(cluster, "a", clock)

        async def work() -> None:
            await clock.sleep(3.0)
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await elector.run(work)
        return _lease(cluster).holder_identity

    assert None is clock.run(scenario())


def test_keeps_campaigning_through_api_errors() -> None:
    """Failed acquisition attempts are counted and retried every retry_period."""
    clock = VirtualClock()

    async def scenario() -> tuple[float, int]:
        cluster = MemoryCluster(clock=clock)
        flaky = FlakyClient(cluster, clock)
        flaky.failing = True
        elector = _elector(flaky, "a", clock)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(elector.run(_forever))
            await clock.advance(5.0)
            flaky.failing = False
            await elector.wait_leading()
            result = (clock.time(), elector.statistics().failures)
            task.cancel()
        return result

    assert (6.0, 3) == clock.run(scenario())


def test_rejects_timings_that_could_let_two_leaders_act() -> None:
    """renew_deadline must be below lease_duration, and retry_period below renew_deadline."""
    cluster = MemoryCluster(clock=VirtualClock())
    with pytest.raises(ValueError, match="renew_deadline < lease_duration"):
        LeaderElector(cluster, name="l", namespace="ns", identity="a", clock=VirtualClock(),
                      lease_duration=10.0, renew_deadline=10.0)  # fmt: skip


def test_run_cannot_be_entered_twice() -> None:
    """A second concurrent run() on the same elector is refused."""
    clock = VirtualClock()

    async def scenario() -> None:
        elector = _elector(MemoryCluster(clock=clock), "a", clock)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(elector.run(_forever))
            await clock.advance(0.0)
            try:
                with pytest.raises(RuntimeError, match="already active"):
                    await elector.run(_forever)
                with pytest.raises(RuntimeError, match="cancel run"):
                    await elector.release()
            finally:
                task.cancel()

    clock.run(scenario())


def test_never_leads_on_a_lease_written_after_the_renew_deadline() -> None:
    """An acquire that lands too late (its renewTime already expired) is not leadership."""
    clock = VirtualClock()

    async def scenario() -> tuple[list[tuple[float, bool]], list[tuple[float, bool]]]:
        cluster = MemoryCluster(clock=clock)
        client = FlakyClient(cluster, clock)
        client.delay = 30.0  # every call stalls for longer than the 15 s lease
        elector = _elector(client, "a", clock)
        acted: list[tuple[float, bool]] = []  # (when, whether the lease was fresh then)

        async def work() -> None:
            renewed = _lease(cluster).renew_time
            assert renewed is not None
            acted.append((clock.time(), clock.now() <= renewed + dt.timedelta(seconds=15)))
            await _forever()

        task = asyncio.create_task(elector.run(work))
        await clock.advance(200)
        stalled = list(acted)
        client.delay = 0.0
        await clock.advance(30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return stalled, acted[len(stalled) :]

    stalled, healthy = clock.run(scenario())
    assert [] == stalled
    assert [True] == [fresh for _, fresh in healthy]
