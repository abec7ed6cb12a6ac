"""cordon, uncordon, drain and the pure :func:`pods_to_drain` selection."""

from __future__ import annotations

import attrs

import reconcile
from controllers.api.core import Node, Pod
from controllers.nodelifecycle import MIRROR_ANNOTATION, cordon, drain, pods_to_drain, uncordon
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.nodelifecycle.builders import at, node, pod, with_meta


def _daemon(p: Pod, *, controller: bool = True) -> Pod:
    ref = reconcile.OwnerReference(
        api_version="apps/v1",
        kind="DaemonSet",
        name="ds",
        uid=reconcile.Uid("ds-uid"),
        controller=controller,
    )
    result: Pod = with_meta(p, owner_references=(ref,))
    return result


def _mirror(p: Pod) -> Pod:
    result: Pod = with_meta(p, annotations={MIRROR_ANNOTATION: "abc"})
    return result


def _names(pods: list[Pod]) -> list[str]:
    return [p.metadata.name for p in pods]


def test_pods_to_drain_selects_ordinary_pods_on_the_node() -> None:
    pods = [
        pod("plain"),
        _daemon(pod("daemon")),
        _mirror(pod("mirror")),
        pod("elsewhere", node_name="n2"),
        with_meta(pod("terminating"), deletion_timestamp=at(1)),
        _daemon(pod("owned-not-controlled"), controller=False),
        pod("unbound", node_name=""),
    ]
    assert _names(pods_to_drain(pods, "n1")) == ["plain", "owned-not-controlled"]


def test_drain_skips_daemonset_and_mirror_pods() -> None:
    """drain cordons, then deletes only the pods a drain may move."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=3)
        await cluster.create(node("n1"))
        await cluster.create(node("n2"))
        for p in (
            pod("plain"),
            pod("other", node_name="n2"),
            _daemon(pod("daemon")),
            _mirror(pod("mirror")),
        ):
            await cluster.create(p)
        evicted = await drain(cluster, "n1")
        n1 = cluster.get_nowait(Node, reconcile.ObjectKey(namespace="", name="n1"))
        remaining = {
            p.metadata.name: p.metadata.deletion_timestamp is not None
            for p in cluster.list_nowait(Pod).items
        }
        again = await drain(cluster, "n1")  # the plain pod is terminating now
        return _names(evicted), n1.spec.unschedulable, remaining, _names(again)

    assert (
        ["plain"],
        True,
        {"daemon": False, "mirror": False, "other": False, "plain": True},
        [],
    ) == run(scenario)


def test_drain_uses_given_pods() -> None:
    """With ``pods`` given, drain does not list; pods already gone are skipped."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=3)
        await cluster.create(node("n1"))
        kept = await cluster.create(pod("kept"))
        listed = await cluster.create(pod("not-given"))
        ghost = attrs.evolve(listed, metadata=attrs.evolve(listed.metadata, name="ghost"))
        evicted = await drain(cluster, "n1", pods=[kept, ghost])
        return _names(evicted), sorted(p.metadata.name for p in cluster.list_nowait(Pod).items)

    assert (["kept"], ["kept", "not-given"]) == run(scenario)


def test_cordon_and_uncordon_are_idempotent() -> None:
    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=3)
        await cluster.create(node("n1"))
        first = await cordon(cluster, "n1")
        second = await cordon(cluster, "n1")
        back = await uncordon(cluster, "n1")
        return (
            first.spec.unschedulable,
            second.metadata.resource_version == first.metadata.resource_version,
            back.spec.unschedulable,
        )

    assert (True, True, False) == run(scenario)
