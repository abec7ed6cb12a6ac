"""A kind may give new objects an initial status (the server's, as for Pods' ``Pending``)."""

from __future__ import annotations

import attrs

from reconcile.cluster.memory import MemoryCluster
from reconcile.model.kinds import KindRegistry, Resource, kind
from reconcile.model.meta import ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from tests.kinds import GROUP, WidgetSpec, WidgetStatus

_LOCAL = KindRegistry()


@kind(
    group=GROUP,
    version="v1",
    initial_status=lambda obj: WidgetStatus(ready=obj.spec.size),
    into=_LOCAL,
)
@attrs.frozen(kw_only=True)
class Seedling(Resource):
    """Created with ``status.ready`` equal to its size, whatever the client sent."""

    spec: WidgetSpec = attrs.field(factory=WidgetSpec)
    status: WidgetStatus = attrs.field(factory=WidgetStatus)


def test_create_stores_the_kinds_initial_status_not_the_clients() -> None:
    clock = VirtualClock()

    async def main() -> int:
        cluster = MemoryCluster(clock=clock)
        sent = Seedling(
            metadata=ObjectMeta(name="s", namespace="ns"),
            spec=WidgetSpec(size=4),
            status=WidgetStatus(ready=99),
        )
        created = await cluster.create(sent)
        return created.status.ready

    assert clock.run(main()) == 4


def _recolored(new: Resource, current: Resource, now: object) -> WidgetStatus:
    """A colour change resets ``ready`` (the server's rule, as a Pod binding sets PodScheduled)."""
    assert isinstance(new, Sprout)
    assert isinstance(current, Sprout)
    if new.spec.color != current.spec.color:
        return WidgetStatus(ready=0, observed_generation=current.status.observed_generation)
    return current.status


@kind(group=GROUP, version="v1", status_on_update=_recolored, into=_LOCAL)
@attrs.frozen(kw_only=True)
class Sprout(Resource):
    """Its status is reset by the server when its colour changes."""

    spec: WidgetSpec = attrs.field(factory=WidgetSpec)
    status: WidgetStatus = attrs.field(factory=WidgetStatus)


def test_update_stores_the_status_the_kinds_rule_makes_and_keeps_it_otherwise() -> None:
    clock = VirtualClock()

    async def main() -> tuple[int, int, int]:
        cluster = MemoryCluster(clock=clock)
        made = await cluster.create(Sprout(metadata=ObjectMeta(name="s", namespace="ns")))
        made = await cluster.update_status(attrs.evolve(made, status=WidgetStatus(ready=3)))
        resized = await cluster.update(
            attrs.evolve(made, spec=WidgetSpec(size=2), status=WidgetStatus(ready=99))
        )
        recolored = await cluster.update(
            attrs.evolve(resized, spec=WidgetSpec(size=2, color="red"))
        )
        stored = await cluster.get(Sprout, "s", namespace="ns")
        return resized.status.ready, recolored.status.ready, stored.status.ready

    # The client's status is ignored either way; only the rule changes it.
    assert clock.run(main()) == (3, 0, 0)
