"""kubectl's text: tabwriter layout, ages, get tables and the template detail."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.container import Container, ContainerPort, EnvVar
from controllers.kubectl import (
    deployment_table,
    describe_template,
    human_duration,
    replica_set_table,
    tabwrite,
)
from tests.controllers.kubectl.builders import at, deployment, replica_set, template


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-0.5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (200, "3m20s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (5 * 3600 + 600, "5h10m"),
        (47 * 3600, "47h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (7 * 86400, "7d"),
        (400 * 86400, "400d"),
        (2 * 365 * 86400 + 10 * 86400, "2y10d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    """Kubernetes' HumanDuration thresholds."""
    assert expected == human_duration(seconds)


def test_tabwrite_pads_all_but_the_last_cell() -> None:
    """Columns are max(min_width, widest + padding); the last cell is not padded."""
    assert "NAME   A\nweb    longer-cell\nx      y" == tabwrite(
        [["NAME", "A"], ["web", "longer-cell"], ["x", "y"]]
    )


def test_tabwrite_aligns_runs_of_lines_separately() -> None:
    """As Go's tabwriter: a line without a column ends that column's block."""
    rows = [["a", "1"], ["bbbbbb", "2"], ["no tabs here"], ["c", "3"]]
    assert "a       1\nbbbbbb  2\nno tabs here\nc  3" == tabwrite(rows, min_width=0, padding=2)


@given(st.lists(st.lists(st.text("abc xyz", max_size=6), min_size=3, max_size=3), min_size=1))
def test_tabwrite_columns_line_up(rows: list[list[str]]) -> None:
    """Every cell of a full table starts at the same offset on every line."""
    lines = tabwrite(rows).split("\n")
    widths = [max(6, *(len(r[j]) + 3 for r in rows)) for j in range(2)]
    for line, row in zip(lines, rows, strict=True):
        assert row[1] == line[widths[0] : widths[0] + len(row[1])]
        assert row[2] == line[widths[0] + widths[1] :]


def test_deployment_table_wide() -> None:
    """get deployments -o wide, ages from now."""
    d = deployment(replicas=3, updated=2, current=3, available=1, ready=2)
    expected = (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR\n"
        "web    2/3     2            1           5m    web          nginx:1.25   app=web"
    )
    assert expected == deployment_table([d], now=at(300), wide=True)
    assert "NAME   READY" == deployment_table([d], now=at(300)).split("   UP")[0]


def test_replica_set_table() -> None:
    """get replicasets: DESIRED from the spec, CURRENT and READY from the status."""
    rs = replica_set(1, "nginx:1.25", replicas=2)
    rs = attrs.evolve(rs, status=attrs.evolve(rs.status, ready_replicas=1))
    expected = "NAME     DESIRED   CURRENT   READY   AGE\nweb-h1   2         2         1       90s"
    assert expected == replica_set_table([rs], now=at(90))


def test_describe_template_uses_kubectl_tabs() -> None:
    """The revision detail, with literal tabs as kubectl prints it."""
    base = template("nginx:1.25")
    container = Container(
        name="web",
        image="nginx:1.25",
        ports=(ContainerPort(container_port=80, protocol="TCP"),),
        env=(EnvVar(name="MODE", value="prod"),),
    )
    t = attrs.evolve(base, spec=attrs.evolve(base.spec, containers=(container,)))
    t = attrs.evolve(
        t,
        metadata=attrs.evolve(
            t.metadata,
            labels={"app": "web", "pod-template-hash": "h1"},
            annotations={"kubernetes.io/change-cause": "why"},
        ),
    )
    expected = "\n".join(
        [
            "Pod Template:",
            "  Labels:\tapp=web",
            "\tpod-template-hash=h1",
            "  Annotations:\tkubernetes.io/change-cause: why",
            "  Containers:",
            "   web:",
            "    Image:\tnginx:1.25",
            "    Port:\t80/TCP",
            "    Host Port:\t0/TCP",
            "    Environment:",
            "      MODE:\tprod",
            "    Mounts:\t<none>",
            "  Volumes:\t<none>",
            "  Node-Selectors:\t<none>",
            "  Tolerations:\t<none>",
        ]
    )
    assert expected == describe_template(t)
