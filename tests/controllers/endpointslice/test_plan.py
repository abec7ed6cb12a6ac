"""The slice planner: every endpoint exactly once, bounded slices, idempotent, stable."""

from __future__ import annotations

import itertools

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.core import ContainerPort, Pod, Service, ServicePort
from controllers.api.discovery import EndpointSlice
from controllers.endpoints import PodMemo
from controllers.endpointslice import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    Memo,
    SlicePlan,
    desired_endpoints,
    endpoint_key,
    plan,
)
from reconcile import FrozenDict, ObjectMeta
from tests.controllers.endpoints.builders import pod, pods, service, services


def apply(slices: list[EndpointSlice], change: SlicePlan) -> list[EndpointSlice]:
    """The slices after ``change``, as the API server would store them (names for creates)."""
    by_name = {s.metadata.name: s for s in slices}
    _names = itertools.count(len(by_name) + len(change.create) * 1000)
    for s in change.delete:
        del by_name[s.metadata.name]
    for s in change.update:
        assert s.metadata.name in by_name
        by_name[s.metadata.name] = s
    for s in change.create:
        name = f"{s.metadata.generate_name}{next(_names):06d}"
        by_name[name] = s.with_meta(name=name)
    return [by_name[n] for n in sorted(by_name)]


def homes(slices: list[EndpointSlice]) -> dict[str, str]:
    """Endpoint key -> name of the slice holding it."""
    return {endpoint_key(e): s.metadata.name for s in slices for e in s.endpoints or ()}


@st.composite
def flapped(draw: st.DrawFn, candidates: list[Pod]) -> list[Pod]:
    """The pods after some readiness flips, deletions and terminations."""
    result = []
    for p in candidates:
        action = draw(st.sampled_from(["keep", "keep", "flip", "drop", "terminate"]))
        if action == "drop":
            continue
        if action == "flip":
            (ready,) = p.status.conditions
            flipped = attrs.evolve(ready, status="False" if ready.status == "True" else "True")
            p = attrs.evolve(p, status=attrs.evolve(p.status, conditions=(flipped,)))  # noqa: PLW2901
        elif action == "terminate":
            p = p.with_meta(deletion_timestamp=p.metadata.creation_timestamp)  # noqa: PLW2901
        result.append(p)
    return result


def many_pods(count: int) -> list[Pod]:
    return [pod(f"p{i}", ip=f"10.244.{i // 250}.{i % 250 + 1}") for i in range(count)]


@settings(max_examples=100, deadline=None)
@given(services(), pods(max_size=30), st.integers(1, 7))
def test_every_endpoint_is_in_exactly_one_bounded_slice(
    svc: Service, candidates: list[Pod], most: int
) -> None:
    """Each wanted endpoint is in one slice, with its ports; no slice exceeds the maximum."""
    slices = apply([], plan(svc, [], candidates, max_per_slice=most))
    wanted = desired_endpoints(svc, candidates)
    held = [endpoint_key(e) for s in slices for e in s.endpoints or ()]
    assert sorted(held) == sorted(k for group in wanted.values() for k in group)
    for s in slices:
        assert len(s.endpoints or ()) <= most
        for e in s.endpoints or ():
            assert wanted[tuple(s.ports or ())][endpoint_key(e)] == e
    assert plan(svc, slices, candidates, max_per_slice=most).empty


@settings(max_examples=60, deadline=None)
@given(st.data(), services(), pods(max_size=30), st.integers(1, 7))
def test_changes_update_in_place_and_converge(
    data: st.DataObject, svc: Service, candidates: list[Pod], most: int
) -> None:
    """After pods change, kept endpoints stay in their slice, and one plan converges."""
    before = apply([], plan(svc, [], candidates, max_per_slice=most))
    after_pods = data.draw(flapped(candidates))
    after = apply(before, plan(svc, before, after_pods, max_per_slice=most))
    old, new = homes(before), homes(after)
    assert all(old[k] == new[k] for k in old.keys() & new.keys())
    wanted = desired_endpoints(svc, after_pods)
    assert sorted(new) == sorted(k for group in wanted.values() for k in group)
    assert all(len(s.endpoints or ()) <= most for s in after)
    assert plan(svc, after, after_pods, max_per_slice=most).empty


def test_a_service_without_endpoints_keeps_one_placeholder() -> None:
    """No pods: one empty slice with ``ports: null``, labelled and owned like the others."""
    svc = service(labels={"tier": "front"})
    (placeholder,) = plan(svc, [], []).create
    assert ((), None) == (placeholder.endpoints, placeholder.ports)
    assert {
        "tier": "front",
        SERVICE_NAME_LABEL: "web",
        MANAGED_BY_LABEL: CONTROLLER_NAME,
    } == dict(placeholder.metadata.labels)
    (owner,) = placeholder.metadata.owner_references
    assert ("Service", "web", True) == (owner.kind, owner.name, owner.controller)
    assert "web-" == placeholder.metadata.generate_name


def test_the_first_pod_fills_the_placeholder_in_place() -> None:
    """A pod appearing reuses the placeholder slice rather than replacing it."""
    slices = apply([], plan(service(), [], []))
    change = plan(service(), slices, [pod("p")])
    assert ((), (), 1) == (change.create, change.delete, len(change.update))
    assert slices[0].metadata.name == change.update[0].metadata.name


def test_slices_hold_at_most_100_endpoints() -> None:
    """250 pods make three slices: 100, 100 and 50."""
    change = plan(service(), [], many_pods(250))
    assert [100, 100, 50] == [len(s.endpoints or ()) for s in change.create]


def test_readiness_flip_rewrites_one_slice_only() -> None:
    """One pod turning unready updates only the slice that holds it."""
    candidates = many_pods(250)
    slices = apply([], plan(service(), [], candidates))
    candidates[120] = pod("p120", ip=candidates[120].status.pod_ip, ready=False)
    change = plan(service(), slices, candidates)
    assert ((), ()) == (change.create, change.delete)
    (updated,) = change.update
    (flipped,) = [
        e for e in updated.endpoints or () if e.target_ref and e.target_ref.name == "p120"
    ]
    assert (False, False, False) == (
        flipped.conditions.ready,
        flipped.conditions.serving,
        flipped.conditions.terminating,
    )


def test_terminating_pods_stay_serving_but_not_ready() -> None:
    """A ready pod being deleted stays, ``serving`` and ``terminating``, not ``ready``."""
    going = pod("p").with_meta(deletion_timestamp=pod("p").metadata.creation_timestamp)
    (s,) = plan(service(), [], [going]).create
    (e,) = s.endpoints or ()
    assert (False, True, True) == (
        e.conditions.ready,
        e.conditions.serving,
        e.conditions.terminating,
    )


def test_endpoints_carry_node_zone_and_target() -> None:
    """An endpoint names its node, that node's zone and its pod."""
    (s,) = plan(service(), [], [pod("p", node="node-2")], zones={"node-2": "zone-b"}).create
    (e,) = s.endpoints or ()
    assert e.target_ref is not None
    assert ("node-2", "zone-b", "p", ("10.244.0.2",)) == (
        e.node_name,
        e.zone,
        e.target_ref.name,
        e.addresses,
    )
    assert "IPv4" == s.address_type


def test_pods_with_different_ports_get_different_slices() -> None:
    """Endpoints of a slice share its ports: a pod lacking a named port is in another slice."""
    svc = service(
        ports=(
            ServicePort(name="http", port=80, target_port="http"),
            ServicePort(name="metrics", port=9090, target_port="metrics"),
        )
    )
    both = pod(
        "both",
        ports=(
            ContainerPort(name="http", container_port=8080),
            ContainerPort(name="metrics", container_port=9100),
        ),
    )
    plain = pod("plain", ip="10.244.0.3")
    change = plan(svc, [], [both, plain])
    shapes = sorted(
        (
            [p.name for p in s.ports or ()],
            [e.target_ref.name for e in s.endpoints or () if e.target_ref],
        )
        for s in change.create
    )
    assert [(["http"], ["plain"]), (["http", "metrics"], ["both"])] == shapes


def test_selector_removed_deletes_the_slices() -> None:
    """A Service that stops selecting has its slices deleted."""
    slices = apply([], plan(service(), [], many_pods(3)))
    change = plan(service(selector=None), slices, many_pods(3))
    assert slices == list(change.delete)


def test_stale_labels_are_rewritten() -> None:
    """A slice whose labels drifted is updated even when its endpoints are right."""
    slices = apply([], plan(service(), [], many_pods(2)))
    drifted = [
        attrs.evolve(s, metadata=attrs.evolve(s.metadata, labels=FrozenDict())) for s in slices
    ]
    change = plan(service(), drifted, many_pods(2))
    assert [s.metadata.name for s in slices] == [s.metadata.name for s in change.update]
    assert isinstance(change.update[0].metadata, ObjectMeta)


@settings(max_examples=60, deadline=None)
@given(st.data(), services(), pods(max_size=20))
def test_memo_gives_the_same_plan(data: st.DataObject, svc: Service, candidates: list[Pod]) -> None:
    """A memo kept across syncs (pods changing in between) never changes the plan."""
    memo: Memo = PodMemo()
    first = plan(svc, [], candidates, memo=memo)
    assert plan(svc, [], candidates) == first
    slices = apply([], first)
    later = data.draw(flapped(candidates))
    assert plan(svc, slices, later) == plan(svc, slices, later, memo=memo)
