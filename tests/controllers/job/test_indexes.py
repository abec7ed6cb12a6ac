"""Completion indexes and interval lists (``indexed_job_utils.go``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.job import (
    COMPLETION_INDEX,
    completion_index,
    first_pending_indexes,
    format_intervals,
    parse_intervals,
)
from tests.controllers.job.builders import job, pod


def test_formats_runs_as_intervals() -> None:
    """{1, 3, 4, 5, 7, 8} is written "1,3-5,7,8" (a pair is listed); the empty set is ""."""
    assert "1,3-5,7,8" == format_intervals([7, 3, 5, 4, 1, 3, 8])
    assert "" == format_intervals([])
    assert "0" == format_intervals([0])


@given(st.sets(st.integers(0, 500)))
def test_interval_lists_round_trip(indexes: set[int]) -> None:
    """Parsing a formatted set gives the set back."""
    assert frozenset(indexes) == parse_intervals(format_intervals(indexes))


@given(st.sets(st.integers(0, 500), min_size=1))
def test_interval_lists_are_compressed(indexes: set[int]) -> None:
    """Each run of three or more is one part; single indexes and pairs are listed."""
    parts = format_intervals(indexes).split(",")
    starts = [i for i in indexes if i - 1 not in indexes]
    lengths = []
    for start in starts:
        end = start
        while end + 1 in indexes:
            end += 1
        lengths.append(end - start + 1)
    assert sum(2 if n == 2 else 1 for n in lengths) == len(parts)


def test_parse_drops_indexes_beyond_completions() -> None:
    """Indexes at or above completions are ignored."""
    assert frozenset({1, 3, 4}) == parse_intervals("1,3-9", completions=5)


@pytest.mark.parametrize("text", ["a", "1-", "-1", "3-1", "1,,2", "1 ,2"])
def test_parse_refuses_malformed_lists(text: str) -> None:
    """A bad interval list is an error naming the field and the part."""
    with pytest.raises(ValueError, match="completedIndexes"):
        parse_intervals(text)


def test_completion_index_reads_the_annotation() -> None:
    """The annotation wins; a non-numeric value is no index."""
    j = job(indexed=True, completions=3)
    p = pod(j, "a", index=2)
    assert 2 == completion_index(p)
    bad = p.with_meta(annotations={COMPLETION_INDEX: "x"})
    assert completion_index(bad) is None


@given(
    st.integers(0, 30),
    st.integers(0, 30),
    st.sets(st.integers(0, 40)),
    st.sets(st.integers(0, 40)),
)
def test_first_pending_indexes_are_the_lowest_free_ones(
    completions: int, count: int, succeeded: set[int], active: set[int]
) -> None:
    """The result is the ``count`` smallest indexes below completions that are free."""
    free = [i for i in range(completions) if i not in succeeded and i not in active]
    assert tuple(free[:count]) == first_pending_indexes(
        completions, count, succeeded=succeeded, active=active
    )
