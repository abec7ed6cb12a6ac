"""
Shared fixtures: keep the library's log lines out of test output.

Under ``CI`` (set by ``.ci/run``) hypothesis runs its ``ci`` profile: the
same examples on every run, so a result is reproducible from the commit
alone; elsewhere each run explores new examples (and replays the failures
it saved in ``.hypothesis/``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping

import pytest
import structlog
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _drop(_logger: object, _name: str, _event: MutableMapping[str, object]) -> Mapping[str, object]:
    raise structlog.DropEvent


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    """Drop log lines unless a test captures them (`structlog.testing.capture_logs`)."""
    structlog.configure(processors=[_drop])
    yield
    structlog.reset_defaults()
