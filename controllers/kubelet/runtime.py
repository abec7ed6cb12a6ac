"""
What a simulated node's container runtime knows about one pod: values only.

A real kubelet keeps this in memory and in containerd; the API only sees the
status the kubelet derives from it. Here it is a frozen :class:`PodRuntime`
that :func:`controllers.kubelet.lifecycle.advance` turns into the next one.
Times are seconds on the cluster clock (``datetime.timestamp()``), so that
arithmetic stays exact and cheap.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import attrs

from controllers.kubelet.script import ProbeKind, Script, Window
from reconcile import FrozenDict, Uid

__all__ = [
    "ContainerRun",
    "Override",
    "PodRuntime",
    "ProbeState",
    "Termination",
    "Timings",
    "from_seconds",
    "seconds",
]

State = Literal["waiting", "running", "terminated"]


def seconds(when: dt.datetime) -> float:
    """A clock reading as seconds since the epoch."""
    return when.timestamp()


def from_seconds(value: float) -> dt.datetime:
    """The status timestamp for ``value``: whole seconds, as Kubernetes stores times."""
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)


@attrs.frozen(kw_only=True)
class Timings:
    """
    How long the simulated runtime takes for what scripts do not say.

    Attributes:
        image_pull: Seconds to pull a container's image the first time the pod
            runs it (a script's ``pull=`` replaces it; restarts do not pull).
        container_start: Seconds from "image ready" (or the end of a restart
            back-off) until the process runs.
    """

    image_pull: float = 1.0
    container_start: float = 0.5


@attrs.frozen(kw_only=True)
class Termination:
    """How one run of a container ended (``lastState.terminated``)."""

    exit_code: int
    reason: str
    started_at: float
    finished_at: float
    message: str = ""


@attrs.frozen(kw_only=True)
class ProbeState:
    """Consecutive outcomes of one probe and when it runs next (``None``: not running)."""

    successes: int = 0
    failures: int = 0
    next_at: float | None = None


@attrs.frozen(kw_only=True)
class Override:
    """An injected fault: ``kind`` probes of one container fail (or pass) over ``window``."""

    kind: ProbeKind
    window: Window
    ok: bool = False


@attrs.frozen(kw_only=True)
class ContainerRun:
    """
    One container's life so far.

    ``state`` is what ``containerStatuses[].state`` shows. While waiting,
    ``due`` is when the process starts; while running, ``exit_at`` is when
    it exits by itself (``None``: it does not) with ``exit_code``.
    """

    name: str
    image: str
    init: bool = False
    state: State = "waiting"
    reason: str = "ContainerCreating"
    message: str = ""
    due: float | None = None
    restarts: int = 0
    crashes: int = 0
    started_at: float | None = None
    exit_at: float | None = None
    exit_code: int = 0
    stop_at: float | None = None
    terminated: Termination | None = None
    last: Termination | None = None
    started: bool = False
    ready: bool = False
    startup: ProbeState = attrs.field(factory=ProbeState)
    liveness: ProbeState = attrs.field(factory=ProbeState)
    readiness: ProbeState = attrs.field(factory=ProbeState)
    overrides: tuple[Override, ...] = ()
    script: Script = attrs.field(factory=Script)

    def probe(self, kind: ProbeKind) -> ProbeState:
        """The state of this container's ``kind`` probe."""
        if kind == "startup":
            return self.startup
        return self.liveness if kind == "liveness" else self.readiness

    def with_probe(self, kind: ProbeKind, state: ProbeState) -> ContainerRun:
        """A copy with ``state`` as the ``kind`` probe's state."""
        if kind == "startup":
            return attrs.evolve(self, startup=state)
        if kind == "liveness":
            return attrs.evolve(self, liveness=state)
        return attrs.evolve(self, readiness=state)


@attrs.frozen(kw_only=True)
class PodRuntime:
    """
    The node-local state of one pod: its sandbox and containers.

    ``uid`` ties it to one incarnation of the pod (a pod re-created under
    the same name is a new pod). ``init_done`` counts init containers that
    completed; main containers are created once it reaches their number.
    Once ``kill_at`` is set the pod is stopping: nothing restarts, and every
    container still running is killed by ``kill_deadline`` at the latest.
    """

    uid: Uid
    admitted_at: float
    pod_ip: str
    containers: FrozenDict[str, ContainerRun] = attrs.field(factory=FrozenDict)
    init_order: tuple[str, ...] = ()
    main_order: tuple[str, ...] = ()
    init_done: int = 0
    failed_init: bool = False
    kill_at: float | None = None
    kill_deadline: float | None = None
    deadline_exceeded: bool = False

    def run(self, name: str) -> ContainerRun:
        """The container called ``name``."""
        return self.containers[name]

    def with_run(self, run: ContainerRun) -> PodRuntime:
        """A copy with ``run`` in place of the container of the same name."""
        runs = dict(self.containers)
        runs[run.name] = run
        return attrs.evolve(self, containers=FrozenDict(runs))

    @property
    def initialized(self) -> bool:
        """Whether every init container has completed."""
        return self.init_done >= len(self.init_order)
