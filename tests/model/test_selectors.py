"""Label and field selectors: parsing, formatting, validation and matching."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.model.fields import (
    FieldOperator,
    FieldRequirement,
    FieldSelector,
    selector_from_fields,
)
from reconcile.model.frozen import FrozenDict
from reconcile.model.selectors import (
    LabelSelector,
    LabelSelectorRequirement,
    Operator,
    SelectorParseError,
    selector_from_labels,
    validate_label_key,
    validate_label_value,
)

# -- strategies ---------------------------------------------------------------------------

# A small pool makes selectors and label sets overlap often; the regexes add variety.
label_keys = st.one_of(
    st.sampled_from(["app", "tier", "env", "in", "notin", "example.com/role", "a.b-c_d"]),
    st.from_regex(
        r"\A([a-z0-9]{1,5}(\.[a-z0-9]{1,5}){0,2}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?\Z"
    ),
)
label_values = st.one_of(
    st.sampled_from(["", "web", "db", "v1", "in", "x.y-z_0"]),
    st.from_regex(r"\A[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?\Z"),
)
label_maps = st.dictionaries(label_keys, label_values, max_size=6)


@st.composite
def requirements(draw: st.DrawFn) -> LabelSelectorRequirement:
    """A valid requirement of any operator."""
    operator = draw(st.sampled_from(Operator))
    needs_values = operator in (Operator.IN, Operator.NOT_IN)
    values = draw(st.lists(label_values, min_size=1, max_size=4)) if needs_values else []
    return LabelSelectorRequirement(key=draw(label_keys), operator=operator, values=values)


label_selectors = st.builds(
    LabelSelector,
    match_labels=label_maps.filter(lambda m: len(m) <= 3),
    match_expressions=st.lists(requirements(), max_size=4),
)

field_names = st.sampled_from(["metadata.name", "metadata.namespace", "spec.nodeName", "x"])
field_values = st.one_of(
    st.sampled_from(["", "a", "Running", "a,b", "k=v", "back\\slash", "!x", "a!=b", "=="]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Z", "Cc"]), max_size=8),
)
field_requirements = st.builds(
    FieldRequirement, field=field_names, value=field_values, operator=st.sampled_from(FieldOperator)
)
field_selectors = st.builds(FieldSelector, requirements=st.lists(field_requirements, max_size=4))


def naive_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """The selector semantics, spelled out one requirement at a time."""
    for key, value in selector.match_labels.items():
        if key not in labels or labels[key] != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator is Operator.IN:
            ok = present and labels[req.key] in req.values
        elif req.operator is Operator.NOT_IN:
            ok = not present or labels[req.key] not in req.values
        else:
            ok = present == (req.operator is Operator.EXISTS)
        if not ok:
            return False
    return True


def parse_or_error(text: str) -> LabelSelector | SelectorParseError:
    """The parsed selector, or the SelectorParseError parsing raised."""
    try:
        return LabelSelector.parse(text)
    except SelectorParseError as exc:
        return exc


def parse_error(text: str) -> str:
    """The message of the error that parsing ``text`` as a label selector raises."""
    with pytest.raises(SelectorParseError) as info:
        LabelSelector.parse(text)
    return str(info.value)


# -- label selectors: properties -----------------------------------------------------------


@given(label_selectors)
def test_parse_of_str_round_trips(selector: LabelSelector) -> None:
    """Parsing the string form gives back an equal selector."""
    assert selector == LabelSelector.parse(str(selector))


@given(label_selectors)
def test_str_is_canonical(selector: LabelSelector) -> None:
    """Formatting a parsed canonical string reproduces it exactly."""
    text = str(selector)
    assert text == str(LabelSelector.parse(text))


@given(label_selectors, label_maps)
def test_matches_agrees_with_naive_evaluation(
    selector: LabelSelector, labels: dict[str, str]
) -> None:
    """The compiled matcher agrees with evaluating each requirement in turn."""
    assert naive_matches(selector, labels) == selector.matches(labels)


@given(label_selectors, label_maps)
def test_parsed_selector_selects_the_same_objects(
    selector: LabelSelector, labels: dict[str, str]
) -> None:
    """The string form selects exactly what the selector selects."""
    assert selector.matches(labels) == LabelSelector.parse(str(selector)).matches(labels)


@given(label_maps, label_maps)
def test_selector_from_labels_matches_supersets(
    wanted: dict[str, str], labels: dict[str, str]
) -> None:
    """A selector built from a label set matches exactly the objects carrying all of it."""
    expected = all(labels.get(k) == v for k, v in wanted.items())
    assert expected == selector_from_labels(wanted).matches({**labels})


@given(st.text(alphabet="ab=!(),  in/.-"))
def test_parse_rejects_garbage_only_with_selector_parse_error(text: str) -> None:
    """Any text either parses or raises SelectorParseError, never another error."""
    outcome = parse_or_error(text)
    if isinstance(outcome, SelectorParseError):
        assert 0 <= outcome.position <= len(text)
    else:
        assert outcome == LabelSelector.parse(str(outcome))


@given(label_maps)
def test_empty_selector_matches_everything(labels: dict[str, str]) -> None:
    """The empty selector selects every object, as LabelSelectorAsSelector does."""
    assert LabelSelector().matches(labels)
    assert LabelSelector.parse("").matches(labels)


# -- label selectors: examples -----------------------------------------------------------


def test_parse_maps_each_operator_to_the_api_shape() -> None:
    """Equalities become matchLabels; every other form becomes a matchExpression."""
    expected = LabelSelector(
        match_labels={"a": "b", "i": "j"},
        match_expressions=[
            LabelSelectorRequirement(key="c", operator=Operator.NOT_IN, values=["d"]),
            LabelSelectorRequirement(key="e", operator=Operator.IN, values=["y", "x"]),
            LabelSelectorRequirement(key="f", operator=Operator.NOT_IN, values=["z"]),
            LabelSelectorRequirement(key="g", operator=Operator.EXISTS),
            LabelSelectorRequirement(key="h", operator=Operator.DOES_NOT_EXIST),
        ],
    )
    assert expected == LabelSelector.parse("a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j")


def test_str_sorts_by_key_and_writes_single_not_in_as_not_equals() -> None:
    """The canonical form is sorted by key with sorted values."""
    selector = LabelSelector.parse(" z in ( q , p ) , !y,  x notin (w), b=c ")
    expected = "b=c,x!=w,!y,z in (p,q)"
    assert expected == str(selector)


def test_conflicting_equalities_keep_both_constraints() -> None:
    """a=x,a=y selects nothing rather than silently keeping one value."""
    selector = LabelSelector.parse("a=x,a=y")
    expected = "a=x,a in (y)"
    assert expected == str(selector)
    assert not selector.matches({"a": "x"})
    assert not selector.matches({"a": "y"})


def test_empty_values_are_written_so_they_parse_back() -> None:
    """Empty label values survive formatting, including a set holding only ""."""
    for text in ("a=", "a!=", "a in (,)", "a in (,b)", "a notin (,b)"):
        assert text == str(LabelSelector.parse(text))
    only_empty = ("",)
    assert only_empty == LabelSelector.parse("a in (,)").match_expressions[0].values


def test_not_in_matches_objects_without_the_key() -> None:
    """NotIn and != select objects that lack the key entirely."""
    assert LabelSelector.parse("env!=prod").matches({})
    assert LabelSelector.parse("env notin (prod,dev)").matches({"app": "web"})
    assert not LabelSelector.parse("env in (prod,dev)").matches({"app": "web"})


def test_matches_accepts_frozen_dicts() -> None:
    """Object labels (FrozenDict) are matched like plain dicts."""
    assert LabelSelector.parse("app=web,!canary").matches(FrozenDict({"app": "web"}))


def test_expressions_and_values_are_stored_sorted_without_duplicates() -> None:
    """Equal meaning written in another order compares equal."""
    exists = LabelSelectorRequirement(key="b", operator=Operator.EXISTS)
    in_ = LabelSelectorRequirement(key="a", operator=Operator.IN, values=["y", "x", "y"])
    expected = ("x", "y")
    assert expected == in_.values
    assert LabelSelector(match_expressions=[exists, in_, exists]) == LabelSelector(
        match_expressions=[in_, exists]
    )


def test_is_empty_only_for_the_empty_selector() -> None:
    """is_empty tells the select-everything selector apart."""
    assert LabelSelector().is_empty
    assert not LabelSelector.parse("a").is_empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a in (b", "expected ')' at position 7, found end of input"),
        ("a in (b c)", "expected ',' or ')' at position 8, found 'c'"),
        ("a in ()", "expected at least one value at position 6, found ')'"),
        ("a in b", "expected '(' at position 5, found 'b'"),
        ("a,", "expected a label key at position 2, found end of input"),
        (",a", "expected a label key at position 0, found ','"),
        ("a b", "at position 2, found 'b'"),
        ("!a=b", "expected ',' or end of input at position 2, found '='"),
        ("a=b=c", "expected ',' or end of input at position 3, found '='"),
        ("a=(b)", "expected a value at position 2, found '('"),
    ],
)
def test_parse_errors_name_the_position_and_token(text: str, expected: str) -> None:
    """Syntax errors quote the selector and say what was expected where."""
    message = parse_error(text)
    assert message.startswith(f'invalid label selector "{text}": ')
    assert message.endswith(expected)


def test_parse_error_carries_text_and_position() -> None:
    """SelectorParseError is a ValueError exposing the text and the position."""
    with pytest.raises(ValueError, match="position") as info:
        LabelSelector.parse("a in (b")
    assert isinstance(info.value, SelectorParseError)
    expected = ("a in (b", 7)
    assert expected == (info.value.text, info.value.position)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-a=b", 'key "-a" at position 0 is invalid: name part must'),
        ("Example.com/a", 'key "Example.com/a" at position 0 is invalid: prefix part must be'),
        ("a/b/c", "at most one '/'"),
        ("/a", "prefix part must be non-empty"),
        ("x," + "k" * 64, "name part must be no more than 63 characters"),
        ("a in (ok,-bad)", 'value "-bad" at position 9 is invalid: must be empty or'),
        ("a=" + "v" * 64, "must be no more than 63 characters"),
    ],
)
def test_parse_validates_keys_and_values(text: str, expected: str) -> None:
    """Invalid label keys and values are reported with their position."""
    assert expected in parse_error(text)


def test_requirement_without_values_names_the_field() -> None:
    """In/NotIn without values is refused, naming the values field and operator."""
    with pytest.raises(ValueError, match="values") as info:
        LabelSelectorRequirement(key="a", operator=Operator.IN, values=[])
    expected = 'values: Required value: must be specified when operator is "In"'
    assert expected == str(info.value)


def test_requirement_with_forbidden_values_names_the_field() -> None:
    """Exists/DoesNotExist with values is refused, naming the values field and operator."""
    with pytest.raises(ValueError, match="values") as info:
        LabelSelectorRequirement(key="a", operator=Operator.DOES_NOT_EXIST, values=["x"])
    expected = 'values: Forbidden: may not be specified when operator is "DoesNotExist"'
    assert expected == str(info.value)


def test_requirement_reports_invalid_key_and_value_with_their_paths() -> None:
    """Requirement validation names key or values[i]."""
    with pytest.raises(ValueError, match=r'^key: Invalid value: "a b": name part'):
        LabelSelectorRequirement(key="a b", operator=Operator.EXISTS)
    with pytest.raises(ValueError, match=r'^values\[1\]: Invalid value: "x_": must be empty or'):
        LabelSelectorRequirement(key="a", operator=Operator.IN, values=["ok", "x_"])


def test_requirement_refuses_a_single_string_as_values() -> None:
    """values="abc" is a bug, not three one-letter values."""
    with pytest.raises(TypeError, match="single string"):
        LabelSelectorRequirement(key="a", operator=Operator.IN, values="abc")


def test_match_labels_are_validated() -> None:
    """Invalid matchLabels keys and values are refused, naming matchLabels."""
    with pytest.raises(ValueError, match=r'^matchLabels: Invalid value: "bad key"'):
        LabelSelector(match_labels={"bad key": "x"})
    with pytest.raises(ValueError, match=r'^matchLabels\[app\]: Invalid value: "-x"'):
        LabelSelector(match_labels={"app": "-x"})


def test_validate_label_key_and_value_accept_and_reject() -> None:
    """The standalone validators accept Kubernetes-valid labels and name bad ones."""
    validate_label_key("app.kubernetes.io/name")
    validate_label_value("")
    validate_label_value("v1.2-rc_3")
    with pytest.raises(ValueError, match=r'^invalid label key "a/": name part must be non-empty'):
        validate_label_key("a/")
    with pytest.raises(ValueError, match=r"must be no more than 63 characters"):
        validate_label_value("x" * 64)
    with pytest.raises(ValueError, match="prefix part must be no more than 253 characters"):
        validate_label_key("a" * 254 + "/b")


# -- field selectors ----------------------------------------------------------------------


@given(field_selectors)
def test_field_selector_round_trips_through_its_string(selector: FieldSelector) -> None:
    """Escaped values survive str() and parse()."""
    assert selector == FieldSelector.parse(str(selector))


@given(field_selectors, st.dictionaries(field_names, field_values, max_size=4))
def test_field_selector_matches_agrees_with_naive_evaluation(
    selector: FieldSelector, fields: dict[str, str]
) -> None:
    """Each term compares the field (missing means "") with its value."""
    expected = all(
        (fields.get(r.field, "") == r.value) == (r.operator is FieldOperator.EQUALS)
        for r in selector.requirements
    )
    assert expected == selector.matches(fields)


def test_field_selector_parses_all_three_operators() -> None:
    """'=' and '==' mean equals and '!=' means not equals; whitespace is ignored."""
    expected = FieldSelector(
        requirements=[
            FieldRequirement(field="metadata.name", value="web"),
            FieldRequirement(field="spec.nodeName", value="n1"),
            FieldRequirement(
                field="status.phase", value="Running", operator=FieldOperator.NOT_EQUALS
            ),
        ]
    )
    text = "status.phase != Running, spec.nodeName==n1,metadata.name=web"
    assert expected == FieldSelector.parse(text)
    canonical = "metadata.name=web,spec.nodeName=n1,status.phase!=Running"
    assert canonical == str(expected)


def test_field_selector_missing_field_compares_as_empty() -> None:
    """A field the object lacks equals "" and differs from anything else."""
    assert FieldSelector.parse("spec.nodeName=").matches({})
    assert FieldSelector.parse("spec.nodeName!=n1").matches({})
    assert not FieldSelector.parse("spec.nodeName=n1").matches({})


def test_field_selector_unescapes_values() -> None:
    """Backslash escapes ',', '=' and itself inside values."""
    selector = FieldSelector.parse(r"a=x\,y\=z\\,b=1")
    expected = {"a": "x,y=z\\", "b": "1"}
    assert expected == {r.field: r.value for r in selector.requirements}


def test_empty_field_selector_matches_everything() -> None:
    """No terms (or only empty ones) select every object."""
    assert FieldSelector() == FieldSelector.parse(" , ,")
    assert FieldSelector().matches({"metadata.name": "x"})


def test_selector_from_fields_requires_each_value() -> None:
    """selector_from_fields ANDs one equality per entry."""
    selector = selector_from_fields({"metadata.name": "a", "metadata.namespace": "ns"})
    expected = "metadata.name=a,metadata.namespace=ns"
    assert expected == str(selector)
    assert selector.matches({"metadata.name": "a", "metadata.namespace": "ns"})
    assert not selector.matches({"metadata.name": "a"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", "expected '=', '==' or '!=', found end of term at position 1"),
        ("x=1,b", "expected '=', '==' or '!=', found end of term at position 5"),
        ("a=b=c", "unescaped '=' in value (write '\\=') at position 3"),
        ("=b", "expected a field name before the operator at position 0"),
        ("a=b\\q", "invalid escape sequence '\\q' at position 3"),
        ("a=b\\", "invalid escape sequence '\\' at position 3"),
        ("a!b=c", "expected '=', '==' or '!=', found '!' at position 1"),
    ],
)
def test_field_selector_parse_errors_name_the_position(text: str, expected: str) -> None:
    """Field selector syntax errors quote the text and give the position."""
    with pytest.raises(SelectorParseError) as info:
        FieldSelector.parse(text)
    message = str(info.value)
    assert message.startswith("invalid field selector ")
    assert message.endswith(expected)


def test_field_requirement_validates_field_and_value() -> None:
    """Field names must be plain; values cannot carry edge whitespace."""
    with pytest.raises(ValueError, match=r"^field: Required value"):
        FieldRequirement(field="", value="x")
    with pytest.raises(ValueError, match=r'^field: Invalid value: "a b"'):
        FieldRequirement(field="a b", value="x")
    with pytest.raises(ValueError, match=r'^value: Invalid value: " x"'):
        FieldRequirement(field="a", value=" x")
