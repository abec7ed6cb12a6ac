"""
``Controller``: informer events in, one idempotent reconcile per key out.

Expected flow::

    informer event ──predicates──▶ mapper ──▶ queue.add(key)
    worker: key = queue.get() ─▶ reconcile(key) ─▶ _settle(key, outcome) ─▶ queue.done(key)

Guarantees (from the work queue): a key is never reconciled by two workers
at once; any number of events for a key while it is queued collapse into
one reconcile; an event that arrives *during* a reconcile causes exactly one
more afterwards. Each (re)start enqueues every object of the primary kind,
so nothing that happened while the controller was stopped is missed.

How an outcome becomes a queue action lives in one place, :meth:`Controller._settle`.
Every reconcile runs inside a bound structlog context (``controller``,
``key``, ``reconcile_id``) and ends with exactly one ``reconcile.finished``
line carrying ``outcome``, ``duration_ms`` and ``requeue_after``.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar, final

import attrs
import structlog

from reconcile.cluster.informer import Informer, SharedInformers
from reconcile.errors import (
    ConflictError,
    NotFoundError,
    RetryAfter,
    TerminalError,
    TooManyRequestsError,
)
from reconcile.model.kinds import Resource, kind_of
from reconcile.model.meta import ObjectKey
from reconcile.primitives.clock import Clock
from reconcile.primitives.ratelimit import RateLimiter
from reconcile.primitives.workqueue import ShutDown, WorkQueue, WorkQueueStatistics
from reconcile.runtime.handlers import Mapper, enqueue_owner, enqueue_self, is_enqueue_self
from reconcile.runtime.predicates import Predicate
from reconcile.runtime.reconciler import Reconciler, Request, Result

__all__ = ["Controller", "ControllerStatistics", "Outcome", "Watch"]

R = TypeVar("R", bound=Resource)

log = structlog.get_logger("reconcile.controller")


def _structlog_context_vars() -> tuple[contextvars.ContextVar[object], ...]:
    """The context variables behind ``bind_contextvars(controller=, key=, reconcile_id=)``."""
    tokens = structlog.contextvars.bind_contextvars(controller="", key="", reconcile_id="")
    structlog.contextvars.reset_contextvars(**tokens)
    return tuple(tokens[name].var for name in ("controller", "key", "reconcile_id"))


_CONTEXT = _structlog_context_vars()

_YIELD_EVERY = 16
"""Reconciles a worker may run back to back before it lets other tasks run."""


_CONFLICTS_AT_ONCE = 3
"""Consecutive conflicts of one key retried at once; later ones back off."""


class Outcome(enum.Enum):
    """How one reconcile ended; the ``outcome`` of ``reconcile.finished``."""

    SUCCESS = "success"
    REQUEUE_AFTER = "requeue_after"
    RETRY_AFTER = "retry_after"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    TERMINAL = "terminal_error"
    ERROR = "error"


@attrs.frozen(kw_only=True)
class Watch:
    """Another kind whose changes enqueue keys of the controller's kind."""

    kind: type[Resource]
    mapper: Mapper
    predicates: tuple[Predicate, ...] = ()


@attrs.frozen(kw_only=True)
class ControllerStatistics:
    """Counters of a :class:`Controller`."""

    name: str
    running: bool
    active_workers: int
    reconciles: int
    outcomes: dict[str, int]
    queue: WorkQueueStatistics | None


@final
class Controller(Generic[R]):
    """
    Runs ``reconciler`` for every key of ``for_`` that needs it.

    Args:
        name: Unique name (log context and statistics).
        reconciler: The :class:`Reconciler` to call.
        for_: The primary kind; its own events enqueue its own keys.
        owns: Child kinds; their events enqueue their controlling owner of kind ``for_``.
        watches: Other kinds with their own mappers.
        predicates: Filters for events of ``for_`` (all must pass).
        workers: Maximum concurrent reconciles.
        rate_limiter: Backoff for failed reconciles (the client-go default if omitted).
    """

    def __init__(
        self,
        *,
        name: str,
        reconciler: Reconciler,
        for_: type[R],
        owns: Sequence[type[Resource]] = (),
        watches: Sequence[Watch] = (),
        predicates: Sequence[Predicate] = (),
        workers: int = 1,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers: must be >= 1, got {workers}")
        kind_of(for_)
        self.name = name
        self.reconciler = reconciler
        self.for_ = for_
        self.workers = workers
        self._watches: tuple[Watch, ...] = (
            Watch(kind=for_, mapper=enqueue_self(), predicates=tuple(predicates)),
            *(Watch(kind=child, mapper=enqueue_owner(for_)) for child in owns),
            *watches,
        )
        self._rate_limiter = rate_limiter
        self._queue: WorkQueue[ObjectKey] | None = None
        self._clock: Clock | None = None
        self._primary: Informer[R] | None = None
        self._sources: list[tuple[Informer[Resource], _Enqueuer]] = []
        self._active = 0
        self._reconciles = 0
        self._ids = 0
        self._outcomes: Counter[Outcome] = Counter()
        self._conflicts: dict[ObjectKey, int] = {}  # consecutive conflicts per key
        self._log: structlog.typing.FilteringBoundLogger = log

    @property
    def watched_kinds(self) -> tuple[type[Resource], ...]:
        """Every kind whose informer this controller needs."""
        return tuple(dict.fromkeys(w.kind for w in self._watches))

    def bind(self, informers: SharedInformers, clock: Clock) -> None:
        """Attach to shared informers (done by the Manager before it starts them)."""
        if self._clock is not None:
            raise RuntimeError(f"controller {self.name!r} is already bound to a manager")
        self._clock = clock
        self._primary = informers.get(self.for_)
        for watch in self._watches:
            handler = _Enqueuer(self, watch.mapper, watch.predicates)  # type: ignore[arg-type]
            informer = informers.get(watch.kind)
            informer.add_handler(handler)
            self._sources.append((informer, handler))

    def enqueue(self, key: ObjectKey) -> None:
        """Ask for ``key`` to be reconciled (ignored while the controller is not running)."""
        if self._queue is not None:
            self._queue.add(key)

    def resync(self) -> int:
        """
        Enqueue every cached object of the primary kind (a full pass, as at
        start); returns how many keys were enqueued (0 when not running).
        """
        if self._queue is None or self._primary is None:
            return 0
        keys = list(self._primary.store.keys())
        for key in keys:
            self._queue.add(key)
        return len(keys)

    async def run(self) -> None:
        """
        Run workers until :meth:`shutdown`; may be called again after it returns.

        Every object of the primary kind is enqueued at start, and every key the
        watches map the objects already cached to (the events that brought
        them arrived while the controller was not running). On shutdown,
        workers finish the reconcile they are in and stop.
        """
        if self._clock is None or self._primary is None:
            raise RuntimeError(f"controller {self.name!r} is not bound: add it to a Manager")
        if self._queue is not None:
            raise RuntimeError(f"controller {self.name!r} is already running")
        queue: WorkQueue[ObjectKey] = (
            WorkQueue(clock=self._clock)
            if self._rate_limiter is None
            else WorkQueue(clock=self._clock, rate_limiter=self._rate_limiter)
        )
        self._queue = queue
        # Bind once per run: the lazy module logger would rebuild itself on every call.
        self._log = log.bind()
        for key in self._primary.store.keys():  # noqa: SIM118  # a Store is not a mapping
            queue.add(key)
        # What the other kinds' caches already hold maps to keys too, as if their
        # objects were added now: a pod whose Job is gone still gets that Job's
        # key reconciled (the events that delivered it came while not running).
        for informer, handler in self._sources:
            if not handler.own:
                for obj in informer.store.list():
                    handler.on_add(obj)
        log.debug("controller.started", controller=self.name, workers=self.workers)
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(self.workers):
                    tg.create_task(self._worker(queue))
        finally:
            self._queue = None
            log.debug("controller.stopped", controller=self.name)

    def shutdown(self) -> None:
        """Stop accepting keys; workers exit after their current reconcile."""
        if self._queue is not None:
            self._queue.shutdown()

    def statistics(self) -> ControllerStatistics:
        return ControllerStatistics(
            name=self.name,
            running=self._queue is not None,
            active_workers=self._active,
            reconciles=self._reconciles,
            outcomes={outcome.value: n for outcome, n in self._outcomes.items()},
            queue=self._queue.statistics() if self._queue is not None else None,
        )

    async def _worker(self, queue: WorkQueue[ObjectKey]) -> None:
        streak = 0
        while True:
            # After shutdown the queue still hands out what it holds (client-go's
            # contract, for draining); a stopping controller leaves it instead.
            if queue.shutting_down:
                return
            try:
                key = queue.get_nowait() if len(queue) else await queue.get()
            except ShutDown:
                return
            self._active += 1
            try:
                await self._reconcile_one(queue, key)
            finally:
                self._active -= 1
                queue.done(key)
            # Yield now and then: a run of reconciles that never suspend (an
            # in-memory client, a conflict retried at once) must not starve the
            # informers that would bring the fresh state they are waiting for.
            streak += 1
            if streak == _YIELD_EVERY:
                streak = 0
                await asyncio.sleep(0)

    async def _reconcile_one(self, queue: WorkQueue[ObjectKey], key: Request) -> None:
        assert self._clock is not None
        self._ids += 1
        reconcile_id = f"{self.name}-{self._ids}"
        started = self._clock.time()
        # What ``structlog.contextvars.bound_contextvars`` does, on the same
        # context variables, without its per-call look-ups (the hot path).
        var_controller, var_key, var_id = _CONTEXT
        t_controller = var_controller.set(self.name)
        t_key = var_key.set(str(key))
        t_id = var_id.set(reconcile_id)
        try:
            outcome: Result | Exception
            try:
                outcome = await self.reconciler.reconcile(key)
            except Exception as exc:  # every failure is settled below, never lost
                outcome = exc
            self._settle(queue, key, outcome, started)
        finally:
            var_id.reset(t_id)
            var_key.reset(t_key)
            var_controller.reset(t_controller)

    def _settle(
        self, queue: WorkQueue[ObjectKey], key: Request, outcome: Result | Exception, started: float
    ) -> None:
        """The one place where an outcome becomes a queue action."""
        requeue_after: float | None = None
        error: Exception | None = None
        match outcome:
            case Result(requeue_after=None):
                queue.forget(key)
                kind = Outcome.SUCCESS
            case Result(requeue_after=float() | int() as delay):
                queue.forget(key)
                queue.add_after(key, delay)
                kind, requeue_after = Outcome.REQUEUE_AFTER, delay
            case TerminalError():
                queue.forget(key)
                kind, error = Outcome.TERMINAL, outcome
            case RetryAfter(delay=delay):
                queue.forget(key)
                queue.add_after(key, delay)
                kind, requeue_after = Outcome.RETRY_AFTER, delay
            case TooManyRequestsError(retry_after=delay):
                queue.add_after(key, delay)
                kind, requeue_after = Outcome.RETRY_AFTER, delay
            case ConflictError():
                # A stale read: look again at once, a few times; then through the
                # per-key backoff, so a cache that stays stale (a lagging replica)
                # cannot make the key spin at one instant.
                streak = self._conflicts[key] = self._conflicts.get(key, 0) + 1
                if streak <= _CONFLICTS_AT_ONCE:
                    queue.add(key)
                    requeue_after = 0.0
                else:
                    requeue_after = queue.add_rate_limited(key)
                kind = Outcome.CONFLICT
            case NotFoundError():
                queue.forget(key)
                kind = Outcome.NOT_FOUND
            case _:
                assert isinstance(outcome, Exception)
                requeue_after = queue.add_rate_limited(key)
                kind, error = Outcome.ERROR, outcome
        if self._conflicts and kind is not Outcome.CONFLICT:
            self._conflicts.pop(key, None)
        self._reconciles += 1
        self._outcomes[kind] += 1
        assert self._clock is not None
        duration_ms = round((self._clock.time() - started) * 1000, 3)
        if error is None:
            self._log.debug(
                "reconcile.finished",
                outcome=kind.value,
                duration_ms=duration_ms,
                requeue_after=requeue_after,
            )
        elif kind is Outcome.TERMINAL:
            self._log.warning(
                "reconcile.finished",
                outcome=kind.value,
                duration_ms=duration_ms,
                requeue_after=None,
                error=str(error),
            )
        else:
            self._log.error(
                "reconcile.finished",
                outcome=kind.value,
                duration_ms=duration_ms,
                requeue_after=requeue_after,
                retries=queue.num_requeues(key),
                exc_info=error,
            )


@final
@attrs.frozen
class _Enqueuer:
    """Informer handler that maps events of one kind to keys of a controller."""

    controller: Controller[Resource]
    mapper: Mapper
    predicates: tuple[Predicate, ...]
    own: bool = attrs.field(init=False)

    @own.default
    def _maps_to_itself(self) -> bool:
        return is_enqueue_self(self.mapper)

    def _allowed(self, old: Resource | None, new: Resource | None) -> bool:
        predicates = self.predicates
        if len(predicates) == 1:  # the common case, without a generator per event
            return predicates[0](old, new)
        return all(p(old, new) for p in predicates)

    def _enqueue(self, keys: Iterable[ObjectKey]) -> None:
        for key in keys:
            self.controller.enqueue(key)

    def on_add(self, obj: Resource) -> None:
        if not self.predicates:
            if self.own:  # the hottest path: every new object of the primary kind
                self.controller.enqueue(obj.metadata.key)
            else:
                self._enqueue(self.mapper(obj))
        elif self._allowed(None, obj):
            self._enqueue(self.mapper(obj))

    def on_update(self, old: Resource, new: Resource) -> None:
        if self.predicates and not self._allowed(old, new):
            return
        keys = list(self.mapper(new))
        for key in self.mapper(old):
            if key not in keys:
                keys.append(key)
        self._enqueue(keys)

    def on_delete(self, obj: Resource) -> None:
        if not self.predicates or self._allowed(obj, None):
            self._enqueue(self.mapper(obj))
