"""
Leader election under arbitrary clock advances, API failures, stalls and restarts.

Three candidates share one ``Lease`` on a MemoryCluster. Each reaches it
through a small wrapper client that, on demand, fails every call with
``ServerError`` or stalls it. Rules start and gracefully stop candidates,
break and heal their clients and advance virtual time. The safety
properties, checked after every step and by the leaders' own work every
quarter second of virtual time:

* at most one candidate believes it leads;
* a candidate that believes it leads (and any leader work that is running)
  is the lease's holder, and the lease is unexpired from everyone else's
  point of view (``renewTime + leaseDurationSeconds >= now``);
* candidates only ever end with ``LeadershipLostError`` or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reconcile.cluster.client import Client
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import NotFoundError
from reconcile.model.coordination import Lease
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.leaderelection import LeaderElector, LeadershipLostError
from tests.stalling import FlakyClient

IDENTITIES = ("a", "b", "c")
WHO = st.sampled_from(IDENTITIES)
STEPS = st.sampled_from([0.0, 0.25, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0])
STALLS = st.sampled_from([0.0, 1.0, 4.0, 30.0])


class LeaderElectionMachine(RuleBasedStateMachine):
    """Three candidates for one lease, with faults injected between steps."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.loop = self.clock.new_event_loop()
        self.cluster = MemoryCluster(clock=self.clock)
        self.clients = {i: FlakyClient(self.cluster, self.clock) for i in IDENTITIES}
        self.electors = {
            i: LeaderElector(
                cast("Client", self.clients[i]),
                name="lock",
                namespace="ns",
                identity=i,
                clock=self.clock,
            )
            for i in IDENTITIES
        }
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.violations: list[str] = []

    def teardown(self) -> None:
        self.loop.run_until_complete(self._cancel(*self.tasks.values()))
        self.loop.close()

    # -- helpers -----------------------------------------------------------------

    @staticmethod
    async def _cancel(*tasks: asyncio.Task[None]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _holds_unexpired(self, identity: str) -> bool:
        try:
            spec = self.cluster.get_nowait(Lease, "lock", namespace="ns").spec
        except NotFoundError:
            return False
        return spec.holder_identity == identity and not spec.expired(self.clock.now())

    async def _work(self, identity: str) -> None:
        while True:
            if not self._holds_unexpired(identity):
                self.violations.append(f"{identity} acted at {self.clock.time()} without the lease")
            await self.clock.sleep(0.25)

    async def _candidate(self, identity: str) -> None:
        with contextlib.suppress(LeadershipLostError):
            await self.electors[identity].run(lambda: self._work(identity))

    # -- rules -------------------------------------------------------------------

    @rule(identity=WHO)
    def start(self, identity: str) -> None:
        task = self.tasks.get(identity)
        if task is None or task.done():
            self.tasks[identity] = self.loop.create_task(self._candidate(identity))
            self.loop.run_until_complete(self.clock.wait_idle())

    @rule(identity=WHO)
    def stop(self, identity: str) -> None:
        task = self.tasks.pop(identity, None)
        if task is not None:
            self.loop.run_until_complete(self._cancel(task))

    @rule(identity=WHO, failing=st.booleans())
    def break_or_heal(self, identity: str, failing: bool) -> None:
        self.clients[identity].failing = failing

    @rule(identity=WHO, delay=STALLS)
    def stall(self, identity: str, delay: float) -> None:
        self.clients[identity].delay = delay

    @rule(seconds=STEPS)
    def advance(self, seconds: float) -> None:
        self.loop.run_until_complete(self.clock.advance(seconds))

    # -- invariants --------------------------------------------------------------

    @invariant()
    def at_most_one_leader(self) -> None:
        leaders = [i for i, e in self.electors.items() if e.is_leader]
        assert len(leaders) <= 1, leaders

    @invariant()
    def a_leader_holds_an_unexpired_lease(self) -> None:
        for identity, elector in self.electors.items():
            if elector.is_leader:
                assert self._holds_unexpired(identity), identity

    @invariant()
    def leader_work_never_acts_without_the_lease(self) -> None:
        assert [] == self.violations

    @invariant()
    def candidates_only_end_by_losing_or_cancellation(self) -> None:
        for task in self.tasks.values():
            if task.done() and not task.cancelled():
                assert None is task.exception()


LeaderElectionMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None
)
TestLeaderElection = LeaderElectionMachine.TestCase
