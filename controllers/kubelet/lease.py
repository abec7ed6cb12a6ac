"""
The kubelets' node lease loop: each node's Lease renewed every :data:`RENEW_INTERVAL` seconds.

Like the kubelet's ``nodelease`` controller, renewal is a loop of its own,
not a reconcile: it renews the copy of the Lease the kubelet last wrote
(``NodeAgent.lease``) without reading it again, so a renewal is one write.
One :class:`LeaseRenewer` serves every node of a fleet from a heap of due
times, and runs as a manager runnable (``Manager.add_runnable``).

The node worker (:class:`~controllers.kubelet.heartbeat.Heartbeat`) creates
or reads the Lease and hands it over with :meth:`LeaseRenewer.schedule`, for
now when it is overdue (after a stop or a cut-off). A node whose agent
stops reporting is dropped from the heap; its worker schedules it again
once it reports. A renewal refused because the Lease changed or went away
(``Conflict``, ``NotFound``) forgets the copy and asks the worker to look
again, at once the first :data:`REFUSALS_AT_ONCE` times in a row and then
after a back-off doubling from 0.2 s up to :data:`MAX_LOOK_BACKOFF` (as the
kubelet's lease controller backs off), so a Lease that keeps being refused
cannot spin the kubelet at one instant; other API errors are retried after
:data:`RETRY_INTERVAL` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import Callable

import attrs

from controllers.kubelet.agent import Fleet
from reconcile import ApiError, Client, Clock, ConflictError, NotFoundError

__all__ = ["LEASE_DURATION", "RENEW_INTERVAL", "RETRY_INTERVAL", "LeaseRenewer"]

LEASE_DURATION = 40
"""``leaseDurationSeconds`` of node leases (Kubernetes' default)."""
RENEW_INTERVAL = 10.0
"""Seconds between lease renewals (a quarter of the lease duration, as the kubelet does)."""
RETRY_INTERVAL = 1.0
"""Seconds before a renewal the API refused for another reason is tried again."""

REFUSALS_AT_ONCE = 3
"""Refused renewals in a row after which the Lease is read again only after a back-off."""

MAX_LOOK_BACKOFF = 7.0
"""The longest wait before reading a Lease again (the kubelet's lease controller caps at 7 s)."""


class LeaseRenewer:
    """
    Renews the Lease of every reporting node of ``fleet`` on time (see the module docstring).

    ``look_again(node)`` is called when a node's Lease must be read or
    created anew (its worker does that).
    """

    def __init__(
        self,
        client: Client,
        *,
        fleet: Fleet,
        clock: Clock,
        look_again: Callable[[str], None],
    ) -> None:
        self._client = client
        self._fleet = fleet
        self._clock = clock
        self._look_again = look_again
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._refused: dict[str, int] = {}  # renewals refused in a row, per node
        self._looking: set[str] = set()  # nodes whose look again waits out a back-off

    def schedule(self, node: str, at: float) -> None:
        """Renew ``node``'s Lease at clock time ``at`` (replacing any earlier plan)."""
        if self._due.get(node) == at:
            return
        self._due[node] = at
        heapq.heappush(self._heap, (at, node))
        if self._heap[0] == (at, node):
            self._wake.set()  # earlier than what the loop sleeps for

    def scheduled(self, node: str) -> float | None:
        """When ``node``'s next renewal is planned, if it is."""
        return self._due.get(node)

    async def run(self) -> None:
        """Renew leases as they fall due, until cancelled."""
        while True:
            now = self._clock.time()
            while self._heap and self._heap[0][0] <= now:
                at, node = heapq.heappop(self._heap)
                if self._due.get(node) != at:
                    continue  # superseded by a later schedule()
                del self._due[node]
                await self._renew(node)
            self._wake.clear()
            if not self._heap:
                await self._wake.wait()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._heap[0][0] - now):
                    await self._wake.wait()

    async def _renew(self, node: str) -> None:
        agent = self._fleet.get(node)
        if node in self._looking:
            self._looking.discard(node)
            if agent is not None and agent.lease is None:
                self._look_again(node)  # the back-off is over
                return
        if agent is None or not agent.reporting or agent.lease is None:
            return  # gone, silent or not handed over: its worker schedules it again
        lease = agent.lease
        renewed = attrs.evolve(lease, spec=attrs.evolve(lease.spec, renew_time=self._clock.now()))
        try:
            agent.lease = await self._client.update(renewed)
        except (ConflictError, NotFoundError):
            agent.lease = None  # someone else wrote or deleted it
            refused = self._refused.get(node, 0) + 1
            self._refused[node] = refused
            if refused <= REFUSALS_AT_ONCE:
                self._look_again(node)
            else:
                wait = min(0.2 * 2 ** (refused - REFUSALS_AT_ONCE - 1), MAX_LOOK_BACKOFF)
                self._looking.add(node)
                self.schedule(node, self._clock.time() + wait)
            return
        except ApiError:
            self.schedule(node, self._clock.time() + RETRY_INTERVAL)
            return
        self._refused.pop(node, None)
        self.schedule(node, self._clock.time() + RENEW_INTERVAL)
