"""Expectations: pending creations and uid-tracked deletions per owner key, with a TTL."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from reconcile.model.meta import ObjectKey, Uid
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.expectations import Expectations, ExpectationsStatistics

KEY = ObjectKey(namespace="ns", name="rs")
OTHER = ObjectKey(namespace="ns", name="other")


def test_is_satisfied_without_a_record() -> None:
    """A key nobody set expectations for is satisfied."""
    assert True is Expectations(clock=VirtualClock()).satisfied(KEY)


def test_is_unsatisfied_until_every_creation_is_observed() -> None:
    """expect_creations(3) blocks until three creations are observed."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_creations(KEY, 3)
    seen = []
    for _ in range(3):
        seen.append(expectations.satisfied(KEY))
        expectations.creation_observed(KEY)
    assert [False, False, False, True] == [*seen, expectations.satisfied(KEY)]


def test_expecting_zero_creations_is_satisfied() -> None:
    """expect_creations(0) records nothing pending."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_creations(KEY, 0)
    assert True is expectations.satisfied(KEY)


def test_extra_observations_do_not_go_below_zero_pending() -> None:
    """Observing more creations than expected leaves nothing pending."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_creations(KEY, 1)
    expectations.creation_observed(KEY)
    expectations.creation_observed(KEY)
    assert (0, frozenset()) == expectations.pending(KEY)


def test_deletions_are_tracked_by_uid() -> None:
    """Each expected uid must be observed; repeats and unexpected uids do not count."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_deletions(KEY, [Uid("a"), Uid("b")])
    expectations.deletion_observed(KEY, Uid("a"))
    expectations.deletion_observed(KEY, Uid("a"))
    expectations.deletion_observed(KEY, Uid("zzz"))
    assert (False, frozenset({Uid("b")})) == (
        expectations.satisfied(KEY),
        expectations.pending(KEY)[1],
    )
    expectations.deletion_observed(KEY, Uid("b"))
    assert True is expectations.satisfied(KEY)


def test_expect_replaces_the_previous_record() -> None:
    """expect_deletions after expect_creations replaces the pending creations."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_creations(KEY, 2)
    expectations.expect_deletions(KEY, [Uid("x")])
    assert (0, frozenset({Uid("x")})) == expectations.pending(KEY)


def test_raise_and_lower_adjust_an_existing_record() -> None:
    """raise_expectations adds to a record and lower_expectations takes away."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_creations(KEY, 1)
    expectations.raise_expectations(KEY, creations=2, deletions=[Uid("u")])
    expectations.lower_expectations(KEY, creations=1)
    assert (2, frozenset({Uid("u")})) == expectations.pending(KEY)


def test_raise_and_lower_without_a_record_do_nothing() -> None:
    """Adjusting a key without a record creates no record."""
    expectations = Expectations(clock=VirtualClock())
    expectations.raise_expectations(KEY, creations=5)
    expectations.lower_expectations(KEY, creations=1)
    expectations.creation_observed(KEY)
    expectations.deletion_observed(KEY, Uid("u"))
    assert 0 == expectations.statistics().records


def test_negative_counts_are_rejected() -> None:
    """Counts below zero are programming errors."""
    expectations = Expectations(clock=VirtualClock())
    with pytest.raises(ValueError, match="count"):
        expectations.expect_creations(KEY, -1)


def test_keys_are_independent() -> None:
    """Expectations on one key never affect another."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_creations(KEY, 1)
    expectations.creation_observed(OTHER)
    assert (False, True) == (expectations.satisfied(KEY), expectations.satisfied(OTHER))


def test_forget_drops_the_record() -> None:
    """forget() makes a key satisfied and removes its record."""
    expectations = Expectations(clock=VirtualClock())
    expectations.expect_creations(KEY, 4)
    expectations.forget(KEY)
    assert (True, 0) == (expectations.satisfied(KEY), expectations.statistics().records)


def test_unmet_expectations_expire_after_the_ttl() -> None:
    """A record older than the TTL no longer blocks, measured on the injected clock."""
    clock = VirtualClock()

    async def scenario() -> list[bool]:
        expectations = Expectations(clock=clock)
        expectations.expect_creations(KEY, 1)
        seen = [expectations.satisfied(KEY)]
        await clock.advance(300.0)
        seen.append(expectations.satisfied(KEY))
        await clock.advance(0.5)
        seen.append(expectations.satisfied(KEY))
        return seen

    assert [False, False, True] == clock.run(scenario())


def test_lowering_keeps_the_record_age_but_expecting_renews_it() -> None:
    """Only expect_* restart the TTL; raise/lower adjust a record without renewing it."""
    clock = VirtualClock()

    async def scenario() -> list[bool]:
        expectations = Expectations(clock=clock, ttl=10.0)
        expectations.expect_creations(KEY, 3)
        await clock.advance(8.0)
        expectations.raise_expectations(KEY, creations=1)
        await clock.advance(3.0)
        expired = expectations.satisfied(KEY)
        expectations.expect_creations(KEY, 1)
        return [expired, expectations.satisfied(KEY)]

    assert [True, False] == clock.run(scenario())


def test_expiry_is_logged() -> None:
    """Satisfying a key through the TTL logs expectations.expired."""
    clock = VirtualClock()

    async def scenario() -> None:
        expectations = Expectations(clock=clock, ttl=1.0)
        expectations.expect_creations(KEY, 1)
        await clock.advance(2.0)
        expectations.satisfied(KEY)

    with capture_logs() as logs:
        clock.run(scenario())
    assert ["expectations.expired"] == [
        e["event"] for e in logs if e["event"] == "expectations.expired"
    ]


def test_statistics_count_pending_and_expired_records() -> None:
    """statistics() sums pending work and separates expired from unsatisfied records."""
    clock = VirtualClock()

    async def scenario() -> ExpectationsStatistics:
        expectations = Expectations(clock=clock, ttl=5.0)
        expectations.expect_creations(KEY, 2)
        await clock.advance(6.0)
        expectations.expect_deletions(OTHER, [Uid("a"), Uid("b"), Uid("c")])
        expectations.expect_creations(ObjectKey(name="done"), 0)
        return expectations.statistics()

    expected = ExpectationsStatistics(
        records=3, unsatisfied=1, expired=1, pending_creations=2, pending_deletions=3
    )
    assert expected == clock.run(scenario())


def test_expectations_of_an_owner_replaced_under_its_name_are_dropped() -> None:
    """Delete and re-create between two syncs: the new owner waits for nothing of the old."""
    exp = Expectations(clock=VirtualClock())
    key = ObjectKey("default", "web")
    assert not exp.observe_owner(key, Uid("a"))
    exp.expect_creations(key, 3)
    assert not exp.satisfied(key)
    assert not exp.observe_owner(key, Uid("a"))  # the same owner keeps its expectations
    assert not exp.satisfied(key)
    assert exp.observe_owner(key, Uid("b"))
    assert exp.satisfied(key)
