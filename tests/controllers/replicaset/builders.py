"""Builders and Hypothesis strategies for ReplicaSets and their pods."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping

import attrs
from hypothesis import strategies as st

from controllers.api.apps import ReplicaSet, ReplicaSetSpec
from controllers.api.core import (
    Container,
    ContainerStatus,
    Pod,
    PodCondition,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
)
from controllers.replicaset import DELETION_COST_ANNOTATION
from reconcile import LabelSelector, ObjectMeta, OwnerReference, Uid, owner_reference_to

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RS_UID = Uid("00000000-0000-4000-8000-00000000aaaa")
OTHER_UID = Uid("00000000-0000-4000-8000-00000000bbbb")
LABELS: Mapping[str, str] = {"app": "web"}

_uids = itertools.count(1)


def replicaset(
    *,
    replicas: int | None = 3,
    min_ready_seconds: int = 0,
    uid: Uid = RS_UID,
    generation: int = 1,
    deleting: bool = False,
    template_labels: Mapping[str, str] = LABELS,
    selector: Mapping[str, str] | None = LABELS,
) -> ReplicaSet:
    """A created ReplicaSet ``web`` in ``default``."""
    return ReplicaSet(
        metadata=ObjectMeta(
            name="web",
            namespace="default",
            uid=uid,
            generation=generation,
            creation_timestamp=T0,
            deletion_timestamp=T0 if deleting else None,
        ),
        spec=ReplicaSetSpec(
            replicas=replicas,
            min_ready_seconds=min_ready_seconds,
            selector=None if selector is None else LabelSelector(match_labels=selector),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=template_labels),
                spec=PodSpec(containers=(Container(name="nginx", image="nginx"),)),
            ),
        ),
    )


def other_controller() -> OwnerReference:
    """A controller reference to some other ReplicaSet."""
    return OwnerReference(
        api_version="apps/v1", kind="ReplicaSet", name="other", uid=OTHER_UID, controller=True
    )


def pod(
    name: str | None = None,
    *,
    owner: ReplicaSet | OwnerReference | None = None,
    labels: Mapping[str, str] = LABELS,
    node: str = "node-1",
    phase: str = "Running",
    ready: dt.datetime | None = None,
    created: dt.datetime | None = T0,
    restarts: int = 0,
    cost: int | None = None,
    deleting: bool = False,
    uid: str | None = None,
) -> Pod:
    """A pod; ``owner`` is its controller (a ReplicaSet, or a reference to one)."""
    n = next(_uids)
    refs: tuple[OwnerReference, ...] = ()
    if isinstance(owner, ReplicaSet):
        refs = (owner_reference_to(owner),)
    elif owner is not None:
        refs = (owner,)
    conditions: tuple[PodCondition, ...] = ()
    if ready is not None:
        conditions = (PodCondition(type="Ready", status="True", last_transition_time=ready),)
    return Pod(
        metadata=ObjectMeta(
            name=name or f"pod-{n}",
            namespace="default",
            uid=Uid(uid or f"00000000-0000-4000-8000-{n:012d}"),
            labels=labels,
            annotations={} if cost is None else {DELETION_COST_ANNOTATION: str(cost)},
            owner_references=refs,
            creation_timestamp=created,
            deletion_timestamp=T0 if deleting else None,
        ),
        spec=PodSpec(node_name=node),
        status=PodStatus(
            phase=phase,
            conditions=conditions,
            container_statuses=(ContainerStatus(name="nginx", restart_count=restarts),),
        ),
    )


def with_uid(p: Pod, uid: str) -> Pod:
    """``p`` with another uid."""
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, uid=Uid(uid)))


# -- strategies -------------------------------------------------------------------------------

offsets = st.integers(min_value=-10, max_value=4000).map(lambda s: T0 + dt.timedelta(seconds=s))


@st.composite
def pods(draw: st.DrawFn, rs: ReplicaSet | None = None) -> Pod:
    """Any pod: ours, another controller's or an orphan; any phase, readiness, node, cost."""
    rs = rs or replicaset()
    owner = draw(st.sampled_from(["ours", "other", "orphan"]))
    ready = draw(st.none() | offsets)
    return pod(
        owner=rs if owner == "ours" else other_controller() if owner == "other" else None,
        labels=draw(st.sampled_from([LABELS, {"app": "web", "tier": "x"}, {"app": "db"}, {}])),
        node=draw(st.sampled_from(["", "node-1", "node-2", "node-3"])),
        phase=draw(st.sampled_from(["Pending", "Running", "Unknown", "Succeeded", "Failed", ""])),
        ready=ready,
        created=draw(st.none() | offsets),
        restarts=draw(st.integers(min_value=0, max_value=3)),
        cost=draw(st.none() | st.integers(min_value=-2, max_value=2)),
        deleting=draw(st.integers(min_value=0, max_value=3)) == 0,
        uid=f"00000000-0000-4000-8000-{draw(st.integers(0, 10**12)):012d}",
    )


def unique_uids(items: list[Pod]) -> bool:
    """Whether no two pods share a uid (the cluster guarantees it)."""
    return len({p.metadata.uid for p in items}) == len(items)
