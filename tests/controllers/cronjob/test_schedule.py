"""Parsing CronJob schedules and time zones with Kubernetes' (robfig/cron) rules."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import cronsim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.cronjob import ScheduleError, load_time_zone, parse_schedule, schedule_errors
from controllers.cronjob.schedule import MACROS, EverySchedule

UTC = dt.UTC
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def times(schedule: str, start: dt.datetime, n: int, zone: str | None = None) -> list[str]:
    """The first ``n`` times after ``start``, as UTC ISO strings."""
    parsed = parse_schedule(schedule, zone)
    found = []
    t: dt.datetime | None = start
    for _ in range(n):
        assert t is not None
        t = parsed.next_after(t)
        assert t is not None
        found.append(t.isoformat())
    return found


@pytest.mark.parametrize(("macro", "expression"), sorted(MACROS.items()))
def test_macros_mean_their_five_field_schedules(macro: str, expression: str) -> None:
    """``@hourly`` and the other descriptors give the same times as what they stand for."""
    start = dt.datetime(2026, 2, 27, 13, 7, tzinfo=UTC)
    assert times(expression, start, 5) == times(macro, start, 5)


def test_every_minute_gives_each_minute() -> None:
    """``*/1 * * * *`` runs at every whole minute after the start."""
    start = dt.datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert [
        "2026-01-01T00:01:00+00:00",
        "2026-01-01T00:02:00+00:00",
        "2026-01-01T00:03:00+00:00",
    ] == times("*/1 * * * *", start, 3)


def test_next_is_strictly_after_a_schedule_time() -> None:
    """From exactly a schedule time the next one is the following, not the same."""
    start = dt.datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert ["2026-01-02T09:00:00+00:00"] == times("0 9 * * *", start, 1)


def test_names_are_case_insensitive() -> None:
    """Month and weekday names work in any case, in ranges too."""
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    assert times("0 12 * jan-Mar mon", start, 3) == times("0 12 * 1-3 1", start, 3)


def test_restricted_day_of_month_and_weekday_either_matches() -> None:
    """With both day fields restricted, a day matching either runs (cron's OR rule)."""
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)  # Thursday 1 January
    assert [
        "2026-01-02T00:00:00+00:00",  # Friday
        "2026-01-09T00:00:00+00:00",  # Friday
        "2026-01-13T00:00:00+00:00",  # the 13th, a Tuesday
    ] == times("0 0 13 * FRI", start, 3)


def test_stepped_day_of_month_is_restricted_like_robfig() -> None:
    """``*/2`` in the day of month is a restriction (robfig/cron), so weekdays OR with it."""
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)  # Thursday 1 January
    assert [
        "2026-01-03T00:00:00+00:00",  # odd day
        "2026-01-05T00:00:00+00:00",  # odd day and Monday
        "2026-01-07T00:00:00+00:00",
    ] == times("0 0 */2 * MON", start, 3)


def test_weekday_step_stays_within_the_week() -> None:
    """``1/2`` in the weekday is Monday, Wednesday, Friday: never Sunday as ``7``."""
    start = dt.datetime(2026, 1, 3, tzinfo=UTC)  # Saturday
    assert [
        "2026-01-05T00:00:00+00:00",
        "2026-01-07T00:00:00+00:00",
        "2026-01-09T00:00:00+00:00",
        "2026-01-12T00:00:00+00:00",
    ] == times("0 0 * * 1/2", start, 4)


def test_every_duration_counts_from_the_given_time() -> None:
    """``@every 1h30m`` is a fixed delay after the previous time, in whole seconds."""
    parsed = parse_schedule("@every 1h30m")
    assert EverySchedule(5400) == parsed
    start = dt.datetime(2026, 1, 1, 0, 0, 10, 500, tzinfo=UTC)
    assert dt.datetime(2026, 1, 1, 1, 30, 10, tzinfo=UTC) == parsed.next_after(start)


def test_time_zone_follows_daylight_saving_time() -> None:
    """``0 9 * * *`` in New York is 14:00 UTC in winter and 13:00 UTC once DST starts."""
    start = dt.datetime(2026, 3, 6, tzinfo=UTC)
    assert [
        "2026-03-06T14:00:00+00:00",
        "2026-03-07T14:00:00+00:00",
        "2026-03-08T13:00:00+00:00",  # 8 March 2026: clocks go forward at 02:00
        "2026-03-09T13:00:00+00:00",
    ] == times("0 9 * * *", start, 4, "America/New_York")


def test_run_in_skipped_hour_happens_when_the_clock_jumps() -> None:
    """02:30 does not exist on 8 March 2026 in New York: the run is at 03:00 EDT."""
    start = dt.datetime(2026, 3, 7, 12, tzinfo=UTC)
    found = times("30 2 * * *", start, 2, "America/New_York")
    assert ["2026-03-08T07:00:00+00:00", "2026-03-09T06:30:00+00:00"] == found


def test_run_in_repeated_hour_happens_once() -> None:
    """01:30 happens twice on 1 November 2026 in New York: one run, at the first."""
    start = dt.datetime(2026, 10, 31, 12, tzinfo=UTC)
    found = times("30 1 * * *", start, 2, "America/New_York")
    assert ["2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"] == found


def test_next_time_from_the_repeated_hour_is_after_it() -> None:
    """From the second pass through 02:00-03:00 in Berlin, 02:30 (already run) is not next."""
    parsed = parse_schedule("30 2 * * *", "Europe/Berlin")
    second_pass = dt.datetime(2026, 10, 25, 1, 0, 19, tzinfo=UTC)  # 02:00:19 CET
    assert dt.datetime(2026, 10, 26, 1, 30, tzinfo=UTC) == parsed.next_after(second_pass)


def test_latest_at_or_before_includes_the_instant_itself() -> None:
    """The most recent time at or before a schedule time is that time."""
    parsed = parse_schedule("0 * * * *")
    at = dt.datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert at == parsed.latest_at_or_before(at, after=at - dt.timedelta(days=1))
    assert parsed.latest_at_or_before(at, after=at) is None


@pytest.mark.parametrize(
    ("schedule", "detail"),
    [
        ("* * * *", "expected exactly 5 fields, found 4"),
        ("0 * * * * *", "expected exactly 5 fields, found 6"),
        ("60 * * * *", "minute: 60 out of range [0, 59]"),
        ("0 0 * * 7", "day of week: 7 out of range [0, 6]"),
        ("0 0 L * *", "day of month: failed to parse 'L'"),
        ("0 0 * * MON#2", "day of week: failed to parse 'MON#2'"),
        ("*/0 * * * *", "minute: bad step"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1)"),
        ("0 0 31 2 *", "Bad day-of-month"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("@every 10ms", "@every duration must be at least 1s"),
        ("@every often", "failed to parse duration often"),
    ],
)
def test_bad_schedules_name_spec_schedule(schedule: str, detail: str) -> None:
    """Every schedule robfig/cron refuses is refused, naming ``spec.schedule``."""
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(schedule)
    assert "spec.schedule" == caught.value.field
    assert detail in caught.value.detail


def test_zone_in_schedule_is_refused_by_validation() -> None:
    """``CRON_TZ=`` and ``TZ=`` prefixes are refused: ``spec.timeZone`` is the way."""
    for schedule in ("CRON_TZ=UTC 0 * * * *", "TZ=Europe/Paris 0 * * * *"):
        (error,) = schedule_errors(schedule, None)
        assert "spec.schedule" == error.field
        assert "use timeZone field instead" in error.detail


def test_zone_prefix_is_still_honoured_when_parsing() -> None:
    """A stored ``TZ=`` schedule (admitted before validation refused it) keeps its zone."""
    parsed = parse_schedule("TZ=America/New_York 0 9 * * *")
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert dt.datetime(2026, 1, 1, 14, tzinfo=UTC) == parsed.next_after(start)


@pytest.mark.parametrize(
    ("zone", "detail"),
    [
        ("Mars/Olympus_Mons", "unknown time zone Mars/Olympus_Mons"),
        ("", "timeZone must be nil or non-empty string"),
        ("Local", "timeZone must be an explicit time zone"),
        ("../etc/passwd", "unknown time zone"),
    ],
)
def test_bad_time_zones_name_spec_time_zone(zone: str, detail: str) -> None:
    """Unknown, empty and ``Local`` zones are refused, naming ``spec.timeZone``."""
    (error,) = schedule_errors("0 * * * *", zone)
    assert "spec.timeZone" == error.field
    assert detail in error.detail


def test_no_time_zone_means_utc() -> None:
    """Without ``spec.timeZone`` the controller's zone, UTC, applies."""
    assert UTC == load_time_zone(None)
    assert [] == schedule_errors("0 9 * * *", None)


_MINUTES = st.sampled_from(["*", "0", "*/5", "15,45", "0-30/10", "7"])
_HOURS = st.sampled_from(["*", "9", "*/6", "1-3", "0,12", "2"])
_DAYS = st.sampled_from(["*", "1", "1,15", "10-20"])
_MONTHS = st.sampled_from(["*", "1-6", "3,11", "JAN,JUL"])
_WEEKDAYS = st.sampled_from(["*", "1-5", "0", "MON,FRI", "SAT"])
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]


@settings(max_examples=60, deadline=None)
@given(
    fields=st.tuples(_MINUTES, _HOURS, _DAYS, _MONTHS, _WEEKDAYS),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(
        min_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001 -- hypothesis bounds are naive
        max_value=dt.datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_times_are_cronsims_for_the_standard_syntax(
    fields: tuple[str, ...], zone: str, start: dt.datetime
) -> None:
    """For syntax both libraries read alike, the times are cronsim's, across DST changes."""
    expression = " ".join(fields)
    parsed = parse_schedule(expression, zone)
    expected = cronsim.CronSim(expression, start.astimezone(zoneinfo.ZoneInfo(zone)))
    t = start
    for _ in range(5):
        found = parsed.next_after(t)
        assert found is not None
        assert next(expected).astimezone(UTC) == found
        t = found
