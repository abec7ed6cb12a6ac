"""
02 — owned children: a parent that keeps N children alive.

A ``Flock`` asks for ``spec.size`` ``Sheep``. The controller:

* watches both kinds: ``owns=(Sheep,)`` maps every change of a sheep to
  its controlling flock, so deleting a sheep by hand wakes the flock;
* finds its sheep with the cache's ``controller`` index (a lookup, not a scan);
* records what it is about to create or delete in ``Expectations`` and
  does nothing more until the cache has seen those changes, so a stale
  cache never makes it create twice (the ReplicaSet controller's trick);
* writes ``status.ready`` only when it changes.

Run it: ``python examples/02_owned_children.py``.
"""

from __future__ import annotations

import attrs

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock, run


@attrs.frozen(kw_only=True)
class FlockSpec:
    size: int = 0


@attrs.frozen(kw_only=True)
class FlockStatus:
    ready: int = 0


@reconcile.kind(group="examples.reconcile.dev", version="v1", kind="Flock")
@attrs.frozen(kw_only=True)
class Flock(reconcile.Resource):
    spec: FlockSpec = FlockSpec()
    status: FlockStatus = FlockStatus()


@reconcile.kind(group="examples.reconcile.dev", version="v1", kind="Sheep", plural="sheep")
@attrs.frozen(kw_only=True)
class Sheep(reconcile.Resource):
    pass


def _owner_key(sheep: reconcile.Resource) -> reconcile.ObjectKey | None:
    ref = reconcile.controller_of(sheep.metadata)
    if ref is None or ref.kind != "Flock":
        return None
    return reconcile.ObjectKey(namespace=sheep.metadata.namespace, name=ref.name)


async def main(clock: VirtualClock) -> dict[str, int]:
    """Grow a flock to 3, lose a sheep, shrink to 1; return the sheep count at each stage."""
    cluster = MemoryCluster(clock=clock, seed=2)
    manager = reconcile.Manager(cluster, clock=clock)
    flocks, sheep = manager.store(Flock), manager.store(Sheep)
    expectations = reconcile.Expectations(clock=clock)

    def observed_add(obj: reconcile.Resource) -> None:
        if (key := _owner_key(obj)) is not None:
            expectations.creation_observed(key)

    def observed_delete(obj: reconcile.Resource) -> None:
        if (key := _owner_key(obj)) is not None:
            expectations.deletion_observed(key, obj.metadata.uid)

    manager.informers.get(Sheep).add_handler(
        reconcile.event_handler(on_add=observed_add, on_delete=observed_delete)
    )

    async def shepherd(request: reconcile.Request) -> reconcile.Result:
        flock = flocks.get(request)
        if flock is None:
            expectations.forget(request)
            return reconcile.Result.done()  # the garbage collector's job, not ours
        if not expectations.satisfied(request):
            return reconcile.Result.done()  # our own writes are still on their way
        mine = [
            s for s in sheep.by_index("controller", flock.metadata.uid) if not s.metadata.deleting
        ]
        missing = flock.spec.size - len(mine)
        if missing > 0:
            expectations.expect_creations(request, missing)
            for _ in range(missing):
                await cluster.create(
                    Sheep(
                        metadata=reconcile.ObjectMeta(
                            generate_name=f"{flock.metadata.name}-",
                            namespace=flock.metadata.namespace,
                            owner_references=[reconcile.owner_reference_to(flock)],
                        )
                    )
                )
        elif missing < 0:
            extra = sorted(mine, key=lambda s: s.metadata.name)[missing:]
            expectations.expect_deletions(request, [s.metadata.uid for s in extra])
            for s in extra:
                await cluster.delete(Sheep, s.key)
        ready = min(len(mine), flock.spec.size)
        if flock.status.ready != ready:
            await cluster.update_status(attrs.evolve(flock, status=FlockStatus(ready=ready)))
        return reconcile.Result.done()

    manager.add(
        reconcile.Controller(
            name="shepherd",
            for_=Flock,
            owns=(Sheep,),
            reconciler=reconcile.reconciler(shepherd),
        )
    )
    counts: dict[str, int] = {}
    async with manager:
        flock = await cluster.create(
            Flock(
                metadata=reconcile.ObjectMeta(name="meadow", namespace="farm"),
                spec=FlockSpec(size=3),
            )
        )
        await clock.wait_idle()
        counts["created"] = len(sheep.by_index("controller", flock.metadata.uid))

        lost = sheep.by_index("controller", flock.metadata.uid)[0]
        await cluster.delete(Sheep, lost.key)  # the wolf
        await clock.wait_idle()
        counts["after_wolf"] = len(sheep.by_index("controller", flock.metadata.uid))

        flock = await cluster.get(Flock, flock.key)
        await cluster.update(attrs.evolve(flock, spec=FlockSpec(size=1)))
        await clock.wait_idle()
        counts["scaled_down"] = len(sheep.by_index("controller", flock.metadata.uid))
    final = await cluster.get(Flock, "meadow", namespace="farm")
    print(f"sheep per stage: {counts}; status.ready={final.status.ready}")
    return counts | {"ready": final.status.ready}


if __name__ == "__main__":
    run(main)
