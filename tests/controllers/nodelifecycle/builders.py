"""Small builders for nodes, leases and pods in node lifecycle tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs

import reconcile
from controllers.api.core import (
    Container,
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    Pod,
    PodCondition,
    PodSpec,
    PodStatus,
    Taint,
    Toleration,
)
from controllers.nodelifecycle import LEASE_NAMESPACE

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""The virtual clock's default start, used as the fixed origin of unit tests."""


def at(seconds: float) -> dt.datetime:
    """``T0`` plus ``seconds``."""
    return T0 + dt.timedelta(seconds=seconds)


def ready(status: str = "True", *, heartbeat: dt.datetime | None = T0) -> NodeCondition:
    """A ``Ready`` condition as the kubelet posts it."""
    return NodeCondition(
        type="Ready",
        status=status,
        reason="KubeletReady" if status == "True" else "KubeletNotReady",
        last_heartbeat_time=heartbeat,
        last_transition_time=heartbeat,
    )


def pressure(type_: str, status: str = "False", *, heartbeat: dt.datetime = T0) -> NodeCondition:
    """A pressure condition (``MemoryPressure`` and so on)."""
    return NodeCondition(
        type=type_, status=status, last_heartbeat_time=heartbeat, last_transition_time=heartbeat
    )


def healthy_conditions(heartbeat: dt.datetime = T0) -> tuple[NodeCondition, ...]:
    """``Ready=True`` and the three pressure conditions ``False``."""
    return (
        ready(heartbeat=heartbeat),
        pressure("MemoryPressure", heartbeat=heartbeat),
        pressure("DiskPressure", heartbeat=heartbeat),
        pressure("PIDPressure", heartbeat=heartbeat),
    )


def node(
    name: str = "n1",
    *,
    created: dt.datetime | None = T0,
    conditions: Sequence[NodeCondition] | None = None,
    taints: Sequence[Taint] = (),
    unschedulable: bool = False,
) -> Node:
    """A node (healthy at ``T0`` unless ``conditions`` say otherwise)."""
    return Node(
        metadata=reconcile.ObjectMeta(name=name, creation_timestamp=created),
        spec=NodeSpec(taints=tuple(taints), unschedulable=unschedulable),
        status=NodeStatus(
            conditions=tuple(healthy_conditions() if conditions is None else conditions)
        ),
    )


def lease(name: str = "n1", *, renewed: dt.datetime | None = T0) -> reconcile.Lease:
    """The node's heartbeat lease, last renewed at ``renewed``."""
    return reconcile.Lease(
        metadata=reconcile.ObjectMeta(name=name, namespace=LEASE_NAMESPACE),
        spec=reconcile.LeaseSpec(
            holder_identity=name, lease_duration_seconds=40, renew_time=renewed
        ),
    )


def pod(
    name: str = "p",
    *,
    node_name: str = "n1",
    tolerations: Sequence[Toleration] = (),
    created: dt.datetime | None = T0,
    is_ready: bool | None = None,
) -> Pod:
    """A pod in ``default`` bound to ``node_name``, optionally with a ``Ready`` condition."""
    conditions = (
        ()
        if is_ready is None
        else (
            PodCondition(
                type="Ready",
                status="True" if is_ready else "False",
                last_probe_time=None,
                last_transition_time=T0,
            ),
        )
    )
    return Pod(
        metadata=reconcile.ObjectMeta(name=name, namespace="default", creation_timestamp=created),
        spec=PodSpec(
            containers=(Container(name="main", image="nginx"),),
            node_name=node_name,
            tolerations=tuple(tolerations),
        ),
        status=PodStatus(conditions=conditions),
    )


def with_meta(obj: Any, **changes: Any) -> Any:
    """``obj`` with some ``metadata`` fields replaced."""
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, **changes))


def no_execute(key: str, *, added: dt.datetime | None = T0, value: str = "") -> Taint:
    """A ``NoExecute`` taint added at ``added``."""
    return Taint(key=key, value=value, effect="NoExecute", time_added=added)


def tolerate(key: str, seconds: int | None = None, *, operator: str = "Exists") -> Toleration:
    """A ``NoExecute`` toleration of ``key`` for ``seconds`` (forever when ``None``)."""
    return Toleration(key=key, operator=operator, effect="NoExecute", toleration_seconds=seconds)
