"""``python -m reconcile.verify``: replay and diff, their exit codes, output and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconcile.verify import Trace, VerificationError, fault_sweep, replay
from reconcile.verify.__main__ import main
from tests.verify import fixtures

ROOT = Path(__file__).resolve().parents[2]


def _replay_file(tmp_path: Path, setup: str, schedule: list[dict[str, object]]) -> Path:
    path = tmp_path / f"{setup}.json"
    data = {
        "components": {"c": f"tests.verify.fixtures:{setup}"},
        "workload": "tests.verify.fixtures:grow",
        "invariants": ["tests.verify.fixtures:at_most_size_gadgets"],
        "converged": "tests.verify.fixtures:widgets_ready",
        "seed": 0,
        "schedule": schedule,
    }
    path.write_text(json.dumps(data))
    return path


def _trace(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


CRASH = [{"at_write": 0, "fault": "crash", "component": "c", "writes": 1}]


def test_replay_of_a_failure_exits_1_and_says_what_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The buggy controller's replay prints the broken invariant and a FAILED summary."""
    assert 1 == main(["replay", str(_replay_file(tmp_path, "forgetful", CRASH))])
    out = capsys.readouterr().out
    assert "invariant at_most_size_gadgets violated" in out
    assert out.splitlines()[-1].startswith("FAILED: ")
    assert "1 restarts" in out


def test_replay_of_a_passing_schedule_exits_0_and_saves_its_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The correct controller passes the same crash; ``--trace`` writes the run, digest shown."""
    out_file = tmp_path / "out" / "trace.jsonl"
    path = _replay_file(tmp_path, "keeper", CRASH)
    assert 0 == main(["replay", str(path), "--trace", str(out_file)])
    summary = capsys.readouterr().out.strip()
    assert summary.startswith("passed: ")
    saved = Trace.load(out_file)
    digest = Trace()
    for line in saved:
        digest(json.loads(line))
    assert summary.endswith(f"trace {digest.digest()[:16]}")


def test_diff_of_identical_traces_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identical traces: exit status 0 and a message saying so."""
    a = _trace(tmp_path, "a.jsonl", ['{"x":1}', '{"y":2}'])
    b = _trace(tmp_path, "b.jsonl", ['{"x":1}', '{"y":2}'])
    assert 0 == main(["diff", str(a), str(b)])
    assert "traces are identical\n" == capsys.readouterr().out


def test_diff_of_different_traces_exits_1_and_shows_the_first_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Different traces: exit status 1 and the first line where they part."""
    a = _trace(tmp_path, "a.jsonl", ['{"x":1}', '{"y":2}', '{"z":3}'])
    b = _trace(tmp_path, "b.jsonl", ['{"x":1}', '{"y":5}'])
    assert 1 == main(["diff", str(a), str(b)])
    assert 'traces differ at line 2:\n  - {"y":2}\n  + {"y":5}\n' == capsys.readouterr().out


@pytest.mark.parametrize("command", ["replay", "diff"])
def test_a_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A file that does not exist: exit status 2 and an error naming it, no traceback."""
    missing = tmp_path / "nope.json"
    argv = [command, str(missing)] + ([str(missing)] if command == "diff" else [])
    assert 2 == main(argv)
    captured = capsys.readouterr()
    assert "" == captured.out
    assert captured.err.startswith("python -m reconcile.verify: error: ")
    assert str(missing) in captured.err


def test_an_invalid_replay_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not a replay file: exit status 2 and what is wrong with it."""
    path = tmp_path / "trace.jsonl"
    path.write_text('{"t":0}\n')
    assert 2 == main(["replay", str(path)])
    assert "not a replay file (missing 'components'" in capsys.readouterr().err


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a known command, argparse prints the usage and exits with status 2."""
    with pytest.raises(SystemExit) as exited:
        main(["explode"])
    assert 2 == exited.value.code
    assert "usage: python -m reconcile.verify" in capsys.readouterr().err


def test_the_module_runs_a_saved_replay_file(tmp_path: Path) -> None:
    """The command printed by a failing sweep works as printed, from the project root."""
    with pytest.raises(VerificationError) as caught:
        fault_sweep(
            {"c": fixtures.forgetful},
            fixtures.grow,
            faults_from=("crash",),
            invariants=[fixtures.at_most_size_gadgets],
            replay_dir=tmp_path,
        )
    command = str(caught.value).splitlines()[-1].removeprefix("replay: python ")
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, *command.split()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 1 == done.returncode, done.stderr
    assert "invariant at_most_size_gadgets violated" in done.stdout
    here, _ = replay(command.split()[-1])  # another process, another hash seed: same trace
    assert done.stdout.strip().endswith(f"trace {here.digest[:16]}")
