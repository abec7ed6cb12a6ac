"""Every numbered example runs in virtual time and does what its docstring says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reconcile.testing import VirtualClock, run
from reconcile.verify import SweepReport, VerificationError, replay

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(stem: str) -> ModuleType:
    name = f"examples.{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{stem}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _main(stem: str) -> Any:
    module = _load(stem)
    return run(module.main, clock=VirtualClock())


def test_every_example_is_numbered_and_has_a_main() -> None:
    """Each `examples/NN_*.py` defines `main(clock)` (so this suite can run it)."""
    stems = sorted(p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py"))
    assert len(stems) >= 6
    missing = [s for s in stems if not callable(getattr(_load(s), "main", None))]
    assert [] == missing


def test_01_minimal_writes_status_for_every_generation() -> None:
    """The greeter writes each greeting and follows a spec change."""
    assert {"first": "Hello, asyncio!", "second": "Hello, Kubernetes!"} == _main("01_minimal")


def test_02_owned_children_converge_and_self_heal() -> None:
    """The flock grows to 3, replaces the lost sheep and shrinks to 1."""
    expected = {"created": 3, "after_wolf": 3, "scaled_down": 1, "ready": 1}
    assert expected == _main("02_owned_children")


def test_03_errors_and_requeue_follow_each_outcome() -> None:
    """Backoff, retry-after, polling and terminal errors each happen as documented."""
    outcomes = _main("03_errors_and_requeue")
    assert {"error": 3, "retry_after": 2, "terminal_error": 1, "requeue_after": 4} == outcomes


def test_04_finalizer_cleanup_runs_before_the_object_goes() -> None:
    """The object stays until the (retried) storage cleanup succeeded."""
    timeline = _main("04_finalizers")
    assert [
        "t=0s storage created",
        "t=0s delete requested; finalizers=['examples.reconcile.dev/delete-storage']",
        "t=0s storage deletion failed; retrying",
        "t=0.005s storage deleted",
        "t=1s object gone=True, storage={}",
    ] == timeline


def test_05_embedding_leaves_the_service_tasks_alone() -> None:
    """Stopping the manager stops only the manager; all orders were shipped before."""
    result = _main("05_embedding")
    assert "stopped" == result["manager"]
    assert result["service_tasks_running"] is True
    assert result["heartbeats_after_stop"] >= 4
    assert ["order-1", "order-2", "order-3"] == result["shipped"]


def test_06_both_styles_share_one_manager() -> None:
    """Decorator handlers and a reconciler cooperate through one index and one manager."""
    result = _main("06_two_styles")
    assert [
        "t=0 created t-1",
        "t=0 created t-2",
        "t=60 updated t-1: spec.priority: 3 -> 1",
        "t=3600 escalated t-1",
        "t=3600 escalated t-2",
        "t=3660 archived t-2",
    ] == result["journal"]
    assert 1 == result["open"]
    assert ("first-line", 1) == (result["t1"].assignee, result["t1"].escalations)


def test_07_pods_restart_crash_loop_and_leave_a_dead_node() -> None:
    """The tutorial pods behave as on Kubernetes, and the cut-off node's pod is evicted."""
    result = _main("07_pods_on_a_cluster")
    assert result["liveness_restarts"] == 1
    assert result["unknown"] == "Unknown"
    assert result["taints"] == [
        "node.kubernetes.io/unreachable:NoExecute",
        "node.kubernetes.io/unreachable:NoSchedule",
    ]
    assert result["web_terminating"] is True
    assert {"Killing", "Started", "Unhealthy"} <= set(result["liveness_events"])
    assert (
        "crash           0/1     CrashLoopBackOff   2 (24s ago)   70s   10.244.2.2   node-3   "
        "<none>           <none>"
    ) in result["lines"]


@pytest.mark.parametrize("stem", ["01_minimal", "02_owned_children", "07_pods_on_a_cluster"])
def test_examples_are_deterministic(stem: str) -> None:
    """Running an example twice gives the same result."""
    assert _main(stem) == _main(stem)


def test_08_website_controller_rolls_out_fails_over_and_finalizes() -> None:
    """The website demo ends on v2 only, with the standby leading and DNS released."""
    facts = _main("08_website_controller")
    assert {
        "leader_before": "controller-alpha",
        "leader_after": "controller-beta",
        "dns": {},
        "websites": 0,
        "versions": ["v2"],
    } == facts


def test_09_service_traffic_moves_to_v2_and_drops_the_unready_canary() -> None:
    """Both versions answer mid-rollout, then v2 only; the unready canary leaves, unrestarted."""
    facts = _main("09_service_traffic")
    during = facts["during"]
    assert {"web:v1", "web:v2"} == set(during)
    assert ["web:v2"] * 3 == facts["after"]
    assert facts["canary_answered"] is True
    assert facts["canary_not_ready"] is True
    assert 0 == facts["canary_restarts"]
    assert ["web:v2"] == facts["last"]
    assert _main("09_service_traffic")["lines"] == facts["lines"]  # deterministic


def test_demo_rolls_out_v2_step_by_step_then_undoes_to_v1() -> None:
    """The tutorial's event sequence, in both directions, ending on v1 as revision 3."""
    facts = _main("demo")
    new, old = "nginx-deployment-7d9bdb676b", "nginx-deployment-68f8b88b5c"

    def steps(up: str, down: str, first: str) -> list[str]:
        return [
            f"Scaled up replica set {up} to 1{first}",
            f"Scaled down replica set {down} to 3 from 4",
            f"Scaled up replica set {up} to 2 from 1",
            f"Scaled down replica set {down} to 2 from 3",
            f"Scaled up replica set {up} to 3 from 2",
            f"Scaled down replica set {down} to 1 from 2",
            f"Scaled up replica set {up} to 4 from 3",
            f"Scaled down replica set {down} to 0 from 1",
        ]

    assert [f"Scaled up replica set {old} to 4"] == facts["created"]
    assert steps(new, old, "") == facts["update"]
    assert steps(old, new, " from 0") == facts["undo"]
    assert (["nginx:1.14.2"], 4) == (facts["images"], facts["pods"])
    assert [2, 3] == [revision for revision, _ in facts["revisions"]]


def test_10_fault_sweep_passes_the_careful_librarian_and_catches_the_hasty_one() -> None:
    """The sweep finds the stale-cache bug, and its replay file reproduces it byte for byte."""
    found = _load("10_fault_sweep").main()
    careful, hasty = found["careful"], found["hasty"]
    assert isinstance(careful, SweepReport)
    assert careful.runs > 10
    assert () == careful.failures
    assert isinstance(hasty, VerificationError)
    assert "invariant never_too_many_books violated" in str(hasty)
    assert hasty.replay is not None
    first, failures = replay(hasty.replay)
    second, _ = replay(hasty.replay)
    assert any("never_too_many_books" in f for f in failures)
    assert first.digest == second.digest
