"""
Immutable JSON-shaped containers.

Objects read from a store are shared by every reader, so nothing reachable
from them may be mutable. :class:`FrozenDict` is a ``dict`` subclass whose
mutating methods raise; being a real ``dict`` it costs no more memory than
one, ``json.dumps`` accepts it unchanged, and it is hashable so values
holding it can be hashed and compared. :func:`freeze` turns arbitrary JSON
into nested ``FrozenDict``/``tuple`` values and :func:`thaw` turns it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeAlias, TypeVar

__all__ = ["JSON", "FrozenDict", "freeze", "thaw"]

K = TypeVar("K")
V = TypeVar("V")

JSON: TypeAlias = "bool | int | float | str | tuple[JSON, ...] | FrozenDict[str, JSON] | None"
"""A frozen JSON value: scalars, tuples for arrays and ``FrozenDict`` for objects."""


class FrozenDict(dict[K, V]):
    """
    A hashable ``dict`` that refuses mutation.

    Every empty ``FrozenDict`` is one shared instance: most objects have no
    annotations, many containers no resource limits, and an empty dict still
    costs 64 bytes.
    """

    __slots__ = ("_hash",)

    def __new__(cls, *args: Any, **kwargs: Any) -> FrozenDict[K, V]:
        if cls is FrozenDict and not kwargs and (not args or _is_empty(args[0])):
            empty = _EMPTY.get(cls)
            if empty is None:
                empty = _EMPTY[cls] = super().__new__(cls)
                empty._hash = None
            return empty
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            super().__init__(*args, **kwargs)
        self._hash: int | None = None

    def _immutable(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError("FrozenDict is immutable; build a new one instead")

    __setitem__ = __delitem__ = _immutable
    clear = pop = popitem = setdefault = update = _immutable
    __ior__ = _immutable

    def __hash__(self) -> int:  # type: ignore[override]
        if self._hash is None:
            self._hash = hash(frozenset(self.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[type[FrozenDict[K, V]], tuple[dict[K, V]]]:
        return (type(self), (dict(self),))

    def set(self, key: K, value: V) -> FrozenDict[K, V]:
        """A copy with ``key`` set to ``value``."""
        new = dict(self)
        new[key] = value
        return FrozenDict(new)

    def without(self, *keys: K) -> FrozenDict[K, V]:
        """A copy without ``keys`` (absent keys are ignored)."""
        return FrozenDict({k: v for k, v in self.items() if k not in keys})

    def merged(self, other: Mapping[K, V] | Iterable[tuple[K, V]]) -> FrozenDict[K, V]:
        """A copy updated with ``other``."""
        new = dict(self)
        new.update(other)
        return FrozenDict(new)


def _is_empty(source: object) -> bool:
    return isinstance(source, Mapping | list | tuple) and not source


_EMPTY: dict[type[Any], Any] = {}
EMPTY: FrozenDict[Any, Any] = FrozenDict()


def frozen_str_dict(value: Mapping[str, str] | None = None) -> FrozenDict[str, str]:
    """Converter for ``attrs`` fields holding string maps (labels, annotations)."""
    if value is None:
        return FrozenDict()
    if isinstance(value, FrozenDict):
        return value
    return FrozenDict(value)


def freeze(value: object) -> JSON:
    """Deep-freeze a JSON value (dicts become ``FrozenDict``, lists become tuples)."""
    if isinstance(value, FrozenDict):
        if all(_is_frozen(v) for v in value.values()):
            return value
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, Mapping):
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _is_frozen(value: object) -> bool:
    if isinstance(value, FrozenDict):
        return all(_is_frozen(v) for v in value.values())
    if isinstance(value, tuple):
        return all(_is_frozen(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


def thaw(value: object) -> Any:
    """Deep-copy a frozen JSON value into plain ``dict``/``list`` values."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value
