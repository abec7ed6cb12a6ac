"""The node lease loop: renewals on time, silent nodes dropped, refused renewals handed back."""

from __future__ import annotations

import asyncio

import attrs

from controllers.kubelet import Fleet, LeaseRenewer, NodeConfig
from reconcile import Lease, LeaseSpec, MemoryCluster, ObjectMeta, VirtualClock

NODES = ("a", "b")


async def _setup(clock: VirtualClock) -> tuple[MemoryCluster, Fleet, LeaseRenewer, list[str]]:
    cluster = MemoryCluster(clock=clock)
    fleet = Fleet()
    asked: list[str] = []
    renewer = LeaseRenewer(cluster, fleet=fleet, clock=clock, look_again=asked.append)
    for name in NODES:
        agent = fleet.add(NodeConfig(name=name))
        spec = LeaseSpec(holder_identity=name, lease_duration_seconds=40, renew_time=clock.now())
        meta = ObjectMeta(name=name, namespace="kube-node-lease")
        agent.lease = await cluster.create(Lease(metadata=meta, spec=spec))
    return cluster, fleet, renewer, asked


async def _renewals(cluster: MemoryCluster, clock: VirtualClock, name: str) -> float:
    lease = await cluster.get(Lease, name, namespace="kube-node-lease")
    assert lease.spec.renew_time is not None
    return lease.spec.renew_time.timestamp() - clock.now().timestamp()


def test_renews_every_scheduled_lease_every_ten_seconds() -> None:
    clock = VirtualClock()

    async def main() -> list[tuple[float, float]]:
        cluster, _, renewer, _ = await _setup(clock)
        renewer.schedule("a", clock.time() + 10)
        renewer.schedule("b", clock.time() + 5)
        seen: list[tuple[float, float]] = []
        async with asyncio.TaskGroup() as tasks:
            loop = tasks.create_task(renewer.run())
            await clock.advance(2.5)  # look between renewals, never at one
            for _ in range(4):
                seen.append(
                    (await _renewals(cluster, clock, "a"), await _renewals(cluster, clock, "b"))
                )
                await clock.advance(5)
            loop.cancel()
        return seen

    # How long ago each lease was renewed at 2.5, 7.5, 12.5 and 17.5 s: a was renewed
    # at 0 (created) and 10 s; b at 0, 5 and 15 s.
    assert [(-2.5, -2.5), (-7.5, -2.5), (-2.5, -7.5), (-7.5, -2.5)] == clock.run(main())


def test_an_earlier_schedule_wakes_the_sleeping_loop() -> None:
    clock = VirtualClock()

    async def main() -> float:
        cluster, _, renewer, _ = await _setup(clock)
        renewer.schedule("a", clock.time() + 10)
        async with asyncio.TaskGroup() as tasks:
            loop = tasks.create_task(renewer.run())
            await clock.advance(1)
            renewer.schedule("b", clock.time() + 1)
            await clock.advance(1.5)
            ago = await _renewals(cluster, clock, "b")
            loop.cancel()
        return ago

    assert -0.5 == clock.run(main())


def test_silent_node_is_dropped_until_its_worker_schedules_it_again() -> None:
    clock = VirtualClock()

    async def main() -> tuple[float | None, float, float]:
        cluster, fleet, renewer, _ = await _setup(clock)
        renewer.schedule("a", clock.time() + 10)
        fleet["a"].connected = False
        async with asyncio.TaskGroup() as tasks:
            loop = tasks.create_task(renewer.run())
            await clock.advance(30)
            dropped = renewer.scheduled("a")
            stale = await _renewals(cluster, clock, "a")
            fleet["a"].connected = True
            renewer.schedule("a", clock.time() + 1)
            await clock.advance(1.5)
            fresh = await _renewals(cluster, clock, "a")
            loop.cancel()
        return dropped, stale, fresh

    assert (None, -30.0, -0.5) == clock.run(main())


def test_refused_renewal_forgets_the_copy_and_asks_the_worker() -> None:
    clock = VirtualClock()

    async def main() -> tuple[list[str], bool, float | None]:
        cluster, fleet, renewer, asked = await _setup(clock)
        current = fleet["a"].lease
        assert current is not None
        await cluster.update(
            attrs.evolve(current, spec=attrs.evolve(current.spec, holder_identity="x"))
        )
        renewer.schedule("a", clock.time() + 10)
        async with asyncio.TaskGroup() as tasks:
            loop = tasks.create_task(renewer.run())
            await clock.advance(10.5)
            loop.cancel()
        return asked, fleet["a"].lease is None, renewer.scheduled("a")

    assert (["a"], True, None) == clock.run(main())
