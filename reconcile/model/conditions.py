"""
Status conditions: ``metav1.Condition`` and the helpers that keep them honest.

A condition reports one aspect of an object's state (``Ready``,
``Available``, ``Progressing``) as ``True``, ``False`` or ``Unknown``, with a
machine-readable ``reason`` and a human-readable ``message``. At most one
condition of each ``type`` is kept.

``last_transition_time`` answers "since when has this been so?", so it moves
only when the *status* changes. :func:`set_condition` follows
``meta.SetStatusCondition``:

* a new type is appended, stamped with its own ``last_transition_time`` if it
  has one, else with ``now``;
* a status change replaces the condition in place, stamped the same way;
* the same status keeps the old ``last_transition_time`` and takes the new
  ``reason``, ``message`` and ``observed_generation``.

Every helper is pure: conditions are tuples, order is preserved, and time is
passed in as ``now`` (an aware UTC datetime, like every timestamp here). A
helper that changes nothing returns the very tuple it was given, so
``new is old`` is a cheap "skip the status update" test.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

__all__ = [
    "Condition",
    "ConditionStatus",
    "find_condition",
    "is_condition_false",
    "is_condition_true",
    "remove_condition",
    "set_condition",
]


class ConditionStatus(enum.Enum):
    """The status of a condition, with its Kubernetes JSON value."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


def _non_empty(_self: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise ValueError(f"{attribute.name}: Required value: must be non-empty")


@attrs.frozen(kw_only=True)
class Condition:
    """
    One ``metav1.Condition``.

    Attributes:
        type: What aspect this describes, in CamelCase (``Ready``).
        status: ``True``, ``False`` or ``Unknown``.
        reason: Why, as a CamelCase word for machines (``MinimumReplicasAvailable``).
        message: Why, for humans.
        last_transition_time: When ``status`` last changed; ``None`` lets
            :func:`set_condition` stamp it with ``now``.
        observed_generation: The ``metadata.generation`` this was computed from.
    """

    type: str = attrs.field(validator=[attrs.validators.instance_of(str), _non_empty])
    status: ConditionStatus = attrs.field(validator=attrs.validators.instance_of(ConditionStatus))
    reason: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    message: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    last_transition_time: dt.datetime | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(dt.datetime)),
    )
    observed_generation: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(
            [attrs.validators.instance_of(int), attrs.validators.ge(0)]
        ),
    )


def find_condition(conditions: tuple[Condition, ...], type: str) -> Condition | None:
    """The condition of ``type``, or ``None``."""
    for condition in conditions:
        if condition.type == type:
            return condition
    return None


def set_condition(
    conditions: tuple[Condition, ...], new: Condition, *, now: dt.datetime
) -> tuple[Condition, ...]:
    """
    ``conditions`` with ``new`` set, keeping the transition time while the status holds.

    Args:
        conditions: The current conditions (unchanged).
        new: The condition to set; its ``last_transition_time``, if given, is
            used only when the status changes or the type is new.
        now: The time to stamp a transition with when ``new`` carries none.

    Returns:
        A tuple in the same order, with a new type appended; the given tuple
        itself when nothing changed.
    """
    for i, old in enumerate(conditions):
        if old.type != new.type:
            continue
        if old.status == new.status:
            updated = attrs.evolve(new, last_transition_time=old.last_transition_time)
        else:
            updated = attrs.evolve(new, last_transition_time=new.last_transition_time or now)
        if updated == old:
            return conditions
        return (*conditions[:i], updated, *conditions[i + 1 :])
    return (*conditions, attrs.evolve(new, last_transition_time=new.last_transition_time or now))


def remove_condition(conditions: tuple[Condition, ...], type: str) -> tuple[Condition, ...]:
    """``conditions`` without the one of ``type`` (the given tuple itself if there is none)."""
    if find_condition(conditions, type) is None:
        return conditions
    return tuple(c for c in conditions if c.type != type)


def is_condition_true(conditions: tuple[Condition, ...], type: str) -> bool:
    """Whether the condition of ``type`` is present with status ``True``."""
    condition = find_condition(conditions, type)
    return condition is not None and condition.status is ConditionStatus.TRUE


def is_condition_false(conditions: tuple[Condition, ...], type: str) -> bool:
    """Whether the condition of ``type`` is present with status ``False``."""
    condition = find_condition(conditions, type)
    return condition is not None and condition.status is ConditionStatus.FALSE
