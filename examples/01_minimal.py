"""
01 — a minimal controller for a kind of your own.

A ``Greeting`` has a spec (who to greet) and a status (the greeting and the
generation it was written for). The reconciler reads the object from the
manager's cache, computes the status, and writes it only when it differs:
running it again changes nothing (idempotence), which is all a
level-triggered reconciler must guarantee.

Run it: ``python examples/01_minimal.py`` (virtual time: instant).
"""

from __future__ import annotations

import attrs

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock, run


@attrs.frozen(kw_only=True)
class GreetingSpec:
    name: str = "world"


@attrs.frozen(kw_only=True)
class GreetingStatus:
    message: str = ""
    observed_generation: int = 0


@reconcile.kind(group="examples.reconcile.dev", version="v1", kind="Greeting")
@attrs.frozen(kw_only=True)
class Greeting(reconcile.Resource):
    spec: GreetingSpec = GreetingSpec()
    status: GreetingStatus = GreetingStatus()


async def main(clock: VirtualClock) -> dict[str, str]:
    """Create two greetings, change one, and return each one's final message."""
    cluster = MemoryCluster(clock=clock, seed=1)
    manager = reconcile.Manager(cluster, clock=clock)
    cache = manager.store(Greeting)

    async def greet(request: reconcile.Request) -> reconcile.Result:
        greeting = cache.get(request)
        if greeting is None:
            return reconcile.Result.done()  # deleted: nothing to clean up
        wanted = GreetingStatus(
            message=f"Hello, {greeting.spec.name}!",
            observed_generation=greeting.metadata.generation,
        )
        if greeting.status != wanted:
            await cluster.update_status(attrs.evolve(greeting, status=wanted))
        return reconcile.Result.done()

    manager.add(
        reconcile.Controller(name="greeter", for_=Greeting, reconciler=reconcile.reconciler(greet))
    )
    async with manager:
        for name, who in (("first", "world"), ("second", "Kubernetes")):
            await cluster.create(
                Greeting(
                    metadata=reconcile.ObjectMeta(name=name, namespace="default"),
                    spec=GreetingSpec(name=who),
                )
            )
        await clock.wait_idle()
        first = await cluster.get(Greeting, "first", namespace="default")
        await cluster.update(attrs.evolve(first, spec=GreetingSpec(name="asyncio")))
        await clock.wait_idle()
    greetings = await cluster.list(Greeting, namespace="default")
    for g in greetings.items:
        print(f"{g.metadata.name}: {g.status.message} (generation {g.status.observed_generation})")
    return {g.metadata.name: g.status.message for g in greetings.items}


if __name__ == "__main__":
    run(main)
