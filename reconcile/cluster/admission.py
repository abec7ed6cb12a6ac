"""
In-process admission: defaulting, mutation and validation of writes.

Each write passes through the chain registered for its kind, in the order
the Kubernetes API server uses:

1. **defaulters** fill unset fields, then **mutators** apply policy
   (:meth:`Admission.mutate`); both run on create and update only;
2. the server applies its own rules (server-owned metadata, status
   subresource, generation);
3. **validators** check the object the server is about to store
   (:meth:`Admission.validate`); they also run on delete, with the stored
   object as both ``new`` and ``old``.

Validators return (or raise) :class:`~reconcile.errors.FieldError` lists.
The write is refused with one :class:`~reconcile.errors.InvalidError`
naming every field from every validator, and nothing is stored. Hooks are
plain synchronous functions of the new object, the old one (``None`` on
create) and the :class:`Operation`; they must be pure, because a write they
see may still be refused or turn out to change nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, final

import attrs

from reconcile.errors import FieldError, InvalidError
from reconcile.model.kinds import Resource, kind_of

__all__ = ["Admission", "Defaulter", "Mutator", "Operation", "Validator"]

R = TypeVar("R", bound=Resource)


class Operation(enum.Enum):
    """The kind of write being admitted."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


Defaulter = Callable[[R], R]
Mutator = Callable[[R, R | None, Operation], R]
Validator = Callable[[R, R | None, Operation], Iterable[FieldError] | None]


@attrs.frozen
class _Chain:
    defaulters: tuple[Callable[[Any], Any], ...] = ()
    mutators: tuple[Callable[[Any, Any, Operation], Any], ...] = ()
    validators: tuple[Callable[[Any, Any, Operation], Iterable[FieldError] | None], ...] = ()


@final
@attrs.define(eq=False)
class Admission:
    """
    The admission chains of one cluster, per kind.

    Guarantees: hooks of a kind run in registration order; a kind without
    hooks costs one dictionary look-up per write.
    """

    _chains: dict[type[Resource], _Chain] = attrs.field(factory=dict, init=False)

    def register(
        self,
        kind: type[R],
        *,
        defaulter: Defaulter[R] | None = None,
        mutator: Mutator[R] | None = None,
        validator: Validator[R] | None = None,
    ) -> None:
        """
        Append hooks to ``kind``'s chain.

        Raises:
            TypeError: if ``kind`` is not declared with ``@reconcile.kind``.
        """
        kind_of(kind)  # raises for classes that are not kinds
        chain = self._chains.get(kind, _Chain())
        self._chains[kind] = _Chain(
            defaulters=chain.defaulters + ((defaulter,) if defaulter else ()),
            mutators=chain.mutators + ((mutator,) if mutator else ()),
            validators=chain.validators + ((validator,) if validator else ()),
        )

    def has_hooks(self, kind: type[Resource]) -> bool:
        """Whether any hook is registered for ``kind``."""
        return kind in self._chains

    def mutate(self, new: R, old: R | None, op: Operation) -> R:
        """Run the defaulters, then the mutators (create and update only)."""
        chain = self._chains.get(type(new))
        if chain is None or op is Operation.DELETE:
            return new
        obj: R = new
        for default in chain.defaulters:
            obj = default(obj)
        for mutate in chain.mutators:
            obj = mutate(obj, old, op)
        return obj

    def validate(self, new: R, old: R | None, op: Operation) -> None:
        """
        Run every validator and raise if any of them found a problem.

        Raises:
            InvalidError: naming the fields reported by all validators.
        """
        chain = self._chains.get(type(new))
        if chain is None:
            return
        causes: list[FieldError] = []
        for validate in chain.validators:
            try:
                causes.extend(validate(new, old, op) or ())
            except InvalidError as exc:
                causes.extend(exc.causes)
        if causes:
            raise InvalidError(kind_of(new).kind, new.metadata.name, causes)

    def admit(self, new: R, old: R | None, op: Operation) -> R:
        """:meth:`mutate`, then :meth:`validate`; returns the admitted object."""
        obj = self.mutate(new, old, op)
        self.validate(obj, old, op)
        return obj
