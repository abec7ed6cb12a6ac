"""
``settle``: run virtual time until a system of managers has nothing left to do.

Shared by every simulation built on managers (the embedded Kubernetes
cluster of ``controllers``, :class:`reconcile.verify.Simulation`): one
definition of "quiet", so they all agree on when a run is over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.manager import Manager

__all__ = ["Pending", "pending_work", "settle"]

Pending = Callable[[], tuple[bool, float | None]]
"""Whether work is in progress now, and when the next delayed work is due (clock time)."""


def pending_work(
    managers: Iterable[tuple[Manager, float]], *, periodic: frozenset[str] = frozenset()
) -> tuple[bool, float | None]:
    """
    Whether a controller not named in ``periodic`` is busy, and when its next
    parked work is due. Each manager comes with its clock's lag behind the
    caller's clock (a process that was paused keeps time behind), so due
    times are converted to the caller's clock.
    """
    busy = False
    due: float | None = None
    for manager, lag in managers:
        for stats in manager.statistics().controllers:
            if stats.name in periodic or stats.queue is None:
                continue
            queue = stats.queue
            if queue.depth or queue.processing or stats.active_workers:
                busy = True
            if queue.next_due is not None:
                at = queue.next_due + lag
                due = at if due is None else min(due, at)
    return busy, due


async def settle(
    clock: VirtualClock, pending: Pending, *, within: float = 30.0, limit: float = 3600.0
) -> float:
    """
    Run until nothing is left to do; returns the virtual seconds it took.

    "Nothing" means ``pending()`` reports no work in progress and nothing due
    within ``within`` seconds. Gives up after ``limit`` virtual seconds.
    """
    start = clock.time()
    while clock.time() - start < limit:
        await clock.wait_idle()
        busy, due = pending()
        if busy:
            # Work in progress that waits on a timer (a request in flight, a
            # back-off inside a reconcile): let time run to that timer.
            deadline = clock.next_deadline()
            await clock.advance(0.0 if deadline is None else max(deadline - clock.time(), 0.0))
            continue
        if due is None or due - clock.time() > within:
            break
        await clock.advance(max(due - clock.time(), 0.0))
    return clock.time() - start
