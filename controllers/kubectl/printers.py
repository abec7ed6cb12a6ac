"""
kubectl's text output for workloads: ``get`` tables, ``rollout history`` and its detail.

Tables are laid out as kubectl lays them out, by Go's ``text/tabwriter``
(:func:`tabwrite`): a column is as wide as its widest cell plus the
padding, across each run of consecutive lines that have that column, and
the last cell of a line is never padded. ``get`` uses a minimum width of 6
and a padding of 3, ``rollout history`` a padding of 2. Ages are Kubernetes'
``HumanDuration`` (:func:`human_duration`) of ``now`` minus the creation
time; ``now`` is always passed in.

Tables come without a trailing newline. The detail of one revision
(:func:`describe_template`) keeps kubectl's literal tabs, as
``rollout history --revision=N`` prints them; it covers the common fields
only (labels, annotations, containers with image, ports, command, args,
environment and mounts, volumes, node selector, tolerations).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from controllers.api.apps import Deployment, ReplicaSet
from controllers.api.container import Container
from controllers.api.pod import PodTemplateSpec
from controllers.kubectl.history import HistoryEntry
from reconcile import LabelSelector

__all__ = [
    "age",
    "containers_cells",
    "deployment_table",
    "describe_template",
    "history_table",
    "human_duration",
    "labels_cell",
    "replica_set_table",
    "selector_cell",
    "tabwrite",
]


def tabwrite(rows: Sequence[Sequence[str]], *, min_width: int = 6, padding: int = 3) -> str:
    """
    Align ``rows`` of cells as Go's ``tabwriter`` aligns tab-separated lines (space padding).

    A row of ``n`` cells is a line with ``n - 1`` tabs; rows of different
    lengths align column by column over runs of consecutive rows, as in Go.
    """
    widths: list[int] = []
    out: list[str] = []

    def write(first: int, end: int) -> None:
        for row in rows[first:end]:
            cells = [
                cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(row)
            ]
            out.append("".join(cells))

    def block(first: int, end: int) -> None:
        column = len(widths)
        line = first
        while line < end:
            if column >= len(rows[line]) - 1:
                line += 1
                continue
            write(first, line)
            first = line
            width = min_width
            while line < end and column < len(rows[line]) - 1:
                width = max(width, len(rows[line][column]) + padding)
                line += 1
            widths.append(width)
            block(first, line)
            widths.pop()
            first = line
        write(first, end)

    block(0, len(rows))
    return "\n".join(out)


def human_duration(seconds: float) -> str:
    """
    A duration as kubectl shows ages: ``45s``, ``3m20s``, ``15m``, ``5h10m``, ``3d4h``, ``2y10d``.

    Precision drops as the duration grows; up to a second in the future
    shows ``0s``, more shows ``<invalid>``.
    """
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def age(created: dt.datetime | None, now: dt.datetime) -> str:
    """The AGE column: ``now - created`` as :func:`human_duration`, ``<unknown>`` if unset."""
    if created is None:
        return "<unknown>"
    return human_duration((now - created).total_seconds())


def selector_cell(selector: LabelSelector | None) -> str:
    """The SELECTOR column of ``-o wide``: the label selector as text, ``<none>`` if empty."""
    text = "" if selector is None else str(selector)
    return text or "<none>"


def labels_cell(labels: Mapping[str, str]) -> str:
    """Labels as kubectl formats them (``a=1,b=2``, sorted by key), ``<none>`` if empty."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def containers_cells(containers: Iterable[Container]) -> list[str]:
    """The CONTAINERS and IMAGES columns of ``-o wide``: names and images, comma-separated."""
    listed = list(containers)
    return [",".join(c.name for c in listed), ",".join(c.image for c in listed)]


def deployment_table(
    deployments: Iterable[Deployment], *, now: dt.datetime, wide: bool = False
) -> str:
    """
    ``kubectl get deployments`` (``-o wide`` with ``wide``), in the order given.

    Columns: NAME, READY (ready/desired), UP-TO-DATE, AVAILABLE, AGE; wide
    adds CONTAINERS, IMAGES and SELECTOR.
    """
    header = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    if wide:
        header += ["CONTAINERS", "IMAGES", "SELECTOR"]
    rows = [header]
    for d in deployments:
        desired = d.spec.replicas if d.spec.replicas is not None else 1
        row = [
            d.metadata.name,
            f"{d.status.ready_replicas}/{desired}",
            str(d.status.updated_replicas),
            str(d.status.available_replicas),
            age(d.metadata.creation_timestamp, now),
        ]
        if wide:
            spec = d.spec
            row += [*containers_cells(spec.template.spec.containers), selector_cell(spec.selector)]
        rows.append(row)
    return tabwrite(rows)


def replica_set_table(
    replica_sets: Iterable[ReplicaSet], *, now: dt.datetime, wide: bool = False
) -> str:
    """
    ``kubectl get replicasets`` (``-o wide`` with ``wide``), in the order given.

    Columns: NAME, DESIRED, CURRENT, READY, AGE; wide adds CONTAINERS,
    IMAGES and SELECTOR.
    """
    header = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    if wide:
        header += ["CONTAINERS", "IMAGES", "SELECTOR"]
    rows = [header]
    for rs in replica_sets:
        desired = rs.spec.replicas if rs.spec.replicas is not None else 1
        row = [
            rs.metadata.name,
            str(desired),
            str(rs.status.replicas),
            str(rs.status.ready_replicas),
            age(rs.metadata.creation_timestamp, now),
        ]
        if wide:
            spec = rs.spec
            row += [*containers_cells(spec.template.spec.containers), selector_cell(spec.selector)]
        rows.append(row)
    return tabwrite(rows)


def history_table(history: Sequence[HistoryEntry]) -> str:
    """``kubectl rollout history``: REVISION and CHANGE-CAUSE (``<none>`` when unset)."""
    if not history:
        return "No rollout history found."
    rows = [["REVISION", "CHANGE-CAUSE"]]
    rows += [[str(e.revision), e.change_cause or "<none>"] for e in history]
    return tabwrite(rows, min_width=0, padding=2)


def _multiline(title: str, pairs: Sequence[str]) -> list[str]:
    if not pairs:
        return [f"{title}:\t<none>"]
    return [f"{title}:\t{pairs[0]}", *(f"\t{p}" for p in pairs[1:])]


def _describe_container(container: Container) -> list[str]:
    lines = [f"   {container.name}:", f"    Image:\t{container.image}"]
    ports = ", ".join(f"{p.container_port}/{p.protocol or 'TCP'}" for p in container.ports)
    hosts = ", ".join(f"{p.host_port}/{p.protocol or 'TCP'}" for p in container.ports)
    plural = "s" if len(container.ports) > 1 else ""
    lines += [
        f"    Port{plural}:\t{ports or '<none>'}",
        f"    Host Port{plural}:\t{hosts or '<none>'}",
    ]
    for title, words in (("Command", container.command), ("Args", container.args)):
        if words:
            lines += [f"    {title}:", *(f"      {w}" for w in words)]
    if container.env:
        lines.append("    Environment:")
        for env in container.env:
            value = env.value if env.value_from is None else "<set from a source>"
            lines.append(f"      {env.name}:\t{value}")
    else:
        lines.append("    Environment:\t<none>")
    if container.volume_mounts:
        lines.append("    Mounts:")
        for m in container.volume_mounts:
            mode = "ro" if m.read_only else "rw"
            lines.append(f"      {m.mount_path} from {m.name} ({mode})")
    else:
        lines.append("    Mounts:\t<none>")
    return lines


def describe_template(template: PodTemplateSpec) -> str:
    """The ``Pod Template:`` section of ``kubectl describe`` and ``rollout history --revision``."""
    meta, spec = template.metadata, template.spec
    lines = ["Pod Template:"]
    lines += _multiline("  Labels", [f"{k}={v}" for k, v in sorted(meta.labels.items())])
    if meta.annotations:
        lines += _multiline(
            "  Annotations", [f"{k}: {v}" for k, v in sorted(meta.annotations.items())]
        )
    if spec.service_account_name:
        lines.append(f"  Service Account:\t{spec.service_account_name}")
    for title, containers in (
        ("Init Containers", spec.init_containers),
        ("Containers", spec.containers),
    ):
        if containers or title == "Containers":
            lines.append(f"  {title}:")
            for container in containers:
                lines += _describe_container(container)
    names = [str(v.get("name", "")) for v in spec.volumes if isinstance(v, Mapping)]
    if names:
        lines += ["  Volumes:", *(f"   {n}:" for n in names)]
    else:
        lines.append("  Volumes:\t<none>")
    lines += _multiline(
        "  Node-Selectors", [f"{k}={v}" for k, v in sorted(spec.node_selector.items())]
    )
    tolerations = [
        (f"{t.key}={t.value}" if t.value else t.key or "op=Exists")
        + (f":{t.effect}" if t.effect else "")
        for t in spec.tolerations
    ]
    lines += _multiline("  Tolerations", tolerations)
    return "\n".join(lines)
