"""When a finished Job expires (``timeLeft``)."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.batch import Job
from controllers.job import COMPLETE, FAILED, SUSPENDED, condition
from controllers.ttlafterfinished import expire_time, needs_cleanup, time_left
from tests.controllers.job.builders import at, job


def finished(j: Job, type_: str, when: float) -> Job:
    done = condition(type_, "R", "m", now=at(when))
    return attrs.evolve(j, status=attrs.evolve(j.status, conditions=(done,)))


@given(st.integers(0, 10_000), st.floats(0, 1_000), st.floats(0, 20_000))
def test_time_left_counts_from_the_finish(ttl: int, done: float, now: float) -> None:
    """Expiry is the finish time plus the TTL, for Complete and Failed alike."""
    for type_ in (COMPLETE, FAILED):
        j = finished(job(ttl=ttl), type_, done)
        assert needs_cleanup(j)
        assert at(done + ttl) == expire_time(j)
        left = time_left(j, now=at(now))
        assert left is not None
        assert abs(done + ttl - now - left) < 1e-3


def test_unfinished_or_ttl_free_jobs_never_expire() -> None:
    """No TTL, or no true Complete/Failed condition: nothing to clean up."""
    assert time_left(finished(job(), COMPLETE, 0), now=at(1e6)) is None
    assert time_left(job(ttl=0), now=at(1e6)) is None
    assert not needs_cleanup(finished(job(ttl=5), SUSPENDED, 0))
