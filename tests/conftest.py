"""Shared fixtures: keep the library's log lines out of test output."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping

import pytest
import structlog


def _drop(_logger: object, _name: str, _event: MutableMapping[str, object]) -> Mapping[str, object]:
    raise structlog.DropEvent


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    """Drop log lines unless a test captures them (`structlog.testing.capture_logs`)."""
    structlog.configure(processors=[_drop])
    yield
    structlog.reset_defaults()
