"""
Label selectors: which objects a list, a watch or a controller sees, by label.

Label selectors
    :class:`LabelSelector` has the API shape of ``metav1.LabelSelector``: a
    ``match_labels`` map and ``match_expressions`` requirements, all ANDed.
    A requirement on key ``k`` means:

    ========================  =========================================
    ``In`` (values)           ``k`` is present and its value is listed
    ``NotIn`` (values)        ``k`` is absent, or its value is not listed
    ``Exists``                ``k`` is present
    ``DoesNotExist``          ``k`` is absent
    ========================  =========================================

    An empty selector matches every object (``LabelSelectorAsSelector``).
    Keys, values and operator/values pairs are validated on construction, so
    an invalid selector cannot exist.

String form
    ``a=b,c!=d,e in (x,y),f notin (z),g,!h``; whitespace between tokens is
    ignored. :meth:`LabelSelector.parse` maps ``a=b`` and ``a==b`` to
    ``match_labels`` (a second, different ``a=`` becomes ``a in (...)`` so
    the meaning is kept), ``c!=d`` to ``NotIn``, ``g`` to ``Exists`` and
    ``!h`` to ``DoesNotExist``. ``str()`` prints the canonical form:
    requirements sorted by key, values sorted, one-value ``NotIn`` as ``!=``.

Canonical representation
    Values of a requirement are a set and are stored sorted without
    duplicates; ``match_expressions`` are stored sorted (by key, operator,
    values) without duplicates. Equal meaning written the same way therefore
    compares equal, and ``LabelSelector.parse(str(s)) == s`` for every ``s``.

Errors
    :class:`SelectorParseError` is raised for an invalid string form; field
    selectors (:mod:`reconcile.model.fields`) raise it too.

Performance
    ``matches`` runs once per object in list and watch filtering, so each
    selector compiles its requirements into flat tuples when constructed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from reconcile.model._selector_text import invalid, quote
from reconcile.model.frozen import FrozenDict, frozen_str_dict

__all__ = [
    "LabelSelector",
    "LabelSelectorRequirement",
    "Operator",
    "SelectorParseError",
    "selector_from_labels",
    "validate_label_key",
    "validate_label_value",
]


class Operator(enum.Enum):
    """The operator of a label requirement, with its Kubernetes JSON value."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class SelectorParseError(ValueError):
    """
    The string form of a selector is invalid.

    Attributes:
        text: The whole selector text.
        position: Zero-based offset of the offending token in ``text``.
        reason: What was wrong, including the position.
    """

    def __init__(self, kind: str, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        super().__init__(f"invalid {kind} selector {quote(text)}: {reason}")


# -- validation ------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
_NAME_RULE = (
    "consist of alphanumeric characters, '-', '_' or '.', "
    "and start and end with an alphanumeric character"
)


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (``[dns-prefix/]name``), or ``None``."""
    if key.count("/") > 1:
        return "a qualified name may contain at most one '/'"
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "prefix part must be non-empty"
    if len(prefix) > 253:
        return "prefix part must be no more than 253 characters"
    if prefix and not _DNS_SUBDOMAIN.fullmatch(prefix):
        return "prefix part must be a lowercase DNS subdomain (e.g. 'example.com')"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _NAME.fullmatch(name):
        return f"name part must {_NAME_RULE}"
    return None


def _value_problem(value: str) -> str | None:
    """Why ``value`` is not a label value, or ``None``."""
    if not value:
        return None
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _NAME.fullmatch(value):
        return f"must be empty or {_NAME_RULE}"
    return None


def validate_label_key(key: str) -> None:
    """
    Check that ``key`` is a label key: ``name`` or ``dns.prefix/name``.

    Raises:
        ValueError: naming the key and the rule it breaks.
    """
    if (problem := _key_problem(key)) is not None:
        raise ValueError(f"invalid label key {quote(key)}: {problem}")


def validate_label_value(value: str) -> None:
    """
    Check that ``value`` is a label value: empty, or up to 63 name characters.

    Raises:
        ValueError: naming the value and the rule it breaks.
    """
    if (problem := _value_problem(value)) is not None:
        raise ValueError(f"invalid label value {quote(value)}: {problem}")


# -- label selectors --------------------------------------------------------------------

_OP_RANK = {op: rank for rank, op in enumerate(Operator)}


def _value_set(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError("values must be a sequence of strings, not a single string")
    return tuple(sorted(set(values)))


@attrs.frozen(kw_only=True)
class LabelSelectorRequirement:
    """
    One ``matchExpressions`` entry: ``key``, ``operator`` and (for ``In``/``NotIn``) values.

    ``values`` is a set: it is stored sorted and without duplicates.

    Raises:
        ValueError: if the key or a value is not a valid label key/value, if
            ``In``/``NotIn`` has no values or ``Exists``/``DoesNotExist`` has some.
    """

    key: str = attrs.field(validator=attrs.validators.instance_of(str))
    operator: Operator = attrs.field(validator=attrs.validators.instance_of(Operator))
    values: tuple[str, ...] = attrs.field(default=(), converter=_value_set)

    def __attrs_post_init__(self) -> None:
        if (problem := _key_problem(self.key)) is not None:
            raise invalid("key", self.key, problem)
        op = self.operator.value
        if self.operator in (Operator.IN, Operator.NOT_IN):
            if not self.values:
                raise ValueError(
                    f'values: Required value: must be specified when operator is "{op}"'
                )
        elif self.values:
            raise ValueError(f'values: Forbidden: may not be specified when operator is "{op}"')
        for i, value in enumerate(self.values):
            if (problem := _value_problem(value)) is not None:
                raise invalid(f"values[{i}]", value, problem)

    def _sort_key(self) -> tuple[str, int, tuple[str, ...]]:
        return (self.key, _OP_RANK[self.operator], self.values)

    def __str__(self) -> str:
        match self.operator:
            case Operator.EXISTS:
                return self.key
            case Operator.DOES_NOT_EXIST:
                return f"!{self.key}"
            case Operator.NOT_IN if len(self.values) == 1:
                return f"{self.key}!={self.values[0]}"
        word = "in" if self.operator is Operator.IN else "notin"
        listed = "," if self.values == ("",) else ",".join(self.values)
        return f"{self.key} {word} ({listed})"


def _requirement_set(
    requirements: Iterable[LabelSelectorRequirement],
) -> tuple[LabelSelectorRequirement, ...]:
    return tuple(sorted(set(requirements), key=LabelSelectorRequirement._sort_key))


def _check_match_labels(
    _self: object, _attribute: attrs.Attribute[FrozenDict[str, str]], labels: FrozenDict[str, str]
) -> None:
    for key, value in labels.items():
        if (problem := _key_problem(key)) is not None:
            raise invalid("matchLabels", key, problem)
        if (problem := _value_problem(value)) is not None:
            raise invalid(f"matchLabels[{key}]", value, problem)


@attrs.frozen(kw_only=True, slots=False)
class LabelSelector:
    """
    ``metav1.LabelSelector``: ``match_labels`` and ``match_expressions``, ANDed.

    The empty selector matches everything. Build one from its fields, from a
    label map with :func:`selector_from_labels`, or from text with :meth:`parse`.
    """

    match_labels: FrozenDict[str, str] = attrs.field(
        factory=FrozenDict, converter=frozen_str_dict, validator=_check_match_labels
    )
    match_expressions: tuple[LabelSelectorRequirement, ...] = attrs.field(
        default=(), converter=_requirement_set
    )

    def __attrs_post_init__(self) -> None:
        # Compiled once into plain attributes (not attrs fields, so equality,
        # hashing and JSON conversion never see them). `matches` tests the
        # equalities first (the common case), then walks `_rest`: (key, values,
        # wanted) means "value in values" (or "key present" when values is
        # None) must equal `wanted`.
        equal = dict(self.match_labels)
        rest: list[tuple[str, frozenset[str] | None, bool]] = []
        for req in self.match_expressions:
            if req.operator is Operator.IN and len(req.values) == 1 and req.key not in equal:
                equal[req.key] = req.values[0]
            elif req.operator in (Operator.IN, Operator.NOT_IN):
                rest.append((req.key, frozenset(req.values), req.operator is Operator.IN))
            else:
                rest.append((req.key, None, req.operator is Operator.EXISTS))
        object.__setattr__(self, "_equal", tuple(equal.items()))
        object.__setattr__(self, "_rest", tuple(rest))

    @property
    def is_empty(self) -> bool:
        """Whether this is the empty selector, which matches everything."""
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object with these ``labels`` is selected."""
        for key, value in self._equal:
            if labels.get(key) != value:
                return False
        for key, values, wanted in self._rest:
            if values is None:
                if (key in labels) is not wanted:
                    return False
            elif (labels.get(key) in values) is not wanted:
                return False
        return True

    def __str__(self) -> str:
        parts = [(key, -1, f"{key}={value}") for key, value in self.match_labels.items()]
        parts += [(r.key, i, str(r)) for i, r in enumerate(self.match_expressions)]
        return ",".join(text for _, _, text in sorted(parts))

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """
        Parse the string form (``a=b,c!=d,e in (x,y),f notin (z),g,!h``).

        Raises:
            SelectorParseError: naming the position and the offending token.
        """
        return _LabelParser(text).parse()

    if TYPE_CHECKING:  # compiled in __attrs_post_init__; not attrs fields
        _equal: tuple[tuple[str, str], ...]
        _rest: tuple[tuple[str, frozenset[str] | None, bool], ...]


def selector_from_labels(labels: Mapping[str, str]) -> LabelSelector:
    """A selector matching objects that carry all of ``labels`` (``labels.SelectorFromSet``)."""
    return LabelSelector(match_labels=labels)


_Token = tuple[str, str, int]  # (kind, text, position); kinds: id ( ) , ! = == != end


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append((c, c, i))
            i += 1
        elif c in "!=":
            op = text[i : i + 2] if text.startswith(("!=", "=="), i) else c
            tokens.append((op, op, i))
            i += len(op)
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "()!=,":
                j += 1
            tokens.append(("id", text[i:j], i))
            i = j
    tokens.append(("end", "", n))
    return tokens


class _LabelParser:
    """Recursive descent over the tokens of one label selector string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.at = 0

    def fail(self, expected: str, token: _Token) -> SelectorParseError:
        found = "end of input" if token[0] == "end" else repr(token[1])
        reason = f"expected {expected} at position {token[2]}, found {found}"
        return SelectorParseError("label", self.text, token[2], reason)

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def key(self) -> str:
        token = self.take()
        if token[0] != "id":
            raise self.fail("a label key", token)
        if (problem := _key_problem(token[1])) is not None:
            reason = f"key {quote(token[1])} at position {token[2]} is invalid: {problem}"
            raise SelectorParseError("label", self.text, token[2], reason)
        return token[1]

    def value(self, token: _Token) -> str:
        if (problem := _value_problem(token[1])) is not None:
            reason = f"value {quote(token[1])} at position {token[2]} is invalid: {problem}"
            raise SelectorParseError("label", self.text, token[2], reason)
        return token[1]

    def values(self) -> list[str]:
        if (token := self.take())[0] != "(":
            raise self.fail("'('", token)
        if self.tokens[self.at][0] == ")":
            raise self.fail("at least one value", self.tokens[self.at])
        values = []
        while True:
            token = self.tokens[self.at]
            if token[0] == "id":
                values.append(self.value(self.take()))
            else:
                values.append("")  # an empty item, as in "(,a)" or "(a,)"
            token = self.take()
            if token[0] == ")":
                return values
            if token[0] != ",":
                raise self.fail("')'" if token[0] == "end" else "',' or ')'", token)

    def requirement(self, labels: dict[str, str]) -> LabelSelectorRequirement | None:
        """Parse one requirement; ``key=value`` goes into ``labels`` (``None`` is returned)."""
        if self.tokens[self.at][0] == "!":
            self.at += 1
            return _requirement(self.key(), Operator.DOES_NOT_EXIST)
        key = self.key()
        token = self.tokens[self.at]
        if token[0] in (",", "end"):
            return _requirement(key, Operator.EXISTS)
        if token[0] == "id" and token[1] in ("in", "notin"):
            self.at += 1
            op = Operator.IN if token[1] == "in" else Operator.NOT_IN
            return _requirement(key, op, *self.values())
        if token[0] not in ("=", "==", "!="):
            raise self.fail("'=', '==', '!=', 'in', 'notin', ',' or end of input", token)
        self.at += 1
        value = ""  # "a=" (followed by ',' or the end) selects the empty value
        if self.tokens[self.at][0] == "id":
            value = self.value(self.take())
        elif self.tokens[self.at][0] not in (",", "end"):
            raise self.fail("a value", self.tokens[self.at])
        if token[0] == "!=":
            return _requirement(key, Operator.NOT_IN, value)
        if labels.setdefault(key, value) != value:
            return _requirement(key, Operator.IN, value)  # "a=x,a=y": keep both constraints
        return None

    def parse(self) -> LabelSelector:
        """The whole selector; the empty string is the empty selector."""
        labels: dict[str, str] = {}
        expressions: list[LabelSelectorRequirement] = []
        if self.tokens[0][0] == "end":
            return LabelSelector()
        while True:
            if (requirement := self.requirement(labels)) is not None:
                expressions.append(requirement)
            token = self.take()
            if token[0] == "end":
                return LabelSelector(match_labels=labels, match_expressions=expressions)
            if token[0] != ",":
                raise self.fail("',' or end of input", token)


def _requirement(key: str, operator: Operator, *values: str) -> LabelSelectorRequirement:
    return LabelSelectorRequirement(key=key, operator=operator, values=values)
