"""
CronJob schedules: parsing, validation and the times they give, in a time zone.

Kubernetes parses ``spec.schedule`` with robfig/cron's ``ParseStandard``:
five fields (minute, hour, day of month, month, day of week), month and
weekday names, ``*``/``?``, ranges, lists and steps, the ``@yearly``,
``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and
``@hourly`` macros, and ``@every <duration>``. The times themselves come from
`cronsim <https://pypi.org/project/cronsim/>`_, which accepts more (a seconds
field, ``L``, ``W``, ``#``, ``7`` for Sunday) and reads ``1/2`` over ``0-7``
for weekdays. So each field is checked and expanded here with robfig's rules
and the day and month fields are handed to cronsim as explicit lists; a
field robfig marks "any" (``*``, ``?``, ``*/1``) stays ``*``, because the
day-of-month/day-of-week rule depends on it (both restricted: either
matches; otherwise both must). Minutes and hours, which both libraries read
alike, are passed as written.

Daylight saving time follows cronsim (Debian cron): a run at a fixed local
time that falls in the hour skipped in spring runs when the clock jumps, and
one in the hour repeated in autumn runs once. robfig/cron skips the former and
runs the latter twice.

Errors are :class:`ScheduleError`, naming ``spec.schedule`` or
``spec.timeZone`` with Kubernetes' wording where it has one.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterator
from typing import Protocol

import attrs
import cronsim

__all__ = [
    "MACROS",
    "CronSchedule",
    "EverySchedule",
    "Schedule",
    "ScheduleError",
    "load_time_zone",
    "parse_schedule",
    "schedule_errors",
]

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""robfig/cron's descriptors and the five-field schedules they stand for."""


@attrs.frozen
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 6, _WEEKDAYS),
)
_ZONE_PREFIX = re.compile(r"^(?:CRON_TZ|TZ)=(\S*)\s+")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ScheduleError(ValueError):
    """
    A schedule or time zone that cannot be used, naming its field.

    Attributes:
        field: ``spec.schedule`` or ``spec.timeZone``.
        value: The offending value.
        detail: Why.
    """

    def __init__(self, field: str, value: str, detail: str) -> None:
        super().__init__(f"{field}: Invalid value: {value!r}: {detail}")
        self.field = field
        self.value = value
        self.detail = detail


class Schedule(Protocol):
    """**Protocol:** the instants a schedule gives (aware datetimes, returned in UTC)."""

    def next_after(self, t: dt.datetime) -> dt.datetime | None:
        """The first instant strictly after ``t``; ``None`` if there is none (for 50 years)."""
        ...

    def times_after(self, t: dt.datetime) -> Iterator[dt.datetime]:
        """The instants strictly after ``t``, in order (one parse for the whole walk)."""
        ...

    def latest_at_or_before(self, t: dt.datetime, *, after: dt.datetime) -> dt.datetime | None:
        """The last instant at or before ``t`` and strictly after ``after``, if any."""
        ...


@attrs.frozen
class CronSchedule:
    """
    A five-field schedule in a time zone (robfig/cron's ``SpecSchedule``).

    ``expression`` is the normalised form (explicit lists) that cronsim reads.
    """

    expression: str
    zone: dt.tzinfo

    def next_after(self, t: dt.datetime) -> dt.datetime | None:
        return next(self.times_after(t), None)

    def times_after(self, t: dt.datetime) -> Iterator[dt.datetime]:
        # Whole seconds, like robfig/cron: the next second is the earliest candidate.
        start = t.astimezone(self.zone).replace(microsecond=0)
        for found in cronsim.CronSim(self.expression, start):
            instant = found.astimezone(dt.UTC)
            # A fixed-time schedule is walked in wall-clock time, which runs
            # twice through the hour repeated in autumn: from its second pass
            # cronsim can answer the first, already past.
            if instant > t:
                yield instant

    def latest_at_or_before(self, t: dt.datetime, *, after: dt.datetime) -> dt.datetime | None:
        # cronsim steps back one second first unless ``t`` has a fraction of one.
        start = t.astimezone(self.zone) + dt.timedelta(microseconds=1)
        try:
            found = next(cronsim.CronSim(self.expression, start, reverse=True))
        except StopIteration:
            return None
        found = found.astimezone(dt.UTC)
        # The same wall-clock caveat as ``times_after``, backwards.
        return found if after < found <= t else None


@attrs.frozen
class EverySchedule:
    """``@every <duration>``: a fixed delay after the previous time (``ConstantDelaySchedule``)."""

    seconds: int

    def next_after(self, t: dt.datetime) -> dt.datetime | None:
        return t.replace(microsecond=0).astimezone(dt.UTC) + dt.timedelta(seconds=self.seconds)

    def times_after(self, t: dt.datetime) -> Iterator[dt.datetime]:
        following = t
        while True:
            following = following.replace(microsecond=0).astimezone(dt.UTC) + dt.timedelta(
                seconds=self.seconds
            )
            yield following

    def latest_at_or_before(self, t: dt.datetime, *, after: dt.datetime) -> dt.datetime | None:
        first = self.next_after(after)
        assert first is not None
        if first > t:
            return None
        steps = int((t - first).total_seconds()) // self.seconds
        return first + dt.timedelta(seconds=steps * self.seconds)


def load_time_zone(name: str | None) -> dt.tzinfo:
    """
    The IANA zone ``name`` (``spec.timeZone``); ``None`` is the controller's zone, UTC.

    Raises:
        ScheduleError: for ``spec.timeZone`` when the zone is empty, ``Local`` or unknown.
    """
    if name is None:
        return dt.UTC
    if not name:
        raise ScheduleError("spec.timeZone", name, "timeZone must be nil or non-empty string")
    if name.lower() == "local":
        raise ScheduleError(
            "spec.timeZone",
            name,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        )
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError("spec.timeZone", name, f"unknown time zone {name}") from None


@functools.lru_cache(maxsize=1024)
def parse_schedule(schedule: str, time_zone: str | None = None) -> Schedule:
    """
    The schedule ``spec.schedule`` gives in ``spec.timeZone`` (``cron.ParseStandard``).

    A ``CRON_TZ=``/``TZ=`` prefix is honoured here, as the Kubernetes
    controller does for objects stored before validation refused it
    (:func:`schedule_errors` refuses it). Results are cached: schedules are
    immutable values and a CronJob's is parsed at every sync.

    Raises:
        ScheduleError: naming ``spec.schedule`` or ``spec.timeZone``.
    """
    zone = load_time_zone(time_zone)
    text = schedule.strip()
    prefix = _ZONE_PREFIX.match(text)
    if prefix is not None:
        try:
            zone = zoneinfo.ZoneInfo(prefix.group(1))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(
                "spec.schedule", schedule, f"provided bad location {prefix.group(1)}"
            ) from None
        text = text[prefix.end() :]
    if not text:
        raise ScheduleError("spec.schedule", schedule, "empty spec string")
    if text.startswith("@"):
        if text.startswith("@every "):
            return EverySchedule(_every_seconds(schedule, text[len("@every ") :].strip()))
        if text not in MACROS:
            raise ScheduleError("spec.schedule", schedule, f"unrecognized descriptor: {text}")
        text = MACROS[text]
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            "spec.schedule", schedule, f"expected exactly 5 fields, found {len(fields)}: {text}"
        )
    expression = " ".join(
        _field(schedule, f, spec) for f, spec in zip(fields, _FIELDS, strict=True)
    )
    try:
        cronsim.CronSim(expression, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    except cronsim.CronSimError as exc:  # a day that no month has, like "0 0 31 2 *"
        raise ScheduleError("spec.schedule", schedule, str(exc)) from None
    return CronSchedule(expression, zone)


def schedule_errors(schedule: str, time_zone: str | None) -> list[ScheduleError]:
    """
    What API validation refuses in a CronJob's schedule and time zone.

    As ``validateScheduleFormat``/``validateTimeZone`` in Kubernetes'
    pkg/apis/batch/validation: an unparseable schedule, ``CRON_TZ=``/``TZ=``
    in the schedule (use ``spec.timeZone``), and an empty, ``Local`` or unknown
    ``spec.timeZone``.
    """
    errors: list[ScheduleError] = []
    if time_zone is not None:
        try:
            load_time_zone(time_zone)
        except ScheduleError as exc:
            errors.append(exc)
    if "TZ" in schedule:
        errors.append(
            ScheduleError(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            )
        )
        return errors
    try:
        parse_schedule(schedule)
    except ScheduleError as exc:
        errors.append(exc)
    return errors


def _every_seconds(schedule: str, text: str) -> int:
    """A Go duration (``1h30m``, ``90s``) in whole seconds, at least one."""
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ScheduleError("spec.schedule", schedule, f"failed to parse duration {text}")
    if total < 1:
        raise ScheduleError("spec.schedule", schedule, "@every duration must be at least 1s")
    return int(total)


def _field(schedule: str, text: str, spec: _Field) -> str:
    """One field, checked with robfig/cron's rules: ``*`` if it means "any", else a list."""
    name, low, high = spec.name, spec.low, spec.high
    values: set[int] = set()
    star = False
    for term in text.split(","):
        range_, slash, step_text = term.partition("/")
        step = 1
        if slash:
            if not _digits(step_text) or int(step_text) == 0:
                raise ScheduleError(
                    "spec.schedule",
                    schedule,
                    f"{name}: bad step in {term!r}: must be a positive number",
                )
            step = int(step_text)
        if range_ in ("*", "?"):
            start, end = low, high
            star = star or step == 1
        else:
            first, dash, last = range_.partition("-")
            start = _value(schedule, first, spec)
            end = _value(schedule, last, spec) if dash else start
            if slash and not dash:
                end = high  # "5/15" is "5-59/15"
            if start > end:
                raise ScheduleError(
                    "spec.schedule",
                    schedule,
                    f"{name}: beginning of range ({start}) beyond end of range ({end})",
                )
        values.update(range(start, end + 1, step))
    if star:
        return "*"
    if spec.name in ("minute", "hour"):
        # Same ranges in both libraries; a leading "*" also tells cronsim the
        # job is not at a fixed time of day, which decides its DST handling.
        return text.replace("?", "*")
    return ",".join(str(v) for v in sorted(values))


def _value(schedule: str, text: str, spec: _Field) -> int:
    name, low, high = spec.name, spec.low, spec.high
    upper = text.upper()
    if upper in spec.names:
        return spec.names.index(upper) + low
    if not _digits(text):
        raise ScheduleError("spec.schedule", schedule, f"{name}: failed to parse {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError(
            "spec.schedule", schedule, f"{name}: {value} out of range [{low}, {high}]"
        )
    return value


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
