"""
Time as an injected dependency.

Library code never reads the wall clock directly: it asks a :class:`Clock`.
Two clocks ship with the library:

* :class:`SystemClock` reads the host's clocks and sleeps with asyncio;
* :class:`~reconcile.primitives.virtual.VirtualClock` runs everything in
  simulated time that jumps ahead whenever the event loop is idle.

``time()`` is a monotonic reading for measuring delays (it is the event
loop's own time); ``now()`` is a timezone-aware UTC :class:`~datetime.datetime`
for timestamps written into objects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Protocol, final, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """
    **Protocol:** a source of time and a way to wait for it.

    Guarantees: ``time()`` never goes backwards; ``sleep(d)`` returns no
    earlier than ``time() + d`` as read when it was called.
    """

    def time(self) -> float:
        """Monotonic seconds, comparable only with other readings of this clock."""
        ...

    def now(self) -> dt.datetime:
        """The current instant as an aware UTC datetime."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the caller for ``seconds`` of this clock's time."""
        ...


@final
class SystemClock:
    """The host's clocks: the running loop's monotonic time and UTC wall time."""

    def time(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"
