"""
The fast profile: every profile's machine, no bug planted, passes a few examples.

This is the CI share of the deep profile (``./dev verify``): same machine,
same oracles, far fewer examples. A failure here is a real bug (or an
oracle that asks too much): replay the program file the error names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controllers.verify import PROFILES, hunt

EXAMPLES = 10
STEPS = 15


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_built_in_controllers_pass_the_profile(profile: str, tmp_path: Path) -> None:
    found = hunt(profile, examples=EXAMPLES, steps=STEPS, seed=1, replay_dir=tmp_path)
    assert found.error is None
    assert found.examples >= EXAMPLES
    assert found.simulated > 0
