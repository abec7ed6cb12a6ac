"""
The ``coordination.k8s.io/v1`` ``Lease`` kind: a named lock with a holder and a deadline.

Leader election (:mod:`reconcile.runtime.leaderelection`) and node heartbeats
use it. The object has no status subresource: every field lives in ``spec``,
and writers change it with ``update`` carrying the ``resource_version`` they
read, so two candidates can never both win the same version.

A lease is *held* while ``holder_identity`` is set and
``renew_time + lease_duration_seconds`` has not passed. :meth:`LeaseSpec.expired`
states that rule once, with ``now`` passed in, so every candidate applies the
same one. JSON field names are Kubernetes' own (``holderIdentity``,
``leaseDurationSeconds``, ``acquireTime``, ``renewTime``, ``leaseTransitions``);
timestamps are ``MicroTime`` and keep their fractional seconds.
"""

from __future__ import annotations

import datetime as dt

import attrs
from attrs import validators as v

from reconcile.model.kinds import Resource, kind

__all__ = ["Lease", "LeaseSpec"]

_optional_time = v.optional(v.instance_of(dt.datetime))


@attrs.frozen(kw_only=True)
class LeaseSpec:
    """
    The state of a lease, field for field as Kubernetes' ``LeaseSpec``.

    Attributes:
        holder_identity: Who holds the lease; ``None`` (or ``""``) when released.
        lease_duration_seconds: How long others must wait after ``renew_time``
            before they may take the lease over.
        acquire_time: When the current holder acquired it.
        renew_time: When the current holder last renewed it.
        lease_transitions: How many times the holder has changed.
    """

    holder_identity: str | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(str))
    )
    lease_duration_seconds: int | None = attrs.field(
        default=None, validator=v.optional([v.instance_of(int), v.gt(0)])
    )
    acquire_time: dt.datetime | None = attrs.field(default=None, validator=_optional_time)
    renew_time: dt.datetime | None = attrs.field(default=None, validator=_optional_time)
    lease_transitions: int | None = attrs.field(
        default=None, validator=v.optional([v.instance_of(int), v.ge(0)])
    )

    @property
    def held(self) -> bool:
        """Whether someone is named as the holder (expired or not)."""
        return bool(self.holder_identity)

    def expires_at(self) -> dt.datetime | None:
        """``renew_time + lease_duration_seconds``, or ``None`` if either is unset."""
        if self.renew_time is None or self.lease_duration_seconds is None:
            return None
        return self.renew_time + dt.timedelta(seconds=self.lease_duration_seconds)

    def expired(self, now: dt.datetime) -> bool:
        """
        Whether another candidate may take the lease over at ``now``.

        True when nobody holds it, when the renewal time or duration is missing,
        or when ``renew_time + lease_duration_seconds < now`` (strictly: at the
        very instant of expiry the holder still owns it).
        """
        expires = self.expires_at()
        return not self.held or expires is None or expires < now


@kind(group="coordination.k8s.io", version="v1", kind="Lease")
@attrs.frozen(kw_only=True)
class Lease(Resource):
    """A ``coordination.k8s.io/v1`` Lease (namespaced, no status subresource)."""

    spec: LeaseSpec = attrs.field(factory=LeaseSpec, validator=v.instance_of(LeaseSpec))
