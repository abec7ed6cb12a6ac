"""
Containers of a pod (``core/v1``): what to run, how to probe it, and how it is doing.

Spec side: :class:`Container` with env, ports, resources and the three probes.
Status side: :class:`ContainerStatus` with ``waiting``/``running``/``terminated``
states. Rarely used sub-objects (``securityContext``, ``lifecycle``,
``envFrom``...) are kept as free-form :data:`reconcile.JSON` so real manifests
load and round-trip; they can be typed later without changing their JSON.
"""

from __future__ import annotations

# ``always`` returns an ``attrs.field`` declaration, not a shared mutable default,
# which RUF009 cannot tell apart.
# ruff: noqa: RUF009
import datetime as dt

import attrs

from controllers.api.common import IntOrString, ResourceList, always, renamed
from reconcile import JSON, FrozenDict

__all__ = [
    "ConfigMapKeySelector",
    "Container",
    "ContainerPort",
    "ContainerState",
    "ContainerStateRunning",
    "ContainerStateTerminated",
    "ContainerStateWaiting",
    "ContainerStatus",
    "EnvVar",
    "EnvVarSource",
    "ExecAction",
    "GRPCAction",
    "HTTPGetAction",
    "HTTPHeader",
    "ObjectFieldSelector",
    "Probe",
    "ResourceRequirements",
    "SecretKeySelector",
    "TCPSocketAction",
    "VolumeMount",
]


# -- environment -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ObjectFieldSelector:
    """``fieldRef``: a field of the pod (``metadata.name``, ``status.podIP``)."""

    field_path: str = always("")
    api_version: str = ""


@attrs.frozen(kw_only=True)
class ConfigMapKeySelector:
    """``configMapKeyRef``: one key of a ConfigMap."""

    key: str = always("")
    name: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretKeySelector:
    """``secretKeyRef``: one key of a Secret."""

    key: str = always("")
    name: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class EnvVarSource:
    """``valueFrom``: where an environment variable's value comes from."""

    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: JSON = None
    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None


@attrs.frozen(kw_only=True)
class EnvVar:
    """One environment variable: a literal ``value`` or a ``valueFrom`` source."""

    name: str = always("")
    value: str = ""
    value_from: EnvVarSource | None = None


# -- ports, resources, mounts ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ContainerPort:
    """A port the container listens on (``protocol`` defaults to TCP on the server)."""

    container_port: int = always(0)
    name: str = ""
    protocol: str = ""
    host_port: int = 0
    host_ip: str = renamed("hostIP", "")


@attrs.frozen(kw_only=True)
class ResourceRequirements:
    """``resources``: ``requests`` the scheduler reserves and ``limits`` the kubelet enforces."""

    requests: ResourceList = attrs.field(factory=FrozenDict)
    limits: ResourceList = attrs.field(factory=FrozenDict)
    claims: tuple[JSON, ...] = ()


@attrs.frozen(kw_only=True)
class VolumeMount:
    """A volume mounted into the container at ``mountPath``."""

    name: str = always("")
    mount_path: str = always("")
    read_only: bool = False
    sub_path: str = ""
    sub_path_expr: str = ""
    mount_propagation: str | None = None
    recursive_read_only: str | None = None


# -- probes --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ExecAction:
    """Run ``command`` in the container; exit status 0 is success."""

    command: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class HTTPHeader:
    """One request header of an HTTP probe."""

    name: str = always("")
    value: str = always("")


@attrs.frozen(kw_only=True)
class HTTPGetAction:
    """GET ``scheme://host:port/path``; a status in 200..399 is success."""

    port: IntOrString = always(0)
    path: str = ""
    host: str = ""
    scheme: str = ""
    http_headers: tuple[HTTPHeader, ...] = ()


@attrs.frozen(kw_only=True)
class TCPSocketAction:
    """Open a TCP connection to ``port``; connecting is success."""

    port: IntOrString = always(0)
    host: str = ""


@attrs.frozen(kw_only=True)
class GRPCAction:
    """Call the gRPC health service on ``port``."""

    port: int = always(0)
    service: str | None = None


@attrs.frozen(kw_only=True)
class Probe:
    """
    A startup, liveness or readiness probe: one handler plus its schedule.

    Zero timings mean "unset" (the server defaults them: period 10 s, timeout
    1 s, success 1, failure 3).
    """

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int = 0
    timeout_seconds: int = 0
    period_seconds: int = 0
    success_threshold: int = 0
    failure_threshold: int = 0
    termination_grace_period_seconds: int | None = None


# -- the container ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Container:
    """One container of a pod (also the shape of init containers)."""

    name: str = always("")
    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str = ""
    ports: tuple[ContainerPort, ...] = ()
    env_from: tuple[JSON, ...] = ()
    env: tuple[EnvVar, ...] = ()
    resources: ResourceRequirements | None = None
    resize_policy: tuple[JSON, ...] = ()
    restart_policy: str | None = None
    volume_mounts: tuple[VolumeMount, ...] = ()
    volume_devices: tuple[JSON, ...] = ()
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: JSON = None
    termination_message_path: str = ""
    termination_message_policy: str = ""
    image_pull_policy: str = ""
    security_context: JSON = None
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False

    @property
    def requests(self) -> ResourceList:
        """``resources.requests`` (empty when ``resources`` is unset)."""
        return self.resources.requests if self.resources else FrozenDict()

    @property
    def limits(self) -> ResourceList:
        """``resources.limits`` (empty when ``resources`` is unset)."""
        return self.resources.limits if self.resources else FrozenDict()


# -- status ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ContainerStateWaiting:
    """Not running yet: ``ContainerCreating``, ``PodInitializing``, ``CrashLoopBackOff``..."""

    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class ContainerStateRunning:
    """Running since ``startedAt``."""

    started_at: dt.datetime | None = always()


@attrs.frozen(kw_only=True)
class ContainerStateTerminated:
    """Exited with ``exitCode`` (reason ``Completed``, ``Error``, ``OOMKilled``...)."""

    exit_code: int = always(0)
    signal: int = 0
    reason: str = ""
    message: str = ""
    started_at: dt.datetime | None = always()
    finished_at: dt.datetime | None = always()
    container_id: str = renamed("containerID", "")


@attrs.frozen(kw_only=True)
class ContainerState:
    """At most one of ``waiting``, ``running`` and ``terminated`` is set; none means waiting."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


@attrs.frozen(kw_only=True)
class ContainerStatus:
    """What the kubelet last saw of one container."""

    name: str = always("")
    state: ContainerState = always(factory=ContainerState)
    last_state: ContainerState = always(factory=ContainerState)
    ready: bool = always(False)
    restart_count: int = always(0)
    image: str = always("")
    image_id: str = always("", json="imageID")
    container_id: str = renamed("containerID", "")
    started: bool | None = None
    allocated_resources: ResourceList = attrs.field(factory=FrozenDict)
    resources: ResourceRequirements | None = None
    volume_mounts: tuple[JSON, ...] = ()
    user: JSON = None
    allocated_resources_status: tuple[JSON, ...] = ()
    stop_signal: str | None = None
