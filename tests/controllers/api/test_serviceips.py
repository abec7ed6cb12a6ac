"""Cluster IPs: allocated in order on create, kept on update, checked when asked for."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api import Service, ServicePort, ServiceSpec, install_admission
from controllers.api.serviceips import SERVICE_CIDR
from reconcile import FrozenDict, InvalidError, MemoryCluster, ObjectMeta


@pytest.fixture
def cluster() -> MemoryCluster:
    cluster = MemoryCluster()
    install_admission(cluster.admission)
    return cluster


def service(name: str, **spec: Any) -> Service:
    return Service(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=ServiceSpec(selector=FrozenDict({"app": name}), ports=(ServicePort(port=80),), **spec),
    )


async def test_services_get_the_next_free_address_in_order(cluster: MemoryCluster) -> None:
    """The first Service gets 10.96.0.1, the next 10.96.0.2; clusterIPs mirrors it."""
    a = await cluster.create(service("a"))
    b = await cluster.create(service("b"))
    assert ("10.96.0.1", ("10.96.0.1",)) == (a.spec.cluster_ip, a.spec.cluster_ips)
    assert "10.96.0.2" == b.spec.cluster_ip


async def test_headless_and_external_name_services_get_no_address(
    cluster: MemoryCluster,
) -> None:
    """``clusterIP: None`` stays headless; an ExternalName Service has no cluster IP."""
    headless = await cluster.create(service("h", cluster_ip="None"))
    external = await cluster.create(service("x", type="ExternalName", external_name="db.example"))
    assert ("None", ("None",)) == (headless.spec.cluster_ip, headless.spec.cluster_ips)
    assert ("", ()) == (external.spec.cluster_ip, external.spec.cluster_ips)
    assert "10.96.0.1" == (await cluster.create(service("c"))).spec.cluster_ip


async def test_an_address_asked_for_is_checked_and_then_skipped(cluster: MemoryCluster) -> None:
    """In range and free: given, and never allocated to another; taken or outside: 422."""
    asked = await cluster.create(service("a", cluster_ip="10.96.0.2"))
    assert "10.96.0.2" == asked.spec.cluster_ip
    assert "10.96.0.1" == (await cluster.create(service("b"))).spec.cluster_ip
    assert "10.96.0.3" == (await cluster.create(service("c"))).spec.cluster_ip
    with pytest.raises(InvalidError, match="already allocated") as taken:
        await cluster.create(service("d", cluster_ip="10.96.0.2"))
    with pytest.raises(InvalidError, match="not in the valid range") as outside:
        await cluster.create(service("e", cluster_ip="192.168.0.1"))
    with pytest.raises(InvalidError, match="valid IP"):
        await cluster.create(service("f", cluster_ip="ten"))
    assert ["spec.clusterIP"] == [c.field for c in taken.value.causes]
    assert ["spec.clusterIP"] == [c.field for c in outside.value.causes]
    assert {"a", "b", "c"} == {s.metadata.name for s in (await cluster.list(Service)).items}


async def test_the_address_is_immutable_and_kept_when_an_update_leaves_it_out(
    cluster: MemoryCluster,
) -> None:
    """An update without clusterIP keeps the address; one that changes it is refused."""
    web = await cluster.create(service("web"))
    blank = attrs.evolve(web, spec=attrs.evolve(web.spec, cluster_ip="", cluster_ips=()))
    kept = await cluster.update(attrs.evolve(blank, metadata=web.metadata))
    assert "10.96.0.1" == kept.spec.cluster_ip
    moved = attrs.evolve(kept, spec=attrs.evolve(kept.spec, cluster_ip="10.96.0.9"))
    with pytest.raises(InvalidError, match="field is immutable"):
        await cluster.update(moved)


@settings(max_examples=20, deadline=None)
@given(asked=st.lists(st.integers(1, 12), max_size=6), plain=st.integers(0, 8))
def test_no_two_services_ever_share_an_address(asked: list[int], plain: int) -> None:
    """Whatever is asked for and allocated, addresses are unique and inside the range."""

    async def scenario() -> list[str]:
        cluster = MemoryCluster()
        install_admission(cluster.admission)
        for i, host in enumerate(asked):
            with contextlib.suppress(InvalidError):  # a taken address is refused: fine
                await cluster.create(service(f"asked-{i}", cluster_ip=f"10.96.0.{host}"))
        for i in range(plain):
            await cluster.create(service(f"plain-{i}"))
        return [s.spec.cluster_ip for s in (await cluster.list(Service)).items]

    ips = asyncio.run(scenario())  # a sync hypothesis test drives its own loop
    assert len(ips) == len(set(ips))
    assert all(ipaddress.IPv4Address(ip) in SERVICE_CIDR for ip in ips)
