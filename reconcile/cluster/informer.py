"""
Informers: a list+watch reflector feeding a cache and notifying handlers.

An :class:`Informer` owns a :class:`~reconcile.cluster.watcher.ListWatcher`
and the only :class:`~reconcile.cluster.store.StoreWriter` of its store.
For every change it first updates the store, then calls each registered
:class:`EventHandler` synchronously, so a handler always sees a store that
already contains (or no longer contains) the object it is told about.

Expected flow::

    informer = Informer(client, Pod, clock=clock)
    informer.add_indexer("node", lambda pod: [pod.spec.node_name])
    informer.add_handler(handler(on_add=..., on_update=..., on_delete=...))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(informer.run())
        await informer.wait_synced()        # the initial list is stored and dispatched
        ...                                 # informer.store is now safe to read

Guarantees
    * Handlers are called from the informer's own tasks (``run()``, and its
      resync task), one call at a time, in the order changes were
      committed. The initial list arrives as ``on_add`` calls before
      ``wait_synced`` returns.
    * After a relist (the watch expired), handlers receive the difference to
      what they had seen: ``on_add`` for new objects, ``on_update`` for
      changed ones, ``on_delete`` for objects deleted meanwhile.
    * With ``resync=N``, every ``N`` clock seconds each handler receives
      ``on_update(obj, obj)`` for every cached object (level-triggered
      safety net).
    * A handler added late first receives ``on_add`` for every cached object.
    * ``on_delete`` receives the object's last known state; it is called even
      for objects the cache never held (as client-go does).

Errors
    An exception from a handler is logged (``informer.handler_failed``) and
    counted; the informer and the other handlers continue. List and watch
    failures are retried by the watcher and never end ``run()``.
    ``run()`` ends only by cancellation, which stops every task it started.

:class:`SharedInformers` lets several controllers share one informer per kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
from collections.abc import Iterable
from typing import Generic, TypeVar, cast, final

import attrs
import structlog

from reconcile.cluster.client import EventType, Fields, Selector, WatchEvent
from reconcile.cluster.handler import EventHandler, FunctionHandler, handler
from reconcile.cluster.store import Indexer, Store, StoreWriter
from reconcile.cluster.watcher import Applied, Backoff, ListerWatcher, ListWatcher, Relisted
from reconcile.model.fields import FieldSelector
from reconcile.model.kinds import Resource, kind_of
from reconcile.model.meta import ResourceVersion
from reconcile.model.selectors import LabelSelector
from reconcile.primitives.clock import Clock

__all__ = [
    "EventHandler",
    "FunctionHandler",
    "Informer",
    "InformerStatistics",
    "SharedInformers",
    "SharedInformersStatistics",
    "handler",
]

R = TypeVar("R", bound=Resource)

_log = structlog.get_logger(__name__)


@attrs.frozen(kw_only=True)
class InformerStatistics:
    """Counters of an :class:`Informer`."""

    events: int
    """Watch events applied (bookmarks excluded)."""
    relists: int
    """Lists after the initial one (each follows an expired or failed watch)."""
    watch_restarts: int
    errors: int
    """Failed lists and watches."""
    handler_errors: int
    resyncs: int
    objects: int
    synced: bool


class _Lifecycle(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


@final
class Informer(Generic[R]):
    """
    Keeps a :class:`~reconcile.cluster.store.Store` of one kind in sync and notifies handlers.

    Args:
        client: Anything with ``list`` and ``watch``.
        kind: The kind class to follow.
        clock: Time source for resyncs and backoff.
        namespace: Only this namespace (``None``: all).
        labels: Only objects matching this label selector.
        fields: Only objects matching this field selector.
        resync: Seconds between resyncs (``None``: never).
        name: Name used in logs (the kind by default).
        backoff: Retry policy of the watcher.
        rng: Jitter source of the watcher; ``None`` means no jitter.
    """

    def __init__(
        self,
        client: ListerWatcher,
        kind: type[R],
        *,
        clock: Clock,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
        resync: float | None = None,
        name: str | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if resync is not None and not resync > 0:
            raise ValueError(f"resync: must be > 0 seconds or None, got {resync}")
        self.kind = kind
        self.name = name or str(kind_of(kind))
        self._clock = clock
        self._resync = resync
        self._writer: StoreWriter[R] = StoreWriter()
        self._watcher = ListWatcher(
            client,
            kind,
            clock=clock,
            namespace=namespace,
            labels=labels,
            fields=fields,
            backoff=backoff,
            rng=rng,
            name=self.name,
        )
        self._handlers: tuple[EventHandler[R], ...] = ()
        self._lifecycle = _Lifecycle.NEW
        self._log = _log.bind(informer=self.name)
        self._events = self._handler_errors = self._resyncs = 0

    @property
    def store(self) -> Store[R]:
        """The read-only cache."""
        return self._writer.store

    def add_indexer(self, name: str, indexer: Indexer[R]) -> None:
        """Maintain a custom index (see :meth:`StoreWriter.add_indexer`)."""
        self._writer.add_indexer(name, indexer)

    def add_handler(self, handler: EventHandler[R]) -> None:
        """Notify ``handler`` of every change; it first gets ``on_add`` for cached objects."""
        self._handlers = (*self._handlers, handler)
        for obj in self.store.list():
            try:
                handler.on_add(obj)
            except Exception:
                self._handler_failed(handler, "on_add", obj)

    async def wait_synced(self) -> None:
        """Return once the initial list is stored and dispatched to the handlers."""
        await self.store.wait_synced()

    def statistics(self) -> InformerStatistics:
        """Current counters."""
        watcher = self._watcher.statistics()
        return InformerStatistics(
            events=self._events,
            relists=max(0, watcher.lists - 1),
            watch_restarts=watcher.restarts,
            errors=watcher.errors,
            handler_errors=self._handler_errors,
            resyncs=self._resyncs,
            objects=len(self.store),
            synced=self.store.synced,
        )

    async def run(self) -> None:
        """
        List, watch and dispatch until cancelled.

        Raises:
            RuntimeError: if the informer has already been run.
        """
        if self._lifecycle is not _Lifecycle.NEW:
            raise RuntimeError(f"informer {self.name!r} is {self._lifecycle.value}; run it once")
        self._lifecycle = _Lifecycle.RUNNING
        try:
            if self._resync is None:
                await self._follow()
            else:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._resync_every(self._resync), name=f"{self.name}.resync")
                    await self._follow()
        finally:
            self._lifecycle = _Lifecycle.STOPPED

    async def _follow(self) -> None:
        async with contextlib.aclosing(self._watcher.changes()) as changes:
            async for change in changes:
                match change:
                    case Applied(event=event):
                        self._apply(event)
                    case Relisted(objects=objects, resource_version=rv):
                        self._relist(objects, rv)

    def _apply(self, event: WatchEvent[R]) -> None:
        kind = event.type
        if kind is EventType.BOOKMARK:
            self._writer.apply(event)
            return
        old = self._writer.apply(event)
        self._events += 1
        obj = event.object
        assert obj is not None
        if kind is EventType.DELETED:
            self._dispatch_delete((obj,))
        elif old is None:
            self._dispatch_add((obj,))
        else:
            self._dispatch_update(((old, obj),))

    def _relist(self, objects: Iterable[R], resource_version: ResourceVersion) -> None:
        diff = self._writer.replace(objects, resource_version)
        if self.store.synced:
            self._log.info(
                "informer.relisted",
                added=len(diff.added),
                updated=len(diff.updated),
                deleted=len(diff.deleted),
                resource_version=resource_version,
            )
        self._dispatch_add(diff.added)
        self._dispatch_update(diff.updated)
        self._dispatch_delete(diff.deleted)
        if not self.store.synced:
            self._writer.mark_synced()
            self._log.info("informer.synced", objects=len(self.store))

    async def _resync_every(self, period: float) -> None:
        await self.store.wait_synced()
        while True:
            await self._clock.sleep(period)
            self._resyncs += 1
            objects = self.store.list()
            self._dispatch_update([(obj, obj) for obj in objects])

    def _dispatch_add(self, objects: Iterable[R]) -> None:
        for obj in objects:
            for h in self._handlers:
                try:
                    h.on_add(obj)
                except Exception:
                    self._handler_failed(h, "on_add", obj)

    def _dispatch_update(self, pairs: Iterable[tuple[R, R]]) -> None:
        for old, new in pairs:
            for h in self._handlers:
                try:
                    h.on_update(old, new)
                except Exception:
                    self._handler_failed(h, "on_update", new)

    def _dispatch_delete(self, objects: Iterable[R]) -> None:
        for obj in objects:
            for h in self._handlers:
                try:
                    h.on_delete(obj)
                except Exception:
                    self._handler_failed(h, "on_delete", obj)

    def _handler_failed(self, handler: EventHandler[R], callback: str, obj: R) -> None:
        self._handler_errors += 1
        self._log.exception(
            "informer.handler_failed", handler=repr(handler), callback=callback, key=str(obj.key)
        )

    def __repr__(self) -> str:
        return f"<Informer {self.name} {self._lifecycle.value} objects={len(self.store)}>"


_Key = tuple[type[Resource], str, str, str]


@attrs.frozen(kw_only=True)
class SharedInformersStatistics:
    """Totals over every informer of a :class:`SharedInformers`."""

    informers: int
    synced: int
    objects: int
    events: int
    relists: int
    errors: int
    handler_errors: int


@final
class SharedInformers:
    """
    One informer per (kind, namespace, selectors), however many users.

    Several controllers usually watch the same kinds; they all get the same
    :class:`Informer` from :meth:`get`, so a kind is listed, watched and
    cached once. Selectors are compared in canonical form (``"a=1,b=2"`` and
    ``"b=2,a=1"`` share one informer). ``run()`` runs every informer in one
    TaskGroup; one requested while it runs starts at once in that group.
    Cancelling ``run()`` stops them all; an informer crashing (a bug) cancels
    the others and propagates in an ``ExceptionGroup``.

    Expected flow (what the Manager does)::

        informers = SharedInformers(client, clock=clock)
        informers.get(Pod).add_handler(...)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(informers.run())
            await informers.wait_synced()

    Args:
        client: Anything with ``list`` and ``watch``.
        clock: Time source for every informer.
        resync: Default resync period of the informers (``None``: never).
        backoff: Retry policy of the watchers.
        rng: Jitter source of the watchers; ``None`` means no jitter.
    """

    def __init__(
        self,
        client: ListerWatcher,
        *,
        clock: Clock,
        resync: float | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._resync = resync
        self._backoff = backoff
        self._rng = rng
        self._informers: dict[_Key, Informer[Resource]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._started = False

    def get(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
    ) -> Informer[R]:
        """The informer for ``kind`` (restricted as given), created on first request."""
        label_selector = LabelSelector.parse(labels) if isinstance(labels, str) else labels
        field_selector = FieldSelector.parse(fields) if isinstance(fields, str) else fields
        label_text = "" if label_selector is None else str(label_selector)
        field_text = "" if field_selector is None else str(field_selector)
        key: _Key = (kind, namespace or "", label_text, field_text)
        informer = self._informers.get(key)
        if informer is None:
            name = str(kind_of(kind))
            scope = ";".join(
                part
                for part in (
                    f"namespace={namespace}" if namespace else "",
                    f"labels={label_text}" if label_text else "",
                    f"fields={field_text}" if field_text else "",
                )
                if part
            )
            informer = cast(
                "Informer[Resource]",
                Informer(
                    self._client,
                    kind,
                    clock=self._clock,
                    namespace=namespace or None,
                    labels=label_selector if label_text else None,
                    fields=field_selector if field_text else None,
                    resync=self._resync,
                    name=f"{name}[{scope}]" if scope else name,
                    backoff=self._backoff,
                    rng=self._rng,
                ),
            )
            self._informers[key] = informer
            if self._group is not None:
                self._group.create_task(informer.run(), name=informer.name)
        return cast("Informer[R]", informer)

    def informers(self) -> list[Informer[Resource]]:
        """Every informer created so far, in creation order."""
        return list(self._informers.values())

    async def run(self) -> None:
        """
        Run every informer (including ones requested later) until cancelled.

        Raises:
            RuntimeError: if ``run()`` was called before.
        """
        if self._started:
            raise RuntimeError("SharedInformers.run() may be called only once")
        self._started = True
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                for informer in list(self._informers.values()):
                    group.create_task(informer.run(), name=informer.name)
                await asyncio.Event().wait()  # until cancelled (or an informer crashes)
        finally:
            self._group = None

    async def wait_synced(self) -> None:
        """
        Return once every informer (including ones added meanwhile) has synced.

        Informers sync only while ``run()`` runs, so await this alongside it.
        """
        while True:
            pending = [i for i in self._informers.values() if not i.store.synced]
            if not pending:
                return
            for informer in pending:
                await informer.wait_synced()

    def statistics(self) -> SharedInformersStatistics:
        """Totals over every informer."""
        stats = [i.statistics() for i in self._informers.values()]
        return SharedInformersStatistics(
            informers=len(stats),
            synced=sum(s.synced for s in stats),
            objects=sum(s.objects for s in stats),
            events=sum(s.events for s in stats),
            relists=sum(s.relists for s in stats),
            errors=sum(s.errors for s in stats),
            handler_errors=sum(s.handler_errors for s in stats),
        )
