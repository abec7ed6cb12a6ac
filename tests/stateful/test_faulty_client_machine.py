"""
FaultyClient under random faults, followed by a real informer, checked against the server.

The machine writes widgets (directly to the server, as other components do,
and through the client, whose writes may be refused by injected faults or a
crash), flips every fault on and off, lets virtual time pass and heals.
It checks, after every step:

* the informer's cache holds only states the server committed (a fault may
  make it stale, never make it up);
* the server holds exactly the writes that succeeded;
* handlers never see an object's resource version go back, except while a
  ``lag(remembered=True)`` may make the component relist back in time;

and, at every ``heal``, that the cache becomes exactly the server's state
within the reflector's longest backoff. A crash is followed by a restart
with a fresh client and informer, as the harness does.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from reconcile import FaultyClient, Informer, VirtualClock, event_handler
from reconcile.cluster.client import WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    ServerError,
    TooManyRequestsError,
)
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectMeta
from tests.kinds import Widget, WidgetSpec

T = TypeVar("T")

NAMES = st.sampled_from(["a", "b", "c"])
RATES = st.sampled_from(
    ["conflict_rate", "throttle_rate", "drop_rate", "duplicate_rate", "reorder_rate"]
)
LEVELS = st.sampled_from([0.0, 0.5, 1.0])
SELECTOR = "app=shown"
"""The informer follows shown widgets only: hiding one is a DELETED, showing it an ADDED."""
SETTLE = 61.0
"""Virtual seconds after which a healed informer must be exact: twice the backoff cap, plus one."""

_REFUSED = (ConflictError, TooManyRequestsError, ServerError, NotFoundError, AlreadyExistsError)


class FaultyClientMachine(RuleBasedStateMachine):
    """Random writes, faults, heals and time, with an informer following through the client."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.loop = self.clock.new_event_loop()
        self.server = MemoryCluster(clock=self.clock, seed=2)
        self.server.list_nowait(Widget)  # the kind's history starts now
        self.committed: dict[tuple[str, str], Resource] = {}
        self.server.on_commit.append(self._committed)
        self.model: dict[str, int] = {}  # name -> size: the writes that succeeded
        self.seed = 0
        self.task: asyncio.Task[None] | None = None
        self.travel = False  # a relist back in time is allowed
        self.last_rv: dict[str, int] = {}  # uid -> newest resource version a handler saw
        self.backwards: list[tuple[str, int, int]] = []
        self.crashes = 0
        self.restarts = 0

    def teardown(self) -> None:
        self.run(self._stop())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    # -- plumbing ----------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def settle(self) -> None:
        self.run(self.clock.wait_idle())

    def _committed(self, event: WatchEvent[Resource]) -> None:
        obj = event.object
        assert obj is not None
        if event.type.value != "DELETED":
            self.committed[(obj.metadata.uid, obj.metadata.resource_version)] = obj

    def _seen(self, obj: Widget) -> None:
        uid, rv = obj.metadata.uid, int(obj.metadata.resource_version)
        last = self.last_rv.get(uid, 0)
        if rv < last and not self.travel:
            self.backwards.append((obj.metadata.name, last, rv))
        self.last_rv[uid] = rv

    def _on_crash(self, client: FaultyClient) -> None:
        assert client is self.client
        assert client.crashed
        self.crashes += 1

    def _connect(self) -> None:
        self.trace: list[Mapping[str, Any]] = []
        self.crash_budget: int | None = None
        self.client = FaultyClient(
            self.server,
            name="m",
            clock=self.clock,
            seed=self.seed,
            record=self.trace.append,
            on_crash=self._on_crash,
        )
        self.informer = Informer(self.client, Widget, clock=self.clock, labels=SELECTOR)
        self.informer.add_handler(
            event_handler(
                on_add=self._seen,
                on_update=lambda _old, new: self._seen(new),
                on_delete=self._seen,
            )
        )
        self.task = self.loop.create_task(self.informer.run())
        self.run(self.informer.wait_synced())

    async def _stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    def cached(self) -> dict[str, Widget]:
        return {w.metadata.name: w for w in self.informer.store.list()}

    def current(self, name: str) -> Widget | None:
        try:
            return self.server.get_nowait(Widget, name, namespace="x")
        except NotFoundError:
            return None

    # -- rules -------------------------------------------------------------------------

    @initialize(seed=st.integers(0, 2**16), reorder=LEVELS, coalesce=st.booleans())
    def start(self, seed: int, reorder: float, coalesce: bool) -> None:
        self.seed = seed
        self._connect()
        self.client.set_faults(reorder_rate=reorder, coalesce=coalesce)

    @rule(writes=st.lists(st.tuples(NAMES, st.booleans()), min_size=1, max_size=4))
    def server_writes(self, writes: list[tuple[str, bool]]) -> None:
        """Other components write: create, resize (showing or hiding it) or delete."""
        for name, shown in writes:
            self.server_write(name, shown)

    def server_write(self, name: str, shown: bool) -> None:
        obj = self.current(name)
        if obj is None:
            self.run(self.server.create(_widget(name, 0, shown=shown)))
            self.model[name] = 0
        elif obj.spec.size >= 3:
            self.run(self.server.delete(Widget, name, namespace="x"))
            del self.model[name]
        else:
            size = obj.spec.size + 1
            meta = attrs.evolve(obj.metadata, labels={"app": "shown" if shown else "hidden"})
            self.run(
                self.server.update(attrs.evolve(obj, metadata=meta, spec=WidgetSpec(size=size)))
            )
            self.model[name] = size
        self.settle()

    @rule(name=NAMES, op=st.sampled_from(["create", "update", "delete"]))
    def client_write(self, name: str, op: str) -> None:
        """The component writes through its client; only writes that succeed change the server."""
        before = self.server.statistics().writes
        obj = self.current(name)
        crashing = self.crash_budget == 0 and not self.client.crashed
        try:
            if op == "create":
                self.run(self.client.create(_widget(name, 0)))
                self.model[name] = 0
            elif op == "update":
                if obj is None:
                    return
                size = obj.spec.size + 1
                self.run(self.client.update(attrs.evolve(obj, spec=WidgetSpec(size=size))))
                self.model[name] = size
            else:
                self.run(self.client.delete(Widget, name, namespace="x"))
                del self.model[name]
        except _REFUSED:
            assert before == self.server.statistics().writes
        else:
            assert not crashing, "a write reached the server after the crash"
            assert before + 1 == self.server.statistics().writes
            if self.crash_budget is not None:
                self.crash_budget -= 1
                assert (self.crash_budget == 0) == self.client.crashed
        self.settle()

    @rule(which=RATES, level=LEVELS)
    def set_rate(self, which: str, level: float) -> None:
        self.client.set_faults(**{which: level})
        self.settle()

    @rule(on=st.booleans())
    def coalesce(self, on: bool) -> None:
        self.client.set_faults(coalesce=on)
        self.settle()

    @rule()
    def lag(self) -> None:
        self.client.lag()
        self.settle()

    @rule()
    def remember(self) -> None:
        self.client.remember()

    @rule()
    def lag_remembered(self) -> None:
        self.travel = True
        self.client.lag(remembered=True)
        self.settle()

    @rule()
    def catch_up(self) -> None:
        self.client.catch_up()
        self.settle()

    @rule()
    def expire_watches(self) -> None:
        self.client.expire_watches()
        self.settle()

    @rule(writes=st.integers(0, 2))
    def crash_after(self, writes: int) -> None:
        self.client.crash_after(writes)
        self.crash_budget = writes

    @rule(seconds=st.sampled_from([0.1, 1.0, 5.0]))
    def advance(self, seconds: float) -> None:
        self.run(self.clock.advance(seconds))

    @precondition(lambda self: self.client.crashed)
    @rule()
    def restart(self) -> None:
        """The harness restarts a crashed component with a fresh client and informer."""
        self.run(self._stop())
        self.restarts += 1
        self._connect()
        self.crash_budget = None

    @rule()
    def heal(self) -> None:
        """After heal, the cache is exactly the server's state within bounded time."""
        if self.client.crashed:
            self.restart()
        self.client.heal()
        self.crash_budget = None
        self.run(self.clock.advance(SETTLE))
        self.travel = False
        stored = self.cached()
        items = self.server.list_nowait(Widget, labels=SELECTOR).items
        assert {w.metadata.name: w for w in items} == stored

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def cache_holds_only_committed_states(self) -> None:
        for obj in self.informer.store.list():
            key = (obj.metadata.uid, obj.metadata.resource_version)
            assert self.committed.get(key) == obj

    @invariant()
    def server_holds_exactly_the_successful_writes(self) -> None:
        stored = {w.metadata.name: w.spec.size for w in self.server.list_nowait(Widget).items}
        assert self.model == stored

    @invariant()
    def handlers_never_see_time_go_back_unless_it_may(self) -> None:
        assert [] == self.backwards

    @invariant()
    def nothing_is_delivered_past_a_held_or_lost_event(self) -> None:
        """
        Per stream: nothing committed after a dropped event (one held for reorder
        before it may still come); no bookmark ahead of a reordered one.
        """
        lost: dict[int, int] = {}  # stream -> the first dropped resource version
        waiting: dict[int, dict[tuple[str, str], int]] = {}  # stream -> held (key, rv)
        for entry in self.trace:
            what, stream = entry.get("watch"), entry.get("stream")
            if what is None:
                continue
            assert isinstance(stream, int)
            held = waiting.setdefault(stream, {})
            ident = (str(entry["key"]), str(entry["rv"]))
            if what == "dropped":
                lost.setdefault(stream, int(entry["rv"]))
            elif what == "held_for_reorder":
                held[ident] = int(entry["rv"])
            elif what == "delivered":
                assert int(entry["rv"]) < lost.get(stream, sys.maxsize), entry
                held.pop(ident, None)
                if entry["type"] == "BOOKMARK":
                    assert all(rv > int(entry["rv"]) for rv in held.values()), entry

    @invariant()
    def on_crash_is_called_once_per_crash(self) -> None:
        assert self.restarts + int(self.client.crashed) == self.crashes


def _widget(name: str, size: int, *, shown: bool = True) -> Widget:
    labels = {"app": "shown" if shown else "hidden"}
    return Widget(
        metadata=ObjectMeta(name=name, namespace="x", labels=labels), spec=WidgetSpec(size=size)
    )


FaultyClientMachine.TestCase.settings = settings(
    max_examples=400,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFaultyClient = FaultyClientMachine.TestCase


def test_an_event_held_for_reorder_before_a_dropped_one_still_arrives() -> None:
    """The stream ends at a dropped event; what it held from before the drop is delivered."""
    machine = FaultyClientMachine()
    try:
        machine.start(seed=0, reorder=1.0, coalesce=False)
        machine.set_rate(level=0.5, which="drop_rate")
        machine.server_writes(writes=[("a", True), ("a", False)])
        machine.heal()
        dropped = [e for e in machine.trace if e.get("watch") == "dropped"]
        delivered = [e for e in machine.trace if e.get("watch") == "delivered"]
        assert [("DELETED", "2")] == [(e["type"], e["rv"]) for e in dropped]
        assert ("ADDED", "1") in [(e["type"], e["rv"]) for e in delivered]
        machine.nothing_is_delivered_past_a_held_or_lost_event()
    finally:
        machine.teardown()
