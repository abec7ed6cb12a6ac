"""A client wrapper that fails or stalls calls on demand (for leader-election tests)."""

from __future__ import annotations

from typing import Any

from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import ServerError
from reconcile.primitives.virtual import VirtualClock


class FlakyClient:
    """MemoryCluster behind switches: ``failing`` raises ServerError, ``delay`` stalls calls."""

    def __init__(self, cluster: MemoryCluster, clock: VirtualClock) -> None:
        self.cluster = cluster
        self.clock = clock
        self.failing = False
        self.delay = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.cluster, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.delay:
                await self.clock.sleep(self.delay)
            if self.failing:
                raise ServerError(f"injected failure of {name}")
            return await method(*args, **kwargs)

        return call
