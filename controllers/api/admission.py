"""
The workload kinds' admission chain: Kubernetes' defaulting, then its validation.

:func:`install` registers, for every kind that has rules, the defaulter of
:mod:`controllers.api.defaults` and the validator of
:mod:`controllers.api.validation` with a cluster's :class:`reconcile.Admission`
(``MemoryCluster.admission``). Kinds without rules (Node, ConfigMap, ...) get
no hooks and cost nothing.
"""

from __future__ import annotations

from controllers.api.apps import DaemonSet, Deployment, ReplicaSet
from controllers.api.batch import CronJob, Job
from controllers.api.core import Service
from controllers.api.defaults import (
    default_cron_job,
    default_daemon_set,
    default_deployment,
    default_job,
    default_pod,
    default_replica_set,
    default_service,
)
from controllers.api.pod import Pod
from controllers.api.serviceips import ClusterIPs
from controllers.api.validation import (
    validate_cron_job,
    validate_daemon_set,
    validate_deployment,
    validate_job,
    validate_pod,
    validate_replica_set,
)
from reconcile import Admission

__all__ = ["install"]


def install(admission: Admission) -> None:
    """
    Register defaulting and validation for Pod, Service and the workload kinds.

    Services also get their cluster IPs here (:mod:`controllers.api.serviceips`).

    Call it once per cluster (hooks append, so a second call runs them twice,
    which is harmless but wasteful): ``install(cluster.admission)``.
    """
    admission.register(Pod, defaulter=default_pod, validator=validate_pod)
    ips = ClusterIPs()  # one allocator per cluster
    admission.register(
        Service, defaulter=default_service, mutator=ips.mutate, validator=ips.validate
    )
    admission.register(Deployment, defaulter=default_deployment, validator=validate_deployment)
    admission.register(ReplicaSet, defaulter=default_replica_set, validator=validate_replica_set)
    admission.register(DaemonSet, defaulter=default_daemon_set, validator=validate_daemon_set)
    admission.register(Job, defaulter=default_job, validator=validate_job)
    admission.register(CronJob, defaulter=default_cron_job, validator=validate_cron_job)
