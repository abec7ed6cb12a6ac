"""
04 — finalizers: clean up outside the cluster before an object may go.

A ``Bucket`` stands for storage that lives outside the cluster (here a
plain dict). ``with_finalizer`` splits the reconciler in two:

* ``apply`` runs while the object lives (after the finalizer is in place);
* ``cleanup`` runs once it is being deleted; only when it returns is the
  finalizer removed, and only then does the object disappear.

Deleting a bucket therefore first marks it (``deletionTimestamp``), then
the controller deletes the external storage, then the object goes. If the
cleanup fails, the object stays, and the cleanup is retried.

Run it: ``python examples/04_finalizers.py``.
"""

from __future__ import annotations

import attrs

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock, run

FINALIZER = "examples.reconcile.dev/delete-storage"


@attrs.frozen(kw_only=True)
class BucketSpec:
    region: str = "eu-west-1"


@reconcile.kind(group="examples.reconcile.dev", version="v1", kind="Bucket")
@attrs.frozen(kw_only=True)
class Bucket(reconcile.Resource):
    spec: BucketSpec = BucketSpec()


async def main(clock: VirtualClock) -> list[str]:
    """Create a bucket, delete it while storage cleanup fails once; return the timeline."""
    cluster = MemoryCluster(clock=clock, seed=4)
    manager = reconcile.Manager(cluster, clock=clock)
    buckets = manager.store(Bucket)
    storage: dict[str, str] = {}  # what lives "outside": bucket name -> region
    timeline: list[str] = []
    failures = {"left": 1}

    async def create_storage(bucket: Bucket) -> None:
        if bucket.metadata.name not in storage:
            storage[bucket.metadata.name] = bucket.spec.region
            timeline.append(f"t={clock.time():g}s storage created")

    async def delete_storage(bucket: Bucket) -> None:
        if failures["left"]:
            failures["left"] -= 1
            timeline.append(f"t={clock.time():g}s storage deletion failed; retrying")
            raise ConnectionError("storage API unavailable")
        storage.pop(bucket.metadata.name, None)
        timeline.append(f"t={clock.time():g}s storage deleted")

    async def reconcile_bucket(request: reconcile.Request) -> reconcile.Result:
        bucket = buckets.get(request)
        if bucket is not None:
            await reconcile.with_finalizer(
                cluster, bucket, FINALIZER, apply=create_storage, cleanup=delete_storage
            )
        return reconcile.Result.done()

    manager.add(
        reconcile.Controller(
            name="buckets", for_=Bucket, reconciler=reconcile.reconciler(reconcile_bucket)
        )
    )
    async with manager:
        await cluster.create(Bucket(metadata=reconcile.ObjectMeta(name="logs", namespace="ops")))
        await clock.wait_idle()
        held = await cluster.delete(Bucket, "logs", namespace="ops")
        assert held is not None
        assert held.metadata.deleting
        finalizers = list(held.metadata.finalizers)
        timeline.append(f"t={clock.time():g}s delete requested; finalizers={finalizers}")
        await clock.advance(1)
        gone = (await cluster.list(Bucket, namespace="ops")).items == ()
        timeline.append(f"t={clock.time():g}s object gone={gone}, storage={storage}")
    for line in timeline:
        print(line)
    return timeline


if __name__ == "__main__":
    reconcile.configure(level="ERROR")
    run(main)
