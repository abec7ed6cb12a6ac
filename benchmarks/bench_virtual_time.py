"""
Virtual-time speed and determinism.

* Speed: 1,000 objects, each with an ``@operator.timer`` firing every 10
  simulated seconds, for one simulated hour (360,000 timer reconciles):
  simulated seconds per wall second.
* Determinism: the busy scenario of ``tests/sim_scenario.py`` (two managers
  with leader election, controllers, timers, failures, a seeded user)
  run 10 times; every run must give the same history digest.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import attrs

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock
from tests.sim_scenario import simulate  # the busy scenario lives with the tests

TIMERS = 1_000
INTERVAL = 10.0
HOURS = 1.0


@reconcile.kind(group="bench.reconcile.dev", version="v1", kind="Ticker")
@attrs.frozen(kw_only=True)
class Ticker(reconcile.Resource):
    pass


async def _timers(clock: VirtualClock, count: int, hours: float) -> int:
    cluster = MemoryCluster(clock=clock, seed=1)
    for i in range(count):
        await cluster.create(Ticker(metadata=reconcile.ObjectMeta(name=f"t-{i}", namespace="b")))
    operator = reconcile.Operator("bench")
    fired = 0

    @operator.timer(Ticker, interval=INTERVAL)
    async def tick(_ticker: Ticker, _ctx: reconcile.Context) -> None:
        nonlocal fired
        fired += 1

    async with operator.running(cluster, clock=clock):
        await clock.advance(hours * 3600)
    return fired


def _digests(runs: int, hours: float) -> Iterable[str]:
    for _ in range(runs):
        clock = VirtualClock()
        digest, _count = clock.run(simulate(clock, seed=7, hours=hours))
        yield digest


def run(scale: float = 1.0) -> dict[str, float | str]:
    reconcile.configure(level="CRITICAL")  # the scenario logs its injected failures
    count = max(10, int(TIMERS * scale))
    clock = VirtualClock()
    began = time.perf_counter()
    fired = clock.run(_timers(clock, count, HOURS))
    wall = time.perf_counter() - began
    expected = count * int(HOURS * 3600 / INTERVAL)
    digests = set(_digests(10, HOURS * scale))
    return {
        "timers": count,
        "fired": fired,
        "fired_expected": expected,
        "simulated_s": HOURS * 3600,
        "wall_s": wall,
        "speedup": HOURS * 3600 / wall,
        "determinism_runs": 10,
        "distinct_digests": len(digests),
    }


if __name__ == "__main__":
    print(run())
