"""
Server-side defaulting, as the Kubernetes API server applies it on every write.

Each ``default_<kind>`` is a pure function from an object to the same object
with its unset fields filled in, mirroring ``SetDefaults_*`` in
``pkg/apis/{core,apps,batch}/v1/defaults.go``; :func:`default_pod` also adds
the two ``NoExecute`` tolerations the ``DefaultTolerationSeconds`` admission
plugin adds to pods (not to pod templates, as in Kubernetes).

Contract: every function is idempotent (``f(f(x)) == f(x)``) and only fills
fields that are unset (``None``, ``""`` or ``0`` where the kind declares zero as
"unset"); a value the user wrote is never changed. Objects that need no
defaults are returned as they are, so an unchanged object stays ``is``-equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from controllers.api.apps import (
    DaemonSet,
    DaemonSetUpdateStrategy,
    DaemonSetUpdateStrategyType,
    Deployment,
    DeploymentStrategy,
    DeploymentStrategyType,
    ReplicaSet,
    RollingUpdateDaemonSet,
    RollingUpdateDeployment,
)
from controllers.api.batch import (
    CompletionMode,
    ConcurrencyPolicy,
    CronJob,
    Job,
    JobSpec,
    PodReplacementPolicy,
)
from controllers.api.container import Container, ContainerPort, Probe
from controllers.api.core import Service, ServicePort
from controllers.api.pod import Pod, PodSpec, PodTemplateSpec
from controllers.api.scheduling import Toleration

__all__ = [
    "DEFAULT_TOLERATION_SECONDS",
    "NOT_READY_TAINT",
    "UNREACHABLE_TAINT",
    "default_container",
    "default_cron_job",
    "default_daemon_set",
    "default_deployment",
    "default_job",
    "default_pod",
    "default_pod_spec",
    "default_probe",
    "default_replica_set",
    "default_service",
]

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300

T = TypeVar("T")


def _each(items: tuple[T, ...], fn: Callable[[T], T]) -> tuple[T, ...]:
    """``fn`` applied to every item, or ``items`` itself when nothing changed."""
    new = tuple(fn(item) for item in items)
    return items if new == items else new


def _evolve(obj: T, **changes: object) -> T:
    """``attrs.evolve`` that keeps ``obj`` when no field actually changes."""
    if all(getattr(obj, name) == value for name, value in changes.items()):
        return obj
    return attrs.evolve(obj, **changes)  # type: ignore[misc]


# -- pods --------------------------------------------------------------------------------


def default_probe(probe: Probe) -> Probe:
    """``timeoutSeconds`` 1, ``periodSeconds`` 10, thresholds 1 and 3; HTTP GET ``/``."""
    http_get = probe.http_get
    if http_get is not None:
        http_get = _evolve(http_get, path=http_get.path or "/", scheme=http_get.scheme or "HTTP")
    return _evolve(
        probe,
        http_get=http_get,
        timeout_seconds=probe.timeout_seconds or 1,
        period_seconds=probe.period_seconds or 10,
        success_threshold=probe.success_threshold or 1,
        failure_threshold=probe.failure_threshold or 3,
    )


def _image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or no tag, else ``IfNotPresent`` (digests included)."""
    if "@" in image:
        return "IfNotPresent"
    name = image.rsplit("/", 1)[-1]
    tag = name.rsplit(":", 1)[1] if ":" in name else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_port(port: ContainerPort) -> ContainerPort:
    return _evolve(port, protocol=port.protocol or "TCP")


def _maybe_probe(probe: Probe | None) -> Probe | None:
    return None if probe is None else default_probe(probe)


def default_container(container: Container) -> Container:
    """Pull policy, termination message path/policy, port protocols and probe timings."""
    return _evolve(
        container,
        image_pull_policy=container.image_pull_policy or _image_pull_policy(container.image),
        termination_message_path=container.termination_message_path or "/dev/termination-log",
        termination_message_policy=container.termination_message_policy or "File",
        ports=_each(container.ports, _default_port),
        liveness_probe=_maybe_probe(container.liveness_probe),
        readiness_probe=_maybe_probe(container.readiness_probe),
        startup_probe=_maybe_probe(container.startup_probe),
    )


def _containers(containers: tuple[Container, ...]) -> tuple[Container, ...]:
    """:func:`default_container` of each, remembering the results by identity."""
    # A binding or a status write carries the stored, defaulted tuple.
    known = _recall(containers)
    if known is not None:
        return known
    return _remember(containers, _each(containers, default_container))


def default_pod_spec(spec: PodSpec) -> PodSpec:
    """``SetDefaults_PodSpec`` plus the defaults of every (init) container."""
    grace = spec.termination_grace_period_seconds
    return _evolve(
        spec,
        restart_policy=spec.restart_policy or "Always",
        termination_grace_period_seconds=30 if grace is None else grace,
        dns_policy=spec.dns_policy or "ClusterFirst",
        scheduler_name=spec.scheduler_name or "default-scheduler",
        init_containers=_each(spec.init_containers, default_container),
        containers=_containers(spec.containers),
    )


def _default_template(template: PodTemplateSpec) -> PodTemplateSpec:
    return _evolve(template, spec=default_pod_spec(template.spec))


def _tolerates(tolerations: tuple[Toleration, ...], key: str) -> bool:
    """Whether some toleration covers ``key``'s ``NoExecute`` taint (DefaultTolerationSeconds)."""
    return any(t.key in (key, "") and t.effect in ("NoExecute", "") for t in tolerations)


def _default_tolerations(tolerations: tuple[Toleration, ...]) -> tuple[Toleration, ...]:
    added = tuple(
        Toleration(
            key=key,
            operator="Exists",
            effect="NoExecute",
            toleration_seconds=DEFAULT_TOLERATION_SECONDS,
        )
        for key in (NOT_READY_TAINT, UNREACHABLE_TAINT)
        if not _tolerates(tolerations, key)
    )
    return tolerations + added if added else tolerations


_DEFAULTED: dict[int, tuple[Any, Any]] = {}
"""
Pod specs and container tuples already defaulted, by identity: ``id(value)``
to ``(value, its defaults)`` (both kept alive, so ids stay unique). Writes
mostly carry stored, already defaulted values (status writes, bindings), and
a ReplicaSet creates all its pods from one template value: defaulting them
again would only rebuild equal values, one copy per pod.
"""
_DEFAULTED_MAX = 65_536


def _recall(value: T) -> T | None:
    known = _DEFAULTED.get(id(value))
    return known[1] if known is not None and known[0] is value else None


def _remember(value: T, defaulted: T) -> T:
    while len(_DEFAULTED) >= _DEFAULTED_MAX - 1:
        del _DEFAULTED[next(iter(_DEFAULTED))]
    _DEFAULTED[id(value)] = (value, defaulted)
    if defaulted is not value:
        _DEFAULTED[id(defaulted)] = (defaulted, defaulted)
    return defaulted


def default_pod(pod: Pod) -> Pod:
    """Pod spec defaults plus the not-ready/unreachable tolerations (300 s)."""
    spec = _recall(pod.spec)
    if spec is None:
        full = default_pod_spec(pod.spec)
        spec = _remember(
            pod.spec, _evolve(full, tolerations=_default_tolerations(full.tolerations))
        )
    return pod if spec is pod.spec else attrs.evolve(pod, spec=spec)


# -- services ------------------------------------------------------------------------------


def _default_service_port(port: ServicePort) -> ServicePort:
    target = port.target_port
    return _evolve(
        port,
        protocol=port.protocol or "TCP",
        target_port=port.port if target is None or target in (0, "") else target,
    )


def default_service(service: Service) -> Service:
    """``type`` ClusterIP, ``sessionAffinity`` None; ports TCP, ``targetPort`` = ``port``."""
    spec = service.spec
    spec = _evolve(
        spec,
        type=spec.type or "ClusterIP",
        session_affinity=spec.session_affinity or "None",
        ports=_each(spec.ports, _default_service_port),
    )
    return _evolve(service, spec=spec)


# -- apps/v1 -------------------------------------------------------------------------------


def _default_deployment_strategy(strategy: DeploymentStrategy) -> DeploymentStrategy:
    kind = strategy.type or DeploymentStrategyType.ROLLING_UPDATE
    rolling = strategy.rolling_update
    if kind is DeploymentStrategyType.ROLLING_UPDATE:
        rolling = rolling or RollingUpdateDeployment()
        rolling = _evolve(
            rolling,
            max_unavailable="25%" if rolling.max_unavailable is None else rolling.max_unavailable,
            max_surge="25%" if rolling.max_surge is None else rolling.max_surge,
        )
    return _evolve(strategy, type=kind, rolling_update=rolling)


def default_deployment(deployment: Deployment) -> Deployment:
    """Replicas 1, RollingUpdate 25%/25%, history 10, deadline 600 s, template defaults."""
    spec = deployment.spec
    spec = _evolve(
        spec,
        replicas=1 if spec.replicas is None else spec.replicas,
        strategy=_default_deployment_strategy(spec.strategy),
        revision_history_limit=(
            10 if spec.revision_history_limit is None else spec.revision_history_limit
        ),
        progress_deadline_seconds=(
            600 if spec.progress_deadline_seconds is None else spec.progress_deadline_seconds
        ),
        template=_default_template(spec.template),
    )
    return _evolve(deployment, spec=spec)


def default_replica_set(replica_set: ReplicaSet) -> ReplicaSet:
    """Replicas 1 and template defaults."""
    spec = replica_set.spec
    spec = _evolve(
        spec,
        replicas=1 if spec.replicas is None else spec.replicas,
        template=_default_template(spec.template),
    )
    return _evolve(replica_set, spec=spec)


def _default_daemon_set_strategy(strategy: DaemonSetUpdateStrategy) -> DaemonSetUpdateStrategy:
    kind = strategy.type or DaemonSetUpdateStrategyType.ROLLING_UPDATE
    rolling = strategy.rolling_update
    if kind is DaemonSetUpdateStrategyType.ROLLING_UPDATE:
        rolling = rolling or RollingUpdateDaemonSet()
        rolling = _evolve(
            rolling,
            max_unavailable=1 if rolling.max_unavailable is None else rolling.max_unavailable,
            max_surge=0 if rolling.max_surge is None else rolling.max_surge,
        )
    return _evolve(strategy, type=kind, rolling_update=rolling)


def default_daemon_set(daemon_set: DaemonSet) -> DaemonSet:
    """RollingUpdate (max unavailable 1, max surge 0), history 10, template defaults."""
    spec = daemon_set.spec
    spec = _evolve(
        spec,
        update_strategy=_default_daemon_set_strategy(spec.update_strategy),
        revision_history_limit=(
            10 if spec.revision_history_limit is None else spec.revision_history_limit
        ),
        template=_default_template(spec.template),
    )
    return _evolve(daemon_set, spec=spec)


# -- batch/v1 ------------------------------------------------------------------------------


def _default_job_spec(spec: JobSpec) -> JobSpec:
    completions, parallelism = spec.completions, spec.parallelism
    if completions is None and parallelism is None:
        completions = 1
    if spec.backoff_limit is not None:
        backoff_limit = spec.backoff_limit
    else:
        backoff_limit = 6 if spec.backoff_limit_per_index is None else 2**31 - 1
    replacement = spec.pod_replacement_policy or (
        PodReplacementPolicy.FAILED
        if spec.pod_failure_policy is not None
        else PodReplacementPolicy.TERMINATING_OR_FAILED
    )
    return _evolve(
        spec,
        completions=completions,
        parallelism=1 if parallelism is None else parallelism,
        backoff_limit=backoff_limit,
        completion_mode=spec.completion_mode or CompletionMode.NON_INDEXED,
        suspend=False if spec.suspend is None else spec.suspend,
        manual_selector=False if spec.manual_selector is None else spec.manual_selector,
        pod_replacement_policy=replacement,
        template=_default_template(spec.template),
    )


def default_job(job: Job) -> Job:
    """
    Completions/parallelism 1 (parallelism alone for work queues), backoff limit 6.

    Also ``completionMode`` NonIndexed, ``suspend`` false, ``manualSelector``
    false, ``podReplacementPolicy`` and the template defaults. The template's
    ``restartPolicy`` becomes ``Always`` when unset, which Job validation then
    refuses, exactly as Kubernetes does.
    """
    return _evolve(job, spec=_default_job_spec(job.spec))


def default_cron_job(cron_job: CronJob) -> CronJob:
    """``concurrencyPolicy`` Allow, not suspended, keep 3 successful and 1 failed Job."""
    spec = cron_job.spec
    job_template = spec.job_template
    job_spec = job_template.spec
    job_template = _evolve(
        job_template,
        spec=_evolve(job_spec, template=_default_template(job_spec.template)),
    )
    spec = _evolve(
        spec,
        concurrency_policy=spec.concurrency_policy or ConcurrencyPolicy.ALLOW,
        suspend=False if spec.suspend is None else spec.suspend,
        successful_jobs_history_limit=(
            3 if spec.successful_jobs_history_limit is None else spec.successful_jobs_history_limit
        ),
        failed_jobs_history_limit=(
            1 if spec.failed_jobs_history_limit is None else spec.failed_jobs_history_limit
        ),
        job_template=job_template,
    )
    return _evolve(cron_job, spec=spec)
