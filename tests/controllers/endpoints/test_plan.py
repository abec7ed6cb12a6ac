"""The pure Endpoints computation: against a plain model, and its write decisions."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.core import (
    ContainerPort,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Pod,
    Service,
    ServicePort,
)
from controllers.endpoints import (
    HEADLESS_LABEL,
    MANAGED_BY_LABEL,
    OVER_CAPACITY_ANNOTATION,
    Memo,
    PodMemo,
    endpoints_for,
    find_port,
    plan,
    repack_subsets,
    truncate,
)
from reconcile import FrozenDict, ObjectMeta, ResourceVersion
from tests.controllers.endpoints.builders import pod, pods, service, services

Row = tuple[str, str | None, int | None, str | None, bool]


def model(svc: Service, candidates: list[Pod]) -> set[Row]:
    """(ip, port name, port, protocol, ready) for every address the Service should list."""
    rows: set[Row] = set()
    publish = svc.spec.publish_not_ready_addresses
    for p in candidates:
        if p.metadata.namespace != svc.metadata.namespace:
            continue
        if any(p.metadata.labels.get(k) != v for k, v in svc.spec.selector.items()):
            continue
        if p.status.phase in ("Succeeded", "Failed") or not p.status.pod_ip:
            continue
        if p.metadata.deletion_timestamp is not None and not publish:
            continue
        ready = publish or any(
            c.type == "Ready" and c.status == "True" for c in p.status.conditions
        )
        if not svc.spec.ports:
            if svc.spec.cluster_ip == "None":
                rows.add((p.status.pod_ip, None, None, None, ready))
            continue
        for sp in svc.spec.ports:
            if isinstance(sp.target_port, int):
                rows.add((p.status.pod_ip, sp.name, sp.target_port, sp.protocol, ready))
                continue
            for cp in p.spec.containers[0].ports:
                if cp.name == sp.target_port and cp.protocol == sp.protocol:
                    rows.add((p.status.pod_ip, sp.name, cp.container_port, sp.protocol, ready))
    return rows


def flatten(subsets: tuple[EndpointSubset, ...]) -> list[Row]:
    """Every (address, port, readiness) the subsets list, duplicates kept."""
    rows: list[Row] = []
    for s in subsets:
        ports: list[EndpointPort | None] = list(s.ports) or [None]
        for port in ports:
            for addresses, ready in ((s.addresses, True), (s.not_ready_addresses, False)):
                for a in addresses:
                    if port is None:
                        rows.append((a.ip, None, None, None, ready))
                    else:
                        rows.append((a.ip, port.name, port.port, port.protocol, ready))
    return rows


@settings(max_examples=150, deadline=None)
@given(services(), pods())
def test_endpoints_equal_the_model(svc: Service, candidates: list[Pod]) -> None:
    """Matching ready pods are addresses, the others not-ready, each port resolved per pod."""
    rows = flatten(endpoints_for(svc, candidates))
    assert len(rows) == len(set(rows))
    assert model(svc, candidates) == set(rows)


@settings(max_examples=80, deadline=None)
@given(services(), pods(), st.randoms(use_true_random=False))
def test_endpoints_do_not_depend_on_pod_order(
    svc: Service, candidates: list[Pod], rnd: st.SearchStrategy[object]
) -> None:
    """Any permutation of the pods gives the very same subsets."""
    shuffled = list(candidates)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert endpoints_for(svc, candidates) == endpoints_for(svc, shuffled)


@settings(max_examples=150, deadline=None)
@given(services(), pods())
def test_repacking_is_idempotent(svc: Service, candidates: list[Pod]) -> None:
    """Repacking repacked subsets changes nothing."""
    subsets = endpoints_for(svc, candidates)
    assert subsets == repack_subsets(subsets)


@settings(max_examples=150, deadline=None)
@given(services(), pods())
def test_plan_then_plan_again_is_empty(svc: Service, candidates: list[Pod]) -> None:
    """Applying the plan and planning again (same pods) writes nothing: no hot loop."""
    first = plan(svc, None, candidates)
    assert first.create is not None
    assert plan(svc, first.create, candidates).empty


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.integers(1, 50))
def test_truncation_keeps_ready_addresses_first(ready: int, not_ready: int, cap: int) -> None:
    """At most ``cap`` addresses stay, and no ready one goes while a not-ready one stays."""
    addresses = [EndpointAddress(ip=f"10.0.0.{i}") for i in range(ready + not_ready)]
    subsets = (
        EndpointSubset(
            addresses=tuple(addresses[: ready // 2]),
            not_ready_addresses=tuple(addresses[ready : ready + not_ready // 2]),
            ports=(EndpointPort(name="a", port=1, protocol="TCP"),),
        ),
        EndpointSubset(
            addresses=tuple(addresses[ready // 2 : ready]),
            not_ready_addresses=tuple(addresses[ready + not_ready // 2 :]),
            ports=(EndpointPort(name="b", port=2, protocol="TCP"),),
        ),
    )
    kept, cut = truncate(subsets, cap)
    kept_ready = sum(len(s.addresses) for s in kept)
    kept_not_ready = sum(len(s.not_ready_addresses) for s in kept)
    assert (ready + not_ready > cap) == cut
    assert kept_ready + kept_not_ready == min(cap, ready + not_ready)
    assert kept_ready == min(ready, cap)


def test_named_target_port_drops_a_pod_lacking_it_for_that_port_only() -> None:
    """A pod without the ``metrics`` port still serves ``http``."""
    svc = service(
        ports=(
            ServicePort(name="http", port=80, target_port="http"),
            ServicePort(name="metrics", port=9090, target_port="metrics"),
        )
    )
    both = pod(
        "both",
        ip="10.244.0.2",
        ports=(
            ContainerPort(name="http", container_port=8080),
            ContainerPort(name="metrics", container_port=9100),
        ),
    )
    http_only = pod("http-only", ip="10.244.0.3")
    subsets = endpoints_for(svc, [http_only, both])
    by_port = {p.name: [a.ip for a in s.addresses] for s in subsets for p in s.ports}
    assert {"http": ["10.244.0.2", "10.244.0.3"], "metrics": ["10.244.0.2"]} == by_port


def test_named_port_must_match_the_protocol() -> None:
    """A UDP service port does not resolve to a TCP container port of the same name."""
    udp = ServicePort(name="dns", port=53, protocol="UDP", target_port="dns")
    tcp_pod = pod("p", ports=(ContainerPort(name="dns", container_port=5353, protocol="TCP"),))
    assert find_port(tcp_pod, udp) is None
    assert 5353 == find_port(tcp_pod, attrs.evolve(udp, protocol="TCP"))


def test_terminating_pods_are_excluded_unless_publishing_not_ready() -> None:
    """A pod being deleted leaves the Endpoints, except with ``publishNotReadyAddresses``."""
    going = pod("going", terminating=True)
    assert () == endpoints_for(service(), [going])
    published = endpoints_for(service(publish_not_ready=True), [going])
    assert ["10.244.0.2"] == [a.ip for s in published for a in s.addresses]


def test_unready_pods_are_not_ready_addresses_with_identity() -> None:
    """An unready pod is listed as not-ready, with its node, target and hostname."""
    svc = service()
    p = pod("p", ready=False, hostname="p0", subdomain="web", node="node-2")
    (subset,) = endpoints_for(svc, [p])
    assert () == subset.addresses
    (address,) = subset.not_ready_addresses
    assert ("10.244.0.2", "p0", "node-2") == (address.ip, address.hostname, address.node_name)
    assert address.target_ref is not None
    assert ("Pod", "p", "uid-p") == (
        address.target_ref.kind,
        address.target_ref.name,
        address.target_ref.uid,
    )


def test_headless_service_without_ports_lists_bare_addresses() -> None:
    """clusterIP None and no ports: one subset of addresses without ports, labelled headless."""
    svc = service(ports=(), cluster_ip="None")
    change = plan(svc, None, [pod("a", ip="10.244.0.3"), pod("b", ip="10.244.0.2")])
    assert change.create is not None
    (subset,) = change.create.subsets
    assert ((), ["10.244.0.2", "10.244.0.3"]) == (subset.ports, [a.ip for a in subset.addresses])
    assert "" == change.create.metadata.labels[HEADLESS_LABEL]


def test_labels_are_the_services_plus_managed_by() -> None:
    """The Endpoints carries the Service's labels and the controller's mark, no owner."""
    change = plan(service(labels={"tier": "front"}), None, [])
    assert change.create is not None
    assert {"tier": "front", MANAGED_BY_LABEL: "endpoint-controller"} == dict(
        change.create.metadata.labels
    )
    assert () == change.create.metadata.owner_references


def test_user_endpoints_of_a_selectorless_service_are_left_alone() -> None:
    """No selector: the user's Endpoints is neither updated nor deleted."""
    user = Endpoints(
        metadata=ObjectMeta(name="web", namespace="default", resource_version=ResourceVersion("5"))
    )
    assert plan(service(selector=None), user, [pod("p")]).empty
    assert plan(None, user, []).empty


def test_own_endpoints_go_when_the_service_does() -> None:
    """The controller's Endpoints is deleted with its Service or its selector."""
    mine = plan(service(), None, [pod("p")]).create
    assert mine is not None
    assert mine == plan(None, mine, []).delete
    assert mine == plan(service(selector=None), mine, []).delete


def test_over_capacity_is_truncated_and_annotated() -> None:
    """More than 1,000 addresses: 1,000 are kept and the Endpoints says it was truncated."""
    many = [pod(f"p{i}", ip=f"10.{i // 250}.{i % 250}.1") for i in range(1001)]
    change = plan(service(), None, many)
    assert change.create is not None
    assert 1000 == sum(len(s.addresses) for s in change.create.subsets)
    assert "truncated" == change.create.metadata.annotations[OVER_CAPACITY_ANNOTATION]
    fewer = plan(service(), change.create, many[:10]).update
    assert fewer is not None
    assert OVER_CAPACITY_ANNOTATION not in fewer.metadata.annotations


def test_not_ready_wins_when_repacking() -> None:
    """An address listed both ready and not-ready for a port is not-ready."""
    a = EndpointAddress(ip="10.0.0.1")
    port = (EndpointPort(name="p", port=1, protocol="TCP"),)
    (subset,) = repack_subsets(
        [
            EndpointSubset(addresses=(a,), ports=port),
            EndpointSubset(not_ready_addresses=(a,), ports=port),
        ]
    )
    assert ((), (a,)) == (subset.addresses, subset.not_ready_addresses)


def test_update_keeps_foreign_annotations() -> None:
    """An update rewrites subsets and labels but keeps annotations others set."""
    created = plan(service(), None, []).create
    assert created is not None
    noted = created.with_meta(annotations=FrozenDict({"note": "x"}), resource_version="7")
    update = plan(service(), noted, [pod("p")]).update
    assert update is not None
    assert ({"note": "x"}, "7") == (
        dict(update.metadata.annotations),
        update.metadata.resource_version,
    )


@settings(max_examples=60, deadline=None)
@given(services(), pods(), pods())
def test_memo_gives_the_same_subsets(svc: Service, first: list[Pod], second: list[Pod]) -> None:
    """A memo kept across calls (pods changing in between) never changes the result."""
    memo: Memo = PodMemo()
    assert endpoints_for(svc, first) == endpoints_for(svc, first, memo=memo)
    assert endpoints_for(svc, first) == endpoints_for(svc, first, memo=memo)
    assert endpoints_for(svc, second) == endpoints_for(svc, second, memo=memo)
