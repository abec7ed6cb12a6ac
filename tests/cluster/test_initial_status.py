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
