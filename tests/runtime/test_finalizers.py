"""with_finalizer(): the apply / cleanup protocol around a finalizer, against MemoryCluster."""

from __future__ import annotations

import pytest

from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import ConflictError, InvalidError, NotFoundError
from reconcile.model.meta import ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.finalizers import with_finalizer
from tests.kinds import Widget, WidgetSpec

FINALIZER = "test.reconcile.dev/cleanup"


class Calls:
    """Records which callback ran, and on which object."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Widget]] = []

    async def apply(self, obj: Widget) -> str:
        self.log.append(("apply", obj))
        return "applied"

    async def cleanup(self, obj: Widget) -> str:
        self.log.append(("cleanup", obj))
        return "cleaned"

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.log]


async def _widget(cluster: MemoryCluster, *finalizers: str) -> Widget:
    meta = ObjectMeta(name="w", namespace="ns", finalizers=finalizers)
    return await cluster.create(Widget(metadata=meta, spec=WidgetSpec(size=1)))


def test_adds_the_finalizer_before_anything_is_applied() -> None:
    """A live object without the finalizer gets it, and apply waits for the next reconcile."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> tuple[str | None, tuple[str, ...]]:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster)
        result = await with_finalizer(
            cluster, obj, FINALIZER, apply=calls.apply, cleanup=calls.cleanup
        )
        return result, cluster.get_nowait(Widget, obj.key).metadata.finalizers

    assert (None, (FINALIZER,)) == clock.run(scenario())
    assert [] == calls.names


def test_applies_when_the_finalizer_is_present() -> None:
    """A live object with the finalizer is applied, and apply's result is returned."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> str | None:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, FINALIZER)
        return await with_finalizer(
            cluster, obj, FINALIZER, apply=calls.apply, cleanup=calls.cleanup
        )

    assert "applied" == clock.run(scenario())
    assert ["apply"] == calls.names


def test_cleans_up_then_removes_the_finalizer_so_the_object_goes_away() -> None:
    """A deleting object runs cleanup, then loses the finalizer and is deleted."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> str | None:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, FINALIZER)
        deleting = await cluster.delete(Widget, obj.key)
        assert deleting is not None
        result = await with_finalizer(
            cluster, deleting, FINALIZER, apply=calls.apply, cleanup=calls.cleanup
        )
        with pytest.raises(NotFoundError):
            await cluster.get(Widget, obj.key)
        return result

    assert "cleaned" == clock.run(scenario())
    assert ["cleanup"] == calls.names


def test_keeps_the_object_while_other_finalizers_hold_it() -> None:
    """Only our finalizer is removed; other finalizers keep the object."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> tuple[str, ...]:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, "other/a", FINALIZER, "other/b")
        deleting = await cluster.delete(Widget, obj.key)
        assert deleting is not None
        await with_finalizer(cluster, deleting, FINALIZER, apply=calls.apply, cleanup=calls.cleanup)
        return cluster.get_nowait(Widget, obj.key).metadata.finalizers

    assert ("other/a", "other/b") == clock.run(scenario())


def test_does_nothing_when_deleting_without_the_finalizer() -> None:
    """A deleting object without our finalizer is left alone."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> str | None:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, "other/a")
        deleting = await cluster.delete(Widget, obj.key)
        assert deleting is not None
        return await with_finalizer(
            cluster, deleting, FINALIZER, apply=calls.apply, cleanup=calls.cleanup
        )

    assert None is clock.run(scenario())
    assert [] == calls.names


def test_adding_to_a_stale_object_conflicts() -> None:
    """The finalizer is added only to the version that was read (ConflictError otherwise)."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> tuple[str, ...]:
        cluster = MemoryCluster(clock=clock)
        stale = await _widget(cluster)
        await cluster.update(stale.with_meta(labels={"changed": "yes"}))
        with pytest.raises(ConflictError):
            await with_finalizer(
                cluster, stale, FINALIZER, apply=calls.apply, cleanup=calls.cleanup
            )
        return cluster.get_nowait(Widget, stale.key).metadata.finalizers

    assert () == clock.run(scenario())


def test_a_failing_cleanup_keeps_the_finalizer() -> None:
    """An exception from cleanup propagates and the object stays held."""
    clock = VirtualClock()

    async def failing(obj: Widget) -> str:
        raise RuntimeError("external system down")

    async def scenario() -> tuple[str, ...]:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, FINALIZER)
        deleting = await cluster.delete(Widget, obj.key)
        assert deleting is not None
        with pytest.raises(RuntimeError, match="external system down"):
            await with_finalizer(cluster, deleting, FINALIZER, apply=failing, cleanup=failing)
        return cluster.get_nowait(Widget, obj.key).metadata.finalizers

    assert (FINALIZER,) == clock.run(scenario())


def test_removal_survives_unrelated_writes_during_cleanup() -> None:
    """Cleanup may write the object (a new resourceVersion); the finalizer is still removed."""
    clock = VirtualClock()

    async def scenario() -> tuple[str, ...]:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, FINALIZER, "other/a")
        deleting = await cluster.delete(Widget, obj.key)
        assert deleting is not None

        async def cleanup(current: Widget) -> None:
            await cluster.update(current.with_meta(labels={"cleaned": "yes"}))

        await with_finalizer(cluster, deleting, FINALIZER, apply=cleanup, cleanup=cleanup)
        return cluster.get_nowait(Widget, obj.key).metadata.finalizers

    assert ("other/a",) == clock.run(scenario())


def test_removal_refuses_when_the_finalizers_changed_meanwhile() -> None:
    """If the finalizer list moved under us, removal fails (InvalidError) and nothing is lost."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> tuple[str, ...]:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, "other/a", FINALIZER)
        deleting = await cluster.delete(Widget, obj.key)
        assert deleting is not None
        await cluster.update(deleting.with_meta(finalizers=(FINALIZER,)))
        with pytest.raises(InvalidError):
            await with_finalizer(
                cluster, deleting, FINALIZER, apply=calls.apply, cleanup=calls.cleanup
            )
        return cluster.get_nowait(Widget, obj.key).metadata.finalizers

    assert (FINALIZER,) == clock.run(scenario())


def test_an_object_already_gone_after_cleanup_is_not_an_error() -> None:
    """When the object disappears before the finalizer is removed, cleanup's result stands."""
    clock = VirtualClock()

    async def scenario() -> str | None:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster, FINALIZER)
        deleting = await cluster.delete(Widget, obj.key)
        assert deleting is not None

        async def cleanup(current: Widget) -> str:
            await cluster.update(current.with_meta(finalizers=()))
            return "cleaned"

        return await with_finalizer(cluster, deleting, FINALIZER, apply=cleanup, cleanup=cleanup)

    assert "cleaned" == clock.run(scenario())


def test_rejects_an_empty_finalizer_name() -> None:
    """The finalizer name is required."""
    clock = VirtualClock()
    calls = Calls()

    async def scenario() -> None:
        cluster = MemoryCluster(clock=clock)
        obj = await _widget(cluster)
        await with_finalizer(cluster, obj, "", apply=calls.apply, cleanup=calls.cleanup)

    with pytest.raises(ValueError, match="finalizer"):
        clock.run(scenario())
