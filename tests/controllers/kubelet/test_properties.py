"""
Properties of the pure container lifecycle over random pods, scripts and observation times.

A random pod (one optional init container, one to three app containers,
random ``restartPolicy``, script annotations and probes) is played forward
by waking at every :func:`next_wake`; every observed step is checked
against Kubernetes' rules. Determinism is checked by reaching the same
instant in one step, at every event and at random times.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api import load
from controllers.api.pod import Pod
from controllers.kubelet.lifecycle import (
    BACKOFF_RESET,
    Happening,
    admit,
    advance,
    crash_loop_delay,
    next_wake,
)
from controllers.kubelet.runtime import ContainerRun, PodRuntime, Timings, from_seconds
from controllers.kubelet.status import phase, pod_status

T0 = 1_000_000.0
TIMINGS = Timings()
HORIZON = 1500.0
PHASE_ORDER = {"Pending": 0, "Running": 1, "Succeeded": 2, "Failed": 2}


@st.composite
def windows(draw: st.DrawFn) -> str:
    start = draw(st.integers(0, 60))
    end = start + draw(st.integers(1, 60))
    return f"{start}s..{end}s"


@st.composite
def scripts(draw: st.DrawFn, *, init: bool = False) -> str:
    clauses = []
    if draw(st.booleans()):
        clauses.append(f"pull={draw(st.integers(0, 5))}s")
    if draw(st.booleans()):
        clauses.append(f"start={draw(st.integers(0, 20))}s")
    if draw(st.booleans()):
        clauses.append(f"stop={draw(st.integers(0, 40))}s")
    if init or draw(st.booleans()):
        code = draw(st.sampled_from([0, 0, 1, 2]))
        runs = draw(st.sampled_from(["", "", "*1", "*2", "*3"]))
        clauses.append(f"exit={code}@{draw(st.integers(1, 700))}s{runs}")
    for kind in ("unready", "unhealthy"):
        count = draw(st.integers(0, 2))
        clauses.extend(f"{kind}={draw(windows())}" for _ in range(count))
    return "; ".join(clauses)


@st.composite
def probes(draw: st.DrawFn) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        if draw(st.booleans()):
            found[kind] = {
                "httpGet": {"path": "/", "port": 80},
                "initialDelaySeconds": draw(st.integers(0, 10)),
                "periodSeconds": draw(st.integers(1, 10)),
                "failureThreshold": draw(st.integers(1, 4)),
                "successThreshold": draw(st.integers(1, 2)) if kind == "readinessProbe" else 1,
            }
    return found


@st.composite
def pods(draw: st.DrawFn) -> Pod:
    containers = [
        {"name": f"c{i}", "image": "nginx", **draw(probes())}
        for i in range(draw(st.integers(1, 3)))
    ]
    annotations = {f"script.sim.reconcile.dev/{c['name']}": draw(scripts()) for c in containers}
    init = []
    if draw(st.booleans()):
        init = [{"name": "setup", "image": "busybox"}]
        annotations["script.sim.reconcile.dev/setup"] = draw(scripts(init=True))
    spec: dict[str, Any] = {
        "restartPolicy": draw(st.sampled_from(["Always", "OnFailure", "Never"])),
        "containers": containers,
        "initContainers": init,
    }
    if draw(st.integers(0, 2)) == 0:
        spec["activeDeadlineSeconds"] = draw(st.integers(1, 900))
        spec["terminationGracePeriodSeconds"] = draw(st.integers(0, 30))
    meta: dict[str, Any] = {
        "name": "p",
        "namespace": "default",
        "uid": "0123456789abcdef",
        "annotations": {k: v for k, v in annotations.items() if v},
    }
    if draw(st.integers(0, 3)) == 0:
        grace = draw(st.integers(0, 60))
        meta["deletionTimestamp"] = from_seconds(
            T0 + draw(st.integers(1, 1000)) + grace
        ).isoformat()
        meta["deletionGracePeriodSeconds"] = grace
    pod = load({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    assert isinstance(pod, Pod)
    return pod


def _admit(pod: Pod) -> PodRuntime:
    return admit(pod, now=T0, pod_ip="10.0.0.1", timings=TIMINGS)


def every_event(pod: Pod, until: float) -> Iterator[tuple[PodRuntime, PodRuntime, float]]:
    """``(before, after, time)`` for every wake of a kubelet that wakes at each due event."""
    rt = _admit(pod)
    for _ in range(20_000):
        wake = next_wake(pod, rt)
        if wake is None or wake > until:
            return
        after, _ = advance(pod, rt, now=wake, timings=TIMINGS)
        yield rt, after, wake
        rt = after
    raise AssertionError("too many wakes")


@attrs.define
class Model:
    """What the back-off of one container should be, per Kubernetes' rule."""

    crashes: int = 0


def _legal(before: ContainerRun, after: ContainerRun) -> bool:
    if (before.state, after.state) == ("terminated", "running"):
        return False
    if before.state == "terminated" and after.state == "waiting":
        return after.reason == "CrashLoopBackOff"
    if before.state == "running" and after.state == "waiting":
        return after.reason == "CrashLoopBackOff" and after.last is not None
    return True


@settings(max_examples=75, deadline=None)
@given(pod=pods())
def test_every_step_follows_the_kubernetes_lifecycle(pod: Pod) -> None:
    policy = pod.spec.restart_policy
    models: dict[str, Model] = {}
    seen_phase = phase(_admit(pod))
    assert seen_phase == "Pending"
    for before, after, now in every_event(pod, T0 + HORIZON):
        # (a) phases only move forward; terminal is terminal
        new_phase = phase(after)
        assert PHASE_ORDER[new_phase] >= PHASE_ORDER[seen_phase], (seen_phase, new_phase)
        if PHASE_ORDER[seen_phase] == 2:
            assert new_phase == seen_phase
        seen_phase = new_phase
        for name, old in before.containers.items():
            new = after.run(name)
            model = models.setdefault(name, Model())
            # (b) legal state transitions; restart counts never decrease, +1 per start
            assert _legal(old, new), (old.state, new.state, new.reason)
            assert new.restarts in (old.restarts, old.restarts + 1)
            if new.restarts == old.restarts + 1:
                # It started now (and may have been killed at once by a failing probe).
                assert old.due == now
                assert new.started_at == now
            # (c) a back-off equals crash_loop_delay(k), k reset by a ten-minute run
            entered_back_off = new.reason == "CrashLoopBackOff" and (
                old.reason != "CrashLoopBackOff" or new.due != old.due
            )
            if entered_back_off and new.due is not None:
                assert new.last is not None
                ran = new.last.finished_at - new.last.started_at
                if ran >= BACKOFF_RESET:
                    model.crashes = 0
                assert new.due - new.last.finished_at == crash_loop_delay(model.crashes)
                model.crashes += 1
                # (d) restarts only as the policy allows
                assert policy != "Never"
                if policy == "OnFailure":
                    assert new.last.exit_code != 0
        if policy == "Never":
            assert all(r.restarts == 0 for r in after.containers.values())


def _play_at_events(pod: Pod, until: float) -> tuple[PodRuntime, list[Happening]]:
    rt = _admit(pod)
    happened: list[Happening] = []
    while (wake := next_wake(pod, rt)) is not None and wake <= until:
        rt, more = advance(pod, rt, now=wake, timings=TIMINGS)
        happened += more
    rt, more = advance(pod, rt, now=until, timings=TIMINGS)
    return rt, happened + more


def _play_in_steps(pod: Pod, steps: list[float]) -> tuple[PodRuntime, list[Happening]]:
    rt = _admit(pod)
    happened: list[Happening] = []
    now = T0
    for step in steps:
        now += step
        rt, more = advance(pod, rt, now=now, timings=TIMINGS)
        happened += more
    return rt, happened


@settings(max_examples=60, deadline=None)
@given(
    pod=pods(),
    steps=st.lists(st.floats(0.0, 120.0, allow_nan=False), min_size=1, max_size=30),
)
def test_the_outcome_does_not_depend_on_when_the_kubelet_looks(
    pod: Pod, steps: list[float]
) -> None:
    # Sum in the same order as _play_in_steps so that both end at the same float.
    end = T0
    for step in steps:
        end += step
    one_step = advance(pod, _admit(pod), now=end, timings=TIMINGS)
    at_events = _play_at_events(pod, end)
    stepped = _play_in_steps(pod, steps)
    assert one_step == at_events
    assert one_step == stepped
    status = pod_status(pod, one_step[0], host_ip="192.168.0.1", now=end)
    assert status == pod_status(pod, stepped[0], host_ip="192.168.0.1", now=end)


@settings(max_examples=30, deadline=None)
@given(pod=pods(), until=st.floats(0.0, HORIZON, allow_nan=False))
def test_the_same_inputs_give_the_same_runtime(pod: Pod, until: float) -> None:
    first = advance(pod, _admit(pod), now=T0 + until, timings=TIMINGS)
    again = advance(pod, _admit(pod), now=T0 + until, timings=TIMINGS)
    assert first == again
