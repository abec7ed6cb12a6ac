"""
A DaemonSet's rolling update, one step at a time: pure.

:func:`rolling_update` looks at each node's daemon pods, splits them into
the pod of the current revision (*new*) and the pod of an older one
(*old*), and decides which old pods to delete and on which nodes to create
a new pod now, within the bounds :func:`surge_and_unavailable` resolves.
The manage step (:func:`~controllers.daemonset.plan.manage`) does the rest:
it creates the new pod where an old one was deleted (without surge) and
deletes surplus pods.

* Without surge (``maxSurge`` 0): old pods that are not available are
  deleted at once; available old pods are deleted while fewer than
  ``maxUnavailable`` nodes are unavailable. A node counts as unavailable when
  it should run a pod and has none, has both an old and a new one, more than
  one of either, or a new pod not available yet.
* With surge: a new pod is created next to an unavailable old pod at once,
  and next to available old pods while fewer than ``maxSurge`` nodes have an
  extra pod; the old pod goes once the new one is available. An old pod on
  a node that should no longer run it is deleted when it is unavailable,
  or while more nodes are available than desired.

Nodes are visited in name order (Kubernetes visits a Go map, in no order),
so a step is deterministic.

Kubernetes: ``rollingUpdate``, ``updatedDesiredNodeCounts`` and
``findUpdatedPodsOnNode`` in pkg/controller/daemon/update.go,
``SurgeCount``/``UnavailableCount`` in pkg/controller/daemon/util.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import attrs

from controllers.api.apps import DaemonSet, DaemonSetUpdateStrategyType
from controllers.api.core import Pod
from controllers.daemonset.revisions import HASH_LABEL
from controllers.deployment.util import scaled_value
from controllers.replicaset.pods import is_pod_available

__all__ = [
    "Rollout",
    "allows_surge",
    "is_rolling_update",
    "rolling_update",
    "split_new_old",
    "surge_and_unavailable",
]


def is_rolling_update(ds: DaemonSet) -> bool:
    """Whether ``spec.updateStrategy.type`` is ``RollingUpdate`` (the default when unset)."""
    kind = ds.spec.update_strategy.type
    return kind is None or kind is DaemonSetUpdateStrategyType.ROLLING_UPDATE


def surge_and_unavailable(ds: DaemonSet, desired: int) -> tuple[int, int]:
    """
    ``(maxSurge, maxUnavailable)`` as node counts for ``desired`` nodes.

    Percentages round *up* for both (a Deployment rounds ``maxUnavailable``
    down). Unset values are Kubernetes' defaults: ``maxUnavailable`` 1,
    ``maxSurge`` 0. When both come out 0 and some node is desired,
    ``maxUnavailable`` is 1 so the update can proceed. An ``OnDelete``
    DaemonSet has ``(0, 0)``.

    Raises:
        ValueError: a value is neither an integer nor ``"<integer>%"``, or is
            negative; the message names the field.
    """
    if not is_rolling_update(ds):
        return 0, 0
    rolling = ds.spec.update_strategy.rolling_update
    surge_value = 0 if rolling is None or rolling.max_surge is None else rolling.max_surge
    unavailable_value = (
        1 if rolling is None or rolling.max_unavailable is None else rolling.max_unavailable
    )
    prefix = "spec.updateStrategy.rollingUpdate"
    surge = _resolve(surge_value, desired, f"{prefix}.maxSurge")
    unavailable = _resolve(unavailable_value, desired, f"{prefix}.maxUnavailable")
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _resolve(value: int | str, total: int, field: str) -> int:
    try:
        resolved = scaled_value(value, total, round_up=True)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from exc
    if resolved < 0:
        raise ValueError(f"{field}: must be >= 0, got {value!r}")
    return resolved


def allows_surge(ds: DaemonSet) -> bool:
    """
    Whether a rolling update may run two pods on a node: a ``maxSurge`` that is not 0.

    Any non-zero percentage allows it (it is resolved against one node, rounding
    up). Kubernetes: ``AllowsSurge``.
    """
    if not is_rolling_update(ds):
        return False
    try:
        return surge_and_unavailable(ds, 1)[0] != 0
    except ValueError:
        return False


def split_new_old(pods: Sequence[Pod], hash_: str) -> tuple[Pod | None, Pod | None, bool]:
    """
    The node's ``(new, old, ok)`` pods, ignoring those being deleted.

    ``ok`` is false (and both pods ``None``) when the node has more than one
    new or more than one old pod: the manage step cleans that up first.
    Kubernetes: ``findUpdatedPodsOnNode``.
    """
    new: Pod | None = None
    old: Pod | None = None
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        if pod.metadata.labels.get(HASH_LABEL) == hash_:
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


@attrs.frozen(kw_only=True)
class Rollout:
    """
    One step of a rolling update.

    Attributes:
        delete: Old pods to delete.
        create: Nodes to create a new pod on (only when surging).
    """

    delete: tuple[Pod, ...] = ()
    create: tuple[str, ...] = ()


def rolling_update(
    ds: DaemonSet,
    pods_by_node: Mapping[str, Sequence[Pod]],
    should_run: Mapping[str, bool],
    *,
    hash_: str,
    now: dt.datetime,
) -> Rollout:
    """
    The next step of ``ds``'s rolling update to the revision ``hash_``.

    Args:
        ds: The DaemonSet (its strategy must be ``RollingUpdate``).
        pods_by_node: Its pods by node, without finished pods being deleted.
        should_run: For every existing node, whether it should run the pod;
            a node missing here counts as one that should not.
        hash_: The current revision's hash.
        now: The instant availability is judged at.

    Raises:
        ValueError: an invalid ``maxSurge`` or ``maxUnavailable``.
    """
    desired = sum(should_run.values())
    surge, unavailable = surge_and_unavailable(ds, desired)
    min_ready = ds.spec.min_ready_seconds
    # Nodes that should run a pod and have none count too (as unavailable), as
    # Kubernetes' updatedDesiredNodeCounts adds them to the map it walks.
    names = sorted({*pods_by_node, *(name for name, runs in should_run.items() if runs)})
    if surge == 0:
        return _without_surge(
            names,
            pods_by_node,
            hash_=hash_,
            max_unavailable=unavailable,
            min_ready=min_ready,
            now=now,
        )
    return _with_surge(
        names,
        pods_by_node,
        should_run,
        hash_=hash_,
        max_surge=surge,
        desired=desired,
        min_ready=min_ready,
        now=now,
    )


def _without_surge(
    names: Sequence[str],
    pods_by_node: Mapping[str, Sequence[Pod]],
    *,
    hash_: str,
    max_unavailable: int,
    min_ready: int,
    now: dt.datetime,
) -> Rollout:
    unavailable = 0
    replace: list[Pod] = []
    candidates: list[Pod] = []
    for name in names:
        new, old, ok = split_new_old(pods_by_node.get(name, ()), hash_)
        if not ok or (new is None) == (old is None):
            unavailable += 1  # the manage step creates or prunes here first
        elif new is not None:
            if not is_pod_available(new, min_ready, now):
                unavailable += 1
        elif old is not None:
            if not is_pod_available(old, min_ready, now):
                replace.append(old)
                unavailable += 1
            elif unavailable < max_unavailable:
                candidates.append(old)
    room = max(0, max_unavailable - unavailable)
    return Rollout(delete=(*replace, *candidates[:room]))


def _with_surge(
    names: Sequence[str],
    pods_by_node: Mapping[str, Sequence[Pod]],
    should_run: Mapping[str, bool],
    *,
    hash_: str,
    max_surge: int,
    desired: int,
    min_ready: int,
    now: dt.datetime,
) -> Rollout:
    delete: list[Pod] = []
    sunset: list[Pod] = []  # available old pods on nodes that should no longer run them
    allowed: list[str] = []
    candidates: list[str] = []
    surging = available = 0
    for name in names:
        new, old, ok = split_new_old(pods_by_node.get(name, ()), hash_)
        if not ok:
            surging += 1
            continue
        counted = old if old is not None else new
        if counted is not None and is_pod_available(counted, min_ready, now):
            available += 1
        if old is None:
            continue  # nothing to replace; the manage step creates if needed
        if new is None:
            runs = should_run.get(name, False)
            if not is_pod_available(old, min_ready, now):
                if runs:
                    allowed.append(name)
                else:
                    delete.append(old)
            elif not runs:
                sunset.append(old)
            elif surging < max_surge:
                candidates.append(name)
        elif not is_pod_available(new, min_ready, now):
            surging += 1
        else:
            delete.append(old)
    room = min(max(0, max_surge - surging), len(candidates))
    spare = available - desired
    if spare > 0:
        delete.extend(sunset[:spare])
    return Rollout(delete=tuple(delete), create=(*allowed, *candidates[:room]))
