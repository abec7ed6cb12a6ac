"""
Properties of the CronJob planner over simulated days (Hypothesis).

A pure simulation drives :func:`controllers.cronjob.plan` the way the
controller does: a sync when the plan asks for one and whenever a Job
finishes; each Job runs for a drawn time and succeeds or fails. Random
schedules, time zones (starting near DST changes), policies, deadlines and
history limits.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterator

import attrs
import cronsim
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.batch import ConcurrencyPolicy, CronJob, Job
from controllers.cronjob import finished_condition, plan, record_created
from controllers.cronjob.times import NEXT_SCHEDULE_DELTA
from reconcile import Uid
from tests.controllers.cronjob.builders import created, cron_job, finished

UTC = dt.UTC
SCHEDULES = [
    "*/1 * * * *",
    "*/7 * * * *",
    "0,30 * * * *",
    "15 */2 * * *",
    "30 2 * * *",
    "30 1 * * *",
    "0 9 * * 1-5",
    "*/20 1-3 * * *",
    "@hourly",
]
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]
DST_CHANGES = [  # in UTC, near one of the zones' changes
    dt.datetime(2026, 3, 8, 6, tzinfo=UTC),
    dt.datetime(2026, 3, 29, 0, tzinfo=UTC),
    dt.datetime(2026, 4, 4, 14, tzinfo=UTC),
    dt.datetime(2026, 10, 25, 0, tzinfo=UTC),
    dt.datetime(2026, 11, 1, 5, tzinfo=UTC),
]
SPAN = dt.timedelta(hours=12)


@attrs.frozen
class Outcome:
    """How a Job ends: after ``seconds`` (``None``: never, within the simulation), ok or not."""

    seconds: int | None
    succeeds: bool


outcomes = st.builds(
    Outcome,
    seconds=st.one_of(st.none(), st.integers(1, 3 * 3600)),
    succeeds=st.booleans(),
)


@attrs.define
class Simulation:
    """The cluster as the planner sees it: one CronJob, its Jobs, and when each Job ends."""

    cron_job: CronJob
    outcomes: Iterator[Outcome]
    jobs: dict[Uid, Job] = attrs.field(factory=dict)
    ends: dict[Uid, tuple[dt.datetime, bool]] = attrs.field(factory=dict)
    created: list[tuple[dt.datetime, dt.datetime]] = attrs.field(factory=list)  # (at, scheduled)
    names: set[str] = attrs.field(factory=set)
    wake: dt.datetime | None = None

    def sync(self, now: dt.datetime) -> None:
        """One sync at ``now``: plan, apply, check idempotence."""
        p = plan(self.cron_job, list(self.jobs.values()), now=now)
        for job in p.deletes:
            del self.jobs[job.metadata.uid]
        status = p.status
        if p.create is not None:
            assert p.scheduled_time is not None
            assert p.create.metadata.name not in self.names, "a run was created twice"
            self.names.add(p.create.metadata.name)
            job = created(p.create, at=now)
            self.jobs[job.metadata.uid] = job
            outcome = next(self.outcomes)
            if outcome.seconds is not None:
                end = now + dt.timedelta(seconds=outcome.seconds)
                self.ends[job.metadata.uid] = (end, outcome.succeeds)
            status = record_created(status, job, p.scheduled_time)
            self.created.append((now, p.scheduled_time))
        self.cron_job = attrs.evolve(self.cron_job, status=status)
        self.wake = None if p.requeue_after is None else now + dt.timedelta(seconds=p.requeue_after)
        again = plan(self.cron_job, list(self.jobs.values()), now=now)
        assert (None, (), self.cron_job.status) == (again.create, again.deletes, again.status)

    def finish_due(self, now: dt.datetime) -> None:
        for uid, (end, ok) in list(self.ends.items()):
            if end <= now:
                del self.ends[uid]
                if uid in self.jobs:
                    self.jobs[uid] = finished(
                        self.jobs[uid], "Complete" if ok else "Failed", at=end
                    )

    def next_event(self) -> dt.datetime | None:
        ends = [end for uid, (end, _) in self.ends.items() if uid in self.jobs]
        candidates = [t for t in (self.wake, *ends) if t is not None]
        return min(candidates, default=None)

    def unfinished(self) -> int:
        return sum(1 for job in self.jobs.values() if finished_condition(job) is None)

    def finished(self, condition: str) -> int:
        return sum(1 for job in self.jobs.values() if finished_condition(job) == condition)


def simulate(cj: CronJob, outcome_list: list[Outcome], start: dt.datetime) -> Simulation:
    """Run the simulation for :data:`SPAN`, checking the per-sync invariants."""
    sim = Simulation(cron_job=cj, outcomes=itertools.cycle(outcome_list))
    spec = cj.spec
    now = start
    sim.sync(now)
    while (now := sim.next_event() or start + SPAN + SPAN) <= start + SPAN:
        sim.finish_due(now)
        sim.sync(now)
        if spec.concurrency_policy in (ConcurrencyPolicy.FORBID, ConcurrencyPolicy.REPLACE):
            assert sim.unfinished() <= 1
        assert sim.finished("Complete") <= (spec.successful_jobs_history_limit or 0)
        assert sim.finished("Failed") <= (spec.failed_jobs_history_limit or 0)
    return sim


def cron_times(cj: CronJob, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The schedule's times in ``(start, end]``, straight from cronsim."""
    expression = cj.spec.schedule.replace("@hourly", "0 * * * *")
    zone = zoneinfo.ZoneInfo(cj.spec.time_zone or "UTC")
    found: list[dt.datetime] = []
    for t in cronsim.CronSim(expression, start.astimezone(zone)):
        if t > end:
            return found
        found.append(t.astimezone(UTC))
    return found


cron_jobs = st.builds(
    cron_job,
    st.sampled_from(SCHEDULES),
    policy=st.sampled_from(ConcurrencyPolicy),
    time_zone=st.sampled_from(ZONES),
    deadline=st.one_of(st.none(), st.integers(0, 7200)),
    successful=st.integers(0, 4),
    failed=st.integers(0, 3),
)
starts = st.builds(
    lambda base, minutes: base + dt.timedelta(minutes=minutes),
    st.sampled_from(DST_CHANGES),
    st.integers(-6 * 60, 60),
)


@settings(max_examples=40, deadline=None)
@given(cj=cron_jobs, outcome_list=st.lists(outcomes, min_size=1, max_size=8), start=starts)
def test_runs_are_due_times_within_the_deadline_each_once(
    cj: CronJob, outcome_list: list[Outcome], start: dt.datetime
) -> None:
    """Every run is the latest schedule time at its creation, within the deadline, never twice."""
    cj = attrs.evolve(cj, metadata=attrs.evolve(cj.metadata, creation_timestamp=start))
    sim = simulate(cj, outcome_list, start)
    times = cron_times(cj, start, start + SPAN + SPAN)
    deadline = cj.spec.starting_deadline_seconds
    scheduled = [t for _, t in sim.created]
    assert len(set(scheduled)) == len(scheduled)
    for at, t in sim.created:
        latest = times[bisect.bisect_right(times, at) - 1]
        assert t == latest, "only the most recent due time runs"
        assert deadline is None or at - t <= dt.timedelta(seconds=deadline)


@settings(max_examples=40, deadline=None)
@given(cj=cron_jobs, outcome_list=st.lists(outcomes, min_size=1, max_size=8), start=starts)
def test_allow_and_replace_run_every_time_the_schedule_gives(
    cj: CronJob, outcome_list: list[Outcome], start: dt.datetime
) -> None:
    """Without Forbid, each schedule time runs exactly once, just after it (deadline ≥ 1 s)."""
    spec = cj.spec
    if spec.concurrency_policy is ConcurrencyPolicy.FORBID:
        spec = attrs.evolve(spec, concurrency_policy=ConcurrencyPolicy.ALLOW)
    if spec.starting_deadline_seconds == 0:
        spec = attrs.evolve(spec, starting_deadline_seconds=None)
    cj = attrs.evolve(cj, spec=spec, metadata=attrs.evolve(cj.metadata, creation_timestamp=start))
    sim = simulate(cj, outcome_list, start)
    expected = [t for t in cron_times(cj, start, start + SPAN) if t <= start + SPAN]
    delay = dt.timedelta(seconds=NEXT_SCHEDULE_DELTA)
    assert [(t + delay, t) for t in expected if t + delay <= start + SPAN] == sim.created


@settings(max_examples=20, deadline=None)
@given(cj=cron_jobs, start=starts)
def test_zero_deadline_never_runs(cj: CronJob, start: dt.datetime) -> None:
    """``startingDeadlineSeconds: 0`` leaves no time to start: nothing ever runs (as upstream)."""
    cj = attrs.evolve(
        cj,
        spec=attrs.evolve(cj.spec, starting_deadline_seconds=0),
        metadata=attrs.evolve(cj.metadata, creation_timestamp=start),
    )
    assert [] == simulate(cj, [Outcome(60, True)], start).created


@settings(max_examples=30, deadline=None)
@given(
    cj=cron_jobs,
    outcome_list=st.lists(outcomes, min_size=1, max_size=8),
    start=starts,
    lag=st.integers(1, 3 * 3600),
)
def test_a_sync_after_any_pause_starts_at_most_one_job(
    cj: CronJob, outcome_list: list[Outcome], start: dt.datetime, lag: int
) -> None:
    """However long the controller was away, a sync creates at most one Job: the latest time's."""
    cj = attrs.evolve(cj, metadata=attrs.evolve(cj.metadata, creation_timestamp=start))
    sim = simulate(cj, outcome_list, start)
    now = start + SPAN + dt.timedelta(seconds=lag)
    sim.finish_due(now)
    before = len(sim.created)
    sim.sync(now)
    assert len(sim.created) - before <= 1
    if len(sim.created) > before:
        _, t = sim.created[-1]
        assert cron_times(cj, now - dt.timedelta(days=7), now)[-1] == t
