"""``Cluster.table`` on a live embedded cluster: what learners see while the controllers work."""

from __future__ import annotations

import pytest

from controllers import Cluster, run
from controllers.kubectl import KubectlError

AGENT = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: "busybox:1.36", command: [sleep, "3600"]}
"""

PI = """
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: pi, image: "perl:5.34", command: [sh, -c, "sleep 5"]}
"""

HELLO = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: hello, image: "busybox:1.28", command: [sh, -c, "date"]}
"""

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""


def _table_after(
    manifest: str, kind: str, *, wide: bool = False, seconds: float = 0.0
) -> list[list[str]]:
    """Apply ``manifest`` on three nodes, settle, let ``seconds`` pass; the table's cells."""

    async def main() -> str:
        async with Cluster(nodes=3, seed=11) as cluster:
            await cluster.apply(manifest)
            await cluster.settle()
            if seconds:
                await cluster.advance(seconds)
                await cluster.settle()
            return cluster.table(kind, wide=wide)

    return [[c.strip() for c in line.split("   ") if c.strip()] for line in run(main).split("\n")]


def test_daemon_set_runs_one_ready_pod_on_each_of_three_nodes() -> None:
    """kubectl get ds -o wide: 3 desired, current, ready, up-to-date and available."""
    header, agent = _table_after(AGENT, "ds", wide=True)
    assert [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE SELECTOR",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ] == header
    assert ["agent", "3", "3", "3", "3", "3", "<none>"] == agent[:7]
    assert ["agent", "busybox:1.36", "app=agent"] == agent[-3:]


def test_job_of_three_completions_reads_complete_3_of_3() -> None:
    """kubectl get jobs: a finished Job of completions 3 is Complete, 3/3, with a duration."""
    header, pi = _table_after(PI, "jobs")
    assert ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"] == header
    assert ["pi", "Complete", "3/3"] == pi[:3]
    assert pi[3].endswith("s")


def test_cron_job_shows_its_last_schedule_after_a_minute() -> None:
    """kubectl get cj: schedule, no time zone, not suspended, and a run scheduled once due."""
    rows = _table_after(HELLO, "cj", seconds=90)
    assert [
        ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
        ["hello", "* * * * *", "<none>", "False", "0"],
    ] == [rows[0], rows[1][:5]]
    assert rows[1][5].endswith("s")
    jobs = _table_after(HELLO, "job", seconds=90)
    assert ["Complete", "1/1"] == jobs[1][1:3]


def test_pods_of_a_deployment_are_running_and_ready_on_nodes() -> None:
    """kubectl get po -o wide: 1/1 Running, no restarts, an IP and a node each."""
    header, *pods = _table_after(WEB, "po", wide=True)
    assert ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"] == header[:7]
    assert 4 == len(pods)
    assert all(["1/1", "Running", "0"] == p[1:4] for p in pods)
    assert all(p[5].startswith("10.") and p[6].startswith("node-") for p in pods)


def test_service_lists_its_port_and_selector() -> None:
    """kubectl get svc -o wide: a ClusterIP Service on 80/TCP selecting app=web."""
    header, web = _table_after(WEB, "svc", wide=True)
    assert ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"] == header
    assert ["web", "ClusterIP", "10.96.0.1"] == web[:3]
    assert ["<none>", "80/TCP"] == web[3:5]
    assert "app=web" == web[-1]


def test_endpoints_show_three_ready_pods_and_count_the_fourth() -> None:
    """kubectl get ep: three ip:port of the four ready pods, then ``+ 1 more...``."""
    header, web = _table_after(WEB, "ep")
    assert ["NAME", "ENDPOINTS", "AGE"] == header
    shown, more = web[1].split(" + ")
    assert "1 more..." == more
    assert 3 == len(shown.split(","))
    assert all(address.endswith(":80") for address in shown.split(","))


@pytest.mark.parametrize(
    ("names", "first"),
    [
        (("ds", "daemonsets", "DaemonSet"), "NAME   DESIRED"),
        (("job", "jobs"), "NAME   STATUS"),
        (("cj", "cronjobs"), "NAME   SCHEDULE"),
        (("po", "pods"), "NAME   READY   STATUS"),
        (("svc", "services"), "NAME   TYPE"),
        (("ep", "endpoints"), "NAME   ENDPOINTS"),
    ],
)
def test_table_accepts_kubectls_names_and_short_names(names: tuple[str, ...], first: str) -> None:
    """Every name kubectl accepts gives the same table; an empty one is just the header."""

    async def main() -> list[str]:
        async with Cluster(nodes=1, seed=11) as cluster:
            return [cluster.table(name, namespace="empty") for name in names]

    tables = run(main)
    assert [tables[0]] * len(names) == tables
    assert tables[0].startswith(first)
    assert 1 == len(tables[0].split("\n"))


def test_table_names_the_kind_it_cannot_print() -> None:
    """A kind without a table is refused by name; an unknown name is not a resource type."""

    async def main(kind: str) -> str:
        async with Cluster(nodes=1, seed=11) as cluster:
            return cluster.table(kind)

    with pytest.raises(KubectlError, match="no table for ConfigMap"):
        run(main("cm"))
    # A name no kind has (the test suite registers kinds of its own, such as widgets).
    with pytest.raises(LookupError, match="'nosuchkinds'"):
        run(main("nosuchkinds"))
