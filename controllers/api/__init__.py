"""
Kubernetes kinds with their exact JSON field names, grouped like the API groups.

Rule: pure values. Modules here declare frozen ``attrs`` kinds with
``@reconcile.kind`` and convert them to and from Kubernetes JSON/YAML; they
perform no I/O and never import asyncio. Importing this package registers
every kind, so :func:`load` and :func:`load_all` find them by
``apiVersion``/``kind``.

* :mod:`controllers.api.core`: ``core/v1`` (Pod, Node, Namespace, Service,
  Endpoints, ConfigMap; Event and Lease re-exported from ``reconcile``);
* :mod:`controllers.api.apps`: ``apps/v1`` (ReplicaSet, Deployment, DaemonSet,
  ControllerRevision);
* :mod:`controllers.api.batch`: ``batch/v1`` (Job, CronJob);
* :mod:`controllers.api.discovery`: ``discovery.k8s.io/v1`` EndpointSlice;
* :mod:`controllers.api.manifests`: ``load``, ``dump`` and ``load_all``;
* :mod:`controllers.api.admission`: ``install_admission(cluster.admission)``
  registers Kubernetes' defaulting and validation.
"""

from __future__ import annotations

from controllers.api.admission import install as install_admission
from controllers.api.apps import (
    ControllerRevision,
    DaemonSet,
    DaemonSetSpec,
    DaemonSetStatus,
    DaemonSetUpdateStrategy,
    Deployment,
    DeploymentCondition,
    DeploymentSpec,
    DeploymentStatus,
    DeploymentStrategy,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
    RollingUpdateDaemonSet,
    RollingUpdateDeployment,
)
from controllers.api.batch import (
    CronJob,
    CronJobSpec,
    CronJobStatus,
    Job,
    JobCondition,
    JobSpec,
    JobStatus,
    JobTemplateSpec,
    PodFailurePolicy,
)
from controllers.api.common import IntOrString, Quantity, ResourceList
from controllers.api.core import (
    Affinity,
    ConfigMap,
    Container,
    ContainerPort,
    ContainerState,
    ContainerStatus,
    Endpoints,
    EnvVar,
    Event,
    Lease,
    Namespace,
    Node,
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    NodeSpec,
    NodeStatus,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodCondition,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    Probe,
    ResourceRequirements,
    Service,
    ServicePort,
    ServiceSpec,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from controllers.api.discovery import Endpoint, EndpointSlice, EndpointSlicePort
from controllers.api.manifests import dump, load, load_all

__all__ = [
    "Affinity",
    "ConfigMap",
    "Container",
    "ContainerPort",
    "ContainerState",
    "ContainerStatus",
    "ControllerRevision",
    "CronJob",
    "CronJobSpec",
    "CronJobStatus",
    "DaemonSet",
    "DaemonSetSpec",
    "DaemonSetStatus",
    "DaemonSetUpdateStrategy",
    "Deployment",
    "DeploymentCondition",
    "DeploymentSpec",
    "DeploymentStatus",
    "DeploymentStrategy",
    "Endpoint",
    "EndpointSlice",
    "EndpointSlicePort",
    "Endpoints",
    "EnvVar",
    "Event",
    "IntOrString",
    "Job",
    "JobCondition",
    "JobSpec",
    "JobStatus",
    "JobTemplateSpec",
    "Lease",
    "Namespace",
    "Node",
    "NodeAffinity",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "NodeSpec",
    "NodeStatus",
    "Pod",
    "PodAffinity",
    "PodAffinityTerm",
    "PodCondition",
    "PodFailurePolicy",
    "PodSpec",
    "PodStatus",
    "PodTemplateSpec",
    "Probe",
    "Quantity",
    "ReplicaSet",
    "ReplicaSetSpec",
    "ReplicaSetStatus",
    "ResourceList",
    "ResourceRequirements",
    "RollingUpdateDaemonSet",
    "RollingUpdateDeployment",
    "Service",
    "ServicePort",
    "ServiceSpec",
    "Taint",
    "Toleration",
    "TopologySpreadConstraint",
    "dump",
    "install_admission",
    "load",
    "load_all",
]
