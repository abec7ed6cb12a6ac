"""
Scenarios of the pure container lifecycle: :func:`admit`, :func:`advance`, :func:`pod_status`.

Each test builds a Pod, admits it at ``T0`` and plays it forward with a small
simulated kubelet (:class:`Sim`) that wakes at every :func:`next_wake`, as the
real one does, feeding each status back into the pod so conditions keep
their history.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from controllers.api import load
from controllers.api.container import ContainerStatus
from controllers.api.pod import Pod, PodCondition, PodStatus
from controllers.kubelet.lifecycle import (
    EXIT_KILLED,
    Happening,
    admit,
    advance,
    crash_loop_delay,
    next_wake,
    stopped,
)
from controllers.kubelet.runtime import PodRuntime, Timings, from_seconds
from controllers.kubelet.status import pod_status

T0 = 1_000_000.0
TIMINGS = Timings()
STARTUP = TIMINGS.image_pull + TIMINGS.container_start  # 1.5 s from admission to running


def make_pod(
    containers: Sequence[Mapping[str, Any]] = ({"name": "app", "image": "nginx"},),
    *,
    policy: str = "Always",
    scripts: Mapping[str, str] | None = None,
    init: Sequence[Mapping[str, Any]] = (),
    spec: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Pod:
    """A bound pod with ``containers``; ``scripts`` are script annotations by container."""
    annotations = {f"script.sim.reconcile.dev/{k}": v for k, v in (scripts or {}).items()}
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "namespace": "default",
            "uid": "0123456789abcdef",
            "annotations": annotations,
            **(meta or {}),
        },
        "spec": {
            "restartPolicy": policy,
            "nodeName": "node-1",
            "containers": [dict(c) for c in containers],
            "initContainers": [dict(c) for c in init],
            **(spec or {}),
        },
    }
    pod = load(manifest)
    assert isinstance(pod, Pod)
    return pod


def app(name: str = "app", image: str = "nginx", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **fields}


@attrs.define
class Sim:
    """A minimal kubelet: wakes at every due event and records what it saw."""

    pod: Pod
    rt: PodRuntime
    now: float = T0
    happened: list[Happening] = attrs.field(factory=list)
    timeline: list[tuple[float, PodStatus]] = attrs.field(factory=list)

    @classmethod
    def start(cls, pod: Pod) -> Sim:
        sim = cls(pod=pod, rt=admit(pod, now=T0, pod_ip="10.0.0.1", timings=TIMINGS))
        sim._observe()
        return sim

    def _observe(self) -> None:
        status = pod_status(self.pod, self.rt, host_ip="192.168.0.1", now=self.now)
        self.pod = attrs.evolve(self.pod, status=status)
        self.timeline.append((self.now, status))

    def step_to(self, when: float) -> None:
        self.rt, happened = advance(self.pod, self.rt, now=when, timings=TIMINGS)
        self.now = when
        self.happened += happened
        self._observe()

    def until(self, elapsed: float) -> Sim:
        """Wake at every event up to ``T0 + elapsed``, then at that time."""
        end = T0 + elapsed
        while (wake := next_wake(self.pod, self.rt)) is not None and wake <= end:
            self.step_to(max(wake, self.now))
        self.step_to(end)
        return self

    def delete(self, grace: int) -> Sim:
        """The API server marks the pod for deletion now with ``grace`` seconds."""
        meta = attrs.evolve(
            self.pod.metadata,
            deletion_timestamp=from_seconds(self.now + grace),
            deletion_grace_period_seconds=grace,
        )
        self.pod = attrs.evolve(self.pod, metadata=meta)
        return self

    @property
    def status(self) -> PodStatus:
        return self.pod.status

    def container(self, name: str = "app") -> ContainerStatus:
        every = (*self.status.container_statuses, *self.status.init_container_statuses)
        return next(c for c in every if c.name == name)

    def condition(self, type_: str) -> PodCondition:
        return next(c for c in self.status.conditions if c.type == type_)

    def reasons(self, reason: str) -> list[float]:
        """Times (relative to ``T0``) of happenings with ``reason``."""
        return [h.time - T0 for h in self.happened if h.reason == reason]

    def starts(self, name: str = "app") -> list[float]:
        msg = f"Started container {name}"
        return [h.time - T0 for h in self.happened if h.reason == "Started" and h.message == msg]


def waiting_reason(status: ContainerStatus) -> str:
    assert status.state.waiting is not None, status.state
    return status.state.waiting.reason


# -- restart policy and exit code ------------------------------------------------------------------


def test_always_restarts_a_completed_container_into_crash_loop_back_off() -> None:
    sim = Sim.start(make_pod(scripts={"app": "exit=0@5s"}, policy="Always")).until(10)
    status = sim.container()
    assert sim.status.phase == "Running"
    assert waiting_reason(status) == "CrashLoopBackOff"
    assert status.restart_count == 0
    last = status.last_state.terminated
    assert last is not None
    assert (last.exit_code, last.reason) == (0, "Completed")
    sim.until(STARTUP + 5 + 10 + 0.1)
    assert sim.container().restart_count == 1
    assert sim.container().state.running is not None


def test_always_restarts_a_failed_container_with_reason_error() -> None:
    sim = Sim.start(make_pod(scripts={"app": "exit=1@5s"}, policy="Always")).until(10)
    last = sim.container().last_state.terminated
    assert last is not None
    assert (last.exit_code, last.reason) == (1, "Error")
    assert sim.status.phase == "Running"
    assert sim.reasons("BackOff") == [STARTUP + 5]


def test_on_failure_does_not_restart_a_completed_container() -> None:
    sim = Sim.start(make_pod(scripts={"app": "exit=0@5s"}, policy="OnFailure")).until(100)
    status = sim.container()
    assert sim.status.phase == "Succeeded"
    assert status.restart_count == 0
    assert status.state.terminated is not None
    assert status.state.terminated.reason == "Completed"
    assert sim.reasons("BackOff") == []
    assert next_wake(sim.pod, sim.rt) is None


def test_on_failure_restarts_a_failed_container() -> None:
    sim = Sim.start(make_pod(scripts={"app": "exit=2@5s*1"}, policy="OnFailure")).until(100)
    status = sim.container()
    assert sim.status.phase == "Running"
    assert status.restart_count == 1
    assert status.last_state.terminated is not None
    assert status.last_state.terminated.exit_code == 2


def test_never_leaves_a_completed_pod_succeeded() -> None:
    sim = Sim.start(make_pod(scripts={"app": "exit=0@5s"}, policy="Never")).until(100)
    assert sim.status.phase == "Succeeded"
    assert sim.container().restart_count == 0
    assert sim.condition("Ready").status == "False"
    assert sim.condition("Ready").reason == "PodCompleted"


def test_never_leaves_a_failed_pod_failed() -> None:
    sim = Sim.start(make_pod(scripts={"app": "exit=1@5s"}, policy="Never")).until(100)
    status = sim.container()
    assert sim.status.phase == "Failed"
    assert status.restart_count == 0
    assert status.state.terminated is not None
    assert (status.state.terminated.exit_code, status.state.terminated.reason) == (1, "Error")
    assert status.last_state.terminated is None


def test_pod_is_pending_until_the_image_is_pulled_and_the_container_started() -> None:
    sim = Sim.start(make_pod())
    assert sim.status.phase == "Pending"
    assert waiting_reason(sim.container()) == "ContainerCreating"
    sim.until(STARTUP)
    assert sim.status.phase == "Running"
    assert sim.condition("Ready").status == "True"
    assert sim.starts() == [STARTUP]


def test_one_failed_container_among_finished_ones_fails_the_pod() -> None:
    pod = make_pod(
        [app("a"), app("b")], scripts={"a": "exit=0@5s", "b": "exit=3@8s"}, policy="Never"
    )
    sim = Sim.start(pod).until(20)
    assert sim.status.phase == "Failed"


# -- back-off ------------------------------------------------------------------------------------


def test_crash_loop_delay_doubles_from_ten_seconds_up_to_five_minutes() -> None:
    delays = [crash_loop_delay(n) for n in range(8)]
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    assert crash_loop_delay(1000) == 300


def test_restarts_wait_the_doubling_back_off() -> None:
    sim = Sim.start(make_pod(scripts={"app": "crash@1s"})).until(3000)
    starts = sim.starts()
    gaps = [later - (earlier + 1) for earlier, later in itertools.pairwise(starts)]
    assert gaps[:8] == [10, 20, 40, 80, 160, 300, 300, 300]
    assert sim.container().restart_count == len(starts) - 1


def _crash_after(sim: Sim, ran: float) -> float:
    """Make the running container exit with 1 after ``ran`` seconds; the back-off that follows."""
    run = sim.rt.run("app")
    assert run.started_at is not None
    sim.rt = sim.rt.with_run(attrs.evolve(run, exit_at=run.started_at + ran, exit_code=1))
    sim.until(run.started_at + ran - T0)
    waiting = sim.rt.run("app")
    assert waiting.due is not None
    return waiting.due - (run.started_at + ran)


def test_back_off_resets_after_a_ten_minute_run() -> None:
    # Three quick crashes (back-offs 10, 20, 40), then the container keeps running.
    sim = Sim.start(make_pod(scripts={"app": "crash@1s*3"})).until(200)
    assert sim.container().restart_count == 3
    assert _crash_after(sim, 600) == 10


def test_back_off_keeps_doubling_after_a_run_shorter_than_ten_minutes() -> None:
    sim = Sim.start(make_pod(scripts={"app": "crash@1s*3"})).until(200)
    assert _crash_after(sim, 599) == 80


def test_back_off_does_not_reset_after_a_short_run() -> None:
    sim = Sim.start(make_pod(scripts={"app": "crash@599s"})).until(2500)
    starts = sim.starts()
    gaps = [later - (earlier + 599) for earlier, later in itertools.pairwise(starts)]
    assert gaps[:3] == [10, 20, 40]


def test_back_off_stays_at_ten_seconds_for_runs_of_ten_minutes() -> None:
    sim = Sim.start(make_pod(scripts={"app": "crash@600s"})).until(3000)
    starts = sim.starts()
    gaps = [later - (earlier + 600) for earlier, later in itertools.pairwise(starts)]
    assert gaps == [10] * len(gaps)
    assert len(gaps) == 4


# -- init containers -----------------------------------------------------------------------------


def _init_pod(policy: str = "Always", second: str = "exit=0@5s") -> Pod:
    return make_pod(
        [app("main")],
        init=[app("first", "busybox"), app("second", "busybox")],
        scripts={"first": "exit=0@3s", "second": second},
        policy=policy,
    )


def test_init_containers_run_one_at_a_time_in_order_before_the_main_containers() -> None:
    sim = Sim.start(_init_pod())
    assert sim.status.phase == "Pending"
    assert waiting_reason(sim.container("main")) == "PodInitializing"
    assert sim.condition("Initialized").status == "False"
    assert sim.condition("Initialized").message == (
        "containers with incomplete status: [first second]"
    )
    sim.until(30)
    first, second, main = sim.starts("first"), sim.starts("second"), sim.starts("main")
    assert first == [STARTUP]
    assert second == [STARTUP + 3 + STARTUP]
    assert main == [second[0] + 5 + STARTUP]
    assert sim.status.phase == "Running"
    assert sim.condition("Initialized").status == "True"
    for name in ("first", "second"):
        terminated = sim.container(name).state.terminated
        assert terminated is not None
        assert terminated.reason == "Completed"


def test_main_containers_wait_with_pod_initializing_while_init_runs() -> None:
    sim = Sim.start(_init_pod()).until(STARTUP + 4)
    assert sim.container("second").state.running is None  # still pulling
    assert waiting_reason(sim.container("main")) == "PodInitializing"
    assert sim.condition("Initialized").message == "containers with incomplete status: [second]"


def test_failing_init_container_fails_the_pod_under_never() -> None:
    sim = Sim.start(_init_pod("Never", second="exit=1@2s")).until(100)
    assert sim.status.phase == "Failed"
    assert sim.starts("main") == []
    assert waiting_reason(sim.container("main")) == "PodInitializing"
    assert sim.container("second").restart_count == 0


def _complete_now(sim: Sim, name: str) -> None:
    """Make the running container ``name`` exit 0 one second from now."""
    run = sim.rt.run(name)
    assert run.state == "running"
    sim.rt = sim.rt.with_run(attrs.evolve(run, exit_at=sim.now + 1, exit_code=0))


def test_failing_init_container_restarts_under_always_then_the_pod_starts() -> None:
    sim = Sim.start(_init_pod("Always", second="exit=1@2s*2")).until(100)
    assert sim.container("second").restart_count == 2
    assert sim.starts("second") == [6, 18, 40]  # back-offs of 10 s and 20 s
    assert sim.starts("main") == []
    assert sim.status.phase == "Pending"
    _complete_now(sim, "second")
    sim.until(110)
    assert sim.starts("main") == [101 + STARTUP]
    assert sim.status.phase == "Running"
    assert sim.condition("Initialized").status == "True"


def test_failing_init_container_restarts_under_on_failure() -> None:
    sim = Sim.start(_init_pod("OnFailure", second="exit=1@2s*1")).until(100)
    assert sim.container("second").restart_count == 1
    assert sim.status.phase == "Pending"
    assert sim.status.phase != "Failed"


def test_pod_stays_pending_while_its_init_container_crash_loops() -> None:
    sim = Sim.start(_init_pod("Always", second="crash@2s")).until(200)
    assert sim.status.phase == "Pending"
    assert sim.starts("main") == []


# -- probes --------------------------------------------------------------------------------------


def _probe(kind: str = "httpGet", **timing: int) -> dict[str, Any]:
    handlers: dict[str, Any] = {
        "httpGet": {"path": "/", "port": 80},
        "tcpSocket": {"port": 80},
        "exec": {"command": ["cat", "/tmp/healthy"]},  # noqa: S108 (a simulated file)
    }
    return {kind: handlers[kind], **timing}


def test_startup_probe_gates_liveness_and_readiness() -> None:
    container = app(
        startupProbe=_probe(periodSeconds=5, failureThreshold=10),
        livenessProbe=_probe(periodSeconds=5),
        readinessProbe=_probe(periodSeconds=5),
    )
    sim = Sim.start(make_pod([container], scripts={"app": "start=12s"})).until(STARTUP + 11)
    status = sim.container()
    assert status.started is False
    assert status.ready is False
    assert status.restart_count == 0
    assert sim.rt.run("app").liveness.next_at is None
    sim.until(STARTUP + 15.5)
    status = sim.container()
    assert status.started is True
    assert status.ready is True
    assert status.restart_count == 0


def test_failing_startup_probe_kills_the_container() -> None:
    container = app(startupProbe=_probe(periodSeconds=5, failureThreshold=3))
    sim = Sim.start(make_pod([container], scripts={"app": "start=100s"})).until(STARTUP + 11)
    last = sim.container().last_state.terminated
    assert last is not None
    assert last.exit_code == EXIT_KILLED
    assert sim.reasons("Killing") == [STARTUP + 10]


def test_liveness_failure_kills_with_137_and_restarts() -> None:
    container = app(livenessProbe=_probe("tcpSocket", periodSeconds=5, failureThreshold=3))
    sim = Sim.start(make_pod([container], scripts={"app": "unhealthy=20s..31s"}))
    sim.until(STARTUP + 34)
    status = sim.container()
    assert status.last_state.terminated is not None
    assert status.last_state.terminated.exit_code == EXIT_KILLED
    assert status.last_state.terminated.reason == "Error"
    # Failures at 20, 25, 30 s: killed at the third.
    assert sim.reasons("Killing") == [STARTUP + 30]
    assert sim.reasons("Unhealthy") == [STARTUP + 20, STARTUP + 25, STARTUP + 30]
    sim.until(STARTUP + 41)
    assert sim.container().restart_count == 1
    assert sim.starts() == [STARTUP, STARTUP + 40]


def test_liveness_exec_tutorial_restarts_the_container() -> None:
    container = app(
        "liveness",
        "registry.k8s.io/busybox",
        args=["/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"],
        livenessProbe=_probe("exec", initialDelaySeconds=5, periodSeconds=5),
    )
    sim = Sim.start(make_pod([container])).until(STARTUP + 29)
    assert sim.reasons("Unhealthy") == []
    sim.until(STARTUP + 41)
    assert sim.reasons("Unhealthy") == [STARTUP + 30, STARTUP + 35, STARTUP + 40]
    assert sim.reasons("Killing") == [STARTUP + 40]
    last = sim.container("liveness").last_state.terminated
    assert last is not None
    assert last.exit_code == EXIT_KILLED
    sim.until(STARTUP + 51)
    assert sim.container("liveness").restart_count == 1
    assert sim.container("liveness").state.running is not None


def test_readiness_failure_sets_not_ready_without_restart_and_recovers() -> None:
    container = app(readinessProbe=_probe(periodSeconds=5, failureThreshold=3))
    sim = Sim.start(make_pod([container], scripts={"app": "unready=20s..40s"}))
    sim.until(STARTUP + 15)
    assert sim.container().ready is True
    sim.until(STARTUP + 31)
    assert sim.container().ready is False
    assert sim.condition("Ready").status == "False"
    assert sim.condition("Ready").reason == "ContainersNotReady"
    assert sim.condition("Ready").message == "containers with unready status: [app]"
    assert sim.condition("ContainersReady").status == "False"
    assert sim.status.phase == "Running"
    sim.until(STARTUP + 41)
    assert sim.container().ready is True
    assert sim.condition("Ready").status == "True"
    assert sim.container().restart_count == 0
    assert sim.reasons("Killing") == []


def test_readiness_probe_needs_failure_threshold_failures_to_mark_unready() -> None:
    container = app(readinessProbe=_probe(periodSeconds=5, failureThreshold=3))
    sim = Sim.start(make_pod([container], scripts={"app": "unready=20s..40s"}))
    sim.until(STARTUP + 26)  # two failures so far
    assert sim.container().ready is True


def test_http_get_probe_fails_inside_an_unhealthy_window_only() -> None:
    container = app(livenessProbe=_probe("httpGet", periodSeconds=10, failureThreshold=3))
    sim = Sim.start(make_pod([container], scripts={"app": "unhealthy=20s..35s"})).until(300)
    # Failures at 20 and 30 s only: never three in a row, so no restart.
    assert sim.reasons("Unhealthy") == [STARTUP + 20, STARTUP + 30]
    assert sim.container().restart_count == 0


def test_readiness_starts_false_until_the_first_successful_probe() -> None:
    container = app(readinessProbe=_probe(initialDelaySeconds=5, periodSeconds=10))
    sim = Sim.start(make_pod([container])).until(STARTUP + 4)
    assert sim.container().state.running is not None
    assert sim.container().ready is False
    sim.until(STARTUP + 5)
    assert sim.container().ready is True


# -- termination ---------------------------------------------------------------------------------


def test_deletion_stops_containers_after_their_stop_time() -> None:
    sim = Sim.start(make_pod(scripts={"app": "stop=5s"})).until(10)
    sim.delete(grace=30).until(12)
    assert not stopped(sim.rt)
    assert sim.rt.kill_at == T0 + 10
    assert sim.reasons("Killing") == [10]
    sim.until(15)
    assert stopped(sim.rt)
    terminated = sim.container().state.terminated
    assert terminated is not None
    assert terminated.exit_code == 0
    assert terminated.finished_at == from_seconds(T0 + 15)


def test_deletion_stops_a_restarted_container_after_its_stop_time() -> None:
    """A container restarted after a scripted exit honours ``stop=`` as on its first run."""
    sim = Sim.start(make_pod(scripts={"app": "stop=20s; exit=1@30s*3"})).until(50)
    assert sim.container().restart_count == 1
    assert sim.container().state.running is not None
    sim.delete(grace=60).until(69)
    assert not stopped(sim.rt)
    sim.until(70)
    assert stopped(sim.rt)
    terminated = sim.container().state.terminated
    assert terminated is not None
    assert (terminated.exit_code, terminated.finished_at) == (0, from_seconds(T0 + 70))


def test_deletion_kills_with_137_at_the_grace_deadline() -> None:
    sim = Sim.start(make_pod(scripts={"app": "stop=60s"})).until(10)
    sim.delete(grace=30).until(39)
    assert not stopped(sim.rt)
    sim.until(40)
    assert stopped(sim.rt)
    terminated = sim.container().state.terminated
    assert terminated is not None
    assert terminated.exit_code == EXIT_KILLED


def test_deleted_pod_does_not_restart_its_containers() -> None:
    sim = Sim.start(make_pod(scripts={"app": "crash@5s"})).until(8)  # in back-off
    sim.delete(grace=30).until(200)
    assert stopped(sim.rt)
    assert sim.starts() == [STARTUP]
    assert next_wake(sim.pod, sim.rt) is None


def test_not_stopped_unless_deletion_was_requested() -> None:
    sim = Sim.start(make_pod(scripts={"app": "exit=0@1s"}, policy="Never")).until(50)
    assert not stopped(sim.rt)


def test_active_deadline_fails_the_pod_with_deadline_exceeded() -> None:
    pod = make_pod(
        spec={"activeDeadlineSeconds": 30, "terminationGracePeriodSeconds": 10},
        scripts={"app": "stop=2s"},
    )
    sim = Sim.start(pod).until(29)
    assert sim.status.phase == "Running"
    sim.until(40)
    assert sim.status.phase == "Failed"
    assert sim.status.reason == "DeadlineExceeded"
    assert sim.status.message == "Pod was active on the node longer than the specified deadline"
    assert sim.reasons("DeadlineExceeded") == [30]
    assert sim.container().state.terminated is not None


def test_active_deadline_does_not_fail_a_pod_that_already_succeeded() -> None:
    pod = make_pod(scripts={"app": "exit=0@5s"}, policy="Never", spec={"activeDeadlineSeconds": 30})
    sim = Sim.start(pod).until(20)
    assert sim.status.phase == "Succeeded"
    sim.until(40)
    assert sim.status.phase == "Succeeded"
    assert sim.reasons("DeadlineExceeded") == []


def test_pod_deleted_before_its_app_containers_started_ends_failed() -> None:
    sim = Sim.start(make_pod([app("a"), app("b")], scripts={"b": "pull=20s"})).until(10)
    assert sim.status.phase == "Pending"
    sim.delete(grace=5).until(30)
    assert stopped(sim.rt)
    assert sim.status.phase == "Failed"


def test_pod_deleted_during_init_ends_failed() -> None:
    sim = Sim.start(_init_pod(second="exit=0@50s")).until(10)
    assert sim.status.phase == "Pending"
    sim.delete(grace=5).until(30)
    assert stopped(sim.rt)
    assert sim.status.phase == "Failed"


# -- conditions -----------------------------------------------------------------------------------


def _transitions(sim: Sim, type_: str) -> list[tuple[float, str, dt.datetime | None]]:
    seen = []
    for when, status in sim.timeline:
        cond = next(c for c in status.conditions if c.type == type_)
        seen.append((when, cond.status, cond.last_transition_time))
    return seen


def test_condition_transition_times_change_only_when_the_status_changes() -> None:
    container = app(readinessProbe=_probe(periodSeconds=5, failureThreshold=1))
    sim = Sim.start(make_pod([container], scripts={"app": "unready=20s..40s"}))
    for step in range(1, 121):
        sim.until(step * 0.5)
    seen = _transitions(sim, "Ready")
    for (_, before, was), (when, after, now) in itertools.pairwise(seen):
        if before == after:
            assert now == was
        else:
            assert now == from_seconds(when)
    flips = [s for (_, s, _) in seen]
    changes = sum(a != b for a, b in itertools.pairwise(flips))
    assert changes == 3  # False -> True -> False -> True
