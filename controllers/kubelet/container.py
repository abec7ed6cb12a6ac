"""
One container's transitions in the simulated runtime: pure, no I/O.

Each function takes a :class:`~controllers.kubelet.runtime.ContainerRun` and
a time and returns the next run, appending what the kubelet reports to
``happened``: :func:`create` schedules the image pull and first start,
:func:`start` starts (or restarts) it and schedules its exit and first probe
ticks, :func:`terminate` records its exit, and :func:`probe` plays one probe
tick. What follows for the pod (the next init container, a restart after
back-off, failing the pod) is decided by :mod:`controllers.kubelet.lifecycle`,
which plays these transitions in time order.

Probes follow Kubernetes: the startup probe gates liveness and readiness;
``failureThreshold`` consecutive liveness (or startup) failures kill the
container with :data:`EXIT_KILLED`; readiness only flips ``ready``.
Thresholds and the period default as the API server does. Ticks whose
outcome cannot change anything are skipped, so an idle pod costs nothing.
"""

from __future__ import annotations

import math

import attrs

from controllers.api.container import Container, Probe
from controllers.kubelet.runtime import ContainerRun, ProbeState, Termination, Timings
from controllers.kubelet.script import ProbeKind

__all__ = ["EXIT_KILLED", "Happening", "create", "probe", "start", "terminate"]

EXIT_KILLED = 137
"""Exit code of a container killed with SIGKILL (128 + 9)."""

_PROBE_DEFAULTS = {"period": 10, "success": 1, "failure": 3}


@attrs.frozen(kw_only=True)
class Happening:
    """Something the kubelet reports as an Event on the pod (Kubernetes' reason and message)."""

    time: float
    reason: str
    message: str
    warning: bool = False


def create(
    run: ContainerRun, at: float, timings: Timings, *, initialized: bool = True
) -> ContainerRun:
    """Schedule the first start of ``run``: pull its image, then start it."""
    if run.reason == "CreateContainerConfigError":
        return run
    pull = run.script.pull or timings.image_pull
    reason = "ContainerCreating" if initialized else "PodInitializing"
    return attrs.evolve(run, reason=reason, due=at + pull + timings.container_start)


def start(run: ContainerRun, spec: Container, at: float, happened: list[Happening]) -> ContainerRun:
    """Start ``run`` at ``at`` (a restart if it ran before): schedule its exit and probes."""
    restarted = run.last is not None or run.terminated is not None
    restarts = run.restarts + 1 if restarted else run.restarts
    if not restarted:
        happened.append(
            Happening(time=at, reason="Pulled", message=f'Container image "{run.image}" is ready')
        )
    happened.append(Happening(time=at, reason="Created", message=f"Created container {run.name}"))
    happened.append(Happening(time=at, reason="Started", message=f"Started container {run.name}"))
    exit_plan = run.script.exit(restarts)
    startup = _probe_of(spec, "startup")
    started = startup is None
    return attrs.evolve(
        run,
        state="running",
        reason="",
        message="",
        due=None,
        restarts=restarts,
        started_at=at,
        exit_at=None if exit_plan is None else at + exit_plan[0],
        exit_code=0 if exit_plan is None else exit_plan[1],
        terminated=None,
        last=run.terminated or run.last,
        started=started,
        ready=started and spec.readiness_probe is None,
        startup=_first_tick(startup, at, at),
        liveness=_first_tick(spec.liveness_probe, at, at) if started else ProbeState(),
        readiness=_first_tick(spec.readiness_probe, at, at) if started else ProbeState(),
    )


def terminate(run: ContainerRun, at: float, code: int, reason: str = "") -> ContainerRun:
    """The running ``run`` exited at ``at`` with ``code``: no more exits, stops or probes."""
    assert run.started_at is not None
    ended = Termination(
        exit_code=code,
        reason=reason or ("Completed" if code == 0 else "Error"),
        started_at=run.started_at,
        finished_at=at,
    )
    return attrs.evolve(
        run,
        state="terminated",
        reason=ended.reason,
        terminated=ended,
        exit_at=None,
        stop_at=None,
        started=False,
        ready=False,
        startup=ProbeState(),
        liveness=ProbeState(),
        readiness=ProbeState(),
    )


def probe(
    run: ContainerRun, spec: Container, kind: ProbeKind, *, at: float, happened: list[Happening]
) -> ContainerRun:
    """
    Play the ``kind`` probe tick of the running ``run`` due at ``at``.

    Returns:
        The run with its probe counters, ``started`` and ``ready`` updated and
        the next tick scheduled; or, when a startup or liveness probe reached
        its failure threshold, the run terminated with :data:`EXIT_KILLED`
        (the caller decides what follows the exit).
    """
    configured = _probe_of(spec, kind)
    if configured is None:  # the spec changed under a running container: stop probing
        return run.with_probe(kind, ProbeState())
    ok = _outcome(run, kind, configured, at)
    state = run.probe(kind)
    state = ProbeState(
        successes=state.successes + 1 if ok else 0,
        failures=0 if ok else state.failures + 1,
    )
    period = _timing(configured, "period")
    enough = state.successes >= _timing(configured, "success")
    fatal = state.failures >= _timing(configured, "failure")
    title = kind.capitalize()
    if not ok:
        happened.append(
            Happening(time=at, reason="Unhealthy", message=f"{title} probe failed", warning=True)
        )
    ready = run.ready
    if kind in ("startup", "liveness") and fatal:
        happened.append(
            Happening(
                time=at,
                reason="Killing",
                message=f"Container {run.name} failed {kind} probe, will be restarted",
            )
        )
        return terminate(run, at, EXIT_KILLED)
    if kind == "startup":
        if not enough:
            return attrs.evolve(run, startup=_tick(state, at, period))
        assert run.started_at is not None
        return attrs.evolve(
            run,
            started=True,
            ready=spec.readiness_probe is None,
            startup=ProbeState(),
            liveness=_first_tick(spec.liveness_probe, run.started_at, at),
            readiness=_first_tick(spec.readiness_probe, run.started_at, at),
        )
    if kind == "readiness":
        ready = True if enough else (False if fatal else ready)
        steady = (ok and ready) or (not ok and not ready and fatal)
    else:
        steady = ok
    state = _tick(state, at, period)
    if steady:
        state = _skip(run, kind, configured, state, at=at, period=period)
    return attrs.evolve(run, ready=ready).with_probe(kind, state)


# -- probe helpers ---------------------------------------------------------------------------------


def _timing(probe: Probe, field: str) -> int:
    value: int = getattr(probe, f"{field}_threshold" if field != "period" else "period_seconds")
    return value or _PROBE_DEFAULTS[field]


def _probe_of(spec: Container, kind: ProbeKind) -> Probe | None:
    probe: Probe | None = getattr(spec, f"{kind}_probe")
    return probe


def _first_tick(probe: Probe | None, started_at: float, not_before: float) -> ProbeState:
    if probe is None:
        return ProbeState()
    return ProbeState(next_at=max(started_at + probe.initial_delay_seconds, not_before))


def _outcome(run: ContainerRun, kind: ProbeKind, probe: Probe, at: float) -> bool:
    for override in reversed(run.overrides):
        if override.kind == kind and at in override.window:
            return override.ok
    assert run.started_at is not None
    return run.script.probe_ok(kind, probe, at - run.started_at)


def _next_change(run: ContainerRun, kind: ProbeKind, probe: Probe, at: float) -> float | None:
    """The first time after ``at`` when the probe's outcome may change."""
    assert run.started_at is not None
    relative = run.script.next_change(kind, probe, at - run.started_at)
    edges = [] if relative is None else [run.started_at + relative]
    for override in run.overrides:
        if override.kind == kind:
            edges += [e for e in override.window.edges() if e > at]
    return min(edges, default=None)


def _tick(state: ProbeState, at: float, period: float) -> ProbeState:
    return attrs.evolve(state, next_at=at + period)


def _skip(
    run: ContainerRun, kind: ProbeKind, probe: Probe, state: ProbeState, *, at: float, period: float
) -> ProbeState:
    """
    Jump over ticks whose outcome cannot change anything.

    The counters are saturated and the outcome is steady until the next
    change, so the ticks before it would only repeat this one.
    """
    change = _next_change(run, kind, probe, at)
    if change is None:
        return attrs.evolve(state, next_at=None)
    ticks = max(1, math.ceil((change - at) / period - 1e-9))
    return attrs.evolve(state, next_at=at + ticks * period)
