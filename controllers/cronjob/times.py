"""
When a CronJob runs: the most recent unmet schedule time, missed runs and the next time.

Kubernetes: ``mostRecentScheduleTime``, ``nextScheduleTime`` and
``nextScheduleTimeDuration`` in pkg/controller/cronjob/utils.go. Pure
functions of the CronJob, its parsed :class:`~controllers.cronjob.schedule.Schedule`
and ``now``.

Kubernetes counts missed times by dividing the time since the first one by
the gap between the first two, and then walks forward from an estimate;
for uneven schedules (``0 9,17 * * *``) the estimate can overshoot and miss
the most recent time. Here the missed times are counted exactly, one by one,
up to :data:`MAX_MISSED_SCHEDULES` + 1, and beyond that the most recent is
found by walking back from ``now``: the same answers for even schedules,
exact ones for uneven schedules, and never more than about a hundred steps.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from controllers.api.batch import CronJob
from controllers.cronjob.schedule import Schedule

__all__ = [
    "MAX_MISSED_SCHEDULES",
    "NEXT_SCHEDULE_DELTA",
    "Missed",
    "RecentSchedule",
    "most_recent_schedule_time",
    "next_schedule_time",
]

MAX_MISSED_SCHEDULES = 100
"""More unmet times than this is "too many": only the most recent is considered, with a warning."""

NEXT_SCHEDULE_DELTA = 0.1
"""Seconds after a schedule time at which the controller wakes (``nextScheduleDelta``)."""


class Missed(enum.Enum):
    """How many schedule times passed unmet (``missedSchedulesType``)."""

    NONE = "none"
    FEW = "few"
    MANY = "many"


@attrs.frozen(kw_only=True)
class RecentSchedule:
    """
    The answer of :func:`most_recent_schedule_time`.

    Attributes:
        earliest: Where the search started (last schedule time, creation, or
            the starting deadline).
        most_recent: The latest schedule time at or before ``now`` and after
            ``earliest``, if any.
        missed: ``NONE`` for at most one such time, ``MANY`` for more than
            :data:`MAX_MISSED_SCHEDULES`, ``FEW`` otherwise.
    """

    earliest: dt.datetime
    most_recent: dt.datetime | None
    missed: Missed


def most_recent_schedule_time(
    cron_job: CronJob, schedule: Schedule, *, now: dt.datetime, starting_deadline: bool = True
) -> RecentSchedule:
    """
    The most recent unmet schedule time of ``cron_job`` at ``now`` (``mostRecentScheduleTime``).

    The search starts after ``status.lastScheduleTime`` or, before the first
    run, after the CronJob's creation; with ``starting_deadline`` and
    ``spec.startingDeadlineSeconds`` set, never before ``now`` minus the deadline.
    """
    status = cron_job.status
    earliest = status.last_schedule_time or cron_job.metadata.creation_timestamp or now
    deadline = cron_job.spec.starting_deadline_seconds
    if starting_deadline and deadline is not None:
        earliest = max(earliest, now - dt.timedelta(seconds=deadline))
    times = schedule.times_after(earliest)
    first = next(times, None)
    if first is None or first > now:
        return RecentSchedule(earliest=earliest, most_recent=None, missed=Missed.NONE)
    latest, count = first, 1
    while count <= MAX_MISSED_SCHEDULES:
        following = next(times, None)
        if following is None or following > now:
            break
        latest, count = following, count + 1
    if count > MAX_MISSED_SCHEDULES:
        latest = schedule.latest_at_or_before(now, after=latest) or latest
        return RecentSchedule(earliest=earliest, most_recent=latest, missed=Missed.MANY)
    missed = Missed.NONE if count == 1 else Missed.FEW
    return RecentSchedule(earliest=earliest, most_recent=latest, missed=missed)


def next_schedule_time(
    cron_job: CronJob, schedule: Schedule, *, now: dt.datetime
) -> dt.datetime | None:
    """
    The first schedule time after ``now`` (the basis of ``nextScheduleTimeDuration``).

    As Kubernetes, the walk starts from the most recent schedule time since the
    last run (or creation), ignoring the starting deadline; that time is found
    backwards from ``now``, so no missed time is visited. ``None`` when the
    schedule gives no further time (in the next 50 years).
    """
    earliest = cron_job.status.last_schedule_time or cron_job.metadata.creation_timestamp or now
    latest = schedule.latest_at_or_before(now, after=earliest) if earliest < now else None
    following = schedule.next_after(latest or earliest)
    while following is not None and following <= now:
        following = schedule.next_after(following)
    return following
