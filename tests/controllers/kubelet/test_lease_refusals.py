"""Node Lease renewals that keep being refused back off instead of spinning."""

from __future__ import annotations

import itertools
from typing import Any

import reconcile
from controllers import Cluster, run
from controllers.kubelet.lease import MAX_LOOK_BACKOFF, REFUSALS_AT_ONCE


def test_a_lease_whose_renewals_are_always_refused_is_read_again_after_a_back_off() -> None:
    """Every write of the kubelet conflicts for a minute: it keeps trying, boundedly."""
    refusals: list[float] = []

    def record(entry: Any) -> None:
        if entry.get("fault") == "conflict" and entry.get("kind") == "Lease":
            refusals.append(entry["t"])

    def connect(component: str, api: reconcile.MemoryCluster) -> reconcile.Client:
        if component != "kubelet":
            return api
        return reconcile.FaultyClient(api, name=component, clock=api.clock, record=record)

    async def main() -> None:
        async with Cluster(nodes=1, seed=5, events=False, connect=connect) as cluster:
            client = cluster.client("kubelet")
            assert isinstance(client, reconcile.FaultyClient)
            client.set_faults(conflict_rate=1.0)
            await cluster.advance(60)

    run(main)
    first = refusals[0]
    # A few refusals at once, then at most one per back-off step (>= 0.2 s, doubling).
    assert REFUSALS_AT_ONCE <= len(refusals) <= REFUSALS_AT_ONCE + 60 / 0.2
    late = [t for t in refusals if t >= first + 30]
    assert late, "the kubelet stopped trying"
    gaps = [b - a for a, b in itertools.pairwise(late)]
    assert all(gap <= MAX_LOOK_BACKOFF + 10 for gap in gaps)
