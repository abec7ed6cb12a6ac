"""
The pods a Job creates, and facts about them. Pure.

Kubernetes: ``GetPodFromTemplate`` (pkg/controller/controller_utils.go) with
the Job's additions in ``job_controller.go`` and ``indexed_job_utils.go``:
the tracking finalizer, the Job's labels and, for Indexed Jobs, the
completion index as annotation, label, environment variable and hostname.
"""

from __future__ import annotations

import attrs

from controllers.api.batch import CompletionMode, Job
from controllers.api.container import Container, EnvVar, EnvVarSource, ObjectFieldSelector
from controllers.api.core import Pod
from controllers.job.indexes import COMPLETION_INDEX, COMPLETION_INDEX_ENV
from reconcile import FrozenDict, ObjectMeta, owner_reference_to

__all__ = [
    "CONTROLLER_UID_LABEL",
    "INDEX_FAILURE_COUNT",
    "INDEX_IGNORED_FAILURE_COUNT",
    "JOB_NAME_LABEL",
    "JOB_TRACKING_FINALIZER",
    "has_tracking_finalizer",
    "is_indexed",
    "pod_from_template",
]

JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
"""Every pod a Job creates carries it until the Job has counted the pod's outcome."""

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"


def is_indexed(job: Job) -> bool:
    """Whether ``job`` has ``completionMode: Indexed``."""
    return job.spec.completion_mode is CompletionMode.INDEXED


def has_tracking_finalizer(pod: Pod) -> bool:
    """Whether ``pod`` still carries :data:`JOB_TRACKING_FINALIZER` (its outcome is uncounted)."""
    return JOB_TRACKING_FINALIZER in pod.metadata.finalizers


_INDEX_FIELD = f"metadata.labels['{COMPLETION_INDEX}']"


def _with_index_env(container: Container) -> Container:
    if any(e.name == COMPLETION_INDEX_ENV for e in container.env):
        return container
    # Read from the pod's own label, as upstream does, so the value is never out of step.
    source = EnvVarSource(field_ref=ObjectFieldSelector(field_path=_INDEX_FIELD, api_version="v1"))
    env = EnvVar(name=COMPLETION_INDEX_ENV, value_from=source)
    return attrs.evolve(container, env=(*container.env, env))


def pod_from_template(
    job: Job, index: int | None = None, *, failures: tuple[int, int] | None = None
) -> Pod:
    """
    A new pod for ``job``, controlled by it, with the tracking finalizer.

    Labels add ``batch.kubernetes.io/job-name`` and
    ``batch.kubernetes.io/controller-uid``. With an ``index`` (Indexed Jobs),
    the pod gets annotation and label ``batch.kubernetes.io/job-completion-index``,
    env ``JOB_COMPLETION_INDEX`` in every container (a ``fieldRef`` to that
    label), hostname ``<job>-<index>``
    (unless the template sets one) and ``generateName: <job>-<index>-``;
    otherwise ``generateName: <job>-``. ``failures`` (with
    ``backoffLimitPerIndex``) are the index's failure and ignored-failure
    counts, written as annotations (the ignored one only when non-zero).
    """
    template = job.spec.template
    labels = {
        **template.metadata.labels,
        JOB_NAME_LABEL: job.metadata.name,
        CONTROLLER_UID_LABEL: job.metadata.uid,
    }
    annotations = dict(template.metadata.annotations)
    spec = template.spec
    prefix = f"{job.metadata.name}-"
    if index is not None:
        text = str(index)
        labels[COMPLETION_INDEX] = text
        annotations[COMPLETION_INDEX] = text
        prefix = f"{job.metadata.name}-{text}-"
        if failures is not None:
            annotations[INDEX_FAILURE_COUNT] = str(failures[0])
            if failures[1]:
                annotations[INDEX_IGNORED_FAILURE_COUNT] = str(failures[1])
        spec = attrs.evolve(
            spec,
            containers=tuple(_with_index_env(c) for c in spec.containers),
            init_containers=tuple(_with_index_env(c) for c in spec.init_containers),
            hostname=spec.hostname or f"{job.metadata.name}-{text}",
        )
    finalizers = template.metadata.finalizers
    if JOB_TRACKING_FINALIZER not in finalizers:
        finalizers = (*finalizers, JOB_TRACKING_FINALIZER)
    meta = ObjectMeta(
        generate_name=prefix,
        namespace=job.metadata.namespace,
        labels=FrozenDict(labels),
        annotations=FrozenDict(annotations),
        finalizers=finalizers,
        owner_references=(owner_reference_to(job),),
    )
    return Pod(metadata=meta, spec=spec)
