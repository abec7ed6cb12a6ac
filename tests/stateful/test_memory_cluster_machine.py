"""
MemoryCluster against a model of the Kubernetes API server's storage semantics.

The model keeps, independently of the implementation:

* the expected objects, each computed with ``attrs.evolve`` from the
  previous state and the request (server-owned metadata, generation, status
  subresource, finalizers and propagation);
* the expected commit log, compared with what ``cluster.on_commit``
  observed: consecutive resource versions, one event per real change;
* per kind, how much history has been trimmed (automatically at twice the
  retention, or by ``compact()``), so that it knows which ``since``
  versions must be refused with ``ExpiredError`` and which watchers may
  legitimately fall behind.

Each live watcher is consumed by a task; after a ``catch_up`` step its
events must be exactly the model's history after its start, filtered, or it
must have been refused with ``ExpiredError`` while its position was trimmed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import Any, TypeVar

import attrs
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reconcile.cluster.client import EventType, MergePatch, Preconditions, Propagation, WatchEvent
from reconcile.cluster.memory import FINALIZER_FOREGROUND, FINALIZER_ORPHAN, MemoryCluster
from reconcile.errors import AlreadyExistsError, ConflictError, ExpiredError, InvalidError
from reconcile.model.frozen import freeze
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectMeta, ResourceVersion
from reconcile.model.selectors import LabelSelector
from reconcile.primitives.virtual import VirtualClock
from tests.kinds import Gizmo, GizmoSpec, Widget, WidgetSpec, WidgetStatus

T = TypeVar("T")
Key = tuple[type[Resource], str, str]

HISTORY = 2
KINDS: tuple[type[Resource], ...] = (Widget, Gizmo)
NAMES = st.sampled_from(["a", "b", "c"])
NAMESPACES = st.sampled_from(["x", "y"])
VALUES = st.integers(0, 3)
LABELS = st.sampled_from([{}, {"app": "a"}, {"app": "b"}])
FINALIZERS = st.sampled_from([(), ("x.dev/f1",), ("x.dev/f1", "x.dev/f2")])
PROPAGATIONS = st.sampled_from([None, *Propagation])
SELECTORS = st.sampled_from([None, "app=a"])


def with_value(obj: Resource, value: int) -> Resource:
    if isinstance(obj, Widget):
        return attrs.evolve(obj, spec=WidgetSpec(size=value))
    assert isinstance(obj, Gizmo)
    return attrs.evolve(obj, spec=GizmoSpec(level=value))


def key_of(obj: Resource) -> Key:
    return (type(obj), obj.metadata.namespace, obj.metadata.name)


def sort_key(key: Key) -> tuple[str, str, str]:
    return (key[0].__name__, key[1], key[2])


def propagate(finalizers: tuple[str, ...], propagation: Propagation | None) -> tuple[str, ...]:
    """Kubernetes' garbage-collection finalizers for a delete with ``propagation``."""
    if propagation is None:
        return finalizers
    kept = tuple(f for f in finalizers if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND))
    extra = {
        Propagation.ORPHAN: (FINALIZER_ORPHAN,),
        Propagation.FOREGROUND: (FINALIZER_FOREGROUND,),
    }
    return kept + extra.get(propagation, ())


@attrs.define
class Watch:
    """A live watch: its consumer task, what it delivered, and where the model says it started."""

    kind: type[Resource]
    selector: LabelSelector | None
    initial: list[tuple[EventType, Resource]]
    start: int  # position in the model's event list of this kind
    task: asyncio.Task[None] | None = None
    gate: asyncio.Event = attrs.field(factory=asyncio.Event)  # cleared: the consumer pauses
    events: list[WatchEvent[Resource]] = attrs.field(factory=list)
    error: BaseException | None = None


class MemoryClusterMachine(RuleBasedStateMachine):
    """Random writes, deletes, compactions and watches, each checked against the model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.loop = self.clock.new_event_loop()
        self.cluster = MemoryCluster(clock=self.clock, seed=3, history=HISTORY)
        self.committed: list[WatchEvent[Resource]] = []
        self.cluster.on_commit.append(self.committed.append)
        for kind in KINDS:
            self.cluster.list_nowait(kind)  # every kind's history starts now
        # The model.
        self.rv = 0
        self.expected: list[tuple[EventType, Resource]] = []
        self.objects: dict[Key, Resource] = {}
        self.versions: dict[Key, list[Resource]] = {}
        self.events: dict[type[Resource], list[Resource | None]] = {k: [] for k in KINDS}
        self.event_rvs: dict[type[Resource], list[int]] = {k: [] for k in KINDS}
        self.event_types: dict[type[Resource], list[EventType]] = {k: [] for k in KINDS}
        self.event_prev: dict[type[Resource], list[Resource | None]] = {k: [] for k in KINDS}
        self.trimmed: dict[type[Resource], int] = dict.fromkeys(KINDS, 0)
        self.compacted: dict[type[Resource], int] = dict.fromkeys(KINDS, 0)
        self.uids: set[str] = set()
        self.watches: list[Watch] = []

    def teardown(self) -> None:
        tasks = [w.task for w in self.watches if w.task is not None]

        async def close() -> None:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.loop.run_until_complete(close())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    # -- helpers -----------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def refused(self, error: type[Exception], coro: Coroutine[Any, Any, object]) -> None:
        """``coro`` must raise ``error`` and commit nothing."""
        before = len(self.committed)
        try:
            self.run(coro)
        except error:
            event(f"refused: {error.__name__}")
        else:
            raise AssertionError(f"expected {error.__name__}")
        assert before == len(self.committed)

    def now(self) -> dt.datetime:
        return self.clock.now().replace(microsecond=0)

    def next_rv(self) -> ResourceVersion:
        return ResourceVersion(str(self.rv + 1))

    def commit(self, type_: EventType, obj: Resource) -> None:
        """Record the commit the model expects; trim history as the cluster must."""
        self.rv += 1
        kind = type(obj)
        key = key_of(obj)
        self.expected.append((type_, obj))
        event(f"commit: {type_.value}")
        self.event_prev[kind].append(self.objects.get(key))
        if type_ is EventType.DELETED:
            del self.objects[key]
            self.versions.pop(key, None)
        else:
            self.objects[key] = obj
            self.versions.setdefault(key, []).append(obj)
        self.events[kind].append(obj)
        self.event_rvs[kind].append(self.rv)
        self.event_types[kind].append(type_)
        retained = len(self.events[kind]) - self.trimmed[kind]
        if retained >= 2 * HISTORY:
            event("history trimmed")
            self.trimmed[kind] = len(self.events[kind]) - HISTORY
            self.compacted[kind] = self.event_rvs[kind][self.trimmed[kind] - 1]

    def pick(self, data: st.DataObject, kinds: tuple[type[Resource], ...] = KINDS) -> Key:
        keys = sorted((k for k in self.objects if k[0] in kinds), key=sort_key)
        return data.draw(st.sampled_from(keys))

    def base_version(self, data: st.DataObject, key: Key, stale: bool) -> Resource:
        """The current object, or (if ``stale`` and one exists) an older version of it."""
        current = self.objects[key]
        older = [
            v
            for v in self.versions[key]
            if v.metadata.resource_version != current.metadata.resource_version
        ]
        if stale and older:
            return data.draw(st.sampled_from(older))
        return current

    def expect_write(self, key: Key, sent: Resource, result: Resource | None) -> None:
        """Check an accepted update of ``key`` to ``sent`` (spec, labels, finalizers)."""
        current = self.objects[key]
        old = current.metadata
        spec = [f.name for f in attrs.fields(type(current)) if f.name not in ("metadata", "status")]
        spec_changed = any(getattr(sent, n) != getattr(current, n) for n in spec)
        meta_changed = (sent.metadata.labels, sent.metadata.finalizers) != (
            old.labels,
            old.finalizers,
        )
        if not (spec_changed or meta_changed):
            assert current is result
            return
        changes = {n: getattr(sent, n) for n in spec}
        meta = attrs.evolve(
            old,
            labels=sent.metadata.labels,
            finalizers=sent.metadata.finalizers,
            generation=old.generation + spec_changed,
            resource_version=self.next_rv(),
        )
        expected = attrs.evolve(current, metadata=meta, **changes)
        assert expected == result
        deleted = old.deletion_timestamp is not None and not meta.finalizers
        self.commit(EventType.DELETED if deleted else EventType.MODIFIED, result)

    # -- rules -------------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(KINDS),
        namespace=NAMESPACES,
        name=NAMES,
        labels=LABELS,
        finalizers=FINALIZERS,
        value=VALUES,
    )
    def create(
        self,
        *,
        kind: type[Resource],
        namespace: str,
        name: str,
        labels: dict[str, str],
        finalizers: tuple[str, ...],
        value: int,
    ) -> None:
        namespace = namespace if kind is Widget else ""
        meta = ObjectMeta(name=name, namespace=namespace, labels=labels, finalizers=finalizers)
        obj = with_value(kind(metadata=meta), value)
        if isinstance(obj, Widget):
            obj = attrs.evolve(obj, status=WidgetStatus(ready=value))
        if key_of(obj) in self.objects:
            self.refused(AlreadyExistsError, self.cluster.create(obj))
            return
        created = self.run(self.cluster.create(obj))
        assert created.metadata.uid not in self.uids
        self.uids.add(created.metadata.uid)
        expected_meta = attrs.evolve(
            meta,
            uid=created.metadata.uid,
            resource_version=self.next_rv(),
            generation=1,
            creation_timestamp=self.now(),
        )
        expected = attrs.evolve(obj, metadata=expected_meta)
        if isinstance(expected, Widget):
            expected = attrs.evolve(expected, status=WidgetStatus())
        assert expected == created
        self.commit(EventType.ADDED, created)

    @precondition(lambda self: self.objects)
    @rule(
        data=st.data(),
        value=VALUES,
        labels=LABELS,
        finalizers=FINALIZERS,
        stale=st.booleans(),
        unconditional=st.booleans(),
    )
    def update(
        self,
        *,
        data: st.DataObject,
        value: int,
        labels: dict[str, str],
        finalizers: tuple[str, ...],
        stale: bool,
        unconditional: bool,
    ) -> None:
        key = self.pick(data)
        current = self.objects[key]
        sent = with_value(self.base_version(data, key, stale), value)
        sent = sent.with_meta(labels=labels, finalizers=finalizers)
        if unconditional:
            sent = sent.with_meta(resource_version=ResourceVersion(""))
        rv = sent.metadata.resource_version
        if rv and rv != current.metadata.resource_version:
            self.refused(ConflictError, self.cluster.update(sent))
            return
        added = set(finalizers) - set(current.metadata.finalizers)
        if current.metadata.deleting and added:
            self.refused(InvalidError, self.cluster.update(sent))
            return
        self.expect_write(key, sent, self.run(self.cluster.update(sent)))

    @precondition(lambda self: any(k[0] is Widget for k in self.objects))
    @rule(data=st.data(), ready=VALUES, value=VALUES, stale=st.booleans())
    def update_status(self, *, data: st.DataObject, ready: int, value: int, stale: bool) -> None:
        key = self.pick(data, (Widget,))
        current = self.objects[key]
        base = self.base_version(data, key, stale)
        assert isinstance(base, Widget)
        assert isinstance(current, Widget)
        sent = with_value(attrs.evolve(base, status=WidgetStatus(ready=ready)), value)
        if sent.metadata.resource_version != current.metadata.resource_version:
            self.refused(ConflictError, self.cluster.update_status(sent))
            return
        result = self.run(self.cluster.update_status(sent))
        if WidgetStatus(ready=ready) == current.status:
            assert current is result
            return
        meta = attrs.evolve(current.metadata, resource_version=self.next_rv())
        expected = attrs.evolve(current, metadata=meta, status=WidgetStatus(ready=ready))
        assert expected == result
        self.commit(EventType.MODIFIED, result)

    @precondition(lambda self: self.objects)
    @rule(
        data=st.data(),
        value=VALUES,
        label=st.sampled_from([None, "a", "b"]),
        precondition_rv=st.sampled_from(["none", "current", "stale"]),
    )
    def merge_patch(
        self, *, data: st.DataObject, value: int, label: str | None, precondition_rv: str
    ) -> None:
        key = self.pick(data)
        current = self.objects[key]
        field = "size" if key[0] is Widget else "level"
        body: dict[str, Any] = {"spec": {field: value}, "metadata": {"labels": {"app": label}}}
        stale = precondition_rv == "stale"
        if precondition_rv != "none":
            version = self.base_version(data, key, stale).metadata.resource_version
            body["metadata"]["resourceVersion"] = version
        patch = MergePatch(patch=freeze(body))
        coro = self.cluster.patch(key[0], key[2], patch, namespace=key[1])
        if body["metadata"].get("resourceVersion", current.metadata.resource_version) != (
            current.metadata.resource_version
        ):
            self.refused(ConflictError, coro)
            return
        labels = dict(current.metadata.labels)
        if label is None:
            labels.pop("app", None)
        else:
            labels["app"] = label
        self.expect_write(key, with_value(current, value).with_meta(labels=labels), self.run(coro))

    @precondition(lambda self: self.objects)
    @rule(data=st.data(), propagation=PROPAGATIONS, stale_precondition=st.booleans())
    def delete(
        self, *, data: st.DataObject, propagation: Propagation | None, stale_precondition: bool
    ) -> None:
        key = self.pick(data)
        current = self.objects[key]
        old = current.metadata
        preconditions = None
        if stale_precondition:
            base = self.base_version(data, key, stale=True)
            preconditions = Preconditions(resource_version=base.metadata.resource_version)
            if base is not current:
                self.refused(
                    ConflictError,
                    self.cluster.delete(
                        key[0], key[2], namespace=key[1], preconditions=preconditions
                    ),
                )
                return
        result = self.run(
            self.cluster.delete(
                key[0],
                key[2],
                namespace=key[1],
                propagation=propagation,
                preconditions=preconditions,
            )
        )
        finalizers = propagate(old.finalizers, propagation)
        if not finalizers:
            assert result is None
            meta = attrs.evolve(old, finalizers=(), resource_version=self.next_rv())
            self.commit(EventType.DELETED, attrs.evolve(current, metadata=meta))
            return
        if old.deleting:
            if finalizers == old.finalizers:
                assert current is result
                return
            meta = attrs.evolve(old, finalizers=finalizers, resource_version=self.next_rv())
        else:
            meta = attrs.evolve(
                old,
                finalizers=finalizers,
                deletion_timestamp=self.now(),
                deletion_grace_period_seconds=0,
                generation=old.generation + 1,
                resource_version=self.next_rv(),
            )
        expected = attrs.evolve(current, metadata=meta)
        assert expected == result
        self.commit(EventType.MODIFIED, result)

    @precondition(lambda self: any(o.metadata.deleting for o in self.objects.values()))
    @rule(data=st.data())
    def remove_finalizers(self, *, data: st.DataObject) -> None:
        keys = sorted((k for k, o in self.objects.items() if o.metadata.deleting), key=sort_key)
        key = data.draw(st.sampled_from(keys))
        sent = self.objects[key].with_meta(finalizers=())
        self.expect_write(key, sent, self.run(self.cluster.update(sent)))
        assert key not in self.objects

    @rule(kind=st.sampled_from([None, *KINDS]))
    def compact(self, *, kind: type[Resource] | None) -> None:
        self.cluster.compact(kind)
        for k in [kind] if kind else KINDS:
            self.trimmed[k] = len(self.events[k])
            self.compacted[k] = self.rv

    @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 2.5]))
    def advance(self, *, seconds: float) -> None:
        self.run(self.clock.advance(seconds))

    @rule(data=st.data(), kind=st.sampled_from(KINDS), selector=SELECTORS)
    def watch_since(
        self, *, data: st.DataObject, kind: type[Resource], selector: str | None
    ) -> None:
        since = data.draw(st.integers(0, self.rv))
        if since < self.compacted[kind]:
            try:
                self.cluster.watch(kind, labels=selector, since=ResourceVersion(str(since)))
            except ExpiredError:
                event("watch: refused, since compacted")
                return
            raise AssertionError("expected ExpiredError")
        events = self.cluster.watch(kind, labels=selector, since=ResourceVersion(str(since)))
        start = sum(1 for rv in self.event_rvs[kind] if rv <= since)
        self.follow(
            Watch(kind=kind, selector=self.parse(selector), initial=[], start=start), events
        )

    @rule(kind=st.sampled_from(KINDS), selector=SELECTORS)
    def watch_now(self, *, kind: type[Resource], selector: str | None) -> None:
        parsed = self.parse(selector)
        current = sorted((k for k in self.objects if k[0] is kind), key=sort_key)
        initial = [
            (EventType.ADDED, self.objects[k])
            for k in current
            if parsed is None or parsed.matches(self.objects[k].metadata.labels)
        ]
        watch = Watch(kind=kind, selector=parsed, initial=initial, start=len(self.events[kind]))
        self.follow(watch, self.cluster.watch(kind, labels=selector))

    @precondition(lambda self: self.watches)
    @rule(data=st.data())
    def pause_watch(self, *, data: st.DataObject) -> None:
        data.draw(st.sampled_from(self.watches)).gate.clear()

    @rule()
    def catch_up(self) -> None:
        for watch in self.watches:
            watch.gate.set()
        self.run(self.clock.wait_idle())
        for watch in self.watches:
            self.check_watch(watch)
        self.watches = [w for w in self.watches if w.error is None]

    # -- watch helpers -----------------------------------------------------------------

    @staticmethod
    def filtered(
        selector: LabelSelector | None, type_: EventType, obj: Resource, prev: Resource | None
    ) -> tuple[EventType, Resource] | None:
        """What a watch filtered by ``selector`` sees of one event (Kubernetes' rules)."""
        if selector is None:
            return (type_, obj)
        now = selector.matches(obj.metadata.labels)
        if type_ is not EventType.MODIFIED or prev is None:
            return (type_, obj) if now else None
        before = selector.matches(prev.metadata.labels)
        if now:
            return (type_ if before else EventType.ADDED, obj)
        if before:  # it left the selection: the state that matched, at this version
            rv = obj.metadata.resource_version
            return (EventType.DELETED, prev.with_meta(resource_version=rv))
        return None

    @staticmethod
    def parse(selector: str | None) -> LabelSelector | None:
        return None if selector is None else LabelSelector.parse(selector)

    def follow(self, watch: Watch, events: Any) -> None:
        async def consume() -> None:
            while True:
                await watch.gate.wait()
                try:
                    event = await anext(events)
                except ExpiredError as exc:
                    watch.error = exc
                    return
                watch.events.append(event)

        watch.gate.set()
        watch.task = self.loop.create_task(consume())
        self.watches.append(watch)

    def check_watch(self, watch: Watch) -> None:
        kind = watch.kind
        expected = list(watch.initial)
        positions = [-1] * len(expected)  # model positions of the delivered history events
        for i in range(watch.start, len(self.events[kind])):
            obj = self.events[kind][i]
            assert obj is not None
            seen = self.filtered(
                watch.selector, self.event_types[kind][i], obj, self.event_prev[kind][i]
            )
            if seen is not None:
                expected.append(seen)
                positions.append(i)
        delivered = [(e.type, e.object) for e in watch.events]
        assert expected[: len(delivered)] == delivered
        assert all(
            e.resource_version == e.object.metadata.resource_version  # type: ignore[union-attr]
            for e in watch.events
        )
        if watch.error is None:
            assert expected == delivered
            event("watch: complete" if delivered else "watch: empty")
            return
        event("watch: expired")
        assert isinstance(watch.error, ExpiredError)
        last = positions[len(delivered) - 1] if delivered else -1
        position = max(last + 1, watch.start)
        assert position < self.trimmed[kind]

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def resource_versions_strictly_increase(self) -> None:
        assert [str(i) for i in range(1, self.rv + 1)] == [
            e.resource_version for e in self.committed
        ]
        assert str(self.rv) == self.cluster.resource_version

    @invariant()
    def commits_match_model(self) -> None:
        assert self.expected == [(e.type, e.object) for e in self.committed]

    @invariant()
    def objects_match_model(self) -> None:
        for kind in KINDS:
            stored = self.cluster.list_nowait(kind).items
            keys = sorted((k for k in self.objects if k[0] is kind), key=sort_key)
            assert [self.objects[k] for k in keys] == list(stored)
        stats = self.cluster.statistics()
        assert (len(self.objects), self.rv) == (stats.objects, stats.writes)


MemoryClusterMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMemoryCluster = MemoryClusterMachine.TestCase
