"""EndpointSlice behaviours end to end on :class:`controllers.Cluster`, in virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from controllers import Cluster, run
from controllers.api.discovery import EndpointSlice
from controllers.endpointslice import CONTROLLER_NAME, MANAGED_BY_LABEL, SERVICE_NAME_LABEL
from tests.controllers.endpoints.test_scenarios import deployment_yaml, service_yaml

T = TypeVar("T")


def scenario(body: Callable[[Cluster], Awaitable[T]], *, seed: int = 7) -> T:
    async def main() -> T:
        async with Cluster(nodes=2, seed=seed) as cluster:
            return await body(cluster)

    return run(main)


def slices(cluster: Cluster) -> list[EndpointSlice]:
    return list(cluster.list("endpointslices", namespace="default"))


def test_slices_are_updated_in_place_as_pods_come_and_go() -> None:
    """Scaling up, down and to zero rewrites the same slice; none is recreated."""

    async def body(cluster: Cluster) -> list[tuple[str, int]]:
        await cluster.apply(deployment_yaml(replicas=3))
        await cluster.apply(service_yaml())
        await cluster.settle()
        seen = []
        for replicas in (5, 2, 0, 1):
            await cluster.scale("deploy", "web", replicas)
            await cluster.settle()
            (s,) = slices(cluster)
            seen.append((str(s.metadata.uid), len(s.endpoints or ())))
        return seen

    seen = scenario(body)
    assert 1 == len({uid for uid, _ in seen})
    assert [5, 2, 0, 1] == [count for _, count in seen]


def test_slices_are_labelled_owned_and_named_after_the_service() -> None:
    """``web-<suffix>``, the service-name and managed-by labels, the Service as controller."""

    async def body(cluster: Cluster) -> EndpointSlice:
        await cluster.apply(deployment_yaml(replicas=1))
        await cluster.apply(service_yaml())
        await cluster.settle()
        (s,) = slices(cluster)
        return s

    s = scenario(body)
    assert s.metadata.name.startswith("web-")
    assert len(s.metadata.name) == len("web-") + 5
    assert {
        "tier": "front",
        SERVICE_NAME_LABEL: "web",
        MANAGED_BY_LABEL: CONTROLLER_NAME,
    } == dict(s.metadata.labels)
    (owner,) = s.metadata.owner_references
    assert ("Service", "web", True) == (owner.kind, owner.name, owner.controller)
    assert [("http", 8080, "TCP")] == [(p.name, p.port, p.protocol) for p in s.ports or ()]


def test_slice_names_are_the_same_for_the_same_seed() -> None:
    """The simulation stays deterministic: one seed, one set of slice names."""

    async def body(cluster: Cluster) -> list[str]:
        await cluster.apply(deployment_yaml(replicas=2))
        await cluster.apply(service_yaml())
        await cluster.settle()
        return [s.metadata.name for s in slices(cluster)]

    assert scenario(body, seed=11) == scenario(body, seed=11)


def test_endpoints_carry_the_zone_of_their_node() -> None:
    """A node labelled ``topology.kubernetes.io/zone`` gives its pods' endpoints that zone."""

    async def body(cluster: Cluster) -> set[tuple[str | None, str | None]]:
        await cluster.label_node("node-1", {"topology.kubernetes.io/zone": "zone-a"})
        await cluster.apply(deployment_yaml(replicas=4))
        await cluster.apply(service_yaml())
        await cluster.settle()
        (s,) = slices(cluster)
        return {(e.node_name, e.zone) for e in s.endpoints or ()}

    assert {("node-1", "zone-a"), ("node-2", None)} == scenario(body)


def test_a_burst_of_pods_fills_slices_of_100_without_duplicates() -> None:
    """150 pods created at once: two slices, every pod in exactly one, none created twice."""

    async def body(cluster: Cluster) -> tuple[list[int], int, int]:
        await cluster.apply(service_yaml())
        await cluster.apply(deployment_yaml(replicas=150))
        await cluster.settle()
        held = [
            e.target_ref.name for s in slices(cluster) for e in s.endpoints or () if e.target_ref
        ]
        ready = [e for s in slices(cluster) for e in s.endpoints or () if e.conditions.ready]
        sizes = sorted(len(s.endpoints or ()) for s in slices(cluster))
        return sizes, len(set(held)) - len(held), len(ready)

    sizes, duplicates, ready = scenario(body)
    assert [50, 100] == sizes
    assert 0 == duplicates
    assert 150 == ready
