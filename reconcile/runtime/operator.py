"""
``Operator``: kopf-style decorators lowered onto the level-triggered engine.

kopf users think in handlers (``@kopf.on.create``, ``@kopf.timer``,
``@kopf.index``); controller-runtime users think in one reconciler per
kind. An :class:`Operator` accepts both and builds nothing new: every kind
with handlers becomes one ordinary :class:`~reconcile.runtime.controller.Controller`
added to an ordinary :class:`~reconcile.runtime.manager.Manager`, whose
reconciler (:class:`~reconcile.runtime._handlers.KindReconciler`) runs all
of that kind's handlers in one reconcile. Both styles therefore share one
queue per kind, one informer cache per kind, one backoff policy and one
manager, and can be mixed freely::

    operator = Operator("widgets")

    @operator.reconcile(Widget, owns=[Gadget])
    async def converge(widget: Widget | None, ctx: Context) -> Result | None: ...

    @operator.on.update(Widget)
    async def resized(old: Widget, new: Widget, diff: Diff, ctx: Context) -> None: ...

    @operator.timer(Widget, interval=60)
    async def audit(widget: Widget, ctx: Context) -> None: ...

    async with operator.running(cluster, clock=clock) as manager: ...

Handler signatures
------------------
Handlers take the object(s) positionally and a :class:`Context` last, and
are always ``async def``:

================================ =============================================
``@operator.reconcile``          ``fn(obj: K | None, ctx) -> Result | None``
``@operator.on.create``          ``fn(obj: K, ctx) -> None``
``@operator.on.update``          ``fn(old: K, new: K, diff: Diff, ctx) -> None``
``@operator.on.delete``          ``fn(obj: K, ctx) -> None``
``@operator.timer``              ``fn(obj: K, ctx) -> None``
``@operator.index``              ``def fn(obj: K) -> Iterable[str]`` (sync)
================================ =============================================

Positional, typed parameters were chosen over kopf's ``**kwargs`` injection
(and over one ``ChangeEvent`` argument) so that mypy checks each handler
against its kind: ``old`` and ``new`` are real ``Widget`` values, not
dictionaries. ``old`` is the current object with the last handled spec put
back (its metadata and status are current).

How each decorator is lowered, its guarantees and its error handling are
described in :mod:`reconcile.runtime._handlers`. In short: change handlers
compare the spec with the annotation :data:`LAST_HANDLED_ANNOTATION`; delete
handlers run behind the finalizer ``reconcile.dev/<operator name>``; timers
make the reconcile return ``Result.after(<time until the next timer>)``; a
failing handler is retried with the engine's backoff, and nothing is recorded
until it succeeds, so **handlers must be idempotent**.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast, final

import attrs
import structlog

from reconcile.cluster.client import Client
from reconcile.model.kinds import Resource, kind_of
from reconcile.primitives.clock import Clock
from reconcile.runtime._diff import Diff, DiffItem, DiffOp, diff
from reconcile.runtime._handlers import (
    LAST_HANDLED_ANNOTATION,
    Context,
    IndexFunction,
    KindHandlers,
    KindReconciler,
    ObjectHandler,
    ReconcileHandler,
    Timer,
    UpdateHandler,
    require_async,
)
from reconcile.runtime.controller import Controller, Watch
from reconcile.runtime.events import EventRecorder
from reconcile.runtime.handlers import Mapper
from reconcile.runtime.manager import Manager
from reconcile.runtime.predicates import Predicate

__all__ = [
    "LAST_HANDLED_ANNOTATION",
    "ChangeDecorators",
    "Context",
    "Diff",
    "DiffItem",
    "DiffOp",
    "IndexFunction",
    "ObjectHandler",
    "Operator",
    "OperatorStatistics",
    "ReconcileHandler",
    "UpdateHandler",
    "diff",
]

R = TypeVar("R", bound=Resource)

_log = structlog.get_logger("reconcile.operator")


@attrs.frozen(kw_only=True)
class OperatorStatistics:
    """
    Counters of an :class:`Operator`, over every manager it was installed in.

    Attributes:
        kinds: Names of the kinds with handlers.
        indexes: Names of the registered indexes.
        calls: Successful handler calls by cause (``reconcile``, ``create``,
            ``update``, ``delete``, ``timer``); failed ones as ``<cause>.failed``.
    """

    kinds: tuple[str, ...]
    indexes: tuple[str, ...]
    calls: dict[str, int]


@attrs.define
class _Registration(Generic[R]):
    """The mutable collection of one kind's handlers and controller options."""

    kind: type[R]
    reconcile: ReconcileHandler[R] | None = None
    on_create: list[ObjectHandler[R]] = attrs.field(factory=list)
    on_update: list[UpdateHandler[R]] = attrs.field(factory=list)
    on_delete: list[ObjectHandler[R]] = attrs.field(factory=list)
    timers: list[Timer[R]] = attrs.field(factory=list)
    owns: tuple[type[Resource], ...] = ()
    watches: tuple[Watch, ...] = ()
    predicates: tuple[Predicate, ...] = ()
    workers: int = 1

    def snapshot(self) -> KindHandlers[R]:
        return KindHandlers(
            kind=self.kind,
            reconcile=self.reconcile,
            on_create=tuple(self.on_create),
            on_update=tuple(self.on_update),
            on_delete=tuple(self.on_delete),
            timers=tuple(self.timers),
        )


@final
class ChangeDecorators:
    """The ``operator.on`` namespace: kopf-style change handlers."""

    def __init__(self, operator: Operator) -> None:
        self._operator = operator

    def create(self, kind: type[R]) -> Callable[[ObjectHandler[R]], ObjectHandler[R]]:
        """Run ``async def fn(obj, ctx)`` once for each new object of ``kind``."""

        def decorate(fn: ObjectHandler[R]) -> ObjectHandler[R]:
            require_async(fn, "on.create")
            self._operator._registration(kind).on_create.append(fn)
            return fn

        return decorate

    def update(self, kind: type[R]) -> Callable[[UpdateHandler[R]], UpdateHandler[R]]:
        """Run ``async def fn(old, new, diff, ctx)`` whenever the spec of an object changes."""

        def decorate(fn: UpdateHandler[R]) -> UpdateHandler[R]:
            require_async(fn, "on.update")
            self._operator._registration(kind).on_update.append(fn)
            return fn

        return decorate

    def delete(self, kind: type[R]) -> Callable[[ObjectHandler[R]], ObjectHandler[R]]:
        """Run ``async def fn(obj, ctx)`` before an object of ``kind`` disappears (finalizer)."""

        def decorate(fn: ObjectHandler[R]) -> ObjectHandler[R]:
            require_async(fn, "on.delete")
            self._operator._registration(kind).on_delete.append(fn)
            return fn

        return decorate


@final
class Operator:
    """
    A registry of handlers that installs itself as controllers into a :class:`Manager`.

    Register handlers with the decorators, then either ``install`` the
    operator into a manager of your own (with other controllers) or use
    :meth:`running`. One operator may be installed into several managers one
    after the other (a restart): each installation starts with empty
    in-memory state and relies on what the annotations persisted.

    Args:
        name: Names the controllers (``<name>/<resource>``), the event
            recorder's component and the finalizer ``reconcile.dev/<name>``.
    """

    def __init__(self, name: str = "reconcile-operator") -> None:
        if not name:
            raise ValueError("name: must not be empty")
        self.name = name
        self.on = ChangeDecorators(self)
        """Change handlers: ``@operator.on.create|update|delete(Kind)``."""
        self._kinds: dict[type[Resource], _Registration[Any]] = {}
        self._indexes: dict[str, tuple[type[Resource], IndexFunction[Any]]] = {}
        self._calls: Counter[str] = Counter()

    @property
    def finalizer(self) -> str:
        """The finalizer that holds objects of kinds with ``on.delete`` handlers."""
        return f"reconcile.dev/{self.name}"

    def reconcile(
        self,
        kind: type[R],
        *,
        owns: Sequence[type[Resource]] = (),
        watches: Sequence[Watch] | Mapping[type[Resource], Mapper] = (),
        predicates: Sequence[Predicate] = (),
        workers: int = 1,
    ) -> Callable[[ReconcileHandler[R]], ReconcileHandler[R]]:
        """
        Reconcile ``kind`` with ``async def fn(obj, ctx) -> Result | None``.

        ``obj`` is read from the informer cache (``None`` once the object is
        gone). The options configure the kind's controller, as
        controller-runtime's builder does; they also govern the kind's other
        handlers, which run in the same controller.

        Args:
            kind: The primary kind.
            owns: Child kinds whose changes enqueue their controlling owner.
            watches: Other kinds, as ``Watch`` values or ``{kind: mapper}``.
            predicates: Filters for events of ``kind``.
            workers: Maximum concurrent reconciles of the kind.

        Raises:
            ValueError: if ``kind`` already has a reconcile function.
        """
        watch_list = (
            tuple(Watch(kind=k, mapper=m) for k, m in watches.items())
            if isinstance(watches, Mapping)
            else tuple(watches)
        )
        if workers < 1:
            raise ValueError(f"workers: must be >= 1, got {workers}")

        def decorate(fn: ReconcileHandler[R]) -> ReconcileHandler[R]:
            require_async(fn, "reconcile")
            registration = self._registration(kind)
            if registration.reconcile is not None:
                raise ValueError(f"{kind_of(kind).kind} already has a reconcile function")
            registration.reconcile = fn
            registration.owns = tuple(owns)
            registration.watches = watch_list
            registration.predicates = tuple(predicates)
            registration.workers = workers
            return fn

        return decorate

    def timer(
        self, kind: type[R], *, interval: float, initial_delay: float = 0.0
    ) -> Callable[[ObjectHandler[R]], ObjectHandler[R]]:
        """
        Run ``async def fn(obj, ctx)`` every ``interval`` seconds for each live object.

        The first run is ``initial_delay`` seconds after the object is first
        seen; timers stop once the object is deleting or gone.

        Raises:
            ValueError: if ``interval`` is not positive or ``initial_delay`` is negative.
        """

        def decorate(fn: ObjectHandler[R]) -> ObjectHandler[R]:
            require_async(fn, "timer")
            timer = Timer(fn=fn, interval=interval, initial_delay=initial_delay)
            self._registration(kind).timers.append(timer)
            return fn

        return decorate

    def index(self, kind: type[R]) -> Callable[[IndexFunction[R]], IndexFunction[R]]:
        """
        Maintain an index of ``kind`` named after ``def fn(obj) -> Iterable[str]``.

        Look it up with ``ctx.index(fn.__name__, value)``.

        Raises:
            ValueError: if an index of the same name is already registered.
        """
        kind_of(kind)

        def decorate(fn: IndexFunction[R]) -> IndexFunction[R]:
            name = getattr(fn, "__name__", "")
            if not name or name == "<lambda>":
                raise ValueError("an index function needs a name: decorate a 'def' function")
            if name in self._indexes:
                raise ValueError(f"an index named {name!r} is already registered")
            self._indexes[name] = (kind, fn)
            return fn

        return decorate

    def install(self, manager: Manager) -> tuple[Controller[Resource], ...]:
        """
        Register the indexes and one controller per kind with ``manager``.

        Call it before the manager starts.

        Returns:
            The controllers added, in registration order of their kinds.

        Raises:
            RuntimeError: if the manager has already started.
            ValueError: if a controller of the same name is already registered.
        """
        for name, (kind, fn) in self._indexes.items():
            manager.informers.get(kind).add_indexer(name, fn)
        indexes = {name: kind for name, (kind, _) in self._indexes.items()}
        recorder = EventRecorder(manager.client, component=self.name, clock=manager.clock)
        controllers: list[Controller[Resource]] = []
        for kind, registration in self._kinds.items():
            reconciler = KindReconciler(
                registration.snapshot(),
                manager=manager,
                recorder=recorder,
                finalizer=self.finalizer,
                indexes=indexes,
                operator=self.name,
                calls=self._calls,
            )
            controller = Controller(
                name=f"{self.name}/{kind_of(kind).resource}",
                reconciler=reconciler,
                for_=kind,
                owns=registration.owns,
                watches=registration.watches,
                predicates=registration.predicates,
                workers=registration.workers,
            )
            controllers.append(manager.add(controller))
        _log.info(
            "operator.installed",
            operator=self.name,
            controllers=[c.name for c in controllers],
            indexes=sorted(indexes),
        )
        return tuple(controllers)

    @contextlib.asynccontextmanager
    async def running(
        self, client: Client, *, clock: Clock | None = None
    ) -> AsyncIterator[Manager]:
        """
        Run this operator alone: make a Manager, install, start it and yield it.

        Leaving the block stops the manager gracefully.
        """
        manager = Manager(client, clock=clock)
        self.install(manager)
        async with manager:
            yield manager

    def statistics(self) -> OperatorStatistics:
        """Current counters."""
        return OperatorStatistics(
            kinds=tuple(kind_of(k).kind for k in self._kinds),
            indexes=tuple(self._indexes),
            calls=dict(self._calls),
        )

    def _registration(self, kind: type[R]) -> _Registration[R]:
        registration = self._kinds.get(kind)
        if registration is None:
            kind_of(kind)
            registration = self._kinds[kind] = _Registration(kind=kind)
        return cast("_Registration[R]", registration)
