"""Small builders for nodes and pods in scheduler tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

import reconcile
from controllers.api.core import (
    Container,
    Node,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    ResourceRequirements,
    Taint,
)
from controllers.scheduler import schedule


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: int = 110,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Taint] = (),
    unschedulable: bool = False,
) -> Node:
    """A node with allocatable resources, labels (plus hostname) and taints."""
    allocatable: reconcile.FrozenDict[str, str | int | float] = reconcile.FrozenDict(
        {"cpu": cpu, "memory": memory, "pods": str(pods)}
    )
    return Node(
        metadata=reconcile.ObjectMeta(
            name=name, labels={"kubernetes.io/hostname": name, **(labels or {})}
        ),
        spec=NodeSpec(taints=tuple(taints), unschedulable=unschedulable),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


def pod(
    name: str, *, cpu: str = "", memory: str = "", labels: Mapping[str, str] | None = None
) -> Pod:
    """A pod in namespace ``default`` with one container requesting ``cpu``/``memory``."""
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container = Container(
        name="main", resources=ResourceRequirements(requests=reconcile.FrozenDict(requests))
    )
    return Pod(
        metadata=reconcile.ObjectMeta(name=name, namespace="default", labels=labels or {}),
        spec=PodSpec(containers=(container,)),
    )


def with_spec(p: Pod, **changes: Any) -> Pod:
    """The pod with some ``spec`` fields replaced."""
    return attrs.evolve(p, spec=attrs.evolve(p.spec, **changes))


def place_all(pods: Sequence[Pod], nodes: Sequence[Node]) -> dict[str, list[Pod]]:
    """Schedule pods one by one, binding each where :func:`schedule` says (if anywhere)."""
    bound: dict[str, list[Pod]] = {}
    for p in pods:
        decision = schedule(p, nodes, bound)
        if decision.node is not None:
            bound.setdefault(decision.node, []).append(with_spec(p, node_name=decision.node))
    return bound


def owned(p: Pod, owner: reconcile.OwnerReference) -> Pod:
    """The pod with ``owner`` as its only owner reference."""
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, owner_references=(owner,)))
