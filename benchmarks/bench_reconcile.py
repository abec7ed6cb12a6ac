"""
No-op reconcile throughput over N objects: informer list -> handler ->
work queue -> workers -> reconciler, beside a bare ``asyncio.Queue`` drain
of the same number of keys measured in the same run.
"""

from __future__ import annotations

import asyncio
import time

import reconcile
from benchmarks._kinds import Sample, sample
from reconcile.testing import MemoryCluster

OBJECTS = 100_000
WORKERS = 4


async def _framework(count: int) -> tuple[float, float]:
    cluster = MemoryCluster(seed=1, history=10)
    for i in range(count):
        await cluster.create(sample(i))
    manager = reconcile.Manager(cluster)
    done = asyncio.Event()
    seen = 0

    async def noop(_request: reconcile.Request) -> reconcile.Result:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set()
        return reconcile.Result.done()

    manager.add(
        reconcile.Controller(
            name="noop", for_=Sample, reconciler=reconcile.reconciler(noop), workers=WORKERS
        )
    )
    began = time.perf_counter()
    async with manager:  # returns once the informer has listed every object
        synced = time.perf_counter()
        await done.wait()
        finished = time.perf_counter()
    assert seen == count, seen
    return finished - began, finished - synced


async def _bare_queue(count: int) -> float:
    queue: asyncio.Queue[reconcile.ObjectKey] = asyncio.Queue()
    keys = [reconcile.ObjectKey(namespace="default", name=f"k-{i}") for i in range(count)]
    seen = 0

    async def worker() -> None:
        nonlocal seen
        while True:
            await queue.get()
            seen += 1
            queue.task_done()

    began = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        workers = [tg.create_task(worker()) for _ in range(WORKERS)]
        for key in keys:
            queue.put_nowait(key)
        await queue.join()
        for w in workers:
            w.cancel()
    assert seen == count
    return time.perf_counter() - began


def run(scale: float = 1.0, *, repeat: int = 5) -> dict[str, float]:
    """The median of ``repeat`` runs (each with a fresh cluster of ``count`` objects)."""
    count = max(1000, int(OBJECTS * scale))
    reconcile.configure(level="WARNING")
    runs = sorted(asyncio.run(_framework(count)) for _ in range(repeat))
    total, drain = runs[len(runs) // 2]
    bare = sorted(asyncio.run(_bare_queue(count)) for _ in range(repeat))[repeat // 2]
    return {
        "objects": count,
        "reconciles_per_s": count / total,
        "drain_per_s": count / drain,
        "bare_queue_per_s": count / bare,
        "ratio": (count / total) / (count / bare),
        "seconds": total,
        "min_reconciles_per_s": count / runs[-1][0],
        "max_reconciles_per_s": count / runs[0][0],
        "runs": repeat,
    }


if __name__ == "__main__":
    print(run())
