"""``reconcile.settle``: run until no controller has work, in virtual time."""

from __future__ import annotations

from reconcile import Manager, MemoryCluster, ObjectMeta, VirtualClock, pending_work, settle
from reconcile.runtime.controller import Controller
from reconcile.runtime.reconciler import Request, reconciler
from reconcile.testing import run
from tests.kinds import Widget


def test_settle_lets_time_run_to_a_timer_a_busy_reconcile_waits_on() -> None:
    """A reconcile in the middle of a timed wait (a slow request) is work in progress."""

    async def scenario(clock: VirtualClock) -> tuple[float, list[str]]:
        done: list[str] = []

        async def slow(request: Request) -> None:
            await clock.sleep(5.0)  # a request in flight for 5 s
            done.append(str(request))

        api = MemoryCluster(clock=clock)
        manager = Manager(api, clock=clock)
        manager.add(Controller(name="slow", for_=Widget, reconciler=reconciler(slow)))
        async with manager:
            await api.create(Widget(metadata=ObjectMeta(name="w", namespace="default")))
            took = await settle(clock, lambda: pending_work([(manager, 0.0)]), limit=60.0)
        return took, done

    took, done = run(scenario)
    assert ["default/w"] == done
    assert 5.0 <= took < 60.0
