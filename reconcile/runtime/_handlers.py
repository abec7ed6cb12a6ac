"""
Lowering kopf-style handlers onto one level-triggered reconcile per key.

:class:`~reconcile.runtime.operator.Operator` collects decorated handlers;
this module turns the handlers of one kind into an ordinary
:class:`~reconcile.runtime.reconciler.Reconciler` (:class:`KindReconciler`)
that an ordinary ``Controller`` runs. Nothing here sees events: every
decision is made from the object as the informer cache holds it now, so the
work queue's per-key serialisation, deduplication and backoff cover every
handler of the kind.

Expected flow (one reconcile of ``key``)
----------------------------------------

1. Read ``obj`` from the cache (``None`` when gone).
2. If the kind has ``on.delete`` handlers and ``obj`` is live but lacks the
   finalizer ``reconcile.dev/<operator name>``, add it (an ``update``
   conditional on the cached ``resource_version``) and finish: that write
   queues the key again, and nothing runs before the finalizer is persisted.
3. Call the ``@operator.reconcile`` function, if any, with ``obj``. It sees
   every state, deleting objects and ``None`` included, as a
   controller-runtime reconciler does.
4. ``obj is None``: forget everything remembered about ``key`` (timers stop)
   and finish.
5. A deleting object that carries our finalizer runs the delete handlers,
   then the finalizer is removed
   (:func:`~reconcile.runtime.finalizers.with_finalizer`). A deleting object
   runs nothing else.
6. A live object runs its change handlers, then its timers.

Change detection
----------------
The spec (every field but ``metadata`` and ``status``, in its JSON shape)
last handled is kept in the annotation :data:`LAST_HANDLED_ANNOTATION`, as
kopf keeps ``kopf.zalando.org/last-handled-configuration``. No annotation
runs the create handlers; an annotation that differs from the current spec
runs the update handlers with ``old`` (the object with the recorded spec put
back), ``new`` and their :func:`~reconcile.runtime._diff.diff`. Afterwards
the annotation is written with a metadata-only merge patch, which leaves
``metadata.generation`` alone. An unreadable annotation (say, the kind's
schema changed) counts as absent, so the create handlers run again.

The informer cache may briefly lag behind our own writes: a handler that
writes the object and then awaits something lets the informer re-queue the
key, and that reconcile may start before the cache holds the annotation. A
record of the last handled spec (and of finished delete handlers) per object
``uid`` is therefore also kept in memory and wins over the annotation while
this process lives; after a restart the annotation is all there is.

Guarantees
----------
* Within one kind, handlers run in a fixed order (reconcile function, then
  delete handlers, or change handlers then timers), each kind of handler in
  registration order, never concurrently for one key.
* The annotation is written only after every change handler succeeded; delete
  handlers run before the object disappears, and the finalizer is removed
  only after they all succeeded.
* Timers run on the injected clock: a timer of ``interval`` seconds runs
  ``initial_delay`` after the object is first seen, then every ``interval``
  seconds (measured between the starts of two runs), for as long as the
  object exists and is not deleting; the reconcile's result asks to be
  re-run when the next one is due.

Errors
------
A handler that raises ends the reconcile; the engine settles the exception
as usual (any exception: retry with backoff; ``RetryAfter``: retry after
its delay; ``TerminalError``: no retry until the next change). Nothing is
recorded for a failed step, so the next attempt runs the whole reconcile
again (the reconcile function, every handler of the change, every delete
handler, the failed timer). **Handlers must therefore
be idempotent**, exactly as kopf requires.
"""

from __future__ import annotations

import inspect
import json
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Generic, TypeVar, final

import attrs
import structlog
from structlog.typing import FilteringBoundLogger

from reconcile.cluster.client import Client, MergePatch
from reconcile.cluster.store import Store
from reconcile.errors import InvalidError
from reconcile.model.convert import from_json, json_name, to_json
from reconcile.model.frozen import FrozenDict, freeze
from reconcile.model.kinds import Resource, kind_of, spec_fields
from reconcile.model.meta import ObjectKey, Uid
from reconcile.model.ownership import add_finalizer
from reconcile.primitives.clock import Clock
from reconcile.runtime._diff import Diff, diff
from reconcile.runtime.events import EventRecorder
from reconcile.runtime.finalizers import with_finalizer
from reconcile.runtime.manager import Manager
from reconcile.runtime.reconciler import Request, Result

__all__ = [
    "LAST_HANDLED_ANNOTATION",
    "Context",
    "IndexFunction",
    "KindHandlers",
    "KindReconciler",
    "ObjectHandler",
    "ReconcileHandler",
    "Timer",
    "UpdateHandler",
]

R = TypeVar("R", bound=Resource)
T = TypeVar("T")

LAST_HANDLED_ANNOTATION = "reconcile.dev/last-handled-configuration"
"""Where the spec last handled by change handlers is persisted, as JSON."""

_EPSILON = 1e-6
"""Timers due within this many seconds count as due (float rounding of delays)."""


@attrs.frozen(kw_only=True)
class Context:
    """
    What every handler receives next to the object.

    Attributes:
        key: The key being reconciled.
        client: The cluster client (for writes and uncached reads).
        clock: The manager's clock; use it, never the wall clock.
        log: A structlog logger bound to the operator and handler (the
            engine's ``controller``, ``key`` and ``reconcile_id`` context
            variables come on top).
        manager: The running :class:`~reconcile.runtime.manager.Manager`.
        recorder: Writes ``v1`` Events about objects, as the operator.
    """

    key: ObjectKey
    client: Client
    clock: Clock
    log: FilteringBoundLogger = attrs.field(repr=False)
    manager: Manager = attrs.field(repr=False)
    recorder: EventRecorder = attrs.field(repr=False)
    _indexes: Mapping[str, type[Resource]] = attrs.field(factory=FrozenDict, repr=False)

    def _with_log(self, log: FilteringBoundLogger) -> Context:
        # ``attrs.evolve`` introspects the class on every call; this is the hot path.
        return Context(
            key=self.key,
            client=self.client,
            clock=self.clock,
            log=log,
            manager=self.manager,
            recorder=self.recorder,
            indexes=self._indexes,
        )

    def store(self, kind: type[R]) -> Store[R]:
        """The shared read-only cache of ``kind``."""
        return self.manager.store(kind)

    def index(self, name: str, value: str) -> list[Resource]:
        """
        Objects that the ``@operator.index`` function ``name`` maps to ``value``.

        Raises:
            KeyError: if no index of that name is registered with the operator.
        """
        kind = self._indexes.get(name)
        if kind is None:
            raise KeyError(f"no operator index named {name!r}; known: {sorted(self._indexes)}")
        return list(self.manager.store(kind).by_index(name, value))


ReconcileHandler = Callable[[R | None, Context], Awaitable[Result | None]]
"""``async def fn(obj, ctx) -> Result | None``; ``obj`` is ``None`` once the object is gone."""

ObjectHandler = Callable[[R, Context], Awaitable[None]]
"""``async def fn(obj, ctx)``: create and delete handlers, and timers."""

UpdateHandler = Callable[[R, R, Diff, Context], Awaitable[None]]
"""``async def fn(old, new, diff, ctx)``: update handlers."""

IndexFunction = Callable[[R], Iterable[str]]
"""``def fn(obj) -> Iterable[str]``: the index values of one object."""


def require_async(fn: object, what: str) -> None:
    """Reject a handler that is not an ``async def`` (the engine is async-only)."""
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{what} handler {_name_of(fn)} must be an 'async def' function")


@attrs.frozen(kw_only=True)
class Timer(Generic[R]):
    """A periodic per-object handler and its schedule."""

    fn: ObjectHandler[R]
    interval: float = attrs.field(validator=attrs.validators.gt(0))
    initial_delay: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))


@attrs.frozen(kw_only=True)
class KindHandlers(Generic[R]):
    """Every handler registered for one kind, in registration order (a snapshot)."""

    kind: type[R]
    reconcile: ReconcileHandler[R] | None = None
    on_create: tuple[ObjectHandler[R], ...] = ()
    on_update: tuple[UpdateHandler[R], ...] = ()
    on_delete: tuple[ObjectHandler[R], ...] = ()
    timers: tuple[Timer[R], ...] = ()


@attrs.define
class _KeyState:
    """What this process remembers about one object (one uid)."""

    uid: Uid
    first_seen: float
    handled: str | None = None
    cleaned: bool = False
    timer_runs: dict[int, float] = attrs.field(factory=dict)


@final
class KindReconciler(Generic[R]):
    """
    The reconciler that runs every handler of one kind (see the module docstring).

    Args:
        handlers: What to run.
        manager: The manager the controller is added to (cache, client, clock).
        recorder: Passed to handlers in their context.
        finalizer: The finalizer guarding delete handlers.
        indexes: Operator index names and their kinds, for :meth:`Context.index`.
        operator: The operator's name (log context).
        calls: Shared counters of handler calls, by cause and outcome.
    """

    def __init__(
        self,
        handlers: KindHandlers[R],
        *,
        manager: Manager,
        recorder: EventRecorder,
        finalizer: str,
        indexes: Mapping[str, type[Resource]],
        operator: str,
        calls: Counter[str],
    ) -> None:
        self._h = handlers
        self._manager = manager
        self._client = manager.client
        self._clock = manager.clock
        self._store = manager.store(handlers.kind)
        self._recorder = recorder
        self._finalizer = finalizer if handlers.on_delete else None
        self._indexes: FrozenDict[str, type[Resource]] = FrozenDict(indexes)
        self._calls = calls
        self._states: dict[ObjectKey, _KeyState] = {}
        self._log: FilteringBoundLogger = structlog.get_logger("reconcile.operator").bind(
            operator=operator, kind=kind_of(handlers.kind).kind
        )

    async def reconcile(self, request: Request) -> Result:
        """Run the kind's handlers for ``request``, in the documented order."""
        obj = self._store.get(request)
        ctx = Context(
            key=request,
            client=self._client,
            clock=self._clock,
            log=self._log,
            manager=self._manager,
            recorder=self._recorder,
            indexes=self._indexes,
        )
        finalizer = self._finalizer
        if (
            obj is not None
            and finalizer is not None
            and not obj.metadata.deleting
            and finalizer not in obj.metadata.finalizers
        ):
            # Persist the finalizer before anything runs; the write re-queues the key,
            # and the next reconcile starts from a cache that holds it.
            await self._client.update(
                attrs.evolve(obj, metadata=add_finalizer(obj.metadata, finalizer))
            )
            ctx.log.debug("operator.finalizer_added", finalizer=finalizer)
            return Result.done()
        delays: list[float] = []
        if self._h.reconcile is not None:
            result = await self._call("reconcile", self._h.reconcile, ctx, lambda fn, c: fn(obj, c))
            if result is not None and result.requeue_after is not None:
                delays.append(result.requeue_after)
        if obj is None:
            self._states.pop(request, None)
        else:
            state = self._state(request, obj)
            delay: float | None
            if finalizer is not None:
                delay = await with_finalizer(
                    self._client,
                    obj,
                    finalizer,
                    apply=lambda o: self._apply(o, ctx, state),
                    cleanup=lambda o: self._cleanup(o, ctx, state),
                )
            elif obj.metadata.deleting:
                delay = None
            else:
                delay = await self._apply(obj, ctx, state)
            if delay is not None:
                delays.append(delay)
        return Result.after(min(delays)) if delays else Result.done()

    def _state(self, key: ObjectKey, obj: R) -> _KeyState:
        state = self._states.get(key)
        if state is None or state.uid != obj.metadata.uid:
            state = self._states[key] = _KeyState(
                uid=obj.metadata.uid, first_seen=self._clock.time()
            )
        return state

    async def _apply(self, obj: R, ctx: Context, state: _KeyState) -> float | None:
        await self._changes(obj, ctx, state)
        return await self._timers(obj, ctx, state)

    async def _cleanup(self, obj: R, ctx: Context, state: _KeyState) -> float | None:
        if not state.cleaned:  # a stale cache may show us the object again
            for handler in self._h.on_delete:
                await self._call("delete", handler, ctx, lambda fn, c: fn(obj, c))
            state.cleaned = True
        return None

    async def _changes(self, obj: R, ctx: Context, state: _KeyState) -> None:
        if not (self._h.on_create or self._h.on_update):
            return
        current = _encode(_essence(obj))
        persisted = obj.metadata.annotations.get(LAST_HANDLED_ANNOTATION)
        recorded = state.handled if state.handled is not None else persisted
        if recorded != current:
            old = None if recorded is None else self._restore(obj, recorded)
            if old is None:
                for handler in self._h.on_create:
                    await self._call("create", handler, ctx, lambda fn, c: fn(obj, c))
            else:
                changes = diff(old, obj)
                if changes:
                    for update in self._h.on_update:
                        await self._call(
                            "update", update, ctx, lambda fn, c: fn(old, obj, changes, c)
                        )
            state.handled = current
        if persisted != current:
            patch = freeze({"metadata": {"annotations": {LAST_HANDLED_ANNOTATION: current}}})
            await self._client.patch(self._h.kind, obj.key, MergePatch(patch=patch))
            ctx.log.debug("operator.last_handled_written", key=str(obj.key))

    def _restore(self, obj: R, recorded: str) -> R | None:
        """``obj`` with the recorded spec put back, or ``None`` if it cannot be read."""
        names = _spec_keys(type(obj))
        try:
            old = json.loads(recorded)
            if not isinstance(old, dict):
                raise TypeError(f"expected a JSON object, got {type(old).__name__}")
            body = {k: v for k, v in to_json(obj).items() if k not in names}
            body.update((k, v) for k, v in old.items() if k in names)
            return from_json(body, type(obj))
        except (ValueError, TypeError, InvalidError) as exc:
            self._log.warning(
                "operator.last_handled_unreadable",
                key=str(obj.key),
                annotation=LAST_HANDLED_ANNOTATION,
                error=str(exc),
            )
            return None

    async def _timers(self, obj: R, ctx: Context, state: _KeyState) -> float | None:
        if not self._h.timers:
            return None
        next_due = math.inf
        for i, timer in enumerate(self._h.timers):
            last = state.timer_runs.get(i)
            due = state.first_seen + timer.initial_delay if last is None else last + timer.interval
            now = self._clock.time()
            if now + _EPSILON >= due:
                await self._call("timer", timer.fn, ctx, lambda fn, c: fn(obj, c))
                state.timer_runs[i] = now
                due = now + timer.interval
            next_due = min(next_due, due)
        return max(0.0, next_due - self._clock.time())

    async def _call(
        self,
        cause: str,
        fn: T,
        ctx: Context,
        invoke: Callable[[T, Context], Awaitable[Result | None]],
    ) -> Result | None:
        """Run one handler with its own bound logger, counting and logging the outcome."""
        log = ctx.log.bind(handler=_name_of(fn), cause=cause)
        try:
            result = await invoke(fn, ctx._with_log(log))
        except Exception as exc:
            self._calls[f"{cause}.failed"] += 1
            log.warning("operator.handler_failed", error=repr(exc))
            raise
        self._calls[cause] += 1
        log.debug("operator.handler_succeeded")
        return result


def _name_of(fn: object) -> str:
    return str(getattr(fn, "__qualname__", None) or repr(fn))


def _spec_keys(cls: type[Resource]) -> frozenset[str]:
    """The JSON keys of the spec fields of ``cls``."""
    names = set(spec_fields(cls))
    return frozenset(json_name(f) for f in attrs.fields(cls) if f.name in names)


def _essence(obj: Resource) -> dict[str, object]:
    """The spec fields of ``obj`` in their JSON shape (defaults omitted)."""
    keys = _spec_keys(type(obj))
    return {k: v for k, v in to_json(obj).items() if k in keys}


def _encode(essence: Mapping[str, object]) -> str:
    return json.dumps(essence, sort_keys=True, separators=(",", ":"))
