"""
The ``last-change-trigger-time`` annotation: when the change a write reflects began.

Kubernetes: ``TriggerTimeTracker`` (staging/src/k8s.io/endpointslice/trigger_time_tracker.go),
used by the latency SLI of "pod ready to endpoint updated". A pod's trigger
time is its ``Ready`` condition's last transition; a Service's is its
creation. Each sync takes the **earliest** trigger time among the pods
whose trigger time moved since the Service's last sync (and the Service
itself on its first sync or when it was recreated), so the annotation
tells how old the oldest change now being published is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import final

import attrs

from controllers.api.core import Pod, Service
from reconcile import ObjectKey

__all__ = ["TRIGGER_TIME_ANNOTATION", "TriggerTimes", "format_trigger_time", "pod_trigger_time"]

TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"


def pod_trigger_time(pod: Pod) -> dt.datetime | None:
    """The last transition of the pod's ``Ready`` condition, if it has one."""
    for condition in pod.status.conditions:
        if condition.type == "Ready":
            return condition.last_transition_time
    return None


def format_trigger_time(when: dt.datetime) -> str:
    """RFC 3339 in UTC with the fraction's trailing zeros dropped (Go's ``RFC3339Nano``)."""
    text = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


@attrs.frozen
class _State:
    service: dt.datetime | None
    pods: dict[str, dt.datetime | None]


@final
@attrs.define(eq=False)
class TriggerTimes:
    """What each Service's last sync saw, to find what changed since (one per controller)."""

    _states: dict[ObjectKey, _State] = attrs.field(factory=dict, init=False)

    def compute(self, service: Service, pods: Iterable[Pod]) -> dt.datetime | None:
        """
        The earliest trigger time changed since the last call for ``service``; records the new.

        ``None`` when nothing changed (or no time is known).
        """
        key = service.metadata.key
        previous = self._states.get(key)
        created = service.metadata.creation_timestamp
        times: list[dt.datetime] = []
        if (previous is None or previous.service != created) and created is not None:
            times.append(created)
        seen: dict[str, dt.datetime | None] = {}
        for pod in pods:
            when = pod_trigger_time(pod)
            name = pod.metadata.name
            seen[name] = when
            before = None if previous is None else previous.pods.get(name)
            if when is not None and (before is None or before < when):
                times.append(when)
        self._states[key] = _State(service=created, pods=seen)
        return min(times) if times else None

    def forget(self, key: ObjectKey) -> None:
        """The Service is gone: drop what was remembered of it."""
        self._states.pop(key, None)
