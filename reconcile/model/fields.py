"""
Field selectors: filter a list or a watch by an object's selectable fields.

:class:`FieldSelector` holds ``field=value`` / ``field!=value`` terms, all
ANDed (``fields.Selector`` in Kubernetes). The fields an object offers are
``metadata.name``, ``metadata.namespace`` and whatever its kind declares
(see :mod:`reconcile.model.kinds`); a missing field compares as ``""``, as
in ``fields.Set``.

String form
    ``a=b,c!=d`` (``==`` is read as ``=``; empty terms are skipped). Inside
    values, ``\\``, ``,`` and ``=`` are escaped with a backslash; ``str()``
    prints the canonical form, so ``FieldSelector.parse(str(s)) == s``.

Contract
    Terms are validated on construction and stored sorted without
    duplicates, so equal meaning compares equal. Parse errors raise the
    :class:`~reconcile.model.selectors.SelectorParseError` shared with label
    selectors, naming the position of the offending character.

Performance
    ``matches`` runs once per object in list and watch filtering, so each
    selector compiles its terms into a flat tuple when constructed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from reconcile.model._selector_text import invalid
from reconcile.model.selectors import SelectorParseError

__all__ = [
    "FieldOperator",
    "FieldRequirement",
    "FieldSelector",
    "selector_from_fields",
]


class FieldOperator(enum.Enum):
    """The operator of a field requirement, as written in the string form."""

    EQUALS = "="
    NOT_EQUALS = "!="


_FIELD_FORBIDDEN = re.compile(r"[\s=!,\\]")


@attrs.frozen(kw_only=True)
class FieldRequirement:
    """
    One field selector term: ``field=value`` or ``field!=value``.

    Raises:
        ValueError: if ``field`` is empty or holds whitespace, ``=``, ``!``,
            ``,`` or ``\\``, or if ``value`` begins or ends with whitespace
            (which the string form could not carry).
    """

    field: str = attrs.field(validator=attrs.validators.instance_of(str))
    value: str = attrs.field(validator=attrs.validators.instance_of(str))
    operator: FieldOperator = attrs.field(
        default=FieldOperator.EQUALS, validator=attrs.validators.instance_of(FieldOperator)
    )

    def __attrs_post_init__(self) -> None:
        if not self.field:
            raise ValueError("field: Required value: must be non-empty")
        if _FIELD_FORBIDDEN.search(self.field):
            raise invalid("field", self.field, "must not contain whitespace, '=', '!', ',' or '\\'")
        if self.value != self.value.strip():
            raise invalid("value", self.value, "must not begin or end with whitespace")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator.value}{escaped}"


def _field_requirement_set(
    requirements: Iterable[FieldRequirement],
) -> tuple[FieldRequirement, ...]:
    return tuple(sorted(set(requirements), key=lambda r: (r.field, r.operator.value, r.value)))


@attrs.frozen(kw_only=True, slots=False)
class FieldSelector:
    """
    ANDed ``field=value`` / ``field!=value`` terms over an object's selectable fields.

    Terms are stored sorted without duplicates; the empty selector matches everything.
    """

    requirements: tuple[FieldRequirement, ...] = attrs.field(
        default=(), converter=_field_requirement_set
    )

    def __attrs_post_init__(self) -> None:
        terms = tuple(
            (r.field, r.value, r.operator is FieldOperator.NOT_EQUALS) for r in self.requirements
        )
        object.__setattr__(self, "_terms", terms)

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether an object with these field values is selected (missing means ``""``)."""
        get = fields.get
        return all(
            (get(field, "") == value) is not negated for field, value, negated in self._terms
        )

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """
        Parse ``field=value,field!=value`` (``==`` means ``=``; empty terms are skipped).

        Raises:
            SelectorParseError: naming the position and the offending character.
        """
        requirements = []
        for start, term in _split_unescaped(text):
            if term.strip():
                requirements.append(_parse_field_term(text, start, term))
        return cls(requirements=requirements)

    if TYPE_CHECKING:  # compiled in __attrs_post_init__; not an attrs field
        _terms: tuple[tuple[str, str, bool], ...]


def selector_from_fields(fields: Mapping[str, str]) -> FieldSelector:
    """A field selector requiring each field to equal its value (``fields.SelectorFromSet``)."""
    return FieldSelector(
        requirements=[FieldRequirement(field=f, value=v) for f, v in fields.items()]
    )


def _split_unescaped(text: str) -> list[tuple[int, str]]:
    """``text`` split at commas that are not escaped, with each part's start offset."""
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == ",":
            parts.append((start, text[start:i]))
            start = i + 1
        i += 1
    parts.append((start, text[start:]))
    return parts


def _parse_field_term(text: str, start: int, term: str) -> FieldRequirement:
    def fail(offset: int, reason: str) -> SelectorParseError:
        position = start + offset
        return SelectorParseError("field", text, position, f"{reason} at position {position}")

    i = 0
    while i < len(term) and term[i] not in "!=\\":
        i += 1
    op = "!=" if term.startswith("!=", i) else "==" if term.startswith("==", i) else term[i : i + 1]
    if op not in ("=", "==", "!="):
        found = "end of term" if i == len(term) else repr(term[i])
        raise fail(i, f"expected '=', '==' or '!=', found {found}")
    field = term[:i].strip()
    if not field:
        raise fail(i, "expected a field name before the operator")
    raw, offset = term[i + len(op) :], i + len(op)
    lead = len(raw) - len(raw.lstrip())
    chars: list[str] = []
    j = lead
    raw = raw.rstrip()
    while j < len(raw):
        c = raw[j]
        if c == "\\":
            if j + 1 == len(raw) or raw[j + 1] not in "\\,=":
                raise fail(offset + j, f"invalid escape sequence '{raw[j : j + 2]}'")
            c = raw[j + 1]
            j += 1
        elif c == "=":
            raise fail(offset + j, "unescaped '=' in value (write '\\=')")
        chars.append(c)
        j += 1
    operator = FieldOperator.NOT_EQUALS if op == "!=" else FieldOperator.EQUALS
    try:
        return FieldRequirement(field=field, value="".join(chars), operator=operator)
    except ValueError as exc:
        raise fail(0, str(exc)) from None
