"""
The per-node back-off between deletions of failed daemon pods: pure values.

A daemon pod that keeps failing on one node (a kubelet that rejects it, a
crashing image with ``restartPolicy`` other than ``Always``) would otherwise
be deleted and recreated in a hot loop. Kubernetes keys a
``flowcontrol.Backoff`` by DaemonSet and node: the first failed pod is
deleted at once, and each further one only once the current delay (1 s,
doubling up to 15 min) has passed since the last deletion; an entry
untouched for twice the maximum is forgotten. The controller keeps one
:class:`FailureBackoff` per node of each DaemonSet; the planner reads them
and returns the updated ones.

Kubernetes: ``failedPodsBackoff`` in pkg/controller/daemon/daemon_controller.go
and ``Backoff`` in k8s.io/client-go/util/flowcontrol/backoff.go.
"""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "FailureBackoff",
    "backoff_remaining",
    "next_backoff",
]

BACKOFF_INITIAL = 1.0
"""Seconds: the first delay after a failed pod was deleted."""

BACKOFF_MAX = 15 * 60.0
"""Seconds: the delay never grows beyond this."""


@attrs.frozen(kw_only=True)
class FailureBackoff:
    """
    The back-off of one (DaemonSet, node) pair.

    Attributes:
        delay: Seconds to wait after ``last`` before deleting another failed pod.
        last: When a failed pod was last deleted.
    """

    delay: float = attrs.field(validator=attrs.validators.gt(0))
    last: dt.datetime


def _expired(entry: FailureBackoff, now: dt.datetime) -> bool:
    return (now - entry.last).total_seconds() > 2 * BACKOFF_MAX


def backoff_remaining(entry: FailureBackoff | None, now: dt.datetime) -> float:
    """
    Seconds before a failed pod may be deleted; ``0`` when it may be now.

    Kubernetes: ``IsInBackOffSinceUpdate``.
    """
    if entry is None or _expired(entry, now):
        return 0.0
    return max(0.0, entry.delay - (now - entry.last).total_seconds())


def next_backoff(entry: FailureBackoff | None, now: dt.datetime) -> FailureBackoff:
    """
    The entry after a failed pod is deleted at ``now``: delay doubled (capped), or initial.

    Kubernetes: ``Backoff.Next``.
    """
    if entry is None or _expired(entry, now):
        return FailureBackoff(delay=BACKOFF_INITIAL, last=now)
    return FailureBackoff(delay=min(entry.delay * 2, BACKOFF_MAX), last=now)
