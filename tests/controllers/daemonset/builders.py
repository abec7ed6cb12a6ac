"""Builders and Hypothesis strategies for DaemonSets, nodes and daemon pods."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping

import attrs
from hypothesis import strategies as st

from controllers.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    DaemonSetUpdateStrategy,
    DaemonSetUpdateStrategyType,
    RollingUpdateDaemonSet,
)
from controllers.api.core import Container, Node, NodeSpec, Pod, PodCondition, PodStatus
from controllers.api.pod import PodSpec, PodTemplateSpec
from controllers.api.scheduling import Taint, Toleration
from controllers.daemonset import HASH_LABEL, daemon_pod, template_hash
from reconcile import FrozenDict, LabelSelector, ObjectMeta, Uid

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DS_UID = Uid("00000000-0000-4000-8000-00000000dddd")
OTHER_UID = Uid("00000000-0000-4000-8000-00000000eeee")
LABELS: Mapping[str, str] = {"app": "agent"}

_serial = itertools.count(1)


def daemonset(
    *,
    image: str = "agent:1",
    max_unavailable: int | str | None = None,
    max_surge: int | str | None = None,
    on_delete: bool = False,
    min_ready_seconds: int = 0,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Iterable[Toleration] = (),
    host_network: bool = False,
    history_limit: int | None = None,
    generation: int = 1,
) -> DaemonSet:
    """A created DaemonSet ``agent`` in ``default`` selecting ``app=agent``."""
    kind = (
        DaemonSetUpdateStrategyType.ON_DELETE
        if on_delete
        else DaemonSetUpdateStrategyType.ROLLING_UPDATE
    )
    rolling = (
        None
        if on_delete
        else RollingUpdateDaemonSet(max_unavailable=max_unavailable, max_surge=max_surge)
    )
    return DaemonSet(
        metadata=ObjectMeta(
            name="agent",
            namespace="default",
            uid=DS_UID,
            generation=generation,
            creation_timestamp=T0,
        ),
        spec=DaemonSetSpec(
            selector=LabelSelector(match_labels=FrozenDict(LABELS)),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=FrozenDict(LABELS)),
                spec=PodSpec(
                    containers=(Container(name="agent", image=image),),
                    node_selector=FrozenDict(node_selector or {}),
                    tolerations=tuple(tolerations),
                    host_network=host_network,
                ),
            ),
            update_strategy=DaemonSetUpdateStrategy(type=kind, rolling_update=rolling),
            min_ready_seconds=min_ready_seconds,
            revision_history_limit=history_limit,
        ),
    )


def node(
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    unschedulable: bool = False,
) -> Node:
    """A Node ``name``."""
    return Node(
        metadata=ObjectMeta(name=name, labels=FrozenDict(labels or {})),
        spec=NodeSpec(taints=tuple(taints), unschedulable=unschedulable),
    )


def taint(key: str, effect: str = "NoSchedule", value: str = "") -> Taint:
    """A taint ``key=value:effect``."""
    return Taint(key=key, value=value, effect=effect)


def pod(
    ds: DaemonSet,
    on: str,
    *,
    hash_: str | None = None,
    ready_since: dt.datetime | None = T0,
    phase: str = "Running",
    created: dt.datetime = T0,
    bound: bool = True,
    deleting: bool = False,
) -> Pod:
    """A daemon pod of ``ds`` on node ``on`` (ready since ``ready_since``, ``None``: not ready)."""
    base = daemon_pod(ds, on, hash_ or template_hash(ds))
    n = next(_serial)
    conditions = (
        (PodCondition(type="Ready", status="True", last_transition_time=ready_since),)
        if ready_since is not None
        else (PodCondition(type="Ready", status="False"),)
    )
    meta = attrs.evolve(
        base.metadata,
        name=f"agent-{n:05d}",
        uid=Uid(f"00000000-0000-4000-8000-{n:012d}"),
        creation_timestamp=created,
        deletion_timestamp=T0 if deleting else None,
    )
    spec = attrs.evolve(base.spec, node_name=on if bound else "")
    return Pod(metadata=meta, spec=spec, status=PodStatus(phase=phase, conditions=conditions))


def with_hash(p: Pod, hash_: str) -> Pod:
    """``p`` labelled as a pod of revision ``hash_``."""
    labels: FrozenDict[str, str] = FrozenDict({**p.metadata.labels, HASH_LABEL: hash_})
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, labels=labels))


# -- strategies ------------------------------------------------------------------------------

KEYS = ("zone", "disk", "role")
TAINT_KEYS = ("dedicated", "node-role.kubernetes.io/control-plane", "gpu")


@st.composite
def nodes(draw: st.DrawFn, *, min_size: int = 0, max_size: int = 8) -> list[Node]:
    """Nodes ``n1``..``nN`` with random labels and taints (some tolerated by the daemon pods)."""
    count = draw(st.integers(min_value=min_size, max_value=max_size))
    result = []
    for i in range(count):
        labels = draw(
            st.dictionaries(st.sampled_from(KEYS), st.sampled_from(("a", "b")), max_size=2)
        )
        taints = draw(
            st.lists(
                st.builds(
                    Taint,
                    key=st.sampled_from((*TAINT_KEYS, "node.kubernetes.io/unschedulable")),
                    effect=st.sampled_from(("NoSchedule", "NoExecute", "PreferNoSchedule")),
                ),
                max_size=2,
                unique_by=lambda t: (t.key, t.effect),
            )
        )
        result.append(node(f"n{i + 1}", labels=labels, taints=taints))
    return result
