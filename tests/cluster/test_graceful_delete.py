"""Graceful deletion (Kubernetes Pods): a grace period marks the object; grace 0 removes it."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import given
from hypothesis import strategies as st

from reconcile.cluster.client import EventType, Propagation
from reconcile.cluster.memory import MemoryCluster
from reconcile.model.kinds import KindRegistry, Resource, kind
from reconcile.model.meta import ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from tests.kinds import GROUP, Widget, WidgetSpec

_LOCAL = KindRegistry()


@kind(group=GROUP, version="v1", grace_period=lambda obj: obj.spec.size, into=_LOCAL)
@attrs.frozen(kw_only=True)
class Sleeper(Resource):
    """Deleted gracefully; its default grace period is ``spec.size`` seconds."""

    spec: WidgetSpec = attrs.field(factory=WidgetSpec)


def sleeper(grace: int, *finalizers: str) -> Sleeper:
    return Sleeper(
        metadata=ObjectMeta(name="s", namespace="ns", finalizers=finalizers),
        spec=WidgetSpec(size=grace),
    )


def test_delete_with_default_grace_marks_the_object_until_grace_zero() -> None:
    clock = VirtualClock()

    async def main() -> None:
        cluster = MemoryCluster(clock=clock)
        await cluster.create(sleeper(30))
        start = clock.now().replace(microsecond=0)
        marked = await cluster.delete(Sleeper, "s", namespace="ns")
        assert marked is not None
        assert marked.metadata.deletion_timestamp == start + dt.timedelta(seconds=30)
        assert marked.metadata.deletion_grace_period_seconds == 30
        assert cluster.get_nowait(Sleeper, "s", namespace="ns") == marked
        assert await cluster.delete(Sleeper, "s", namespace="ns", grace_period_seconds=0) is None
        assert cluster.list_nowait(Sleeper).items == ()

    clock.run(main())


def test_a_second_delete_shortens_the_grace_period_but_never_lengthens_it() -> None:
    clock = VirtualClock()

    async def main() -> None:
        cluster = MemoryCluster(clock=clock)
        await cluster.create(sleeper(30))
        await cluster.delete(Sleeper, "s", namespace="ns")
        longer = await cluster.delete(Sleeper, "s", namespace="ns", grace_period_seconds=60)
        assert longer is not None
        assert longer.metadata.deletion_grace_period_seconds == 30
        await clock.advance(5)
        shorter = await cluster.delete(Sleeper, "s", namespace="ns", grace_period_seconds=10)
        assert shorter is not None
        assert shorter.metadata.deletion_grace_period_seconds == 10
        now = clock.now().replace(microsecond=0)
        assert shorter.metadata.deletion_timestamp == now + dt.timedelta(seconds=10)

    clock.run(main())


def test_grace_zero_keeps_an_object_held_by_finalizers() -> None:
    clock = VirtualClock()

    async def main() -> None:
        cluster = MemoryCluster(clock=clock)
        await cluster.create(sleeper(30, "example.com/keep"))
        await cluster.delete(Sleeper, "s", namespace="ns")
        held = await cluster.delete(Sleeper, "s", namespace="ns", grace_period_seconds=0)
        assert held is not None
        assert held.metadata.deletion_grace_period_seconds == 0
        assert held.metadata.finalizers == ("example.com/keep",)
        released = held.with_meta(finalizers=())
        await cluster.update(released)
        assert cluster.list_nowait(Sleeper).items == ()

    clock.run(main())


def test_zero_default_grace_deletes_at_once() -> None:
    clock = VirtualClock()

    async def main() -> None:
        cluster = MemoryCluster(clock=clock)
        await cluster.create(sleeper(0))
        assert await cluster.delete(Sleeper, "s", namespace="ns") is None

    clock.run(main())


@given(
    requests=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 90)), st.sampled_from([None, *Propagation])),
        min_size=1,
        max_size=6,
    ),
    default=st.integers(0, 60),
)
def test_grace_period_only_ever_shrinks_and_zero_removes(
    requests: list[tuple[int | None, Propagation | None]], default: int
) -> None:
    clock = VirtualClock()

    async def main() -> None:
        cluster = MemoryCluster(clock=clock)
        events: list[EventType] = []
        cluster.on_commit.append(lambda e: events.append(e.type))
        await cluster.create(sleeper(default))
        last: int | None = None
        for grace, propagation in requests:
            if not cluster.list_nowait(Sleeper).items:
                break
            result = await cluster.delete(
                Sleeper,
                "s",
                namespace="ns",
                grace_period_seconds=grace,
                propagation=propagation,
            )
            effective = default if grace is None else grace
            if result is None:
                assert effective == 0 or last == 0
                assert not result
                continue
            current = result.metadata.deletion_grace_period_seconds
            assert current is not None
            if last is not None:
                assert current <= last
            assert current <= max(effective, 0) or current == last
            last = current
            assert result.metadata.deletion_timestamp is not None
        # grace 0 always finishes the job when no finalizer is left
        if cluster.list_nowait(Sleeper).items:
            await cluster.delete(
                Sleeper,
                "s",
                namespace="ns",
                grace_period_seconds=0,
                propagation=Propagation.BACKGROUND,
            )
            assert cluster.list_nowait(Sleeper).items == ()
        assert events[-1] is EventType.DELETED

    clock.run(main())


def test_kinds_without_grace_ignore_a_grace_period() -> None:
    clock = VirtualClock()

    async def main() -> None:
        cluster = MemoryCluster(clock=clock)
        await cluster.create(Widget(metadata=ObjectMeta(name="w", namespace="ns")))
        assert await cluster.delete(Widget, "w", namespace="ns", grace_period_seconds=30) is None

    clock.run(main())
