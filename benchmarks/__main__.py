"""
Run the benchmarks and print one table (``./dev bench``; ``--scale 0.1`` for a quick look).

``--only NAME`` (repeatable) runs only the named ones, for example
``./dev bench --only pods-10k-on-1k-nodes --scale 0.1``. The cluster-scale
ones (pods, scheduler, heartbeats) take minutes at full scale.

Each row also goes to ``benchmarks/results/<timestamp>.jsonl`` with the
machine's description, so figures can be compared across commits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_cronjobs,
    bench_daemonsets,
    bench_deployments,
    bench_endpoints,
    bench_fanout,
    bench_fencing,
    bench_heartbeats,
    bench_jobs,
    bench_memory,
    bench_pods,
    bench_reconcile,
    bench_scheduler,
    bench_virtual_time,
)

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = (
    "noop-reconcile",
    "write-watch-fanout",
    "memory-per-object",
    "virtual-time",
    "pods-10k-on-1k-nodes",
    "scheduler-throughput",
    "heartbeats-1k-nodes-1h",
    "deployments",
    "endpoints-1k-flapping",
    "daemonset-1k-nodes",
    "job-10k-completions",
    "cronjobs-day",
    "leader-fencing",
)


def _env() -> dict[str, Any]:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        sha = ""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "git": sha,
    }


def _daemonsets(
    scale: float, records: list[dict[str, Any]], rows: list[tuple[str, str, str]]
) -> None:
    ds = bench_daemonsets.run(scale)
    records.append({"name": "daemonset-1k-nodes", **ds})
    rows.append(
        (
            "DaemonSet created to all pods available",
            f"{ds['nodes']:,.0f} nodes",
            f"{ds['create_s']:.2f} s wall, {ds['create_simulated_s']:.1f} simulated s",
        )
    )
    rows.append(
        (
            "DaemonSet after nodes join and leave",
            f"+{ds['churn']:,.0f} / -{ds['churn']:,.0f} nodes",
            f"{ds['churn_s']:.2f} s wall, {ds['churn_simulated_s']:.1f} simulated s",
        )
    )
    rows.append(
        (
            "DaemonSet rolling update, maxUnavailable 10%",
            f"{ds['final_nodes']:,.0f} nodes",
            f"{ds['rollout_s']:.2f} s wall, {ds['rollout_simulated_s']:.1f} simulated s; "
            f"at most {ds['rollout_max_unavailable']:,.0f} nodes unavailable "
            f"(limit {ds['rollout_limit_unavailable']:,.0f})",
        )
    )


def _jobs(scale: float, records: list[dict[str, Any]], rows: list[tuple[str, str, str]]) -> None:
    j = bench_jobs.run(scale)
    records.append({"name": "job-10k-completions", **j})
    rows.append(
        (
            "Job created to Complete (floor <= 20 s)",
            f"{j['completions']:,.0f} completions, parallelism {j['parallelism']:,.0f}, "
            f"{j['nodes']:,.0f} nodes",
            f"{j['wall_s']:.2f} s wall, {j['simulated_s']:.0f} simulated s, "
            f"{j['job_syncs']:,.0f} Job syncs, most pods active at once "
            f"{j['max_active_pods']:,.0f}",
        )
    )


def _cronjobs(
    scale: float, records: list[dict[str, Any]], rows: list[tuple[str, str, str]]
) -> None:
    c = bench_cronjobs.run(scale)
    records.append({"name": "cronjobs-day", **c})
    rows.append(
        (
            "CronJobs every minute, Replace, virtual day",
            f"{c['cron_jobs']:,.0f} CronJobs x {c['hours']:,.0f} h",
            f"{c['runs']:,.0f} runs in {c['wall_s']:.2f} s wall = {c['speedup']:,.0f}x real "
            f"time, {c['syncs']:,.0f} syncs; planner {c['plans_per_s']:,.0f} plans/s with "
            f"{c['plan_jobs']:,.0f} finished Jobs",
        )
    )


def _fencing(scale: float, records: list[dict[str, Any]], rows: list[tuple[str, str, str]]) -> None:
    f = bench_fencing.run(scale)
    records.append({"name": "leader-fencing", **f})
    rows.append(
        (
            "fenced writes; leader election; standby takeover",
            f"{f['creates']:,.0f} creates; {f['replicas']:,.0f} replicas, {f['nodes']:,.0f} nodes",
            f"{f['fenced_writes_per_s']:,.0f} fenced vs {f['raw_writes_per_s']:,.0f} raw writes/s "
            f"(ratio {f['fenced_ratio']:.2f}); to Available {f['elected_wall_s']:.2f} s wall "
            f"elected vs {f['plain_wall_s']:.2f} s not (median of {f['runs']:.0f}); leader paused: "
            f"standby leads after {f['takeover_simulated_s']:.1f} simulated s, scale Available "
            f"after {f['available_simulated_s']:.1f} s ({f['takeover_wall_s']:.2f} s wall)",
        )
    )


def _endpoints(
    scale: float, records: list[dict[str, Any]], rows: list[tuple[str, str, str]]
) -> None:
    e = bench_endpoints.run(scale)
    records.append({"name": "endpoints-1k-flapping", **e})
    rows.append(
        (
            "Endpoints under readiness flaps",
            f"{e['pods']:,.0f} pods, {e['nodes']:,.0f} nodes",
            f"{e['endpoints_updates']:,.0f} Endpoints + {e['slice_updates']:,.0f} slice "
            f"writes in {e['flap_simulated_s']:.0f} simulated s = {e['flap_wall_s']:.2f} s "
            f"wall ({e['updates_per_s']:,.0f} Endpoints updates/s, whole cluster included); "
            f"one sync plans in {e['endpoints_sync_ms']:.1f} ms (Endpoints), "
            f"{e['slices_sync_ms']:.1f} ms (slices); settled {e['settle_wall_s']:.3f} s wall "
            f"after the last flap, {e['ready_after']:,.0f} ready",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    parser.add_argument(
        "--only", action="append", choices=NAMES, help="run only this benchmark (repeatable)"
    )
    args = parser.parse_args(argv)
    wanted = set(args.only or NAMES)
    rows: list[tuple[str, str, str]] = []
    records: list[dict[str, Any]] = []

    if "noop-reconcile" in wanted:
        r = bench_reconcile.run(args.scale)
        records.append({"name": "noop-reconcile", **r})
        rows.append(
            (
                "no-op reconcile (informer+queue+workers)",
                f"{r['objects']:,} objects",
                f"{r['reconciles_per_s']:,.0f}/s end to end (median of {r['runs']:.0f}, "
                f"{r['min_reconciles_per_s']:,.0f}-{r['max_reconciles_per_s']:,.0f}); "
                f"drain after sync {r['drain_per_s']:,.0f}/s; "
                f"bare asyncio.Queue {r['bare_queue_per_s']:,.0f}/s (ratio {r['ratio']:.3f})",
            )
        )

    if "write-watch-fanout" in wanted:
        for f in bench_fanout.run(args.scale):
            records.append({"name": "write-watch-fanout", **f})
            rows.append(
                (
                    f"store write + watch fan-out, {f['watchers']:.0f} watchers",
                    f"{f['writes']:,.0f} writes",
                    f"{f['writes_per_s']:,.0f} writes/s (median of {f['runs']:.0f}, "
                    f"{f['min_writes_per_s']:,.0f}-{f['max_writes_per_s']:,.0f}), "
                    f"{f['events_per_s']:,.0f} events/s, every event delivered",
                )
            )

    if "memory-per-object" in wanted:
        m = bench_memory.run(args.scale)
        records.append({"name": "memory-per-object", **m})
        rows.append(
            (
                "memory per stored object",
                f"{m['objects']:,} objects",
                f"{m['bytes_per_object']:,.0f} B vs {m['json_bytes_per_object']:,.0f} B "
                f"compact JSON (ratio {m['ratio']:.2f}x)",
            )
        )

    if "virtual-time" in wanted:
        v = bench_virtual_time.run(args.scale)
        records.append({"name": "virtual-time", **v})
        rows.append(
            (
                "virtual time: timers every 10 s for 1 h",
                f"{v['timers']:,} timers",
                f"{v['fired']:,} firings in {v['wall_s']:.2f} s wall = {v['speedup']:,.0f}x "
                f"real time; {v['distinct_digests']} distinct digest(s) over "
                f"{v['determinism_runs']} runs",
            )
        )

    if "pods-10k-on-1k-nodes" in wanted:
        p = bench_pods.run(args.scale)
        records.append({"name": "pods-10k-on-1k-nodes", **p})
        rows.append(
            (
                "pods to Running on simulated nodes (floor <= 10 s)",
                f"{p['pods']:,.0f} pods, {p['nodes']:,.0f} nodes",
                f"{p['wall_s']:.2f} s wall (median of {p['runs']:.0f}, "
                f"{p['min_wall_s']:.2f}-{p['max_wall_s']:.2f}) = {p['pods_per_s']:,.0f} pods/s, "
                f"{p['running']:,.0f} Running after {p['simulated_s']:.0f} simulated s; "
                f"start-up (node registration) {p['startup_s']:.2f} s",
            )
        )

    if "scheduler-throughput" in wanted:
        s = bench_scheduler.run(args.scale)
        records.append({"name": "scheduler-throughput", **s})
        rows.append(
            (
                "scheduler throughput (floor >= 1,000 pods/s)",
                f"{s['pods']:,.0f} pods, {s['nodes']:,.0f} nodes",
                f"planner {s['planner_pods_per_s']:,.0f} pods/s trace off, "
                f"{s['planner_trace_pods_per_s']:,.0f} on (trace overhead "
                f"{s['trace_overhead']:.0%}); end to end {s['end_to_end_pods_per_s']:,.0f} "
                f"pods/s bound (median of {s['runs']:.0f})",
            )
        )

    if "heartbeats-1k-nodes-1h" in wanted:
        h = bench_heartbeats.run(args.scale)
        records.append({"name": "heartbeats-1k-nodes-1h", **h})
        rows.append(
            (
                "node heartbeats, lease every 10 s (floor >= 150x)",
                f"{h['nodes']:,.0f} nodes, {h['simulated_s']:,.0f} s",
                f"{h['speedup']:,.0f}x real time (median of {h['runs']:.0f}, "
                f"{h['min_speedup']:,.0f}-{h['max_speedup']:,.0f}); "
                f"{h['bytes_per_node'] / 1024:,.1f} KiB per node (tracemalloc)",
            )
        )

    if "deployments" in wanted:
        d = bench_deployments.run(args.scale)
        records.append({"name": "deployments", **d})
        rows.append(
            (
                "Deployment created to Available (floor <= 10 s)",
                f"{d['replicas']:,.0f} replicas, {d['nodes']:,.0f} nodes",
                f"{d['create_s']:.2f} s wall",
            )
        )
        rows.append(
            (
                "rolling update 25%/25% (floor <= 20 s)",
                f"{d['replicas']:,.0f} replicas, {d['nodes']:,.0f} nodes",
                f"{d['rollout_s']:.2f} s wall, {d['rollout_simulated_s']:.0f} simulated s; "
                f"bounds held over {d['events_checked']:,.0f} events (replica sets <= "
                f"{d['max_replica_set_sum']:,.0f} of {d['limit_pods']:,.0f} allowed, available "
                f">= {d['min_available']:,.0f} of {d['limit_available']:,.0f} required; most "
                f"pods at once {d['max_active_pods']:,.0f})",
            )
        )
        rows.append(
            (
                "many Deployments to Available",
                f"{d['many']:,.0f} x 10 replicas",
                f"{d['many_wall_s']:.2f} s wall; simulated time to Available p50 "
                f"{d['many_p50_simulated_s']:.1f} s, p99 {d['many_p99_simulated_s']:.1f} s",
            )
        )

    for name, bench in (
        ("daemonset-1k-nodes", _daemonsets),
        ("job-10k-completions", _jobs),
        ("cronjobs-day", _cronjobs),
        ("endpoints-1k-flapping", _endpoints),
        ("leader-fencing", _fencing),
    ):
        if name in wanted:
            bench(args.scale, records, rows)

    width = max(len(name) for name, _, _ in rows)
    size_width = max(len(size) for _, size, _ in rows)
    print(f"{'benchmark':{width}}  {'size':{size_width}}  result")
    for name, size, result in rows:
        print(f"{name:{width}}  {size:{size_width}}  {result}")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    with (RESULTS / f"{stamp}.jsonl").open("w") as out:
        for record in records:
            out.write(json.dumps({**record, "scale": args.scale, "env": _env()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
