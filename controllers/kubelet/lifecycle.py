"""
The simulated container runtime's clock-work: pure, no I/O.

:func:`admit` creates the runtime of a pod the node accepts; :func:`advance`
plays every container event due up to ``now`` in time order (image pulls and
starts, exits, probe ticks, restarts after back-off, termination) and
returns the new runtime with the kubelet events it produced;
:func:`next_wake` says when the next one is due. Events happen at their own
times, not when :func:`advance` is called, so the result does not depend on
how often the kubelet looks (a late kubelet catches up to the same state).

One container's transitions (create, start, exit, a probe tick) live in
:mod:`controllers.kubelet.container`; this module orders them and decides
what concerns the pod: init sequencing, restarts and back-off, termination
and the deadline. :data:`EXIT_KILLED` and :class:`Happening` are re-exported
from there.

Kubernetes rules followed:

* init containers run one at a time, in order; the main containers are
  created together once all of them completed;
* ``restartPolicy``: ``Always`` restarts every exit, ``OnFailure`` non-zero
  exits, ``Never`` none; an init container that fails under ``Never`` fails
  the pod. Restarts wait :func:`crash_loop_delay` (``CrashLoopBackOff``);
* probes: the startup probe gates liveness and readiness; ``failureThreshold``
  consecutive liveness (or startup) failures kill the container (exit code
  137), which then restarts according to the policy; readiness only flips
  ``ready``. Thresholds and timings default as the API server does
  (see :func:`controllers.kubelet.container.probe`);
* deletion: every running container gets SIGTERM when the deletion is
  requested and stops after its script's ``stop=`` time, or is killed
  (exit code 137) when the grace period ends;
* ``activeDeadlineSeconds`` counts from admission and fails the pod with
  reason ``DeadlineExceeded``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import attrs

from controllers.api.container import Container
from controllers.api.pod import Pod
from controllers.kubelet.container import (
    EXIT_KILLED,
    Happening,
    create,
    probe,
    start,
    terminate,
)
from controllers.kubelet.runtime import ContainerRun, PodRuntime, ProbeState, Timings, seconds
from controllers.kubelet.script import Script, ScriptError, script_for
from reconcile import FrozenDict

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "BACKOFF_RESET",
    "EXIT_KILLED",
    "Happening",
    "admit",
    "advance",
    "crash_loop_delay",
    "finished",
    "next_wake",
    "stopped",
]

BACKOFF_INITIAL = 10.0
"""Seconds before the first restart of a container that exited."""
BACKOFF_MAX = 300.0
"""The restart back-off doubles up to this many seconds (five minutes)."""
BACKOFF_RESET = 600.0
"""A run this long (ten minutes) resets the back-off to its initial delay."""


def crash_loop_delay(crashes: int) -> float:
    """Back-off before the restart after ``crashes`` earlier back-offs: 10 s, 20 s, ... 300 s."""
    return min(BACKOFF_INITIAL * 2.0 ** min(crashes, 16), BACKOFF_MAX)


# -- admission --------------------------------------------------------------------------------


def _script(container: Container, pod: Pod) -> Script | str:
    try:
        return script_for(container, pod.metadata.annotations)
    except ScriptError as exc:
        return str(exc)


def admit(pod: Pod, *, now: float, pod_ip: str, timings: Timings) -> PodRuntime:
    """The runtime of ``pod`` as the node accepts it at ``now``: its first container is pulling."""
    runs: dict[str, ContainerRun] = {}
    for init, containers in ((True, pod.spec.init_containers), (False, pod.spec.containers)):
        for c in containers:
            script = _script(c, pod)
            if isinstance(script, str):
                run = ContainerRun(
                    name=c.name,
                    image=c.image,
                    init=init,
                    reason="CreateContainerConfigError",
                    message=script,
                )
            else:
                initializing = init or bool(pod.spec.init_containers)
                run = ContainerRun(
                    name=c.name,
                    image=c.image,
                    init=init,
                    script=script,
                    reason="PodInitializing" if initializing else "ContainerCreating",
                )
            runs[c.name] = run
    rt = PodRuntime(
        uid=pod.metadata.uid,
        admitted_at=now,
        pod_ip=pod_ip,
        containers=FrozenDict(runs),
        init_order=tuple(c.name for c in pod.spec.init_containers),
        main_order=tuple(c.name for c in pod.spec.containers),
    )
    return _create_next(rt, now, timings)


def _create_next(rt: PodRuntime, at: float, timings: Timings) -> PodRuntime:
    """Create the next init container, or every main container once init is done."""
    names = rt.main_order if rt.initialized else rt.init_order[rt.init_done : rt.init_done + 1]
    runs = dict(rt.containers)
    for name in names:
        runs[name] = create(runs[name], at, timings, initialized=rt.initialized)
    return attrs.evolve(rt, containers=FrozenDict(runs))


# -- the event loop -----------------------------------------------------------------------------

Action = Literal["kill", "deadline", "stop", "exit", "start", "startup", "liveness", "readiness"]
_PRIORITY: dict[Action, int] = {
    "kill": 0,
    "deadline": 1,
    "stop": 2,
    "exit": 3,
    "start": 4,
    "startup": 5,
    "liveness": 6,
    "readiness": 7,
}


def _due(pod: Pod, rt: PodRuntime) -> Iterator[tuple[float, int, int, str, Action]]:
    """Every pending event as ``(time, priority, container index, container, action)``."""
    if rt.kill_at is None:
        deletion = pod.metadata.deletion_timestamp
        if deletion is not None:
            grace = pod.metadata.deletion_grace_period_seconds or 0
            yield seconds(deletion) - grace, 0, 0, "", "kill"
        ads = pod.spec.active_deadline_seconds
        if ads is not None and not rt.deadline_exceeded and not finished(rt):
            yield rt.admitted_at + ads, 1, 0, "", "deadline"
    for index, run in enumerate(rt.containers.values()):
        name = run.name
        if run.state == "waiting" and run.due is not None:
            yield run.due, 4, index, name, "start"
        elif run.state == "running":
            if run.stop_at is not None:
                yield run.stop_at, 2, index, name, "stop"
            if run.exit_at is not None:
                yield run.exit_at, 3, index, name, "exit"
            for kind in ("startup", "liveness", "readiness"):
                at = run.probe(kind).next_at
                if at is not None:
                    yield at, _PRIORITY[kind], index, name, kind


def next_wake(pod: Pod, rt: PodRuntime) -> float | None:
    """When the next event of ``pod`` is due (``None``: nothing will happen by itself)."""
    return min((d[0] for d in _due(pod, rt)), default=None)


def advance(
    pod: Pod, rt: PodRuntime, *, now: float, timings: Timings
) -> tuple[PodRuntime, list[Happening]]:
    """Play every event due at or before ``now``, in time order (see the module docstring)."""
    happened: list[Happening] = []
    for _ in range(100_000):  # a guard: each event moves time forward or ends a container
        event = min(_due(pod, rt), default=None)
        if event is None or event[0] > now:
            break
        at, _, _, name, action = event
        rt = _apply(pod, rt, name, action, at=at, timings=timings, happened=happened)
    return rt, happened


def finished(rt: PodRuntime) -> bool:
    """Whether the pod ran to its end by itself: nothing runs and nothing will restart."""
    if rt.failed_init:
        return True
    if not rt.initialized:
        return False
    return all(rt.run(n).state == "terminated" for n in rt.main_order)


def stopped(rt: PodRuntime) -> bool:
    """Whether a stopping pod has no container left running (the kubelet may delete it)."""
    return rt.kill_at is not None and all(r.state != "running" for r in rt.containers.values())


def _apply(
    pod: Pod,
    rt: PodRuntime,
    name: str,
    action: Action,
    *,
    at: float,
    timings: Timings,
    happened: list[Happening],
) -> PodRuntime:
    if action == "kill":
        grace = pod.metadata.deletion_grace_period_seconds or 0
        return _kill_all(rt, at, at + grace, happened)
    if action == "deadline":
        grace = pod.spec.termination_grace_period_seconds or 0
        rt = attrs.evolve(rt, deadline_exceeded=True)
        happened.append(
            Happening(
                time=at,
                reason="DeadlineExceeded",
                message="Pod was active on the node longer than the specified deadline",
                warning=True,
            )
        )
        return _kill_all(rt, at, at + grace, happened)
    run = rt.run(name)
    spec = _container_spec(pod, run)
    if action == "start":
        return rt.with_run(start(run, spec, at, happened))
    if action == "stop":
        assert run.stop_at is not None
        assert rt.kill_deadline is not None
        code = EXIT_KILLED if run.stop_at >= rt.kill_deadline and run.script.stop > 0 else 0
        return rt.with_run(terminate(run, at, code))
    if action == "exit":
        ended = terminate(run, at, run.exit_code)
        return _exited(pod, rt, ended, at=at, timings=timings, happened=happened)
    ticked = probe(run, spec, action, at=at, happened=happened)
    if ticked.state == "terminated":  # killed by its failing startup or liveness probe
        return _exited(pod, rt, ticked, at=at, timings=timings, happened=happened)
    return rt.with_run(ticked)


def _container_spec(pod: Pod, run: ContainerRun) -> Container:
    for c in pod.spec.init_containers if run.init else pod.spec.containers:
        if c.name == run.name:
            return c
    return Container(name=run.name, image=run.image)  # the spec lost it: run plainly


def _kill_all(rt: PodRuntime, at: float, deadline: float, happened: list[Happening]) -> PodRuntime:
    """SIGTERM every running container; nothing starts or restarts any more."""
    runs: dict[str, ContainerRun] = {}
    for name, run in rt.containers.items():
        if run.state == "running":
            happened.append(
                Happening(time=at, reason="Killing", message=f"Stopping container {name}")
            )
            runs[name] = attrs.evolve(
                run,
                stop_at=min(at + run.script.stop, deadline),
                startup=ProbeState(),
                liveness=ProbeState(),
                readiness=ProbeState(),
            )
        else:
            runs[name] = attrs.evolve(run, due=None) if run.state == "waiting" else run
    return attrs.evolve(rt, containers=FrozenDict(runs), kill_at=at, kill_deadline=deadline)


# -- exits -----------------------------------------------------------------------------------------


def _restarts(pod: Pod, code: int) -> bool:
    policy = pod.spec.restart_policy or "Always"
    return policy == "Always" or (policy == "OnFailure" and code != 0)


def _exited(
    pod: Pod,
    rt: PodRuntime,
    run: ContainerRun,
    *,
    at: float,
    timings: Timings,
    happened: list[Happening],
) -> PodRuntime:
    """Decide what follows a container's exit: the next init step, a restart, or nothing."""
    rt = rt.with_run(run)
    if rt.kill_at is not None:
        return rt
    assert run.terminated is not None
    code = run.terminated.exit_code
    if run.init and code == 0:
        rt = attrs.evolve(rt, init_done=rt.init_done + 1)
        return _create_next(rt, at, timings)
    if run.init and (pod.spec.restart_policy or "Always") == "Never":
        return attrs.evolve(rt, failed_init=True)
    if not run.init and not _restarts(pod, code):
        return rt
    ran = at - run.terminated.started_at
    crashes = 0 if ran >= BACKOFF_RESET else run.crashes
    delay = crash_loop_delay(crashes)
    ident = f"{pod.metadata.name}_{pod.metadata.namespace}({pod.metadata.uid})"
    happened.append(
        Happening(
            time=at,
            reason="BackOff",
            message=f"Back-off restarting failed container {run.name} in pod {ident}",
            warning=True,
        )
    )
    waiting = attrs.evolve(
        run,
        state="waiting",
        reason="CrashLoopBackOff",
        message=f"back-off {delay:g}s restarting failed container={run.name} pod={ident}",
        due=at + delay,
        crashes=crashes + 1,
        terminated=None,
        last=run.terminated,
    )
    return rt.with_run(waiting)
