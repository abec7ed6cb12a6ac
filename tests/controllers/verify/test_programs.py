"""
Programs the whole-cluster machine once failed on, and what a program guarantees.

Each file in ``programs/`` is a shrunk program that made an oracle fail
before a fix (its name says what must hold now); replaying it must pass.
Replays are deterministic: the same program gives the same trace, byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from controllers.verify import PROFILES, Program, execute
from controllers.verify.steps import (
    Advance,
    ChangeTemplate,
    CreateDeployment,
    Step,
    step_from_json,
    step_to_json,
)

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.json"))
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_a_program_that_once_failed_now_passes(path: Path) -> None:
    report = execute(Program.load(path))
    assert () == report.failures


def test_there_are_regression_programs() -> None:
    assert len(PROGRAMS) >= 5


def rollout(bugs: tuple[str, ...] = ()) -> Program:
    return Program(
        bugs=bugs,
        steps=(
            CreateDeployment(target="web-a", replicas=3),
            Advance(seconds=30),
            ChangeTemplate(kind="deployment", target="web-a", image="v2"),
            Advance(seconds=30),
        ),
    )


def test_the_same_program_gives_the_same_trace_byte_for_byte() -> None:
    first = execute(rollout(), trace=True)
    second = execute(rollout(), trace=True)
    assert first.digest == second.digest
    assert first.trace.lines == second.trace.lines
    assert first.writes > 20


def test_a_planted_bug_fails_the_same_way_on_every_replay() -> None:
    program = rollout(("deployment.surge-rounded-down",))
    first, second = execute(program), execute(program)
    assert first.failures
    assert any(f.startswith("rollout-availability") for f in first.failures)
    assert (first.failures, first.digest) == (second.failures, second.digest)
    assert () == execute(rollout()).failures


def test_the_command_line_replays_a_saved_program(tmp_path: Path) -> None:
    path = rollout(("deployment.surge-rounded-down",)).save(tmp_path / "program.json")
    trace = tmp_path / "trace.jsonl"
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "controllers.verify", "replay", str(path), "--trace", str(trace)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert 1 == done.returncode, done.stderr
    assert "rollout-availability" in done.stdout
    digest = execute(Program.load(path)).digest
    assert digest in done.stdout
    assert trace.read_text().count("\n") > 20


def test_a_bad_program_file_is_refused_naming_the_step(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"steps": [{"step": "advance", "seconds": 1}, {"step": "fly"}]}))
    with pytest.raises(ValueError, match=r"program.steps\[1\]: step: unknown step 'fly'"):
        Program.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        Program.load(path)


@settings(max_examples=200, deadline=None)
@given(PROFILES["everything"].steps)
def test_every_step_survives_a_json_round_trip(step: Step) -> None:
    data = json.loads(json.dumps(step_to_json(step)))
    assert step == step_from_json(data)
