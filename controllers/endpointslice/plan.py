"""
Packing a Service's endpoints into EndpointSlices, pure.

Kubernetes: ``reconciler.reconcileByAddressType`` and ``reconcileByPortMapping``
(staging/src/k8s.io/endpointslice/reconciler.go). Slices are per address
type and per port set, at most :data:`MAX_ENDPOINTS_PER_SLICE` endpoints
each, named ``<service>-<random suffix>`` (``generateName``), labelled
``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io`` (plus the Service's labels) and
controlled by the Service.

The packing, simpler than Kubernetes' but as stable:

1. Each existing slice (by name) keeps the endpoints it has that are still
   wanted, updated in place; unwanted and duplicate ones are removed.
2. New endpoints fill the slices that already change, then the other
   slices with room (fewest writes), then slices that became empty or
   whose port set is no longer wanted (reused rather than deleted and
   recreated), then new slices.
3. Slices left empty are deleted, except that a Service without any
   endpoint keeps exactly one empty "placeholder" slice (``ports: null``),
   as Kubernetes does.

Kubernetes additionally rebalances nearly empty slices when it creates
new ones; this planner never moves an endpoint between slices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from controllers.api.core import Pod, Service
from controllers.api.discovery import Endpoint, EndpointSlice
from controllers.endpoints import HEADLESS_LABEL, is_headless, selects, service_family
from controllers.endpointslice.desired import Memo, PortSet, desired_endpoints, endpoint_key
from reconcile import FrozenDict, ObjectMeta, OwnerReference, owner_reference_to

__all__ = [
    "CONTROLLER_NAME",
    "MANAGED_BY_LABEL",
    "MAX_ENDPOINTS_PER_SLICE",
    "SERVICE_NAME_LABEL",
    "SlicePlan",
    "plan",
    "slice_labels",
]

MAX_ENDPOINTS_PER_SLICE = 100
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"


@attrs.frozen(kw_only=True)
class SlicePlan:
    """Slices to create (named by ``generateName``), update (whole objects) and delete."""

    create: tuple[EndpointSlice, ...] = ()
    update: tuple[EndpointSlice, ...] = ()
    delete: tuple[EndpointSlice, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether there is nothing to write."""
        return not (self.create or self.update or self.delete)


def slice_labels(service: Service) -> FrozenDict[str, str]:
    """The Service's labels (but reserved ones), plus service name, manager and headless labels."""
    reserved = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)
    labels = {k: v for k, v in service.metadata.labels.items() if k not in reserved}
    labels[SERVICE_NAME_LABEL] = service.metadata.name
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return FrozenDict(labels)


@attrs.define
class _Slot:
    """A slice being rebuilt: the endpoints it will hold and whether it changes."""

    slice: EndpointSlice
    endpoints: list[Endpoint]
    changed: bool


def plan(
    service: Service,
    slices: Sequence[EndpointSlice],
    pods: Iterable[Pod],
    *,
    zones: Mapping[str, str] | None = None,
    max_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
    memo: Memo | None = None,
) -> SlicePlan:
    """
    The writes that make ``slices`` (this controller's slices of ``service``) serve ``pods``.

    Guarantees: every wanted endpoint ends in exactly one slice; no slice
    holds more than ``max_per_slice``; each slice's endpoints share its
    port set and address type; planning again over the result gives an
    empty plan; an endpoint that stays wanted is never moved to another
    slice. A Service that selects nothing (no selector, ExternalName)
    gets its slices deleted. ``memo`` is passed to
    :func:`~controllers.endpointslice.desired.desired_endpoints`.
    """
    if max_per_slice < 1:
        raise ValueError(f"max_per_slice: must be >= 1, got {max_per_slice}")
    ordered = sorted(slices, key=lambda s: s.metadata.name)
    if not selects(service):
        return SlicePlan(delete=tuple(ordered))
    family = service_family(service)
    wanted = desired_endpoints(service, pods, zones=zones, memo=memo)
    labels = slice_labels(service)
    owner = owner_reference_to(service)
    updates: list[EndpointSlice] = []
    creates: list[EndpointSlice] = []
    spare: list[EndpointSlice] = []  # slices whose port set or address type is not wanted
    by_ports: dict[PortSet | None, list[EndpointSlice]] = {}
    for s in ordered:
        ports = None if s.ports is None else tuple(s.ports)
        if s.address_type != family or ports not in wanted:
            spare.append(s)
        else:
            by_ports.setdefault(ports, []).append(s)
    placed: set[str] = set()
    pending: list[tuple[PortSet, list[Endpoint]]] = []
    for ports, endpoints in wanted.items():
        slots = [_keep(s, endpoints, placed) for s in by_ports.get(ports, [])]
        new = [e for key, e in endpoints.items() if key not in placed]
        placed.update(endpoints)
        # Slices that change anyway first, then the others: fewest writes.
        for slot in sorted(slots, key=lambda slot: not slot.changed):
            room = max_per_slice - len(slot.endpoints)
            if room > 0 and new:
                slot.endpoints.extend(new[:room])
                del new[:room]
                slot.changed = True
        for slot in slots:
            if not slot.endpoints:
                spare.append(slot.slice)
            elif slot.changed or not _meta_ok(slot.slice, labels, owner):
                updates.append(_build(slot.slice, ports, slot.endpoints, labels, owner))
        pending.extend(
            (ports, new[start : start + max_per_slice])
            for start in range(0, len(new), max_per_slice)
        )
    if not wanted:
        pending.append(((), []))  # the placeholder: a Service without endpoints keeps one slice
    spare.sort(key=lambda s: s.metadata.name)
    # The address type of a slice is immutable: only slices of the family are reused.
    reusable = [s for s in spare if s.address_type == family]
    for ports, chunk in pending:
        placeholder = not chunk
        if reusable:
            old = reusable.pop(0)
            spare.remove(old)
            rebuilt = _build(old, ports, chunk, labels, owner, placeholder=placeholder)
            if rebuilt != old:
                updates.append(rebuilt)
        else:
            meta = ObjectMeta(
                generate_name=f"{service.metadata.name}-",
                namespace=service.metadata.namespace,
            )
            fresh = EndpointSlice(metadata=meta, address_type=family)
            creates.append(_build(fresh, ports, chunk, labels, owner, placeholder=placeholder))
    return SlicePlan(create=tuple(creates), update=tuple(updates), delete=tuple(spare))


def _keep(s: EndpointSlice, wanted: Mapping[str, Endpoint], placed: set[str]) -> _Slot:
    """The slot of an existing slice: its endpoints still wanted and not already placed."""
    kept: list[Endpoint] = []
    changed = False
    seen: set[str] = set()
    for endpoint in s.endpoints or ():
        ref = endpoint.target_ref
        key = str(ref.uid) if ref is not None and ref.uid else endpoint_key(endpoint)
        new = wanted.get(key)
        if new is None or key in placed or key in seen:
            changed = True
            continue
        seen.add(key)
        kept.append(new)
        changed = changed or (new is not endpoint and new != endpoint)
    placed.update(seen)
    return _Slot(slice=s, endpoints=kept, changed=changed)


def _meta_ok(s: EndpointSlice, labels: FrozenDict[str, str], owner: OwnerReference) -> bool:
    return s.metadata.labels == labels and s.metadata.owner_references == (owner,)


def _build(
    s: EndpointSlice,
    ports: PortSet,
    endpoints: list[Endpoint],
    labels: FrozenDict[str, str],
    owner: OwnerReference,
    *,
    placeholder: bool = False,
) -> EndpointSlice:
    meta = attrs.evolve(s.metadata, labels=labels, owner_references=(owner,))
    return attrs.evolve(
        s,
        metadata=meta,
        endpoints=tuple(endpoints),
        ports=None if placeholder else ports,
    )
