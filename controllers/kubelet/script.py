"""
How a simulated container behaves over time: the kubelet's only source of truth.

The simulated kubelet runs no processes. For each container it asks a
:class:`Script` when the image pull ends, when the app answers probes, when the
process exits and with which code, and whether a given probe passes at a given
second. A script comes from two places (:func:`script_for`):

1. The container's ``command`` + ``args``, read by a small shell interpreter
   (``controllers/kubelet/_shell.py``), so classic tutorials work verbatim:
   ``touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600`` makes
   ``cat /tmp/healthy`` pass for 30 s and the process exit 0 at 630 s.
   Images are assumed to have no ENTRYPOINT. With no command and no args,
   ``busybox``/``alpine``/``ubuntu``/``debian`` run a shell that exits 0 at once
   (``kubectl run --image=busybox`` crash-loops, as for real); any other image
   runs a server forever. Whatever the interpreter cannot follow runs forever.
2. The annotation ``script.sim.reconcile.dev/<container>`` (:func:`parse`), e.g.
   ``pull=3s; start=10s; exit=1@30s*2; unready=40s..60s``. Its ``exit`` wins
   over the command's; everything else adds to it.

*Guarantees*: :meth:`Script.probe_ok` is a pure function of its arguments and
piecewise constant; :meth:`Script.next_change` never skips one of its changes.
Times are seconds since the container started (``pull`` is before that).
The full syntax is in ``docs/container-scripts.md``.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Literal

import attrs

from controllers.api.container import Container, Probe
from controllers.api.pod import Pod
from controllers.kubelet import _shell
from reconcile import FieldError, Operation

__all__ = [
    "SCRIPT_ANNOTATION_PREFIX",
    "ProbeKind",
    "Script",
    "ScriptError",
    "Window",
    "parse",
    "script_for",
    "unparse",
    "validate_pod_scripts",
    "validate_scripts",
]

SCRIPT_ANNOTATION_PREFIX = "script.sim.reconcile.dev/"
ProbeKind = Literal["startup", "liveness", "readiness"]

# Images whose default command is a shell that exits 0 at once without a tty.
_SHELL_IMAGES = frozenset({"busybox", "alpine", "ubuntu", "debian"})
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DURATION = re.compile(rf"({_NUMBER})(ms|s|m|h)?", re.ASCII)
_INTEGER = re.compile(r"[0-9]+", re.ASCII)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ScriptError(ValueError):
    """A script annotation is invalid; ``errors`` names every bad clause."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(_describe(e) for e in self.errors))


def _describe(error: FieldError) -> str:
    return str(error) if error.field else f"{error.value!r}: {error.detail}"


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


@attrs.frozen
class Window:
    """The half-open time span ``[start, end)``; ``end=None`` lasts forever."""

    start: float = attrs.field(validator=_non_negative)
    end: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.end is not None and not self.end > self.start:
            raise ValueError(f"window end {self.end!r} must be after its start {self.start!r}")

    def __contains__(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def edges(self) -> Iterator[float]:
        """The instants where being inside the window changes."""
        yield self.start
        if self.end is not None:
            yield self.end


@attrs.frozen(kw_only=True)
class Script:
    """
    The behaviour of one container; every time is in seconds.

    ``exit_code``/``exit_after``/``exit_runs``: each of the first ``exit_runs``
    runs (all runs when None) exits with ``exit_code`` ``exit_after`` seconds
    after it started; no exit when ``exit_code`` is None. ``unready`` and
    ``unhealthy`` make readiness and liveness probes fail; ``files`` says when
    each file exists, for exec probes such as ``cat /tmp/healthy``.
    """

    pull: float = attrs.field(default=0.0, validator=_non_negative)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    stop: float = attrs.field(default=0.0, validator=_non_negative)
    exit_code: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(range(256)))
    )
    exit_after: float = attrs.field(default=0.0, validator=_non_negative)
    exit_runs: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    unready: tuple[Window, ...] = ()
    unhealthy: tuple[Window, ...] = ()
    files: tuple[tuple[str, Window], ...] = ()

    def exit(self, run: int) -> tuple[float, int] | None:
        """When run ``run`` (0 = first start) exits by itself: (seconds after start, code)."""
        if self.exit_code is None or (self.exit_runs is not None and run >= self.exit_runs):
            return None
        return (self.exit_after, self.exit_code)

    def probe_ok(self, kind: ProbeKind, probe: Probe, t: float) -> bool:
        """Outcome of ``probe`` used as a ``kind`` probe, ``t`` seconds after the start."""
        if t < self.start or any(t in w for w in self._windows(kind)):
            return False
        if probe.exec is not None:
            present = frozenset(path for path, w in self.files if t in w)
            verdict = _check(probe.exec.command, present)
            if verdict is not None:
                return verdict
        return True  # httpGet, tcpSocket, grpc and exec commands we cannot follow

    def next_change(self, kind: ProbeKind, probe: Probe, t: float) -> float | None:
        """The first ``t' > t`` where :meth:`probe_ok` may change; None if it never does."""
        edges = [self.start, *(e for w in self._windows(kind) for e in w.edges())]
        if probe.exec is not None:
            edges += (e for _, w in self.files for e in w.edges())
        return min((e for e in edges if e > t), default=None)

    def _windows(self, kind: ProbeKind) -> tuple[Window, ...]:
        return {"readiness": self.unready, "liveness": self.unhealthy}.get(kind, ())


@lru_cache(maxsize=1024)
def _check(command: tuple[str, ...], present: frozenset[str]) -> bool | None:
    return _shell.check(command, present)


# -- the annotation language -----------------------------------------------------------------


def _duration(text: str) -> float:
    if text.startswith("-"):
        raise ValueError(f"{text!r} is negative: durations must be >= 0")
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration (like 5s, 1.5m, 250ms, 2h)")
    seconds = float(match[1]) * _UNITS[match[2] or "s"]
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is too long")
    return seconds


def _window(text: str) -> Window:
    start, dots, end = text.partition("..")
    if not dots:
        raise ValueError("expected a window like 30s..60s or 30s..")
    window_start = _duration(start) if start else 0.0
    window_end = _duration(end) if end else None
    if window_end is not None and window_end <= window_start:
        raise ValueError("the window must end after it starts")
    return Window(window_start, window_end)


_SINGLE = ("pull", "start", "stop", "exit")


def _exit(text: str) -> _Exit:
    """``<code>@<duration>[*<runs>]`` (the code is absent for ``crash``)."""
    code, at, rest = text.partition("@")
    if not at:
        raise ValueError("expected exit=<code>@<duration>[*<runs>] or crash@<duration>[*<runs>]")
    if code and not _INTEGER.fullmatch(code):
        raise ValueError("exit code must be an integer")
    if code and (len(code) > 3 or int(code) > 255):
        raise ValueError("exit code must be between 0 and 255")
    after, star, runs = rest.partition("*")
    if star and not (_INTEGER.fullmatch(runs) and len(runs) <= 9 and int(runs) >= 1):
        raise ValueError("the number of runs after * must be an integer from 1 to 999999999")
    return (int(code) if code else 1, _duration(after), int(runs) if star else None)


_Exit = tuple[int, float, int | None]


def _clause(
    clause: str, settings: dict[str, float | _Exit], windows: dict[str, list[Window]]
) -> None:
    """Add one clause to ``settings``/``windows``; raise ValueError explaining a bad one."""
    key, equals, value = clause.partition("=")
    key = key.partition("@")[0]
    name = "exit" if key == "crash" else key
    if name in _SINGLE and name in settings:
        raise ValueError(f"{name} is given more than once")
    match key:
        case "pull" | "start" | "stop" | "unready" | "unhealthy" if not equals:
            raise ValueError(f"expected {key}=<value>")
        case "pull" | "start" | "stop":
            settings[key] = _duration(value)
        case "unready" | "unhealthy":
            windows[key].append(_window(value))
        case "exit" | "crash":
            settings["exit"] = _exit(value if key == "exit" else clause.removeprefix("crash"))
        case _:
            raise ValueError(
                f"unknown clause {key!r} (known: pull, start, stop, exit, crash, unready, "
                "unhealthy)"
            )


def parse(text: str) -> Script:
    """
    Parse a script annotation such as ``pull=3s; start=10s; exit=1@30s*2``.

    Raises:
        ScriptError: one :class:`~reconcile.FieldError` (with an empty ``field``)
            per bad clause; ``value`` is the clause and ``detail`` the problem.
    """
    settings: dict[str, float | _Exit] = {}
    windows: dict[str, list[Window]] = {"unready": [], "unhealthy": []}
    errors = []
    for raw in text.split(";"):
        clause = "".join(raw.split())  # whitespace is allowed anywhere
        if not clause:
            continue
        try:
            _clause(clause, settings, windows)
        except ValueError as exc:
            errors.append(FieldError(field="", value=raw.strip(), detail=str(exc)))
    if errors:
        raise ScriptError(errors)
    durations = {k: v for k, v in settings.items() if isinstance(v, float)}
    exit_ = settings.get("exit")
    code, after, runs = exit_ if isinstance(exit_, tuple) else (None, 0.0, None)
    return Script(
        pull=durations.get("pull", 0.0),
        start=durations.get("start", 0.0),
        stop=durations.get("stop", 0.0),
        exit_code=code,
        exit_after=after,
        exit_runs=runs,
        unready=tuple(windows["unready"]),
        unhealthy=tuple(windows["unhealthy"]),
    )


def _format_duration(seconds: float) -> str:
    text = format(Decimal(repr(seconds)), "f")  # exact, unlike %g, and never 1e-05
    return (text.removesuffix(".0") if "." in text else text) + "s"


def _format_window(window: Window) -> str:
    end = "" if window.end is None else _format_duration(window.end)
    return f"{_format_duration(window.start)}..{end}"


def unparse(script: Script) -> str:
    """The annotation text for ``script`` (``files`` come from the command and are left out)."""
    durations = {"pull": script.pull, "start": script.start, "stop": script.stop}
    clauses = [f"{key}={_format_duration(value)}" for key, value in durations.items()]
    if script.exit_code is not None:
        runs = "" if script.exit_runs is None else f"*{script.exit_runs}"
        clauses.append(f"exit={script.exit_code}@{_format_duration(script.exit_after)}{runs}")
    clauses += (f"unready={_format_window(w)}" for w in script.unready)
    clauses += (f"unhealthy={_format_window(w)}" for w in script.unhealthy)
    return "; ".join(clauses)


# -- containers ------------------------------------------------------------------------------


def _image_name(image: str) -> str:
    """``registry.k8s.io/library/busybox:1.36@sha256:...`` -> ``busybox``."""
    return posixpath.basename(image.partition("@")[0]).partition(":")[0]


def _from_command(container: Container) -> Script:
    argv = container.command + container.args
    if not argv and _image_name(container.image) not in _SHELL_IMAGES:
        return Script()  # a server image: runs until it is stopped
    outcome, timeline = _shell.simulate(argv)
    files = tuple((path, Window(since, until)) for path, since, until in timeline)
    if outcome is None:
        return Script(files=files)
    return Script(exit_after=outcome[0], exit_code=outcome[1], files=files)


def script_for(
    container: Container, annotations: Mapping[str, str], *, field: str = "metadata.annotations"
) -> Script:
    """
    The behaviour of ``container``: its command, overridden by its annotation.

    Raises:
        ScriptError: the annotation is invalid; each error's ``field`` is
            ``f"{field}[script.sim.reconcile.dev/<name>]"``.
    """
    script = _from_command(container)
    key = SCRIPT_ANNOTATION_PREFIX + container.name
    if key not in annotations:
        return script
    try:
        given = parse(annotations[key])
    except ScriptError as exc:
        raise ScriptError([attrs.evolve(e, field=f"{field}[{key}]") for e in exc.errors]) from None
    if given.exit_code is None:
        given = attrs.evolve(given, exit_after=script.exit_after, exit_code=script.exit_code)
    return attrs.evolve(given, files=script.files)


def validate_scripts(
    annotations: Mapping[str, str],
    containers: Sequence[Container],
    *,
    field: str = "metadata.annotations",
) -> list[FieldError]:
    """Every problem of every script annotation (pass init containers in ``containers`` too)."""
    names = {c.name for c in containers}
    errors: list[FieldError] = []
    for key, text in annotations.items():
        if not key.startswith(SCRIPT_ANNOTATION_PREFIX):
            continue
        name = key.removeprefix(SCRIPT_ANNOTATION_PREFIX)
        path = f"{field}[{key}]"
        if name not in names:
            detail = f"no container named {name!r} in this pod"
            errors.append(FieldError(field=path, type="Not found", value=name, detail=detail))
            continue
        try:
            parse(text)
        except ScriptError as exc:
            errors += (attrs.evolve(e, field=path) for e in exc.errors)
    return errors


def validate_pod_scripts(new: Pod, old: Pod | None, op: Operation) -> list[FieldError]:
    """
    Admission validator for Pods: every script annotation must parse.

    Register it with ``admission.register(Pod, validator=validate_pod_scripts)``
    so a bad script is refused with a 422 naming the annotation, instead of
    leaving the container in ``CreateContainerConfigError``.
    """
    if op is Operation.DELETE:
        return []
    if old is not None and old.metadata.annotations == new.metadata.annotations:
        return []
    containers = (*new.spec.init_containers, *new.spec.containers)
    return validate_scripts(new.metadata.annotations, containers)
