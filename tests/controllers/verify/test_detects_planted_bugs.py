"""
The harness bites: the whole-cluster machine catches every planted bug within a fixed budget.

Each bug of :mod:`controllers.planted` (and the runtime's
``leaderelection.no-fencing``) is hunted with its profile
(:data:`controllers.verify.BUG_PROFILES`) for at most :data:`BUDGET`
examples of :data:`STEPS` steps, derandomized so the budget is the same
on every run. A bug the harness misses fails the build.
``python -m controllers.verify bugs`` prints the examples and seconds each one takes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controllers import planted
from controllers.verify import BUG_PROFILES, PROFILES, Program, hunt
from reconcile.testing import catalogue

BUDGET = 40
STEPS = 12


def test_every_planted_bug_has_a_profile() -> None:
    declared = {bug.name for bug in catalogue()}
    assert set(BUG_PROFILES) == declared
    assert set(BUG_PROFILES.values()) <= set(PROFILES)
    assert len(BUG_PROFILES) >= 12
    assert set(planted.FAULTS) <= set(BUG_PROFILES)


@pytest.mark.parametrize("bug", sorted(BUG_PROFILES))
def test_the_harness_detects_the_planted_bug(bug: str, tmp_path: Path) -> None:
    found = hunt(BUG_PROFILES[bug], bugs=[bug], examples=BUDGET, steps=STEPS, replay_dir=tmp_path)
    assert found.detected, f"{bug} went undetected in {found.examples} examples"
    assert found.failed_at is not None
    assert found.failed_at <= BUDGET
    assert found.error is not None
    assert "replay: python -m controllers.verify replay" in found.error
    assert found.path is not None
    assert found.path.parent == tmp_path
    assert bug in Program.load(found.path).bugs
