"""
Memory per stored object: ``tracemalloc`` growth of a MemoryCluster holding
N sample objects, beside the objects' compact JSON size.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc

from benchmarks._kinds import Sample, sample
from reconcile import to_json
from reconcile.testing import MemoryCluster

OBJECTS = 20_000


async def _fill(cluster: MemoryCluster, count: int) -> None:
    for i in range(count):
        await cluster.create(sample(i))


def run(scale: float = 1.0) -> dict[str, float]:
    count = max(1000, int(OBJECTS * scale))
    cluster = MemoryCluster(seed=1, history=1)  # history is measured by the fan-out benchmark
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    asyncio.run(_fill(cluster, count))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_object = (after - before) / count
    stored = cluster.list_nowait(Sample).items[::97]
    json_bytes = sum(len(json.dumps(to_json(o), separators=(",", ":"))) for o in stored) / len(
        stored
    )
    return {
        "objects": count,
        "bytes_per_object": per_object,
        "json_bytes_per_object": json_bytes,
        "ratio": per_object / json_bytes,
    }


if __name__ == "__main__":
    print(run())
