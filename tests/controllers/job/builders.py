"""Jobs and pods for the Job controller's tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from controllers.api.batch import CompletionMode, Job, JobSpec, PodFailurePolicy
from controllers.api.container import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStatus,
)
from controllers.api.core import Pod, PodSpec, PodTemplateSpec
from controllers.api.defaults import default_job
from controllers.api.pod import PodCondition, PodStatus
from controllers.job import COMPLETION_INDEX, pod_from_template
from controllers.kubelet.script import SCRIPT_ANNOTATION_PREFIX
from reconcile import FrozenDict, ObjectMeta, Uid

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
CONTAINER = "main"


def at(seconds: float) -> dt.datetime:
    """``EPOCH`` plus ``seconds``."""
    return EPOCH + dt.timedelta(seconds=seconds)


def job(
    name: str = "work",
    *,
    completions: int | None = 1,
    parallelism: int | None = 1,
    backoff_limit: int | None = None,
    restart_policy: str = "Never",
    script: str | None = "exit=0@1s",
    indexed: bool = False,
    deadline: int | None = None,
    suspend: bool | None = None,
    ttl: int | None = None,
    policy: PodFailurePolicy | None = None,
    annotations: Mapping[str, str] | None = None,
    uid: str = "",
) -> Job:
    """A defaulted Job whose container follows ``script`` (``None``: runs until stopped)."""
    notes = dict(annotations or {})
    if script is not None:
        notes[f"{SCRIPT_ANNOTATION_PREFIX}{CONTAINER}"] = script
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels=FrozenDict({"app": name}), annotations=FrozenDict(notes)),
        spec=PodSpec(
            restart_policy=restart_policy,
            containers=(Container(name=CONTAINER, image="nginx"),),
        ),
    )
    spec = JobSpec(
        completions=completions,
        parallelism=parallelism,
        backoff_limit=backoff_limit,
        template=template,
        completion_mode=CompletionMode.INDEXED if indexed else None,
        active_deadline_seconds=deadline,
        suspend=suspend,
        ttl_seconds_after_finished=ttl,
        pod_failure_policy=policy,
    )
    meta = ObjectMeta(name=name, namespace="default", uid=Uid(uid) if uid else Uid(""))
    return default_job(Job(metadata=meta, spec=spec))


def stored(j: Job, uid: str = "job-uid") -> Job:
    """``j`` as the API server would store it (with a uid and creation time)."""
    return j.with_meta(uid=Uid(uid), creation_timestamp=EPOCH, resource_version="1")


def pod(
    j: Job,
    name: str,
    *,
    phase: str = "Running",
    index: int | None = None,
    exit_code: int | None = None,
    finished: float | None = None,
    created: float = 0.0,
    ready: bool = False,
    restarts: int = 0,
    conditions: tuple[PodCondition, ...] = (),
    deleting: float | None = None,
) -> Pod:
    """A pod of ``j`` in ``phase`` (terminated with ``exit_code`` at ``finished`` when given)."""
    if not j.metadata.uid:
        j = stored(j)
    base = pod_from_template(j, index)
    state = ContainerState(running=ContainerStateRunning(started_at=at(created)))
    if exit_code is not None:
        state = ContainerState(
            terminated=ContainerStateTerminated(
                exit_code=exit_code,
                started_at=at(created),
                finished_at=at(finished if finished is not None else created),
            )
        )
    status_conditions = list(conditions)
    if ready:
        status_conditions.append(
            PodCondition(type="Ready", status="True", last_transition_time=at(created))
        )
    status = PodStatus(
        phase=phase,
        conditions=tuple(status_conditions),
        container_statuses=(ContainerStatus(name=CONTAINER, state=state, restart_count=restarts),),
    )
    meta = attrs.evolve(
        base.metadata,
        name=name,
        uid=Uid(f"uid-{name}"),
        creation_timestamp=at(created),
        deletion_timestamp=None if deleting is None else at(deleting),
    )
    if index is not None:
        assert meta.annotations[COMPLETION_INDEX] == str(index)
    return attrs.evolve(base, metadata=meta, status=status)
