"""
The public test kit: everything needed to test a controller without a cluster.

* :class:`~reconcile.primitives.virtual.VirtualClock` (also exported as
  ``FakeClock``): simulated time that jumps ahead when the loop is idle;
* :class:`~reconcile.cluster.memory.MemoryCluster`: an in-process API
  server with real semantics;
* :class:`History`: records every committed watch event of a cluster and
  reduces it to a digest, so two runs can be compared byte for byte;
* :func:`run`: run a coroutine on a fresh virtual clock;
* :func:`plant` and :func:`catalogue`: switch planted bugs
  (:func:`reconcile.planted`) on, to prove that a test detects them.

Typical test::

    def test_creates_gadget_for_widget() -> None:
        async def scenario(clock: VirtualClock) -> None:
            cluster = MemoryCluster(clock=clock, seed=1)
            async with Manager(cluster, clock=clock) as manager: ...
                await clock.advance(5)
        reconcile.testing.run(scenario)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar, final

from reconcile.cluster.client import EventType, WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.model.convert import to_json
from reconcile.model.kinds import Resource
from reconcile.planted import catalogue, plant
from reconcile.primitives.virtual import VirtualClock

__all__ = ["FakeClock", "History", "MemoryCluster", "VirtualClock", "catalogue", "plant", "run"]

T = TypeVar("T")

FakeClock = VirtualClock


def run(
    scenario: Callable[[VirtualClock], Awaitable[T]], *, clock: VirtualClock | None = None
) -> T:
    """Run ``scenario(clock)`` to completion in virtual time and return its result."""
    clock = clock or VirtualClock()

    async def main() -> T:
        return await scenario(clock)

    return clock.run(main())


@final
class History:
    """
    Records the ordered watch events a cluster commits and hashes them.

    The digest covers each event's type, kind and full Kubernetes JSON
    (including resource versions, uids and timestamps), so equal digests
    mean byte-identical histories.
    """

    def __init__(self, cluster: MemoryCluster, *, keep: bool = False) -> None:
        self._hash = hashlib.sha256()
        self._count = 0
        self._keep = keep
        self.lines: list[str] = []
        cluster.on_commit.append(self._record)

    def _record(self, event: WatchEvent[Resource]) -> None:
        if event.type is EventType.BOOKMARK or event.object is None:
            return
        line = json.dumps(
            {"type": event.type.value, "object": to_json(event.object)},
            sort_keys=True,
            separators=(",", ":"),
        )
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self._count += 1
        if self._keep:
            self.lines.append(line)

    @property
    def count(self) -> int:
        """How many events were recorded."""
        return self._count

    def digest(self) -> str:
        """SHA-256 over the ordered events so far."""
        return self._hash.hexdigest()

    def kinds(self) -> set[str]:
        """Kinds seen so far (only when constructed with ``keep=True``)."""
        return {json.loads(line)["object"]["kind"] for line in self.lines}
