"""
``FaultyClient``: one component's connection to a :class:`MemoryCluster`, with faults.

Each component of a simulated system (one controller process, one node
agent) talks to the shared in-memory API server through its own
``FaultyClient``. With no fault switched on it is a transparent
:class:`~reconcile.cluster.client.Client`: same results, same events. The
faults are those real controllers meet (see the fault classes of Sieve and
Acto), each injected where it happens in a real cluster, so that the
controller above cannot tell them from the real thing:

* **Write faults.** ``conflict_rate`` fails conditional writes (those
  carrying a resource version or delete preconditions) with 409
  ``ConflictError``, as if another writer got there first; ``throttle_rate``
  fails any write with 429 ``TooManyRequestsError``. A failed write never
  reaches the server. ``write_delay`` keeps every write in flight that many
  (virtual) seconds before the server applies it: what the writer decided
  may be stale by the time it lands.
* **Crash.** :meth:`crash_after` lets ``k`` more writes succeed and the
  crash takes effect right after the ``k``-th (with ``k = 0``, at the next
  write attempt, which does not reach the server): every later call fails
  with ``ServerError``, open watches end with it, and ``on_crash`` is called
  once to tell the harness to restart the component (with its caches,
  queues and expectations lost). The crash can therefore fall between any
  two writes of one reconcile.
* **Stale reads.** :meth:`lag` turns the client into a lagging replica:
  ``get`` and ``list`` answer from a snapshot (the list carries the
  snapshot's resource version) and watch events newer than it are held
  back, so a relist while lagging and the held events fit together
  exactly. :meth:`remember` takes a snapshot now for a later
  ``lag(remembered=True)``, which with :meth:`expire_watches` makes the
  component relist *back in time* (reconnecting to a stale API server).
  Writes still reach the real server, whose preconditions decide.
* **Watch perturbation** (:mod:`~reconcile.cluster._perturb`).
  ``drop_rate``, ``duplicate_rate`` and ``reorder_rate`` lose, repeat or
  swap delivered events. A watch loses events only with its connection:
  nothing after a lost event is delivered, and the stream ends with 410 at
  once if its batch held more, or at its next event, and the component
  relists. A swap happens only between different objects, so per-object
  order holds, as it does across separate streams, and a bookmark never
  overtakes the held event. ``coalesce`` holds events back and then
  delivers only the last state of each object, so intermediate states go
  unobserved. :meth:`expire_watches` ends every open stream with 410
  ``ExpiredError``.
* :meth:`heal` switches everything off, releases what was held and, when
  events were dropped, forces a relist, so caches become exact again within
  the reflector's backoff.

Random choices come from ``seed`` only (a rate of 0 draws nothing), and
every fault decision, write and delivery is reported to ``record``, so a
run is reproducible: the same seed and schedule give the same trace. Each
entry has ``t`` (clock time) and ``component``, plus one of:

* ``fault``: a switch (``faults`` with the new rates, ``crash_after`` with
  ``writes``, ``remember`` and ``lag`` with ``rv``, ``catch_up``,
  ``expire_watches`` with ``streams``, ``heal``) or a decision
  (``throttled`` and ``conflict`` with ``op``, ``kind`` and ``key``;
  ``crashed`` with ``writes``);
* ``write``: a successful write, with ``kind``, ``key`` and the server's
  ``rv`` after it;
* ``watch``: what happened to one event (``lagged``, ``coalesced``,
  ``dropped``, ``held_for_reorder``, ``bookmark_held``, ``duplicated``,
  ``delivered``), with ``stream`` (numbered from 1 per client), ``kind``,
  ``type``, ``key`` and ``rv``.

Streams are pumped by one task each, owned by the stream and cancelled when
it closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from random import Random
from typing import Any, TypeVar, cast, final

import attrs

from reconcile.cluster._perturb import Record, Signal, Stream, Switchboard
from reconcile.cluster._table import bookmark, matcher
from reconcile.cluster.client import (
    EventType,
    Fields,
    ObjectList,
    Patch,
    Preconditions,
    Propagation,
    Selector,
    WatchEvent,
    split_key,
)
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import ConflictError, NotFoundError, ServerError, TooManyRequestsError
from reconcile.model.kinds import Resource, kind_of
from reconcile.model.meta import ObjectKey, ResourceVersion
from reconcile.primitives.clock import Clock

__all__ = ["ClientFaults", "FaultyClient", "FaultyClientStatistics", "Record"]

R = TypeVar("R", bound=Resource)


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name}: must be a number within [0, 1], got {value!r}")


def _delay(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{attribute.name}: must be a number of seconds >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class ClientFaults:
    """The random faults of a :class:`FaultyClient` (each rate a probability in ``[0, 1]``)."""

    conflict_rate: float = attrs.field(default=0.0, validator=_rate)
    throttle_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_rate: float = attrs.field(default=0.0, validator=_rate)
    duplicate_rate: float = attrs.field(default=0.0, validator=_rate)
    reorder_rate: float = attrs.field(default=0.0, validator=_rate)
    coalesce: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    write_delay: float = attrs.field(default=0.0, validator=_delay)
    """Seconds every write spends in flight before the server applies it (a slow network)."""

    @property
    def perturbs_watches(self) -> bool:
        """Whether any fault changes what watches deliver."""
        return bool(self.drop_rate or self.duplicate_rate or self.reorder_rate or self.coalesce)


@attrs.frozen(kw_only=True)
class FaultyClientStatistics:
    """Counters and state of a :class:`FaultyClient`."""

    writes: int
    """Successful writes."""
    crashed: bool
    lagging: bool
    streams: int
    """Open watch streams."""
    holding: int
    """Events held back from open streams (lagging, coalescing or waiting for a swap)."""
    dropped: bool
    """Some event was lost since the last :meth:`FaultyClient.heal`."""


_Snapshot = dict[type[Resource], tuple[Resource, ...]]


@final
class FaultyClient:
    """
    A component's client with injectable faults (see the module docstring).

    Args:
        server: The shared in-memory API server.
        name: The component, as written into trace entries.
        clock: Timestamps trace entries.
        seed: Seeds every random fault decision.
        faults: Initial fault rates (all off by default).
        record: Trace sink.
        on_crash: Called once, synchronously, when a crash takes effect.
    """

    def __init__(
        self,
        server: MemoryCluster,
        *,
        name: str,
        clock: Clock,
        seed: int = 0,
        faults: ClientFaults | None = None,
        record: Record | None = None,
        on_crash: Callable[[FaultyClient], None] | None = None,
    ) -> None:
        self.server = server
        self.name = name
        self._board = Switchboard(
            name=name, clock=clock, rng=Random(seed), record=record, faults=faults or ClientFaults()
        )
        self._on_crash = on_crash
        self._writes = 0
        self._crash_at: int | None = None
        self._lagging: _Snapshot | None = None
        self._remembered: tuple[_Snapshot, int] | None = None

    # -- switches --------------------------------------------------------

    @property
    def faults(self) -> ClientFaults:
        """The current fault rates."""
        return self._board.faults

    @faults.setter
    def faults(self, faults: ClientFaults) -> None:
        self._switch(faults, attrs.asdict(faults))

    @property
    def crashed(self) -> bool:
        """Whether the crash has taken effect (for good: the harness makes a new client)."""
        return self._board.crashed

    @property
    def writes(self) -> int:
        """Successful writes so far."""
        return self._writes

    @property
    def lagging(self) -> bool:
        """Whether reads and watches answer as a lagging replica (see :meth:`lag`)."""
        return self._lagging is not None

    def statistics(self) -> FaultyClientStatistics:
        """Current counters and state."""
        board = self._board
        return FaultyClientStatistics(
            writes=self._writes,
            crashed=board.crashed,
            lagging=self.lagging,
            streams=len(board.streams),
            holding=sum(stream.holding for stream in board.streams),
            dropped=board.dropped,
        )

    def set_faults(self, **rates: float | bool) -> None:
        """
        Change fault rates (the names of :class:`ClientFaults`); the others keep theirs.

        Raises:
            TypeError: for a name :class:`ClientFaults` does not have.
            ValueError: for a rate outside ``[0, 1]``, naming it.
        """
        self._switch(attrs.evolve(self._board.faults, **rates), rates)  # type: ignore[arg-type]

    def _switch(self, faults: ClientFaults, noted: Mapping[str, Any]) -> None:
        self._board.faults = faults
        self._board.note(fault="faults", **noted)
        self._board.signal(Signal.WAKE)

    def crash_after(self, writes: int) -> None:
        """
        Let ``writes`` more writes succeed, then crash (``0``: at the next write).

        Raises:
            ValueError: if ``writes`` is negative.
        """
        if writes < 0:
            raise ValueError(f"writes: must be >= 0, got {writes}")
        self._crash_at = self._writes + writes
        self._board.note(fault="crash_after", writes=writes)

    def remember(self) -> None:
        """Snapshot the server now, for a later ``lag(remembered=True)``."""
        self._remembered = (self._snapshot(), self._server_rv())
        self._board.note(fault="remember", rv=self._server_rv())

    def lag(self, *, remembered: bool = False, kinds: Iterable[str] = ()) -> None:
        """
        Become a lagging replica: reads answer from a snapshot (now, or the
        one :meth:`remember` took, if any) and newer watch events are held back.

        With ``kinds`` (kind names such as ``"Deployment"``), only the watches
        of those kinds lag (one informer falls behind, its connection slow):
        reads stay fresh and other kinds' events flow.
        """
        chosen = frozenset(kinds)
        if chosen:
            self.catch_up()
            self._board.lag_cut = self._server_rv()
            self._board.lag_kinds = chosen
            self._board.note(fault="lag", rv=self._board.lag_cut, kinds=sorted(chosen))
            self._board.signal(Signal.WAKE)
            return
        self._board.lag_kinds = None
        if remembered and self._remembered is not None:
            self._lagging, cut = self._remembered
        else:
            self._lagging, cut = self._snapshot(), self._server_rv()
        self._board.lag_cut = cut
        self._board.note(fault="lag", rv=cut)
        self._board.signal(Signal.WAKE)

    def catch_up(self) -> None:
        """Stop lagging: held events flow and reads are fresh again."""
        if self._lagging is None and self._board.lag_cut is None:
            return
        self._lagging = None
        self._board.lag_cut = None
        self._board.lag_kinds = None
        self._board.note(fault="catch_up")
        self._board.signal(Signal.WAKE)

    def expire_watches(self) -> None:
        """End every open watch of this client with 410 Gone (its informers relist)."""
        board = self._board
        board.epoch += 1
        board.note(fault="expire_watches", streams=len(board.streams))
        board.signal(Signal.EXPIRE)

    def heal(self) -> None:
        """Switch every fault off; relist if events were dropped (see the module docstring)."""
        board = self._board
        board.faults = ClientFaults()
        self._crash_at = None
        self._remembered = None
        board.note(fault="heal")
        self.catch_up()
        board.signal(Signal.WAKE)
        if board.dropped:
            board.dropped = False
            self.expire_watches()

    # -- reading ---------------------------------------------------------

    async def get(self, kind: type[R], key: ObjectKey | str, *, namespace: str = "") -> R:
        self._check_alive()
        if self._lagging is None:
            return await self.server.get(kind, key, namespace=namespace)
        wanted = split_key(key, namespace)
        if not kind_of(kind).namespaced:
            wanted = ObjectKey(namespace="", name=wanted.name)  # as the server ignores it
        for obj in self._lagging.get(kind, ()):
            if obj.metadata.key == wanted:
                return cast("R", obj)
        raise NotFoundError(f'{kind_of(kind).plural} "{wanted.name}" not found')

    async def list(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
    ) -> ObjectList[R]:
        self._check_alive()
        if self._lagging is None:
            return await self.server.list(kind, namespace=namespace, labels=labels, fields=fields)
        match = matcher(kind_of(kind), namespace, labels, fields)
        items = [o for o in self._lagging.get(kind, ()) if match is None or match(o)]
        return ObjectList(
            items=cast("tuple[R, ...]", tuple(items)),
            resource_version=ResourceVersion(str(self._board.lag_cut)),
        )

    # -- writing ---------------------------------------------------------

    async def create(self, obj: R) -> R:
        self._before_write("create", obj, conditional=False)
        await self._in_flight()
        return self._after_write("create", await self.server.create(obj))

    async def update(self, obj: R) -> R:
        self._before_write("update", obj, conditional=bool(obj.metadata.resource_version))
        await self._in_flight()
        return self._after_write("update", await self.server.update(obj))

    async def update_status(self, obj: R) -> R:
        self._before_write("update_status", obj, conditional=bool(obj.metadata.resource_version))
        await self._in_flight()
        return self._after_write("update_status", await self.server.update_status(obj))

    async def patch(
        self,
        kind: type[R],
        key: ObjectKey | str,
        patch: Patch,
        *,
        namespace: str = "",
        status: bool = False,
    ) -> R:
        # A patch carries no resource version here, so it cannot conflict.
        self._before_write("patch", kind, split_key(key, namespace), conditional=False)
        await self._in_flight()
        result = await self.server.patch(kind, key, patch, namespace=namespace, status=status)
        return self._after_write("patch", result)

    async def delete(
        self,
        kind: type[R],
        key: ObjectKey | str,
        *,
        namespace: str = "",
        propagation: Propagation | None = None,
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
    ) -> R | None:
        wanted = split_key(key, namespace)
        self._before_write("delete", kind, wanted, conditional=preconditions is not None)
        await self._in_flight()
        result = await self.server.delete(
            kind,
            key,
            namespace=namespace,
            propagation=propagation,
            preconditions=preconditions,
            grace_period_seconds=grace_period_seconds,
        )
        self._count_write("delete", kind_of(kind).kind, wanted)
        return result

    # -- watching --------------------------------------------------------

    def watch(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
        since: ResourceVersion | None = None,
        bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent[R]]:
        self._check_alive()
        initial: list[WatchEvent[Resource]] = []
        if since is None and self._lagging is not None:
            # A fresh watch on a lagging replica starts from the replica's
            # state, as the server's starts from its own.
            since = ResourceVersion(str(self._board.lag_cut))
            match = matcher(kind_of(kind), namespace, labels, fields)
            initial = [
                WatchEvent(
                    type=EventType.ADDED, object=o, resource_version=o.metadata.resource_version
                )
                for o in self._lagging.get(kind, ())
                if match is None or match(o)
            ]
            if bookmarks:
                initial.append(bookmark(since))
        inner = self.server.watch(
            kind, namespace=namespace, labels=labels, fields=fields, since=since,
            bookmarks=bookmarks,
        )  # fmt: skip
        stream = Stream(self._board, kind_of(kind).kind, inner, initial)
        return cast("AsyncIterator[WatchEvent[R]]", stream.events())

    # -- internals -------------------------------------------------------

    def _check_alive(self) -> None:
        if self._board.crashed:
            raise ServerError(f"{self.name} has crashed")

    def _before_write(self, op: str, *target: Any, conditional: bool) -> None:
        self._check_alive()
        if self._crash_at is not None and self._writes >= self._crash_at:
            self._crash()  # crash_after(0): this write is the crash
            self._check_alive()
        board = self._board
        kind, key = _describe(target)
        if board.chance(board.faults.throttle_rate):
            board.note(fault="throttled", op=op, kind=kind, key=key)
            raise TooManyRequestsError(f"{self.name}: client rate limited (injected)")
        if conditional and board.chance(board.faults.conflict_rate):
            board.note(fault="conflict", op=op, kind=kind, key=key)
            raise ConflictError(
                f"Operation cannot be fulfilled on {kind} {key!r}: the object has been "
                "modified; please apply your changes to the latest version and try again "
                "(injected)"
            )

    async def _in_flight(self) -> None:
        """A slow network: the request reaches the server ``write_delay`` seconds late."""
        delay = self._board.faults.write_delay
        if delay:
            await self._board.clock.sleep(delay)
            self._check_alive()

    def _after_write(self, op: str, obj: R) -> R:
        self._count_write(op, kind_of(type(obj)).kind, obj.metadata.key)
        return obj

    def _count_write(self, op: str, kind: str, key: ObjectKey) -> None:
        self._writes += 1
        self._board.note(write=op, kind=kind, key=str(key), rv=str(self.server.resource_version))
        if self._crash_at is not None and self._writes >= self._crash_at:
            self._crash()

    def _crash(self) -> None:
        board = self._board
        self._crash_at = None
        board.crashed = True
        board.note(fault="crashed", writes=self._writes)
        board.signal(Signal.DEAD)
        if self._on_crash is not None:
            self._on_crash(self)

    def _snapshot(self) -> _Snapshot:
        return {kind: self.server.list_nowait(kind).items for kind in self.server.kinds()}

    def _server_rv(self) -> int:
        return int(self.server.resource_version)

    def __repr__(self) -> str:
        return f"FaultyClient({self.name!r}, {self.faults!r})"


def _describe(target: tuple[Any, ...]) -> tuple[str, str]:
    if len(target) == 1:
        obj = target[0]
        return kind_of(type(obj)).kind, str(obj.metadata.key)
    kind, key = target
    return kind_of(kind).kind, str(key)
