"""
Structural diffs of typed values, as ``on.update`` handlers receive them.

:func:`diff` walks two values side by side and reports where they differ as
a tuple of frozen :class:`DiffItem` values, the way kopf's ``diff`` does,
but over typed values instead of dictionaries:

* two ``attrs`` instances of the same class are compared field by field
  (the path segment is the *attribute* name, ``("spec", "min_ready")``, so
  it reads like the Python access ``obj.spec.min_ready``);
* two mappings are compared key by key: a key only in ``new`` is an
  ``"add"``, a key only in ``old`` a ``"remove"``;
* anything else (scalars, tuples, values of different types) is a leaf:
  ``None`` becoming a value is an ``"add"``, a value becoming ``None`` a
  ``"remove"``, and any other inequality a ``"change"``. Sequences are
  compared as a whole, as kopf does.

Items come in a deterministic order: attrs fields in declaration order and
mapping keys sorted. The functions are pure and never touch I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal, cast

import attrs

__all__ = ["Diff", "DiffItem", "DiffOp", "diff"]

DiffOp = Literal["add", "change", "remove"]
"""What happened at one path."""


@attrs.frozen(kw_only=True)
class DiffItem:
    """
    One difference between two values.

    Attributes:
        op: ``"add"`` (``old`` is ``None``), ``"remove"`` (``new`` is ``None``)
            or ``"change"``.
        path: Attribute names and mapping keys leading to the value, from the
            object's top level (``("spec", "size")``).
        old: The value before (``None`` for an add).
        new: The value after (``None`` for a remove).
    """

    op: DiffOp = attrs.field(validator=attrs.validators.in_(("add", "change", "remove")))
    path: tuple[str, ...]
    old: object
    new: object


Diff = tuple[DiffItem, ...]
"""The differences between two values, in a deterministic order."""


def diff(old: object, new: object, *, path: tuple[str, ...] = ()) -> Diff:
    """
    Where ``new`` differs from ``old`` (see the module docstring for the rules).

    Args:
        old: The value before.
        new: The value after.
        path: Prefix for every item's ``path`` (the location of ``old``/``new``).

    Returns:
        An empty tuple when the values are equal.
    """
    return tuple(_walk(old, new, path))


def _walk(old: object, new: object, path: tuple[str, ...]) -> Iterator[DiffItem]:
    if old == new:
        return
    if type(old) is type(new) and attrs.has(type(old)):
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(old))):
            yield from _walk(
                getattr(old, field.name), getattr(new, field.name), (*path, field.name)
            )
    elif isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            here = (*path, str(key))
            if key not in new:
                yield DiffItem(op="remove", path=here, old=old[key], new=None)
            elif key not in old:
                yield DiffItem(op="add", path=here, old=None, new=new[key])
            else:
                yield from _walk(old[key], new[key], here)
    elif old is None:
        yield DiffItem(op="add", path=path, old=None, new=new)
    elif new is None:
        yield DiffItem(op="remove", path=path, old=old, new=None)
    else:
        yield DiffItem(op="change", path=path, old=old, new=new)
