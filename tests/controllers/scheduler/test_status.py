"""The PodScheduled condition: set once, rewritten only when it changes."""

from __future__ import annotations

import datetime as dt

from controllers.scheduler.status import with_scheduled
from tests.controllers.scheduler.builders import pod, with_spec

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=10)


def test_setting_the_same_condition_again_is_a_no_op() -> None:
    """A second identical write is skipped (None), so retries write nothing."""
    first = with_scheduled(pod("p"), status=False, reason="Unschedulable", message="m", now=T0)
    assert first is not None
    assert None is with_scheduled(first, status=False, reason="Unschedulable", message="m", now=T1)


def test_transition_time_moves_only_when_status_changes() -> None:
    """A new message keeps the transition time; a new status stamps ``now``."""
    first = with_scheduled(pod("p"), status=False, reason="Unschedulable", message="a", now=T0)
    assert first is not None
    reworded = with_scheduled(first, status=False, reason="Unschedulable", message="b", now=T1)
    assert reworded is not None
    scheduled = with_scheduled(with_spec(reworded, node_name="n"), status=True, now=T1)
    assert scheduled is not None
    assert [(T0, "False", "b"), (T1, "True", "")] == [
        (c.last_transition_time, c.status, c.message)
        for p in (reworded, scheduled)
        for c in p.status.conditions
    ]
