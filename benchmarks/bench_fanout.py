"""
Store write + watch fan-out: one writer updates objects while W watchers
consume every event. Reports writes/s and checks that every watcher saw
every write.

The updates are built before the clock starts (they are the caller's work,
not the store's) and carry no resourceVersion (unconditional writes): two
alternating states per object, so every write changes something. The
writer yields to the loop every 1,000 writes, as a writer task among others
would; the watchers then drain what was committed.
"""

from __future__ import annotations

import asyncio
import time

import attrs

from benchmarks._kinds import Sample, SampleStatus, sample
from reconcile import ResourceVersion
from reconcile.testing import MemoryCluster

WRITES = 100_000
NO_VERSION = ResourceVersion("")  # unconditional writes
OBJECTS = 1_000
HISTORY = 10_000  # the cluster's default


async def _run(watchers: int, writes: int) -> dict[str, float]:
    cluster = MemoryCluster(seed=1, history=HISTORY)
    objects = [await cluster.create(sample(i)) for i in range(OBJECTS)]
    states = [
        attrs.evolve(
            objects[n % OBJECTS],
            metadata=attrs.evolve(objects[n % OBJECTS].metadata, resource_version=NO_VERSION),
            status=SampleStatus(phase="Running", restarts=n // OBJECTS % 2),
        )
        for n in range(2 * OBJECTS)
    ]
    start_rv = cluster.resource_version
    received = [0] * watchers

    async def watch(index: int) -> None:
        seen = 0
        async for _event in cluster.watch(Sample, since=start_rv):
            seen += 1
            if seen == writes:
                break
        received[index] = seen

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(watch(i)) for i in range(watchers)]
        await asyncio.sleep(0)  # let every watcher start waiting
        began = time.perf_counter()
        for n in range(writes):
            await cluster.update_status(states[n % len(states)])
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


def run(scale: float = 1.0, *, repeat: int = 5) -> list[dict[str, float]]:
    """The median of ``repeat`` runs for 1, 10 and 100 watchers (with the range seen)."""
    writes = max(1000, int(WRITES * scale))
    rows = []
    for watchers in (1, 10, 100):
        runs = sorted(
            (asyncio.run(_run(watchers, writes)) for _ in range(repeat)),
            key=lambda r: r["writes_per_s"],
        )
        median = runs[len(runs) // 2]
        rows.append(
            {
                **median,
                "min_writes_per_s": runs[0]["writes_per_s"],
                "max_writes_per_s": runs[-1]["writes_per_s"],
                "runs": repeat,
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
