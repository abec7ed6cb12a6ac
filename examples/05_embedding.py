"""
05 — embedding a reconcile loop in an existing asyncio service.

A service already runs its own tasks (here a heartbeat and a queue of
incoming orders). It adds a ``Manager`` with ``async with``: the manager
starts its informers and controllers inside its own task group, leaves the
service's tasks alone, and on exit stops its controllers gracefully (the
reconcile in flight finishes) while the service keeps running.

The controller's kind, ``Order``, is the service's own resource, not a
Kubernetes one: the framework is kind-agnostic.

Run it: ``python examples/05_embedding.py``.
"""

from __future__ import annotations

import asyncio

import attrs

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock, run


@attrs.frozen(kw_only=True)
class OrderSpec:
    item: str = ""
    quantity: int = 1


@attrs.frozen(kw_only=True)
class OrderStatus:
    state: str = "Pending"


@reconcile.kind(group="shop.example.com", version="v1", kind="Order")
@attrs.frozen(kw_only=True)
class Order(reconcile.Resource):
    spec: OrderSpec = OrderSpec()
    status: OrderStatus = OrderStatus()


async def main(clock: VirtualClock) -> dict[str, object]:
    """Run the service with and then without the manager; return what each part did."""
    cluster = MemoryCluster(clock=clock, seed=5)
    heartbeats = 0
    incoming: asyncio.Queue[tuple[str, int]] = asyncio.Queue()

    async def heartbeat() -> None:  # the service's own background task
        nonlocal heartbeats
        while True:
            await asyncio.sleep(1)
            heartbeats += 1

    async def accept_orders() -> None:  # the service's own request handling
        n = 0
        while True:
            item, quantity = await incoming.get()
            n += 1
            await cluster.create(
                Order(
                    metadata=reconcile.ObjectMeta(name=f"order-{n}", namespace="shop"),
                    spec=OrderSpec(item=item, quantity=quantity),
                )
            )

    manager = reconcile.Manager(cluster, clock=clock)
    orders = manager.store(Order)

    async def fulfil(request: reconcile.Request) -> reconcile.Result:
        order = orders.get(request)
        if order is None or order.status.state == "Shipped":
            return reconcile.Result.done()
        await clock.sleep(2)  # packing takes two seconds
        await cluster.update_status(attrs.evolve(order, status=OrderStatus(state="Shipped")))
        return reconcile.Result.done()

    manager.add(
        reconcile.Controller(
            name="fulfilment", for_=Order, reconciler=reconcile.reconciler(fulfil), workers=4
        )
    )
    async with asyncio.TaskGroup() as service:
        beat = service.create_task(heartbeat())
        accept = service.create_task(accept_orders())
        async with manager:
            for item in ("apples", "pears", "plums"):
                incoming.put_nowait((item, 2))
            await clock.advance(10)
        # The manager is stopped; the service's tasks are untouched and still running.
        beats_at_stop = heartbeats
        await clock.advance(5)
        result: dict[str, object] = {
            "manager": manager.state.value,
            "service_tasks_running": not beat.done() and not accept.done(),
            "heartbeats_after_stop": heartbeats - beats_at_stop,
            "shipped": sorted(
                o.metadata.name
                for o in (await cluster.list(Order, namespace="shop")).items
                if o.status.state == "Shipped"
            ),
        }
        beat.cancel()
        accept.cancel()
    print(result)
    return result


if __name__ == "__main__":
    reconcile.configure(level="WARNING")
    run(main)
