"""Which schedule time is due, how many were missed, and when the next one is."""

from __future__ import annotations

import datetime as dt

import attrs

from controllers.api.batch import CronJobStatus
from controllers.cronjob import (
    MAX_MISSED_SCHEDULES,
    Missed,
    most_recent_schedule_time,
    next_schedule_time,
    parse_schedule,
)
from tests.controllers.cronjob.builders import T0, cron_job

MINUTE = dt.timedelta(minutes=1)
HOURLY = parse_schedule("0 * * * *")


def test_nothing_due_before_the_first_time() -> None:
    """Created at midnight, an hourly CronJob has nothing due at 00:59."""
    recent = most_recent_schedule_time(cron_job(), HOURLY, now=T0 + 59 * MINUTE)
    assert (T0, None, Missed.NONE) == (recent.earliest, recent.most_recent, recent.missed)


def test_one_time_due_is_not_a_miss() -> None:
    """At 01:30 the 01:00 run is due and nothing was missed."""
    recent = most_recent_schedule_time(cron_job(), HOURLY, now=T0 + 90 * MINUTE)
    assert (T0 + 60 * MINUTE, Missed.NONE) == (recent.most_recent, recent.missed)


def test_several_times_due_are_a_few_missed() -> None:
    """At 05:30 with no run yet, 05:00 is the one due and earlier ones were missed."""
    recent = most_recent_schedule_time(cron_job(), HOURLY, now=T0 + 330 * MINUTE)
    assert (T0 + 300 * MINUTE, Missed.FEW) == (recent.most_recent, recent.missed)


def test_more_than_a_hundred_missed_is_many() -> None:
    """101 missed minutes is "many"; the most recent one is still found exactly."""
    every_minute = parse_schedule("* * * * *")
    now = T0 + (MAX_MISSED_SCHEDULES + 1) * MINUTE
    recent = most_recent_schedule_time(cron_job(), every_minute, now=now)
    assert (now, Missed.MANY) == (recent.most_recent, recent.missed)
    recent = most_recent_schedule_time(cron_job(), every_minute, now=now - MINUTE)
    assert (now - MINUTE, Missed.FEW) == (recent.most_recent, recent.missed)


def test_years_of_missed_times_are_not_walked() -> None:
    """Ten years of minutes missed: the most recent is found from ``now`` backwards."""
    every_minute = parse_schedule("* * * * *")
    now = T0 + dt.timedelta(days=3653, seconds=30)
    recent = most_recent_schedule_time(cron_job(), every_minute, now=now)
    assert (now - dt.timedelta(seconds=30), Missed.MANY) == (recent.most_recent, recent.missed)


def test_uneven_schedule_finds_the_true_most_recent_time() -> None:
    """``0 9,17 * * *``: after days of misses the most recent is the 17:00 or 09:00 before now."""
    uneven = parse_schedule("0 9,17 * * *")
    now = T0 + dt.timedelta(days=80, hours=18)
    recent = most_recent_schedule_time(cron_job(), uneven, now=now)
    assert T0 + dt.timedelta(days=80, hours=17) == recent.most_recent
    now = T0 + dt.timedelta(days=80, hours=10)
    recent = most_recent_schedule_time(cron_job(), uneven, now=now)
    assert T0 + dt.timedelta(days=80, hours=9) == recent.most_recent


def test_search_starts_after_the_last_schedule_time() -> None:
    """A run at 03:00 means only later times are considered at 03:30."""
    cj = cron_job(status=CronJobStatus(last_schedule_time=T0 + 180 * MINUTE))
    recent = most_recent_schedule_time(cj, HOURLY, now=T0 + 210 * MINUTE)
    assert (T0 + 180 * MINUTE, None) == (recent.earliest, recent.most_recent)


def test_starting_deadline_bounds_the_search() -> None:
    """With a 10-minute deadline, at 05:30 nothing (05:00 is too old) is due."""
    cj = cron_job(deadline=600)
    now = T0 + 330 * MINUTE
    recent = most_recent_schedule_time(cj, HOURLY, now=now)
    assert (now - 10 * MINUTE, None) == (recent.earliest, recent.most_recent)
    recent = most_recent_schedule_time(cj, HOURLY, now=now, starting_deadline=False)
    assert T0 + 300 * MINUTE == recent.most_recent


def test_next_time_is_after_now() -> None:
    """At 05:30 the next hourly time is 06:00, whatever ran or was missed."""
    now = T0 + 330 * MINUTE
    assert T0 + 360 * MINUTE == next_schedule_time(cron_job(), HOURLY, now=now)
    ran = cron_job(status=CronJobStatus(last_schedule_time=T0 + 300 * MINUTE))
    assert T0 + 360 * MINUTE == next_schedule_time(ran, HOURLY, now=now)


def test_next_time_of_a_cron_job_created_in_the_future() -> None:
    """A creation time ahead of ``now`` (clock skew) starts the search there."""
    cj = cron_job()
    cj = attrs.evolve(cj, metadata=attrs.evolve(cj.metadata, creation_timestamp=T0 + 150 * MINUTE))
    assert T0 + 180 * MINUTE == next_schedule_time(cj, HOURLY, now=T0)


def test_every_schedule_counts_from_the_last_run() -> None:
    """``@every 90s`` after a run at 00:10:00: 00:11:30 next, and 00:14:30 due at 00:15."""
    every = parse_schedule("@every 90s")
    cj = cron_job(status=CronJobStatus(last_schedule_time=T0 + 10 * MINUTE))
    assert T0 + dt.timedelta(minutes=11, seconds=30) == next_schedule_time(
        cj, every, now=T0 + 10 * MINUTE
    )
    recent = most_recent_schedule_time(cj, every, now=T0 + 15 * MINUTE)
    assert (T0 + dt.timedelta(minutes=14, seconds=30), Missed.FEW) == (
        recent.most_recent,
        recent.missed,
    )
