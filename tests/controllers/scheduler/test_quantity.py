"""Quantity parsing: exact millicores and bytes."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.scheduler.quantity import (
    format_bytes,
    format_millis,
    milli_value,
    parse_quantity,
    value,
)


@pytest.mark.parametrize(
    ("text", "millis"),
    [("100m", 100), ("1", 1000), ("0.5", 500), ("2.25", 2250), (3, 3000), ("1e3", 1_000_000)],
)
def test_cpu(text: str | int, millis: int) -> None:
    """CPU quantities become millicores."""
    assert millis == milli_value(text)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("128Mi", 128 * 2**20),
        ("1Gi", 2**30),
        ("4Ki", 4096),
        ("1K", 1000),
        ("1k", 1000),
        ("2M", 2_000_000),
        ("1G", 10**9),
        ("512", 512),
        ("0.5", 1),
    ],
)
def test_memory(text: str, count: int) -> None:
    """Memory quantities become bytes, rounded up."""
    assert count == value(text)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "3X", "Mi"])
def test_rejects_garbage(text: str) -> None:
    """Text that is not a quantity raises ValueError."""
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity(text)


@given(st.integers(0, 10**9))
def test_millis_round_trip(millis: int) -> None:
    """Formatting millicores and parsing them back is the identity."""
    assert millis == milli_value(format_millis(millis))


@given(st.integers(0, 2**62))
def test_bytes_round_trip(count: int) -> None:
    """Formatting bytes and parsing them back is the identity."""
    assert count == value(format_bytes(count))


@given(
    st.integers(0, 10**6),
    st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti"]),
)
def test_suffix_scales_exactly(number: int, suffix: str) -> None:
    """A number with a suffix is exactly the number times the suffix's multiplier."""
    multipliers: dict[str, Fraction | int] = {
        "": 1,
        "m": Fraction(1, 1000),
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
    }
    multipliers |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    assert number * multipliers[suffix] == parse_quantity(f"{number}{suffix}")
