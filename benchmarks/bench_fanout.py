"""
Store write + watch fan-out: one writer updates objects while W watchers
consume every event. Reports writes/s and checks that every watcher saw
every write.
"""

from __future__ import annotations

import asyncio
import time

import attrs

from benchmarks._kinds import Sample, SampleStatus, sample
from reconcile.testing import MemoryCluster

WRITES = 100_000
OBJECTS = 1_000


async def _run(watchers: int, writes: int) -> dict[str, float]:
    cluster = MemoryCluster(seed=1, history=writes + OBJECTS)
    objects = [await cluster.create(sample(i)) for i in range(OBJECTS)]
    start_rv = cluster.resource_version
    received = [0] * watchers

    async def watch(index: int) -> None:
        async for _event in cluster.watch(Sample, since=start_rv):
            received[index] += 1
            if received[index] == writes:
                return

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(watch(i)) for i in range(watchers)]
        await asyncio.sleep(0)  # let every watcher start waiting
        began = time.perf_counter()
        for n in range(writes):
            current = objects[n % OBJECTS]
            updated = await cluster.update_status(
                attrs.evolve(current, status=SampleStatus(phase="Running", restarts=n))
            )
            objects[n % OBJECTS] = updated
            if n % 1000 == 999:
                await asyncio.sleep(0)  # a real writer yields; watchers drain in between
        written = time.perf_counter() - began
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    assert all(r == writes for r in received), received
    return {
        "watchers": watchers,
        "writes": writes,
        "writes_per_s": writes / elapsed,
        "write_only_s": written,
        "events_per_s": writes * watchers / elapsed,
    }


def run(scale: float = 1.0) -> list[dict[str, float]]:
    writes = max(1000, int(WRITES * scale))
    return [asyncio.run(_run(w, writes)) for w in (1, 10, 100)]


if __name__ == "__main__":
    for row in run():
        print(row)
