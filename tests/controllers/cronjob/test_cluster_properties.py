"""
Hypothesis over the real embedded cluster: random CronJobs whose runs take random times.

The Job controller, scheduler and kubelets run the Jobs for real (``exit=N@Ts``
scripts); a watch on Jobs checks the concurrency policy at every event.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import Cluster
from controllers.cronjob.jobs import finished_condition
from tests.controllers.cronjob.test_scenarios import (
    Watcher,
    count,
    cron_job,
    jobs,
    manifest,
    scenario,
    watching,
)

MINUTES = 20


@settings(max_examples=8, deadline=None)
@given(
    step=st.sampled_from([1, 2, 3]),
    policy=st.sampled_from(["Allow", "Forbid", "Replace"]),
    deadline=st.sampled_from([None, 10, 90]),
    successful=st.integers(0, 3),
    failed=st.integers(0, 2),
    exit_code=st.sampled_from([0, 1]),
    seconds=st.integers(5, 200),
)
def test_cron_jobs_keep_their_promises_on_a_real_cluster(
    *,
    step: int,
    policy: str,
    deadline: int | None,
    successful: int,
    failed: int,
    exit_code: int,
    seconds: int,
) -> None:
    """Runs are schedule times, each once; policies and history limits hold; status is true."""
    spec = (
        f"  concurrencyPolicy: {policy}\n"
        f"  successfulJobsHistoryLimit: {successful}\n  failedJobsHistoryLimit: {failed}\n"
    )
    if deadline is not None:
        spec += f"  startingDeadlineSeconds: {deadline}\n"

    async def body(cluster: Cluster) -> None:
        watcher = Watcher()
        async with watching(cluster, watcher):
            await cluster.apply(
                manifest(f"*/{step} * * * *", script=f"exit={exit_code}@{seconds}s", spec=spec)
            )
            await cluster.advance(MINUTES * 60)
        cj = cron_job(cluster)
        if policy != "Allow":
            assert watcher.most <= 1
        created = count(cluster, cj, "SuccessfulCreate")
        assert created == len(watcher.seen)
        assert created >= 1
        for name, stamp in watcher.seen.items():
            minute = dt.datetime.fromisoformat(stamp).minute
            assert 0 == minute % step, name
        left = jobs(cluster)
        outcomes = [finished_condition(j) for j in left]
        assert outcomes.count("Complete") <= successful
        assert outcomes.count("Failed") <= failed
        unfinished = {j.metadata.uid for j in left if finished_condition(j) is None}
        assert unfinished == {ref.uid for ref in cj.status.active}

    scenario(body)


def test_watcher_records_scheduled_times() -> None:
    """The test's Job watcher records each run's scheduled time (so the checks above can fail)."""

    async def body(cluster: Cluster) -> None:
        watcher = Watcher()
        async with watching(cluster, watcher):
            await cluster.apply(manifest("*/2 * * * *"))
            await cluster.advance(250)
        assert {
            "2025-01-01T00:02:00Z",
            "2025-01-01T00:04:00Z",
        } == set(watcher.seen.values())

    scenario(body)
