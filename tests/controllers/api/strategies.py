"""Hypothesis strategies for the ``apps/v1`` kinds: small, valid, round-trippable values."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from controllers.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentSpec,
    DeploymentStatus,
    DeploymentStrategy,
    DeploymentStrategyType,
    RollingUpdateDeployment,
)
from controllers.api.core import PodTemplateSpec
from reconcile import ConditionStatus, LabelSelector, ObjectMeta

__all__ = ["deployment_strategies", "deployments", "int_or_string", "labels", "names"]

names = st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
labels = st.dictionaries(
    st.sampled_from(["app", "tier", "app.kubernetes.io/name"]),
    st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True),
    max_size=2,
)
timestamps = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
int_or_string = st.integers(0, 10) | st.integers(0, 100).map(lambda n: f"{n}%")
optional_count = st.none() | st.integers(0, 20)

deployment_strategies = st.one_of(
    st.just(DeploymentStrategy()),
    st.just(DeploymentStrategy(type=DeploymentStrategyType.RECREATE)),
    st.builds(
        DeploymentStrategy,
        type=st.none() | st.just(DeploymentStrategyType.ROLLING_UPDATE),
        rolling_update=st.none()
        | st.builds(
            RollingUpdateDeployment,
            max_unavailable=st.none() | int_or_string,
            max_surge=st.none() | int_or_string,
        ),
    ),
)

conditions = st.builds(
    DeploymentCondition,
    type=st.sampled_from(["Available", "Progressing", "ReplicaFailure"]),
    status=st.sampled_from(ConditionStatus),
    last_update_time=st.none() | timestamps,
    last_transition_time=st.none() | timestamps,
    reason=st.sampled_from(["", "MinimumReplicasAvailable", "ProgressDeadlineExceeded"]),
    message=st.text(max_size=20),
)

deployments = st.builds(
    Deployment,
    metadata=st.builds(ObjectMeta, name=names, namespace=names, labels=labels),
    spec=st.builds(
        DeploymentSpec,
        replicas=optional_count,
        selector=st.none() | labels.map(lambda m: LabelSelector(match_labels=m)),
        template=labels.map(lambda m: PodTemplateSpec(metadata=ObjectMeta(labels=m))),
        strategy=deployment_strategies,
        min_ready_seconds=st.integers(0, 30),
        revision_history_limit=optional_count,
        paused=st.booleans(),
        progress_deadline_seconds=optional_count,
    ),
    status=st.builds(
        DeploymentStatus,
        observed_generation=st.integers(0, 5),
        replicas=st.integers(0, 5),
        updated_replicas=st.integers(0, 5),
        ready_replicas=st.integers(0, 5),
        available_replicas=st.integers(0, 5),
        unavailable_replicas=st.integers(0, 5),
        terminating_replicas=optional_count,
        conditions=st.lists(conditions, max_size=2).map(tuple),
        collision_count=optional_count,
    ),
)
