"""Status conditions: set_condition's transition-time rule and the lookup helpers."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.model.conditions import (
    Condition,
    ConditionStatus,
    find_condition,
    is_condition_false,
    is_condition_true,
    remove_condition,
    set_condition,
)

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
GIVEN = dt.datetime(2025, 1, 3, tzinfo=dt.UTC)

times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 -- hypothesis bounds are naive
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
conditions = st.builds(
    Condition,
    type=st.sampled_from(["Ready", "Available", "Progressing"]),
    status=st.sampled_from(ConditionStatus),
    reason=st.sampled_from(["", "Because", "Other"]),
    message=st.text(max_size=5),
    last_transition_time=st.none() | times,
    observed_generation=st.none() | st.integers(min_value=0, max_value=5),
)


@st.composite
def condition_lists(draw: st.DrawFn) -> tuple[Condition, ...]:
    """Conditions with distinct types, each stamped with a transition time."""
    drawn = draw(st.lists(conditions, unique_by=lambda c: c.type, max_size=3))
    return tuple(attrs.evolve(c, last_transition_time=c.last_transition_time or T0) for c in drawn)


def ready(
    status: ConditionStatus,
    *,
    reason: str = "",
    message: str = "",
    last_transition_time: dt.datetime | None = None,
    observed_generation: int | None = None,
) -> Condition:
    """A Ready condition with the given status."""
    return Condition(
        type="Ready",
        status=status,
        reason=reason,
        message=message,
        last_transition_time=last_transition_time,
        observed_generation=observed_generation,
    )


@given(condition_lists(), conditions, times)
def test_transition_time_is_kept_iff_status_is_unchanged(
    existing: tuple[Condition, ...], new: Condition, now: dt.datetime
) -> None:
    """lastTransitionTime moves only when the status changes (or the type is new)."""
    old = find_condition(existing, new.type)
    result = find_condition(set_condition(existing, new, now=now), new.type)
    assert result is not None
    if old is not None and old.status == new.status:
        assert old.last_transition_time == result.last_transition_time
    else:
        assert (new.last_transition_time or now) == result.last_transition_time


@given(condition_lists(), conditions, times)
def test_set_condition_takes_everything_but_the_transition_time(
    existing: tuple[Condition, ...], new: Condition, now: dt.datetime
) -> None:
    """Status, reason, message and observedGeneration always come from the new condition."""
    result = find_condition(set_condition(existing, new, now=now), new.type)
    assert result is not None
    assert attrs.evolve(new, last_transition_time=None) == attrs.evolve(
        result, last_transition_time=None
    )


@given(condition_lists(), conditions, times, times)
def test_set_condition_is_idempotent(
    existing: tuple[Condition, ...], new: Condition, now: dt.datetime, later: dt.datetime
) -> None:
    """Setting the same condition again, at any time, changes nothing."""
    once = set_condition(existing, new, now=now)
    assert once is set_condition(once, new, now=later)


@given(condition_lists(), conditions, times)
def test_set_condition_preserves_order_and_other_conditions(
    existing: tuple[Condition, ...], new: Condition, now: dt.datetime
) -> None:
    """Other conditions are untouched; a new type is appended at the end."""
    result = set_condition(existing, new, now=now)
    types = [c.type for c in existing]
    expected_types = types if new.type in types else [*types, new.type]
    assert expected_types == [c.type for c in result]
    assert [c for c in existing if c.type != new.type] == [c for c in result if c.type != new.type]


def test_new_condition_is_appended_with_now() -> None:
    """A condition of a new type is stamped with now when it carries no time."""
    available = Condition(type="Available", status=ConditionStatus.TRUE, last_transition_time=T0)
    result = set_condition((available,), ready(ConditionStatus.FALSE), now=NOW)
    assert (available, ready(ConditionStatus.FALSE, last_transition_time=NOW)) == result


def test_new_condition_keeps_its_own_transition_time() -> None:
    """A condition of a new type that carries a time keeps it."""
    new = ready(ConditionStatus.TRUE, last_transition_time=GIVEN)
    assert (new,) == set_condition((), new, now=NOW)


def test_same_status_updates_reason_message_and_generation_but_keeps_time() -> None:
    """Same status: reason, message and observedGeneration change; the time stays."""
    old = ready(ConditionStatus.TRUE, reason="A", message="a", last_transition_time=T0)
    new = ready(ConditionStatus.TRUE, reason="B", message="b", observed_generation=3)
    expected = (attrs.evolve(new, last_transition_time=T0),)
    assert expected == set_condition((old,), new, now=NOW)


def test_status_change_stamps_now_or_the_given_time() -> None:
    """A status change takes the new condition's time if it has one, else now."""
    old = (ready(ConditionStatus.TRUE, last_transition_time=T0),)
    flipped = set_condition(old, ready(ConditionStatus.FALSE), now=NOW)
    assert (ready(ConditionStatus.FALSE, last_transition_time=NOW),) == flipped
    given_time = ready(ConditionStatus.UNKNOWN, last_transition_time=GIVEN)
    assert (given_time,) == set_condition(old, given_time, now=NOW)


def test_same_status_ignores_the_given_transition_time() -> None:
    """Without a status change the new condition's own time is not used."""
    old = (ready(ConditionStatus.TRUE, last_transition_time=T0),)
    new = ready(ConditionStatus.TRUE, last_transition_time=GIVEN)
    assert old is set_condition(old, new, now=NOW)


def test_changed_condition_is_replaced_in_place() -> None:
    """The updated condition keeps its position among the others."""
    first = Condition(type="A", status=ConditionStatus.TRUE, last_transition_time=T0)
    last = Condition(type="C", status=ConditionStatus.TRUE, last_transition_time=T0)
    middle = ready(ConditionStatus.TRUE, last_transition_time=T0)
    result = set_condition((first, middle, last), ready(ConditionStatus.FALSE), now=NOW)
    expected = ["A", "Ready", "C"]
    assert expected == [c.type for c in result]


def test_find_condition_returns_the_condition_or_none() -> None:
    """find_condition looks conditions up by type."""
    cond = ready(ConditionStatus.TRUE)
    assert cond == find_condition((cond,), "Ready")
    assert find_condition((cond,), "Available") is None


def test_remove_condition_drops_only_that_type() -> None:
    """remove_condition removes by type and returns the same tuple when absent."""
    other = Condition(type="Available", status=ConditionStatus.TRUE)
    existing = (ready(ConditionStatus.TRUE), other)
    assert (other,) == remove_condition(existing, "Ready")
    assert existing is remove_condition(existing, "Progressing")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ConditionStatus.TRUE, (True, False)),
        (ConditionStatus.FALSE, (False, True)),
        (ConditionStatus.UNKNOWN, (False, False)),
    ],
)
def test_is_condition_true_and_false_read_the_status(
    status: ConditionStatus, expected: tuple[bool, bool]
) -> None:
    """Unknown is neither true nor false."""
    existing = (ready(status),)
    assert expected == (
        is_condition_true(existing, "Ready"),
        is_condition_false(existing, "Ready"),
    )


def test_missing_condition_is_neither_true_nor_false() -> None:
    """An absent condition reports False from both predicates."""
    expected = (False, False)
    assert expected == (is_condition_true((), "Ready"), is_condition_false((), "Ready"))


def test_condition_validates_its_fields() -> None:
    """Type is required, status must be a ConditionStatus, observedGeneration >= 0."""
    with pytest.raises(ValueError, match=r"^type: Required value"):
        Condition(type="", status=ConditionStatus.TRUE)
    with pytest.raises(TypeError, match="status"):
        Condition(type="Ready", status="True")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="observed_generation"):
        Condition(type="Ready", status=ConditionStatus.TRUE, observed_generation=-1)
