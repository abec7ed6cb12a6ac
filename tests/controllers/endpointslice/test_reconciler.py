"""The reconcilers against an API server whose cache lags: their own writes are not repeated."""

from __future__ import annotations

from typing import TypeVar

import attrs

from controllers.api.core import Endpoints, Node, Pod, Service
from controllers.api.discovery import EndpointSlice
from controllers.endpoints import EndpointsReconciler
from controllers.endpointslice import EndpointSliceReconciler
from reconcile import ObjectKey, Resource, Uid
from reconcile.cluster.store import Store, StoreWriter
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.endpoints.builders import pod, service

R = TypeVar("R", bound=Resource)
KEY = ObjectKey(namespace="default", name="web")


def frozen_cache(api: MemoryCluster, kind: type[R]) -> Store[R]:
    """A cache of ``kind`` as it is now, that never sees later writes."""
    writer: StoreWriter[R] = StoreWriter()
    listed = api.list_nowait(kind)
    writer.replace(listed.items, listed.resource_version)
    writer.mark_synced()
    return writer.store


async def populated(clock: VirtualClock) -> MemoryCluster:
    api = MemoryCluster(clock=clock, seed=1)
    await api.create(service().with_meta(uid=Uid(""), creation_timestamp=None))
    for i in range(3):
        p = pod(f"p{i}", ip=f"10.244.0.{i + 2}")
        created = await api.create(p.with_meta(uid=Uid(""), creation_timestamp=None))
        await api.update_status(attrs.evolve(created, status=p.status))
    return api


def test_slices_are_not_created_twice_while_the_cache_lags() -> None:
    """A second sync before the cache shows the new slice creates nothing more."""

    async def main(clock: VirtualClock) -> int:
        api = await populated(clock)
        reconciler = EndpointSliceReconciler(
            api,
            services=frozen_cache(api, Service),
            pods=frozen_cache(api, Pod),
            slices=frozen_cache(api, EndpointSlice),
            nodes=frozen_cache(api, Node),
            max_per_slice=100,
        )
        await reconciler.reconcile(KEY)
        await reconciler.reconcile(KEY)
        return len(api.list_nowait(EndpointSlice).items)

    assert 1 == run(main)


def test_endpoints_are_not_created_twice_while_the_cache_lags() -> None:
    """A second sync before the cache shows the new Endpoints writes nothing more."""

    async def main(clock: VirtualClock) -> tuple[int, int]:
        api = await populated(clock)
        reconciler = EndpointsReconciler(
            api,
            services=frozen_cache(api, Service),
            pods=frozen_cache(api, Pod),
            endpoints=frozen_cache(api, Endpoints),
        )
        await reconciler.reconcile(KEY)
        await reconciler.reconcile(KEY)
        stored = api.get_nowait(Endpoints, "web", namespace="default")
        return reconciler.writes, sum(len(s.addresses) for s in stored.subsets)

    assert (1, 3) == run(main)
