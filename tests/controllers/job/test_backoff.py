"""The pod-failure back-off: finish times, the record, the delay (``backoff_utils.go``)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.pod import PodCondition
from controllers.job import (
    DEFAULT_POD_FAILURE_BACKOFF,
    MAX_POD_FAILURE_BACKOFF,
    BackoffRecord,
    backoff_delay,
    finish_time,
    remaining_backoff,
    update_backoff,
)
from tests.controllers.job.builders import at, job, pod

JOB = job()


def test_backoff_delay_doubles_from_ten_seconds_up_to_ten_minutes() -> None:
    """0, 10, 20, 40, 80, 160, 320, then 600 s for every further failure."""
    assert [0, 10, 20, 40, 80, 160, 320, 600, 600] == [backoff_delay(n) for n in range(9)]


def test_backoff_delay_refuses_negative_counts() -> None:
    """A negative failure count is an error naming the argument."""
    with pytest.raises(ValueError, match="failures"):
        backoff_delay(-1)


@given(st.integers(0, 200), st.integers(0, 200))
def test_backoff_delay_is_monotone_and_capped(a: int, b: int) -> None:
    """More failures never wait less, and never more than the cap."""
    low, high = sorted((a, b))
    assert backoff_delay(low) <= backoff_delay(high) <= MAX_POD_FAILURE_BACKOFF


@given(st.integers(1, 50), st.floats(0, 1_000, allow_nan=False))
def test_remaining_backoff_counts_down_from_the_last_failure(failures: int, elapsed: float) -> None:
    """The remainder is the delay minus the time since the last failure, never negative."""
    record = BackoffRecord(failures=failures, last_failure=at(0))
    remaining = remaining_backoff(record, now=at(elapsed))
    # Timestamps hold microseconds: ``elapsed`` is rounded to one on the way in.
    assert max(backoff_delay(failures) - elapsed, 0.0) == pytest.approx(remaining, abs=1e-6)


def test_no_failures_means_no_wait() -> None:
    """An empty record never delays."""
    assert 0.0 == remaining_backoff(BackoffRecord(), now=at(0))


def test_finish_time_is_the_latest_container_finish() -> None:
    """With every container terminated, the pod finished when the last one did."""
    p = pod(JOB, "a", phase="Failed", exit_code=1, created=1, finished=7)
    assert at(7) == finish_time(p)


def test_finish_time_falls_back_to_ready_false_then_deletion_then_creation() -> None:
    """Ready=False transition, then deletion minus grace, then creation."""
    running = pod(JOB, "a", created=3)
    assert at(3) == finish_time(running)
    deleted = running.with_meta(deletion_timestamp=at(40), deletion_grace_period_seconds=30)
    assert at(10) == finish_time(deleted)
    unready = PodCondition(type="Ready", status="False", last_transition_time=at(20))
    flagged = attrs.evolve(deleted, status=attrs.evolve(deleted.status, conditions=(unready,)))
    assert at(20) == finish_time(flagged)


@given(st.lists(st.floats(0, 1_000, allow_nan=False), min_size=1, max_size=8))
def test_failures_without_success_add_up(times: list[float]) -> None:
    """New failures add to the count; the latest finish time is kept."""
    failed = [
        pod(JOB, f"f{i}", phase="Failed", exit_code=1, finished=t) for i, t in enumerate(times)
    ]
    record = update_backoff(BackoffRecord(failures=2, last_failure=at(0)), [], failed)
    assert 2 + len(times) == record.failures
    assert at(max(times)) == record.last_failure


@given(
    st.lists(st.floats(0, 1_000, allow_nan=False), max_size=8),
    st.floats(0, 1_000, allow_nan=False),
    st.integers(0, 20),
)
def test_a_success_resets_the_count_to_later_failures(
    times: list[float], success: float, before: int
) -> None:
    """With a success, only failures that finished strictly after it count."""
    failed = [
        pod(JOB, f"f{i}", phase="Failed", exit_code=0, finished=t) for i, t in enumerate(times)
    ]
    won = pod(JOB, "s", phase="Succeeded", exit_code=0, finished=success)
    record = update_backoff(BackoffRecord(failures=before, last_failure=at(0)), [won], failed)
    later = [t for t in times if at(t) > at(success)]
    assert len(later) == record.failures
    assert (at(max(later)) if later else None) == record.last_failure
    assert record.failures <= len(times)


def test_nothing_new_keeps_the_record() -> None:
    """No finished pods: the record is unchanged."""
    record = BackoffRecord(failures=3, last_failure=at(5))
    assert record == update_backoff(record, [], [])


def test_the_first_failure_waits_the_default_backoff() -> None:
    """One failure: 10 s from its finish time."""
    record = update_backoff(
        BackoffRecord(), [], [pod(JOB, "f", phase="Failed", exit_code=1, finished=4)]
    )
    assert DEFAULT_POD_FAILURE_BACKOFF == remaining_backoff(record, now=at(4))
    assert 3.0 == remaining_backoff(record, now=at(11))
