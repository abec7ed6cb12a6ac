"""
The reflector: list, then watch from the list's resource version, forever.

:class:`ListWatcher` turns a :class:`ListerWatcher` (any client) into a
stream of :data:`Change` values for one kind: :class:`Relisted` carries a
complete, consistent snapshot; :class:`Applied` carries one watch event
(including ``BOOKMARK``\\ s, which only move the resource version).
Consumers apply them to a store with ``match``.

It is an explicit state machine, as kube-runtime's ``watcher::step``::

    EMPTY ──list ok──▶ LISTED ──open watch──▶ WATCHING ──event──▶ WATCHING
      ▲                  ▲                       │
      │                  └─ error / stream end ──┤  (after backoff)
      └──────────── ExpiredError (410) ──────────┘  (relist)

* ``EMPTY``: nothing consistent is known; the next step lists.
* ``LISTED``: the newest resource version is known; the next step opens
  a watch from it.
* ``WATCHING``: the next step reads one event and records its resource
  version (bookmarks included), so a re-watch resumes exactly after it.

Errors
    ``ExpiredError`` means the resource version fell out of the server's
    history: the watcher relists at once the first time, and with backoff
    if expiries repeat without any event in between (a hot list loop would
    only hammer the server). Any other ``ApiError`` or ``OSError``, and a
    watch stream that simply ends, re-opens the watch from the last seen
    resource version after an exponential :class:`Backoff` on the injected
    clock (a failed list retries the list). Other exceptions are bugs and
    propagate.

Guarantees
    Every change committed after the snapshot is delivered exactly once and
    in order, unless the history expired, in which case a new snapshot
    replaces everything (its consumer diffs it). Backoff delays are
    reproducible: jitter comes only from the injected ``random.Random``.
"""

from __future__ import annotations

import enum
import random
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Generic, Protocol, TypeAlias, TypeVar, final, runtime_checkable

import attrs
import structlog

from reconcile.cluster.client import Fields, Reader, Selector, Watcher, WatchEvent
from reconcile.errors import ApiError, ExpiredError
from reconcile.model.kinds import Resource, kind_of
from reconcile.model.meta import ResourceVersion
from reconcile.primitives.clock import Clock

__all__ = [
    "Applied",
    "Backoff",
    "Change",
    "ListWatcher",
    "ListerWatcher",
    "Relisted",
    "WatcherStatistics",
]

R = TypeVar("R", bound=Resource)

_log = structlog.get_logger(__name__)


@runtime_checkable
class ListerWatcher(Reader, Watcher, Protocol):
    """**Protocol:** what a reflector needs from a client: ``list`` and ``watch``."""


@attrs.frozen(kw_only=True, slots=True)
class Applied(Generic[R]):
    """One watch event to apply to the cache."""

    event: WatchEvent[R]


@attrs.frozen(kw_only=True, slots=True)
class Relisted(Generic[R]):
    """A complete snapshot that replaces the cache's contents."""

    objects: tuple[R, ...]
    resource_version: ResourceVersion


Change: TypeAlias = "Applied[R] | Relisted[R]"
"""What a :class:`ListWatcher` emits."""


@attrs.frozen(kw_only=True)
class Backoff:
    """
    Exponential backoff: ``min(initial * factor**attempt, cap)``.

    The attempt count restarts once ``reset_after`` seconds pass without a
    failure. With a random generator, each delay is scaled by a uniform
    factor in ``[1 - jitter, 1 + jitter]`` (and still capped).
    """

    initial: float = attrs.field(default=0.8, validator=attrs.validators.gt(0))
    factor: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    cap: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    reset_after: float = attrs.field(default=120.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(
        default=0.2, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        exponent = min(attempt, 64)  # large enough to reach any cap; never overflows
        delay = min(self.initial * self.factor**exponent, self.cap)
        if rng is not None and self.jitter:
            delay *= 1.0 - self.jitter + 2.0 * self.jitter * rng.random()
        return min(delay, self.cap)


@attrs.frozen(kw_only=True)
class WatcherStatistics:
    """Counters of a :class:`ListWatcher`."""

    state: str
    lists: int
    """Successful lists (the first one included)."""
    watches: int
    """Watch streams opened."""
    restarts: int
    """Watches re-opened after an error or the end of a stream."""
    expired: int
    errors: int
    """Failed lists and watches (``ExpiredError`` excluded)."""
    events: int
    resource_version: ResourceVersion


class _State(enum.Enum):
    EMPTY = "empty"
    LISTED = "listed"
    WATCHING = "watching"


@final
class ListWatcher(Generic[R]):
    """
    List and watch one kind, forever (see the module docstring).

    Args:
        client: Anything with ``list`` and ``watch``.
        kind: The kind class to follow.
        clock: Time source for backoff.
        namespace: Only this namespace (``None``: all).
        labels: Only objects matching this label selector.
        fields: Only objects matching this field selector.
        backoff: Retry policy for failed lists and watches.
        rng: Jitter source; ``None`` means no jitter.
        name: Name used in logs (the kind by default).
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
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        name: str | None = None,
    ) -> None:
        self._client = client
        self._kind = kind
        self._clock = clock
        self._namespace = namespace
        self._labels = labels
        self._fields = fields
        self._backoff = backoff or Backoff()
        self._rng = rng
        self._log = _log.bind(watcher=name or str(kind_of(kind)))
        self._state = _State.EMPTY
        self._rv = ResourceVersion("")
        self._stream: AsyncIterator[WatchEvent[R]] | None = None
        self._running = False
        self._attempt = 0
        self._quiet_since = 0.0
        self._expired_streak = 0
        self._lists = self._watches = self._restarts = 0
        self._expired = self._errors = self._events = 0

    @property
    def resource_version(self) -> ResourceVersion:
        """The newest resource version seen (list, event or bookmark)."""
        return self._rv

    def statistics(self) -> WatcherStatistics:
        """Current counters."""
        return WatcherStatistics(
            state=self._state.value,
            lists=self._lists,
            watches=self._watches,
            restarts=self._restarts,
            expired=self._expired,
            errors=self._errors,
            events=self._events,
            resource_version=self._rv,
        )

    async def changes(self) -> AsyncGenerator[Change[R], None]:
        """
        Yield changes until the consumer stops (close the iterator) or is cancelled.

        Raises:
            RuntimeError: if another iteration of this watcher is active.
        """
        if self._running:
            raise RuntimeError("ListWatcher.changes() is already being iterated")
        self._running = True
        try:
            while True:
                try:
                    change, self._state = await self._step(self._state)
                except ExpiredError as exc:
                    await self._recover_expired(exc)
                    continue
                except (ApiError, OSError) as exc:
                    await self._recover(exc)
                    continue
                if change is not None:
                    yield change
        finally:
            self._running = False
            await self._close_stream()

    async def _step(self, state: _State) -> tuple[Change[R] | None, _State]:
        """Perform one transition of the state machine and return what it produced."""
        match state:
            case _State.WATCHING:
                stream = self._stream
                assert stream is not None
                event = await anext(stream, None)
                if event is None:
                    self._log.debug("watcher.stream_ended", resource_version=self._rv)
                    return None, await self._restart()
                self._rv = event.resource_version
                self._events += 1
                self._expired_streak = 0
                return Applied(event=event), _State.WATCHING
            case _State.LISTED:
                self._stream = self._client.watch(
                    self._kind,
                    namespace=self._namespace,
                    labels=self._labels,
                    fields=self._fields,
                    since=self._rv,
                    bookmarks=True,
                )
                self._watches += 1
                return None, _State.WATCHING
            case _State.EMPTY:
                listing = await self._client.list(
                    self._kind, namespace=self._namespace, labels=self._labels, fields=self._fields
                )
                self._rv = listing.resource_version
                self._lists += 1
                self._log.debug(
                    "watcher.listed", objects=len(listing.items), resource_version=self._rv
                )
                return Relisted(objects=listing.items, resource_version=self._rv), _State.LISTED

    async def _restart(self) -> _State:
        """Back off, then go back to LISTED to re-watch from the last resource version."""
        await self._close_stream()
        self._restarts += 1
        await self._clock.sleep(self._next_delay())
        return _State.LISTED

    async def _recover_expired(self, exc: ExpiredError) -> None:
        await self._close_stream()
        self._expired += 1
        delay = self._next_delay() if self._expired_streak else 0.0
        self._expired_streak += 1
        self._log.info("watcher.expired", resource_version=self._rv, error=str(exc), delay=delay)
        self._state = _State.EMPTY
        if delay:
            await self._clock.sleep(delay)

    async def _recover(self, exc: ApiError | OSError) -> None:
        await self._close_stream()
        self._errors += 1
        delay = self._next_delay()
        failed = self._state
        self._log.warning(
            "watcher.failed",
            state=failed.value,
            error=repr(exc),
            resource_version=self._rv,
            delay=delay,
        )
        if failed is not _State.EMPTY:
            self._state = _State.LISTED
            self._restarts += 1
        await self._clock.sleep(delay)

    def _next_delay(self) -> float:
        now = self._clock.time()
        if now - self._quiet_since >= self._backoff.reset_after:
            self._attempt = 0
        delay = self._backoff.delay(self._attempt, self._rng)
        self._attempt += 1
        self._quiet_since = now + delay
        return delay

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
