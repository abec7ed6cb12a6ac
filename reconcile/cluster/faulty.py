"""
``FaultyClient``: one component's connection to a :class:`MemoryCluster`, with faults.

Each component of a simulated system (one controller process, one node
agent) talks to the shared in-memory API server through its own
``FaultyClient``. With no fault switched on it is a transparent
:class:`~reconcile.cluster.client.Client`. The faults are those real
controllers meet (see the fault classes of Sieve and Acto), each injected
where it happens in a real cluster, so that the controller above cannot
tell them from the real thing:

* **Write faults.** ``conflict_rate`` fails conditional writes with 409
  ``ConflictError`` (as if another writer got there first); ``throttle_rate``
  fails writes with 429 ``TooManyRequestsError``. A failed write changes
  nothing.
* **Crash.** :meth:`crash_after` lets ``k`` more writes succeed, then the
  process is gone: every later call fails with ``ServerError`` and the
  ``on_crash`` callback tells the harness to restart the component (with
  its caches, queues and expectations lost). The crash can therefore fall
  between any two writes of one reconcile.
* **Stale reads.** :meth:`lag` turns the client into a lagging replica:
  ``get`` and ``list`` answer from a snapshot and watch events newer than
  it are held back; :meth:`remember` takes a snapshot now for a later
  ``lag(remembered=True)``, which with :meth:`expire_watches` makes the
  component relist *back in time* (reconnecting to a stale API server).
  Writes still reach the real server, whose preconditions decide.
* **Watch perturbation.** ``drop_rate``, ``duplicate_rate`` and
  ``reorder_rate`` lose, repeat or swap delivered events. A lost event
  leaves the cache stale until the stream breaks with 410 at its next event
  and the component relists (a real watch loses events only with its
  connection). A swap happens only between different objects: per-object
  order holds, as it does across separate streams. ``coalesce`` holds
  events back and then delivers only the last state of each object, so
  intermediate states go unobserved.
  :meth:`expire_watches` ends every open stream with 410 ``ExpiredError``.
* :meth:`heal` switches everything off, releases what was held and, when
  events were dropped, forces a relist so caches become exact again (a
  dropped event has no other way back).

Random choices come from ``seed`` only, and every fault decision and
delivery can be reported to ``record`` (a trace), so a run is reproducible.
Streams are pumped by one task each, owned by the stream and cancelled when
it closes.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable, Mapping
from random import Random
from typing import Any, TypeVar, cast, final

import attrs

from reconcile.cluster._table import matcher
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
from reconcile.errors import (
    ApiError,
    ConflictError,
    ExpiredError,
    NotFoundError,
    ServerError,
    TooManyRequestsError,
)
from reconcile.model.kinds import Resource, kind_of
from reconcile.model.meta import ObjectKey, ResourceVersion
from reconcile.primitives.clock import Clock

__all__ = ["ClientFaults", "FaultyClient", "Record"]

R = TypeVar("R", bound=Resource)

Record = Callable[[Mapping[str, Any]], None]
"""Receives one trace entry (a JSON-ready mapping) per fault decision, write and delivery."""


_RATES = ("conflict_rate", "throttle_rate", "drop_rate", "duplicate_rate", "reorder_rate")


@attrs.define(kw_only=True)
class ClientFaults:
    """The rates of the random faults (each a probability in ``[0, 1]``)."""

    conflict_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    coalesce: bool = False

    def __attrs_post_init__(self) -> None:
        for name in (
            "conflict_rate",
            "throttle_rate",
            "drop_rate",
            "duplicate_rate",
            "reorder_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: must be within [0, 1], got {value!r}")

    @property
    def perturbs_watches(self) -> bool:
        return bool(self.drop_rate or self.duplicate_rate or self.reorder_rate or self.coalesce)


class _Signal(enum.Enum):
    WAKE = "wake"  # re-read the switches (heal, catch-up, coalesce off)
    EXPIRE = "expire"  # end the stream with 410
    DEAD = "dead"  # the component crashed


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
        self.faults = faults or ClientFaults()
        self._clock = clock
        self._rng = Random(seed)
        self._record = record
        self._on_crash = on_crash
        self._writes = 0
        self._crash_at: int | None = None
        self.crashed = False
        self._lagging: _Snapshot | None = None
        self._lag_rv = 0
        self._remembered: tuple[_Snapshot, int] | None = None
        self._streams: set[_Stream] = set()
        self._dropped = False

    # -- switches --------------------------------------------------------

    @property
    def writes(self) -> int:
        """Successful writes so far."""
        return self._writes

    @property
    def lagging(self) -> bool:
        return self._lagging is not None

    def set_faults(self, **rates: float | bool) -> None:
        """Change fault rates (the names of :class:`ClientFaults`)."""
        self.faults = attrs.evolve(self.faults, **rates)  # type: ignore[arg-type]
        self._note("faults", **rates)
        self._signal(_Signal.WAKE)

    def crash_after(self, writes: int) -> None:
        """Let ``writes`` more writes succeed, then crash (``0``: at the next write)."""
        if writes < 0:
            raise ValueError(f"writes: must be >= 0, got {writes}")
        self._crash_at = self._writes + writes
        self._note("crash_after", writes=writes)

    def remember(self) -> None:
        """Snapshot the server now, for a later ``lag(remembered=True)``."""
        self._remembered = (self._snapshot(), self._server_rv())
        self._note("remember", rv=self._server_rv())

    def lag(self, *, remembered: bool = False) -> None:
        """
        Become a lagging replica: reads answer from a snapshot (now, or the
        one :meth:`remember` took) and newer watch events are held back.
        """
        if remembered and self._remembered is not None:
            self._lagging, self._lag_rv = self._remembered
        else:
            self._lagging, self._lag_rv = self._snapshot(), self._server_rv()
        self._note("lag", rv=self._lag_rv)

    def catch_up(self) -> None:
        """Stop lagging: held events flow and reads are fresh again."""
        if self._lagging is None:
            return
        self._lagging = None
        self._note("catch_up")
        self._signal(_Signal.WAKE)

    def expire_watches(self) -> None:
        """End every open watch of this client with 410 Gone (its informers relist)."""
        self._note("expire_watches", streams=len(self._streams))
        self._signal(_Signal.EXPIRE)

    def heal(self) -> None:
        """Switch every fault off; relist if events were dropped (see the module docstring)."""
        self.faults = ClientFaults()
        self._crash_at = None
        self._remembered = None
        self._note("heal")
        self.catch_up()
        self._signal(_Signal.WAKE)
        if self._dropped:
            self._dropped = False
            self.expire_watches()

    # -- reading ---------------------------------------------------------

    async def get(self, kind: type[R], key: ObjectKey | str, *, namespace: str = "") -> R:
        self._check_alive()
        if self._lagging is None:
            return await self.server.get(kind, key, namespace=namespace)
        wanted = split_key(key, namespace)
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
            resource_version=ResourceVersion(str(self._lag_rv)),
        )

    # -- writing ---------------------------------------------------------

    async def create(self, obj: R) -> R:
        self._before_write("create", obj, conditional=False)
        return self._after_write("create", await self.server.create(obj))

    async def update(self, obj: R) -> R:
        self._before_write("update", obj, conditional=bool(obj.metadata.resource_version))
        return self._after_write("update", await self.server.update(obj))

    async def update_status(self, obj: R) -> R:
        self._before_write("update_status", obj, conditional=bool(obj.metadata.resource_version))
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
        if since is None and self._lagging is not None:
            # A fresh watch on a lagging replica starts from the replica's state.
            since = ResourceVersion(str(self._lag_rv))
            initial = [
                WatchEvent(type=EventType.ADDED, object=o, resource_version=self._rv_of(o))
                for o in self._lagging.get(kind, ())
                if (m := matcher(kind_of(kind), namespace, labels, fields)) is None or m(o)
            ]
        else:
            initial = []
        inner = self.server.watch(
            kind, namespace=namespace, labels=labels, fields=fields, since=since,
            bookmarks=bookmarks,
        )  # fmt: skip
        stream = _Stream(self, kind_of(kind).kind, inner, initial)
        return cast("AsyncIterator[WatchEvent[R]]", stream.events())

    # -- internals -------------------------------------------------------

    def _note(self, fault: str, **data: Any) -> None:
        if self._record is not None:
            self._record({"t": self._clock.time(), "component": self.name, "fault": fault, **data})

    def _chance(self, rate: float) -> bool:
        return rate > 0.0 and self._rng.random() < rate

    def _check_alive(self) -> None:
        if self.crashed:
            raise ServerError(f"{self.name} has crashed")

    def _before_write(self, op: str, *target: Any, conditional: bool) -> None:
        self._check_alive()
        kind, key = _describe(target)
        if self._chance(self.faults.throttle_rate):
            self._note("throttled", op=op, kind=kind, key=key)
            raise TooManyRequestsError(f"{self.name}: client rate limited (injected)")
        if conditional and self._chance(self.faults.conflict_rate):
            self._note("conflict", op=op, kind=kind, key=key)
            raise ConflictError(
                f"Operation cannot be fulfilled on {kind} {key!r}: the object has been "
                "modified; please apply your changes to the latest version and try again "
                "(injected)"
            )

    def _after_write(self, op: str, obj: R) -> R:
        self._count_write(op, kind_of(type(obj)).kind, obj.metadata.key)
        return obj

    def _count_write(self, op: str, kind: str, key: ObjectKey) -> None:
        self._writes += 1
        if self._record is not None:
            self._record(
                {"t": self._clock.time(), "component": self.name, "write": op, "kind": kind,
                 "key": str(key), "rv": str(self.server.resource_version)}
            )  # fmt: skip
        if self._crash_at is not None and self._writes >= self._crash_at:
            self._crash_at = None
            self.crashed = True
            self._note("crashed", writes=self._writes)
            self._signal(_Signal.DEAD)
            if self._on_crash is not None:
                self._on_crash(self)

    def _signal(self, signal: _Signal) -> None:
        for stream in list(self._streams):
            stream.signal(signal)

    def _snapshot(self) -> _Snapshot:
        return {kind: self.server.list_nowait(kind).items for kind in self.server.kinds()}

    def _server_rv(self) -> int:
        return int(self.server.resource_version)

    @staticmethod
    def _rv_of(obj: Resource) -> ResourceVersion:
        return obj.metadata.resource_version

    def __repr__(self) -> str:
        return f"FaultyClient({self.name!r}, {self.faults!r})"


def _describe(target: tuple[Any, ...]) -> tuple[str, str]:
    if len(target) == 1:
        obj = target[0]
        return kind_of(type(obj)).kind, str(obj.metadata.key)
    kind, key = target
    return kind_of(kind).kind, str(key)


_Item = WatchEvent[Resource] | _Signal | BaseException


class _Stream:
    """One perturbed watch stream: a pump task feeds a queue the consumer reads."""

    def __init__(
        self,
        client: FaultyClient,
        kind: str,
        inner: AsyncIterator[WatchEvent[Resource]],
        initial: list[WatchEvent[Resource]],
    ) -> None:
        self._client = client
        self._kind = kind
        self._inner = inner
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        for event in initial:
            self._queue.put_nowait(event)
        self._held: list[WatchEvent[Resource]] = []  # newer than a lagging replica
        self._merging: list[WatchEvent[Resource]] = []  # waiting to be coalesced
        self._expire_next = False  # an event was lost: break at the next one
        self._swapped: WatchEvent[Resource] | None = None  # waiting to be reordered

    def signal(self, signal: _Signal) -> None:
        self._queue.put_nowait(signal)

    async def _pump(self) -> None:
        try:
            async for event in self._inner:
                self._queue.put_nowait(event)
        except (ApiError, OSError) as exc:
            self._queue.put_nowait(exc)
        finally:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()

    async def events(self) -> AsyncIterator[WatchEvent[Resource]]:
        client = self._client
        client._streams.add(self)
        pump = asyncio.get_running_loop().create_task(self._pump())
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, BaseException):
                    raise item
                if item is _Signal.EXPIRE:
                    raise ExpiredError("watch expired (injected): too old resource version")
                if item is _Signal.DEAD:
                    raise ServerError(f"{client.name} has crashed")
                if isinstance(item, WatchEvent):
                    if self._expire_next:
                        raise ExpiredError("watch expired after a lost event (injected)")
                    self._hold(item)
                for event in self._release():
                    yield event
        finally:
            client._streams.discard(self)
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    def _hold(self, event: WatchEvent[Resource]) -> None:
        self._held.append(event)

    def _release(self) -> list[WatchEvent[Resource]]:
        """What may be delivered now, perturbed by the current switches."""
        client, faults = self._client, self._client.faults
        if client._lagging is not None:
            cut = client._lag_rv
            ready = [e for e in self._held if int(e.resource_version or 0) <= cut]
            self._held = [e for e in self._held if int(e.resource_version or 0) > cut]
        else:
            ready, self._held = self._held, []
        if faults.coalesce:
            self._merging.extend(ready)
            return []
        if self._merging:
            ready, self._merging = _coalesced([*self._merging, *ready]), []
        out: list[WatchEvent[Resource]] = []
        for event in ready:
            if event.type is EventType.BOOKMARK or event.object is None:
                out.append(event)
                continue
            if client._chance(faults.drop_rate):
                # The reflector notices the gap only when the stream breaks:
                # at the next event (or at heal), it gets 410 and relists.
                client._dropped = True
                self._expire_next = True
                self._note("dropped", event)
                continue
            if self._swapped is None and client._chance(faults.reorder_rate):
                self._swapped = event
                self._note("held_for_reorder", event)
                continue
            if self._swapped is not None:
                held, self._swapped = self._swapped, None
                same = (
                    held.object is not None
                    and held.object.metadata.key == event.object.metadata.key
                )
                out.extend([held, event] if same else [event, held])
                continue
            out.append(event)
            if client._chance(faults.duplicate_rate):
                self._note("duplicated", event)
                out.append(event)
        if self._swapped is not None and not faults.reorder_rate:
            out.append(self._swapped)
            self._swapped = None
        for event in out:
            self._note("delivered", event)
        return out

    def _note(self, what: str, event: WatchEvent[Resource]) -> None:
        client = self._client
        if client._record is None:
            return
        key = str(event.object.metadata.key) if event.object is not None else ""
        client._record(
            {"t": client._clock.time(), "component": client.name, "watch": what,
             "kind": self._kind, "type": event.type.value, "key": key,
             "rv": str(event.resource_version)}
        )  # fmt: skip


def _key(event: WatchEvent[Resource]) -> ObjectKey | None:
    return event.object.metadata.key if event.object is not None else None


def _coalesced(events: list[WatchEvent[Resource]]) -> list[WatchEvent[Resource]]:
    """
    Merge held events into the last state of each object, in order of last change.

    An object added and deleted within the batch disappears entirely; one
    added then modified is delivered as added with its last state. A
    bookmark survives only as the batch's final resource version.
    """
    merged: dict[tuple[ObjectKey, str], WatchEvent[Resource]] = {}
    last_bookmark: WatchEvent[Resource] | None = None
    for event in events:
        if event.object is None:
            last_bookmark = event
            continue
        ident = (event.object.metadata.key, event.object.metadata.uid)
        before = merged.pop(ident, None)
        if before is not None and before.type is EventType.ADDED:
            if event.type is EventType.DELETED:
                continue
            merged[ident] = attrs.evolve(event, type=EventType.ADDED)
        else:
            merged[ident] = event
    out = list(merged.values())
    if last_bookmark is not None and (
        not out or int(last_bookmark.resource_version) > int(out[-1].resource_version)
    ):
        out.append(last_bookmark)
    return out
