"""``assert_converges``, ``fault_sweep`` and ``replay`` on a correct and a buggy controller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconcile.testing import run
from reconcile.verify import (
    Crash,
    Outcome,
    SweepReport,
    VerificationError,
    assert_converges,
    fault_sweep,
    replay,
    run_once,
)
from tests.verify import fixtures

CHECKS: dict[str, Any] = {
    "invariants": [fixtures.at_most_size_gadgets],
    "converged": fixtures.widgets_ready,
}


def _baseline_writes(setup: Any) -> int:
    outcome: Outcome = run(lambda clock: run_once({"c": setup}, fixtures.grow))
    return outcome.writes


def _buggy_failure(tmp_path: Path) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        assert_converges(
            {"c": fixtures.forgetful},
            fixtures.grow,
            faults_from=["crash"],
            examples=15,
            seed=7,
            replay_dir=tmp_path,
            **CHECKS,
        )
    return caught.value


def test_assert_converges_reports_a_shrunk_schedule_with_seed_and_replay(tmp_path: Path) -> None:
    """A controller that duplicates after a crash fails with one crash, the seed and a replay."""
    error = _buggy_failure(tmp_path)
    assert 1 == len(error.schedule)
    assert isinstance(error.schedule[0].fault, Crash)
    message = str(error)
    assert "invariant at_most_size_gadgets violated" in message
    assert "seed: 7\nschedule (1 injections):\n" in message
    assert error.replay is not None
    assert tmp_path == error.replay.parent
    assert message.endswith(f"replay: python -m reconcile.verify replay {error.replay}")
    saved = json.loads(error.replay.read_text())
    assert {"c": "tests.verify.fixtures:forgetful"} == saved["components"]
    assert ("tests.verify.fixtures:grow", 7) == (saved["workload"], saved["seed"])


def test_replay_reproduces_the_failure_byte_for_byte(tmp_path: Path) -> None:
    """Replaying the file twice fails the same way with the same trace digest."""
    error = _buggy_failure(tmp_path)
    assert error.replay is not None
    first, failures = replay(error.replay)
    second, _ = replay(error.replay, trace=tmp_path / "trace.jsonl")
    assert any("at_most_size_gadgets" in f for f in failures)
    assert first.digest == second.digest
    assert second.trace.lines == (tmp_path / "trace.jsonl").read_text().splitlines()


def test_replay_applies_the_ignore_filter_of_the_original_run(tmp_path: Path) -> None:
    """A failure found with ``ignore`` replays with it: the same failures, no extra ones."""
    with pytest.raises(VerificationError) as caught:
        fault_sweep(
            {"c": fixtures.forgetful},
            fixtures.grow,
            faults_from=("crash",),
            ignore=fixtures.gizmos_and_gadgets,
            replay_dir=tmp_path,
            **CHECKS,
        )
    assert caught.value.replay is not None
    _, failures = replay(caught.value.replay)
    assert str(caught.value).startswith("\n".join(failures) + "\nseed: 0\n")
    assert not any("end state differs" in f for f in failures)


def test_replay_refuses_an_ignore_filter_it_cannot_import(tmp_path: Path) -> None:
    """A run whose ``ignore`` is a lambda cannot be replayed faithfully, and says so."""
    with pytest.raises(VerificationError) as caught:
        fault_sweep(
            {"c": fixtures.forgetful},
            fixtures.grow,
            faults_from=("crash",),
            ignore=lambda obj: False,
            replay_dir=tmp_path,
            **CHECKS,
        )
    assert caught.value.replay is not None
    with pytest.raises(ValueError, match="ignore: not importable"):
        replay(caught.value.replay)


def test_assert_converges_passes_a_correct_controller() -> None:
    """The keeper survives random schedules of every fault class."""
    report = assert_converges({"c": fixtures.keeper}, fixtures.grow, examples=15, **CHECKS)
    assert 0 < report.runs <= 15
    assert () == report.failures
    assert report.simulated > 0


def test_assert_converges_refuses_a_workload_that_fails_without_faults(tmp_path: Path) -> None:
    """A system that fails with no fault at all is reported as such, with an empty schedule."""
    with pytest.raises(VerificationError, match="the fault-free run already fails") as caught:
        assert_converges(
            {"c": fixtures.keeper}, fixtures.create_broken, replay_dir=tmp_path, **CHECKS
        )
    assert () == caught.value.schedule


def test_fault_sweep_passes_a_correct_controller_at_every_point() -> None:
    """One run per crash point and per expire point, plus the fault-free one, all clean."""
    writes = _baseline_writes(fixtures.keeper)
    report = fault_sweep(
        {"c": fixtures.keeper}, fixtures.grow, faults_from=("crash", "expire"), **CHECKS
    )
    assert isinstance(report, SweepReport)
    assert (writes + (writes + 1) + 1, ()) == (report.runs, report.failures)


def test_fault_sweep_stride_skips_points() -> None:
    """With ``stride=2`` only every other point is tried."""
    writes = _baseline_writes(fixtures.keeper)
    report = fault_sweep(
        {"c": fixtures.keeper}, fixtures.grow, faults_from=("expire",), stride=2, **CHECKS
    )
    assert len(range(0, writes + 1, 2)) + 1 == report.runs


def test_fault_sweep_lists_every_failing_schedule_of_a_buggy_controller() -> None:
    """Without raising, the report lists exactly the crash points that break the invariant."""
    report = fault_sweep(
        {"c": fixtures.forgetful},
        fixtures.grow,
        faults_from=("crash",),
        raise_on_failure=False,
        **CHECKS,
    )
    assert report.failures
    crashed_after = []
    for schedule, found in report.failures:
        (injection,) = schedule
        assert isinstance(injection.fault, Crash)
        crashed_after.append(injection.fault.writes)
        assert any("at_most_size_gadgets" in line for line in found)
    # A crash after a gadget create and before the status write duplicates gadgets.
    assert [1, 2, 4] == crashed_after
    assert 1 + _baseline_writes(fixtures.forgetful) == report.runs


def test_fault_sweep_raises_on_the_first_failure(tmp_path: Path) -> None:
    """By default the sweep stops at the first failing schedule, with a replay file."""
    with pytest.raises(VerificationError) as caught:
        fault_sweep(
            {"c": fixtures.forgetful},
            fixtures.grow,
            faults_from=("crash",),
            replay_dir=tmp_path,
            **CHECKS,
        )
    assert (Crash(component="c", writes=1),) == tuple(i.fault for i in caught.value.schedule)
    assert caught.value.replay is not None
    assert tmp_path == caught.value.replay.parent


def test_fault_sweep_writes_a_fault_free_failure_to_the_replay_dir(tmp_path: Path) -> None:
    """A sweep whose fault-free run fails saves that replay where it was asked to."""
    with pytest.raises(VerificationError, match="the fault-free run already fails") as caught:
        fault_sweep({"c": fixtures.keeper}, fixtures.create_broken, replay_dir=tmp_path, **CHECKS)
    assert caught.value.replay is not None
    assert tmp_path == caught.value.replay.parent


def test_replay_names_what_cannot_be_imported(tmp_path: Path) -> None:
    """A replay file of a local function says it cannot be replayed, naming the field."""
    path = tmp_path / "local.json"
    data: dict[str, Any] = {
        "components": {"c": None},
        "workload": "tests.verify.fixtures:grow",
        "invariants": [],
        "converged": None,
        "seed": 0,
        "schedule": [],
    }
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"components\.c: not importable"):
        replay(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a replay file"),
        ("[1, 2]", r"not a replay file \(expected a JSON object\)"),
        ('{"seed": 0}', "missing 'components'"),
        (
            '{"components": {"c": "tests.verify.fixtures:nothing"}, "workload": null,'
            ' "invariants": [], "converged": null, "seed": 0, "schedule": []}',
            r"components\.c: cannot import 'tests.verify.fixtures:nothing'",
        ),
        (
            '{"components": {}, "workload": "tests.verify.fixtures:grow", "invariants": [],'
            ' "converged": null, "seed": 0, "schedule": [{"fault": "melt", "component": "c"}]}',
            "unknown fault 'melt'",
        ),
    ],
)
def test_replay_explains_a_malformed_file(tmp_path: Path, text: str, message: str) -> None:
    """A file that is not a replay file is refused with ``ValueError`` saying what is wrong."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        replay(path)
