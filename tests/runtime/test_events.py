"""EventRecorder: v1 Events about objects, aggregated, and never raising into the caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs
from structlog.testing import capture_logs

from reconcile.cluster.admission import Operation
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import FieldError
from reconcile.model.event import Event, EventSource, ObjectReference
from reconcile.model.meta import ObjectMeta
from reconcile.primitives.virtual import DEFAULT_EPOCH, VirtualClock
from reconcile.runtime.events import EventRecorder, EventRecorderStatistics
from tests.kinds import Gizmo, Widget


async def _setup(clock: VirtualClock) -> tuple[MemoryCluster, EventRecorder, Widget]:
    cluster = MemoryCluster(clock=clock)
    recorder = EventRecorder(cluster, component="widget-controller", clock=clock, host="node-1")
    widget = await cluster.create(Widget(metadata=ObjectMeta(name="w", namespace="ns")))
    return cluster, recorder, widget


def _events(cluster: MemoryCluster) -> tuple[Event, ...]:
    return cluster.list_nowait(Event).items


def test_records_an_event_about_the_object_in_its_namespace() -> None:
    """An event carries the involved object, reporter, type, count 1 and both timestamps."""
    clock = VirtualClock()

    async def scenario() -> tuple[Widget, Event]:
        cluster, recorder, widget = await _setup(clock)
        await recorder.normal(widget, reason="Scaled", message="scaled to 3")
        (event,) = _events(cluster)
        return widget, event

    widget, event = clock.run(scenario())
    expected = attrs.evolve(
        event,
        metadata=attrs.evolve(event.metadata, namespace="ns"),
        involved_object=ObjectReference(
            kind="Widget",
            namespace="ns",
            name="w",
            uid=widget.metadata.uid,
            api_version="test.reconcile.dev/v1",
            resource_version=widget.metadata.resource_version,
        ),
        reason="Scaled",
        message="scaled to 3",
        source=EventSource(component="widget-controller", host="node-1"),
        first_timestamp=DEFAULT_EPOCH,
        last_timestamp=DEFAULT_EPOCH,
        count=1,
        type="Normal",
        reporting_component="widget-controller",
        reporting_instance="node-1",
    )
    assert expected == event
    assert event.metadata.name.startswith("w.")


def test_names_events_after_the_object_with_a_hex_nanosecond_suffix() -> None:
    """The name is ``<object>.<unix nanoseconds in hex>``, as client-go names events."""
    clock = VirtualClock()

    async def scenario() -> str:
        cluster, recorder, widget = await _setup(clock)
        await recorder.normal(widget, reason="Scaled", message="m")
        return _events(cluster)[0].metadata.name

    nanos = int(DEFAULT_EPOCH.timestamp()) * 1_000_000_000
    assert f"w.{nanos:x}" == clock.run(scenario())


def test_warning_records_a_warning() -> None:
    """warning() writes type Warning."""
    clock = VirtualClock()

    async def scenario() -> str:
        cluster, recorder, widget = await _setup(clock)
        await recorder.warning(widget, reason="FailedCreate", message="quota exceeded")
        return _events(cluster)[0].type

    assert "Warning" == clock.run(scenario())


def test_cluster_scoped_objects_get_events_in_default() -> None:
    """Events about cluster-scoped objects live in the ``default`` namespace."""
    clock = VirtualClock()

    async def scenario() -> str:
        cluster, recorder, _ = await _setup(clock)
        gizmo = await cluster.create(Gizmo(metadata=ObjectMeta(name="g")))
        await recorder.normal(gizmo, reason="Seen", message="hello")
        return _events(cluster)[0].metadata.namespace

    assert "default" == clock.run(scenario())


def test_aggregates_identical_events_into_one_with_a_count() -> None:
    """Repeating an event increments count and lastTimestamp on the same Event."""
    clock = VirtualClock()

    async def scenario() -> tuple[int, int, dt.datetime | None, dt.datetime | None]:
        cluster, recorder, widget = await _setup(clock)
        for _ in range(3):
            await recorder.normal(widget, reason="Scaled", message="scaled to 3")
            await clock.advance(10.0)
        (event,) = _events(cluster)
        return len(_events(cluster)), event.count, event.first_timestamp, event.last_timestamp

    assert (1, 3, DEFAULT_EPOCH, DEFAULT_EPOCH + dt.timedelta(seconds=20)) == clock.run(scenario())


def test_different_messages_are_different_events() -> None:
    """Events differing in message (or type or reason) are not aggregated."""
    clock = VirtualClock()

    async def scenario() -> list[tuple[str, str, int]]:
        cluster, recorder, widget = await _setup(clock)
        await recorder.normal(widget, reason="Scaled", message="scaled to 3")
        await recorder.normal(widget, reason="Scaled", message="scaled to 4")
        await recorder.warning(widget, reason="Scaled", message="scaled to 4")
        return sorted((e.type, e.message, e.count) for e in _events(cluster))

    expected = [
        ("Normal", "scaled to 3", 1),
        ("Normal", "scaled to 4", 1),
        ("Warning", "scaled to 4", 1),
    ]
    assert expected == clock.run(scenario())


def test_events_at_the_same_instant_get_distinct_names() -> None:
    """Two events recorded in the same virtual instant never collide on a name."""
    clock = VirtualClock()

    async def scenario() -> int:
        cluster, recorder, widget = await _setup(clock)
        other = EventRecorder(cluster, component="other", clock=clock)
        for i in range(3):
            await recorder.normal(widget, reason="Step", message=str(i))
            await other.normal(widget, reason="Step", message=str(i))
        return len({e.metadata.name for e in _events(cluster)})

    assert 6 == clock.run(scenario())


def test_recreates_an_aggregated_event_that_was_deleted() -> None:
    """If the Event being aggregated was deleted, a new one is created with count 1."""
    clock = VirtualClock()

    async def scenario() -> tuple[list[int], EventRecorderStatistics]:
        cluster, recorder, widget = await _setup(clock)
        await recorder.normal(widget, reason="Scaled", message="m")
        await cluster.delete(Event, _events(cluster)[0].key)
        await recorder.normal(widget, reason="Scaled", message="m")
        return [e.count for e in _events(cluster)], recorder.statistics()

    expected = EventRecorderStatistics(created=2, aggregated=0, failed=0, cached=1)
    assert ([1], expected) == clock.run(scenario())


def test_rereads_the_event_when_someone_else_updated_it() -> None:
    """A ConflictError on aggregation re-reads the Event and increments its current count."""
    clock = VirtualClock()

    async def scenario() -> list[int]:
        cluster, recorder, widget = await _setup(clock)
        await recorder.normal(widget, reason="Scaled", message="m")
        (event,) = _events(cluster)
        await cluster.update(attrs.evolve(event, count=5))
        await recorder.normal(widget, reason="Scaled", message="m")
        return [e.count for e in _events(cluster)]

    assert [6] == clock.run(scenario())


def test_never_raises_when_the_event_cannot_be_written() -> None:
    """A refused write is counted and logged as event.record_failed, not raised."""
    clock = VirtualClock()

    def refuse(new: Event, old: Event | None, op: Operation) -> Iterable[FieldError]:
        return [FieldError(field="metadata", type="Forbidden", detail="events are off")]

    async def scenario() -> tuple[int, EventRecorderStatistics]:
        cluster, recorder, widget = await _setup(clock)
        cluster.admission.register(Event, validator=refuse)
        await recorder.warning(widget, reason="FailedCreate", message="m")
        return len(_events(cluster)), recorder.statistics()

    with capture_logs() as logs:
        written, stats = clock.run(scenario())
    assert (0, 1) == (written, stats.failed)
    assert ["event.record_failed"] == [e["event"] for e in logs if e["log_level"] == "warning"]


def test_rejects_an_unknown_type_without_raising() -> None:
    """An event type other than Normal/Warning is a recording failure, not an exception."""
    clock = VirtualClock()

    async def scenario() -> EventRecorderStatistics:
        _, recorder, widget = await _setup(clock)
        await recorder.event(widget, type="Fatal", reason="R", message="m")  # type: ignore[arg-type]
        return recorder.statistics()

    assert EventRecorderStatistics(created=0, aggregated=0, failed=1, cached=0) == clock.run(
        scenario()
    )


def test_the_aggregation_cache_is_bounded() -> None:
    """The LRU cache keeps at most cache_size entries; evicted events start a new Event."""
    clock = VirtualClock()

    async def scenario() -> tuple[list[int], EventRecorderStatistics]:
        cluster = MemoryCluster(clock=clock)
        recorder = EventRecorder(cluster, component="c", clock=clock, cache_size=2)
        widget = await cluster.create(Widget(metadata=ObjectMeta(name="w", namespace="ns")))
        for message in ("a", "b", "c", "a"):
            await recorder.normal(widget, reason="R", message=message)
        return sorted(e.count for e in _events(cluster)), recorder.statistics()

    expected = EventRecorderStatistics(created=4, aggregated=0, failed=0, cached=2)
    assert ([1, 1, 1, 1], expected) == clock.run(scenario())


def test_events_about_one_object_can_be_listed_by_field_selector() -> None:
    """Events are selectable by involvedObject fields, as ``kubectl describe`` looks them up."""
    clock = VirtualClock()

    async def scenario() -> list[str]:
        cluster, recorder, widget = await _setup(clock)
        other = await cluster.create(Widget(metadata=ObjectMeta(name="x", namespace="ns")))
        await recorder.normal(widget, reason="Mine", message="m")
        await recorder.normal(other, reason="Theirs", message="m")
        found = await cluster.list(Event, fields="involvedObject.name=w,type=Normal")
        return [e.reason for e in found.items]

    assert ["Mine"] == clock.run(scenario())
