"""
Kubernetes resource quantities (``100m``, ``0.5``, ``128Mi``, ``1e3``) in exact integers.

Pure; no I/O. Parsing goes through :class:`fractions.Fraction`, so nothing is
lost to floating point; like Kubernetes' ``MilliValue``/``Value``, a value
finer than the unit is rounded *up* (``0.1m`` CPU is 1 millicore, ``0.5``
bytes is 1 byte).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from controllers.api.common import Quantity

__all__ = ["format_bytes", "format_millis", "milli_value", "parse_quantity", "value"]

_SUFFIXES: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "k": Fraction(10**3),
    "K": Fraction(10**3),  # not valid in Kubernetes, but common in hand-written manifests
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_PATTERN = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|([a-zA-Z]*))")


def parse_quantity(quantity: Quantity) -> Fraction:
    """
    The exact value of a quantity.

    Raises:
        ValueError: for text that is not a quantity (``"1.5.2"``, ``"3X"``).
    """
    if isinstance(quantity, bool):
        raise ValueError(f"not a quantity: {quantity!r}")
    if isinstance(quantity, int):
        return Fraction(quantity)
    if isinstance(quantity, float):
        return Fraction(str(quantity))
    match = _PATTERN.fullmatch(quantity.strip())
    if match is None or (match.group(3) or "") not in _SUFFIXES:
        raise ValueError(f"not a quantity: {quantity!r}")
    number, exponent, suffix = match.groups()
    if exponent is not None:
        return Fraction(number) * Fraction(10) ** int(exponent)
    return Fraction(number) * _SUFFIXES[suffix or ""]


def milli_value(quantity: Quantity) -> int:
    """Thousandths of the quantity, rounded up (CPU in millicores)."""
    return math.ceil(parse_quantity(quantity) * 1000)


def value(quantity: Quantity) -> int:
    """The quantity in whole units, rounded up (memory in bytes, pods, GPUs)."""
    return math.ceil(parse_quantity(quantity))


def format_millis(millis: int) -> str:
    """Millicores as Kubernetes writes them: ``"2"`` when whole, else ``"1500m"``."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes(count: int) -> str:
    """Bytes with the largest exact binary suffix (``"128Mi"``, ``"1000"``)."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = int(_SUFFIXES[suffix])
        if count != 0 and count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)
