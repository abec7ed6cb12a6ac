"""The ``last-change-trigger-time`` annotation: the earliest change a write publishes."""

from __future__ import annotations

import datetime as dt

import attrs

from controllers import Cluster, run
from controllers.api.core import Endpoints, Pod
from controllers.endpoints import (
    TRIGGER_TIME_ANNOTATION,
    TriggerTimes,
    format_trigger_time,
    plan,
    pod_trigger_time,
)
from tests.controllers.endpoints.builders import T0, pod, service
from tests.controllers.endpoints.test_scenarios import pod_yaml, service_yaml


def flipped_at(p: Pod, when: dt.datetime) -> Pod:
    """``p`` with its Ready condition flipped at ``when``."""
    (ready,) = p.status.conditions
    status = "False" if ready.status == "True" else "True"
    condition = attrs.evolve(ready, status=status, last_transition_time=when)
    return attrs.evolve(p, status=attrs.evolve(p.status, conditions=(condition,)))


def test_first_sync_takes_the_earliest_of_service_and_pods() -> None:
    """New Service: its creation or the earliest pod change, whichever is first."""
    times = TriggerTimes()
    late = flipped_at(pod("a"), T0 + dt.timedelta(seconds=30))
    assert T0 == times.compute(service(), [late, pod("b")])


def test_only_changes_since_the_last_sync_count() -> None:
    """Nothing changed: no time; one pod flipped: that pod's transition."""
    times = TriggerTimes()
    pods = [pod("a"), pod("b")]
    times.compute(service(), pods)
    assert times.compute(service(), pods) is None
    when = T0 + dt.timedelta(seconds=42)
    assert when == times.compute(service(), [pods[0], flipped_at(pods[1], when)])


def test_the_annotation_alone_never_causes_a_write() -> None:
    """A different trigger time with the same subsets plans nothing; a write carries it."""
    created = plan(service(), None, [pod("a")], trigger_time=T0).create
    assert created is not None
    assert "2026-01-01T00:00:00Z" == created.metadata.annotations[TRIGGER_TIME_ANNOTATION]
    later = T0 + dt.timedelta(seconds=1.5)
    assert plan(service(), created, [pod("a")], trigger_time=later).empty
    update = plan(service(), created, [pod("a", ready=False)], trigger_time=later).update
    assert update is not None
    assert "2026-01-01T00:00:01.5Z" == update.metadata.annotations[TRIGGER_TIME_ANNOTATION]


def test_a_readiness_flip_is_stamped_with_its_transition_time() -> None:
    """After a pod turns unready, the Endpoints says when its Ready condition changed."""

    async def main() -> tuple[str, str]:
        async with Cluster(nodes=1, seed=5) as cluster:
            await cluster.apply(service_yaml())
            await cluster.apply(pod_yaml("flaky", script="unready=10s.."))
            await cluster.advance(15)
            ep: Endpoints = cluster.get("endpoints", "web")
            when = pod_trigger_time(cluster.get("pod", "flaky"))
            assert when is not None
            return ep.metadata.annotations[TRIGGER_TIME_ANNOTATION], format_trigger_time(when)

    stamped, transition = run(main)
    assert transition == stamped
