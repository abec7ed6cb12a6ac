"""
Faults as values: what to break, in which component, and how to apply it.

Each fault is a frozen attrs value naming its ``component`` (one process of
the system under test), so a failing schedule prints, shrinks, saves and
replays as plain data. :meth:`Fault.apply` acts synchronously on the
component's :class:`~reconcile.cluster.faulty.FaultyClient` and
:class:`~reconcile.primitives.skew.SkewedClock`, so a fault can fire in the
middle of a reconcile (from a write trigger) as well as between steps.

:func:`faults` is the hypothesis strategy over all of them, restricted to
chosen classes by their names (:data:`FAULT_CLASSES`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import attrs
from hypothesis import strategies as st

from reconcile.cluster.faulty import FaultyClient
from reconcile.primitives.skew import SkewedClock

__all__ = [
    "FAULT_CLASSES",
    "Coalesce",
    "Conflicts",
    "Crash",
    "Expire",
    "Fault",
    "Freeze",
    "Heal",
    "Lag",
    "Perturb",
    "Remember",
    "Skew",
    "Target",
    "Throttle",
    "TimeTravel",
    "fault_from_json",
    "fault_to_json",
    "faults",
]


class Target(Protocol):
    """What faults act on: each component's client and clock."""

    def client(self, component: str) -> FaultyClient:
        """The component's current client (a restart makes a new one)."""
        ...

    def component_clock(self, component: str) -> SkewedClock:
        """The component's clock."""
        ...


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name}: must be a number within [0, 1], got {value!r}")


def _seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _number(value):
        raise ValueError(f"{attribute.name}: must be a finite number of seconds, got {value!r}")


def _delay(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _number(value) or value < 0:
        raise ValueError(
            f"{attribute.name}: must be a finite number of seconds >= 0, got {value!r}"
        )


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"kinds: must be a list of kind names, got {value!r}")
    if not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"kinds: must be a list of kind names, got {value!r}")
    return tuple(value)


def _count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name}: must be an integer >= 0, got {value!r}")


def _flag(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{attribute.name}: must be true or false, got {value!r}")


def _name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name}: must be a non-empty string, got {value!r}")


@attrs.frozen(kw_only=True)
class Fault:
    """Base class: a fault in one ``component`` (fields are checked when made, naming the field)."""

    name: ClassVar[str] = ""
    component: str = attrs.field(validator=_name)

    def apply(self, target: Target) -> None:
        raise NotImplementedError


@attrs.frozen(kw_only=True)
class Crash(Fault):
    """The component dies after ``writes`` more writes (``0``: before its next one) and restarts."""

    name: ClassVar[str] = "crash"
    writes: int = attrs.field(default=0, validator=_count)

    def apply(self, target: Target) -> None:
        target.client(self.component).crash_after(self.writes)


@attrs.frozen(kw_only=True)
class Conflicts(Fault):
    """Conditional writes fail with 409 at ``rate``."""

    name: ClassVar[str] = "conflict"
    rate: float = attrs.field(default=0.5, validator=_rate)

    def apply(self, target: Target) -> None:
        target.client(self.component).set_faults(conflict_rate=self.rate)


@attrs.frozen(kw_only=True)
class Throttle(Fault):
    """Writes fail with 429 at ``rate``."""

    name: ClassVar[str] = "throttle"
    rate: float = attrs.field(default=0.5, validator=_rate)

    def apply(self, target: Target) -> None:
        target.client(self.component).set_faults(throttle_rate=self.rate)


@attrs.frozen(kw_only=True)
class Slow(Fault):
    """Every write spends ``seconds`` in flight before it lands (a slow network)."""

    name: ClassVar[str] = "slow"
    seconds: float = attrs.field(default=2.0, validator=_delay)

    def apply(self, target: Target) -> None:
        target.client(self.component).set_faults(write_delay=self.seconds)


@attrs.frozen(kw_only=True)
class Lag(Fault):
    """
    The component's view freezes here (stale reads); it catches up at heal.

    With ``kinds`` (kind names), only the watches of those kinds fall behind
    (reads stay fresh): one informer lags while the others keep up.
    """

    name: ClassVar[str] = "lag"
    kinds: tuple[str, ...] = attrs.field(default=(), converter=_names)

    def apply(self, target: Target) -> None:
        target.client(self.component).lag(kinds=self.kinds)


@attrs.frozen(kw_only=True)
class Remember(Fault):
    """A replica of the API server stops here; :class:`TimeTravel` reconnects to it."""

    name: ClassVar[str] = "remember"

    def apply(self, target: Target) -> None:
        target.client(self.component).remember()


@attrs.frozen(kw_only=True)
class TimeTravel(Fault):
    """
    The component reconnects to the replica :class:`Remember` stopped (or
    to the present, if none) and relists from it: its cache goes back in time.
    """

    name: ClassVar[str] = "time-travel"

    def apply(self, target: Target) -> None:
        client = target.client(self.component)
        client.lag(remembered=True)
        client.expire_watches()


@attrs.frozen(kw_only=True)
class Perturb(Fault):
    """Watch events are lost, repeated or swapped at the given rates."""

    name: ClassVar[str] = "perturb"
    drop: float = attrs.field(default=0.0, validator=_rate)
    duplicate: float = attrs.field(default=0.0, validator=_rate)
    reorder: float = attrs.field(default=0.0, validator=_rate)

    def apply(self, target: Target) -> None:
        target.client(self.component).set_faults(
            drop_rate=self.drop, duplicate_rate=self.duplicate, reorder_rate=self.reorder
        )


@attrs.frozen(kw_only=True)
class Coalesce(Fault):
    """Watch events are held and then only each object's last state is delivered."""

    name: ClassVar[str] = "coalesce"

    def apply(self, target: Target) -> None:
        target.client(self.component).set_faults(coalesce=True)


@attrs.frozen(kw_only=True)
class Expire(Fault):
    """Every watch of the component ends with 410 Gone: it relists."""

    name: ClassVar[str] = "expire"

    def apply(self, target: Target) -> None:
        target.client(self.component).expire_watches()


@attrs.frozen(kw_only=True)
class Skew(Fault):
    """The component's wall clock is off by ``seconds`` from now on (``jump``: stepped by it)."""

    name: ClassVar[str] = "skew"
    seconds: float = attrs.field(default=5.0, validator=_seconds)
    jump: bool = attrs.field(default=False, validator=_flag)

    def apply(self, target: Target) -> None:
        clock = target.component_clock(self.component)
        if self.jump:
            clock.jump(self.seconds)
        else:
            clock.offset = self.seconds


@attrs.frozen(kw_only=True)
class Freeze(Fault):
    """The component's process pauses (its time stands still) until heal; a paused one stays so."""

    name: ClassVar[str] = "freeze"

    def apply(self, target: Target) -> None:
        clock = target.component_clock(self.component)
        if not clock.frozen:
            clock.freeze()


@attrs.frozen(kw_only=True)
class Heal(Fault):
    """Every fault of the component ends: rates off, caught up, thawed, skew gone."""

    name: ClassVar[str] = "heal"

    def apply(self, target: Target) -> None:
        target.client(self.component).heal()
        clock = target.component_clock(self.component)
        if clock.frozen:
            clock.thaw()
        clock.offset = 0.0


_TYPES: tuple[type[Fault], ...] = (
    Crash, Conflicts, Throttle, Slow, Lag, Remember, TimeTravel, Perturb, Coalesce, Expire, Skew,
    Freeze, Heal,
)  # fmt: skip
FAULT_CLASSES: tuple[str, ...] = tuple(t.name for t in _TYPES)
"""The names of every fault class, as :func:`faults` accepts them."""
_BY_NAME: dict[str, type[Fault]] = {t.name: t for t in _TYPES}


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """A fault as JSON-ready data (``{"fault": name, ...fields}``)."""
    return {"fault": fault.name, **attrs.asdict(fault)}


def fault_from_json(data: Mapping[str, Any]) -> Fault:
    """
    The fault :func:`fault_to_json` wrote.

    Raises:
        ValueError: unknown fault name, unknown or missing fields, or a bad field value
            (naming the fault and the field).
    """
    fields = dict(data)
    name = fields.pop("fault", None)
    if name not in _BY_NAME:
        raise ValueError(f"fault: unknown fault {name!r}; expected one of {FAULT_CLASSES}")
    try:
        return _BY_NAME[name](**fields)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"fault {name!r}: {exc}") from exc


_RATE = st.sampled_from([0.25, 0.5, 1.0])


def faults(
    components: Sequence[str], *, classes: Iterable[str] = FAULT_CLASSES
) -> st.SearchStrategy[Fault]:
    """
    Any fault of the named ``classes`` in any of ``components``.

    Raises:
        ValueError: an unknown class name, or nothing to choose from.
    """
    chosen = list(dict.fromkeys(classes))
    unknown = [c for c in chosen if c not in _BY_NAME]
    if unknown or not chosen or not components:
        raise ValueError(
            f"classes: unknown {unknown!r} (expected names from {FAULT_CLASSES})"
            if unknown
            else "faults need at least one component and one class"
        )
    component = st.sampled_from(list(components))
    options: dict[str, st.SearchStrategy[Fault]] = {
        "crash": st.builds(Crash, component=component, writes=st.integers(0, 12)),
        "conflict": st.builds(Conflicts, component=component, rate=_RATE),
        "throttle": st.builds(Throttle, component=component, rate=_RATE),
        "slow": st.builds(Slow, component=component, seconds=st.sampled_from([0.5, 2.0, 5.0])),
        "lag": st.builds(
            Lag,
            component=component,
            kinds=st.sampled_from([(), ("Deployment",), ("ReplicaSet",), ("Pod",), ("Node",)]),
        ),
        "remember": st.builds(Remember, component=component),
        "time-travel": st.builds(TimeTravel, component=component),
        "perturb": st.builds(
            Perturb,
            component=component,
            drop=st.sampled_from([0.0, 0.2]),
            duplicate=st.sampled_from([0.0, 0.3]),
            reorder=st.sampled_from([0.0, 0.3]),
        ),
        "coalesce": st.builds(Coalesce, component=component),
        "expire": st.builds(Expire, component=component),
        "skew": st.builds(
            Skew,
            component=component,
            seconds=st.sampled_from([-5.0, -1.0, 1.0, 5.0]),
            jump=st.booleans(),
        ),
        "freeze": st.builds(Freeze, component=component),
        "heal": st.builds(Heal, component=component),
    }
    return st.one_of([options[name] for name in chosen])
