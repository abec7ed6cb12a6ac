"""
The pod status a kubelet reports for a :class:`~controllers.kubelet.runtime.PodRuntime`: pure.

Phases follow Kubernetes' ``getPhase``:

* ``Pending``: init containers are still running (or waiting), or some main
  container has never started;
* ``Running``: every main container has started, and at least one is running
  or will be restarted;
* ``Succeeded``: every main container exited 0 and none will restart;
* ``Failed``: every main container exited and none will restart, at least one
  with a non-zero code; also an init container failing under
  ``restartPolicy: Never`` and an exceeded ``activeDeadlineSeconds``;
* ``Unknown`` is a valid phase that no component writes, as in current
  Kubernetes: when a node stops reporting, its pods keep their last phase
  and the node lifecycle controller sets their ``Ready`` condition to
  ``False`` (see :mod:`controllers.nodelifecycle`).

Conditions ``Initialized``, ``ContainersReady`` and ``Ready`` (with the
scheduler's ``PodScheduled`` kept) carry Kubernetes' reasons and messages;
a condition's transition time changes only when its status does.
"""

from __future__ import annotations

import datetime as dt

import attrs

from controllers.api.container import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
)
from controllers.api.pod import HostIP, Pod, PodCondition, PodIP, PodStatus
from controllers.kubelet.qos import qos_class
from controllers.kubelet.runtime import ContainerRun, PodRuntime, Termination, from_seconds

__all__ = ["phase", "pod_status"]

_CONDITIONS = ("Initialized", "Ready", "ContainersReady")


def _restarting(run: ContainerRun) -> bool:
    return run.state == "waiting" and run.last is not None and run.due is not None


def phase(rt: PodRuntime) -> str:
    """The pod phase for ``rt`` (see the module docstring)."""
    if rt.failed_init or rt.deadline_exceeded:
        return "Failed"
    if rt.kill_at is not None and not rt.initialized:
        # Deleted before its app containers ran: once stopped, it failed.
        running = any(r.state == "running" for r in rt.containers.values())
        return "Pending" if running else "Failed"
    if not rt.initialized:
        return "Pending"
    mains = [rt.run(n) for n in rt.main_order]
    if any(r.state == "waiting" and r.last is None for r in mains):
        return "Pending" if rt.kill_at is None else "Failed"
    if any(r.state == "running" or _restarting(r) for r in mains):
        return "Running"
    codes = [(r.terminated or r.last or _NEVER).exit_code for r in mains]
    return "Succeeded" if all(code == 0 for code in codes) else "Failed"


_NEVER = Termination(exit_code=0, reason="", started_at=0.0, finished_at=0.0)


def _terminated(t: Termination, container_id: str) -> ContainerStateTerminated:
    return ContainerStateTerminated(
        exit_code=t.exit_code,
        reason=t.reason,
        message=t.message,
        started_at=from_seconds(t.started_at),
        finished_at=from_seconds(t.finished_at),
        container_id=container_id,
    )


def _container_id(rt: PodRuntime, run: ContainerRun, restarts: int) -> str:
    return f"sim://{rt.uid[:8]}-{run.name}-{restarts}"


def _container_status(rt: PodRuntime, run: ContainerRun) -> ContainerStatus:
    created = run.state != "waiting" or run.last is not None
    if run.state == "running":
        assert run.started_at is not None
        state = ContainerState(
            running=ContainerStateRunning(started_at=from_seconds(run.started_at))
        )
    elif run.state == "terminated":
        assert run.terminated is not None
        ident = _container_id(rt, run, run.restarts)
        state = ContainerState(terminated=_terminated(run.terminated, ident))
    else:
        state = ContainerState(
            waiting=ContainerStateWaiting(reason=run.reason, message=run.message)
        )
    last = ContainerState()
    if run.last is not None:
        previous = run.restarts - 1 if run.state == "running" else run.restarts
        last = ContainerState(terminated=_terminated(run.last, _container_id(rt, run, previous)))
    return ContainerStatus(
        name=run.name,
        state=state,
        last_state=last,
        ready=run.ready,
        restart_count=run.restarts,
        image=run.image,
        image_id=f"sim://{run.image}" if created else "",
        container_id=_container_id(rt, run, run.restarts) if created else "",
        started=run.state == "running" and run.started,
    )


def _condition(
    old: dict[str, PodCondition],
    type_: str,
    ok: bool,
    *,
    reason: str,
    message: str,
    now: dt.datetime,
) -> PodCondition:
    status = "True" if ok else "False"
    previous = old.get(type_)
    when = now
    if previous is not None and previous.status == status:
        if previous.reason == ("" if ok else reason) and previous.message == (
            "" if ok else message
        ):
            return previous  # unchanged: the same object (cheaper to build and compare)
        when = previous.last_transition_time or now
    return PodCondition(
        type=type_,
        status=status,
        last_transition_time=when,
        reason="" if ok else reason,
        message="" if ok else message,
    )


def _names(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def pod_status(pod: Pod, rt: PodRuntime, *, host_ip: str, now: float) -> PodStatus:
    """The status the kubelet reports for ``pod`` given its runtime ``rt`` at ``now``."""
    at = from_seconds(now)
    current = pod.status
    old = {c.type: c for c in current.conditions}
    the_phase = phase(rt)
    pending_init = list(rt.init_order[rt.init_done :])
    unready = [n for n in rt.main_order if not rt.run(n).ready]
    terminal = the_phase in ("Succeeded", "Failed")
    ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
    ready_message = "" if terminal else f"containers with unready status: {_names(unready)}"
    conditions = [c for c in current.conditions if c.type not in _CONDITIONS]
    ready = not unready and not terminal
    conditions += [
        _condition(
            old,
            "Initialized",
            rt.initialized,
            reason="ContainersNotInitialized",
            message=f"containers with incomplete status: {_names(pending_init)}",
            now=at,
        ),
        _condition(old, "Ready", ready, reason=ready_reason, message=ready_message, now=at),
        _condition(
            old, "ContainersReady", ready, reason=ready_reason, message=ready_message, now=at
        ),
    ]
    reason = message = ""
    if rt.deadline_exceeded:
        reason = "DeadlineExceeded"
        message = "Pod was active on the node longer than the specified deadline"
    return attrs.evolve(
        current,
        phase=the_phase,
        conditions=tuple(conditions),
        reason=reason,
        message=message,
        host_ip=host_ip,
        host_ips=current.host_ips if current.host_ip == host_ip else (HostIP(ip=host_ip),),
        pod_ip=rt.pod_ip,
        pod_ips=current.pod_ips if current.pod_ip == rt.pod_ip else (PodIP(ip=rt.pod_ip),),
        start_time=from_seconds(rt.admitted_at),
        init_container_statuses=tuple(_container_status(rt, rt.run(n)) for n in rt.init_order),
        container_statuses=tuple(_container_status(rt, rt.run(n)) for n in rt.main_order),
        qos_class=current.qos_class or qos_class(pod.spec),  # fixed once the pod is admitted
    )
