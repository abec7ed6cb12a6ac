"""
Repacking Endpoints subsets into Kubernetes' canonical form.

Kubernetes: ``RepackSubsets`` and ``SortSubsets`` in pkg/api/v1/endpoints/util.go.
Every (address, port) pair is collected; an address listed not-ready for a
port stays not-ready even if it is also listed ready ("not-ready wins");
then ports that share exactly the same addresses (with the same readiness)
form one subset. The result is sorted so that equal content gives an equal
object, whatever order the pods came in.

Deliberate difference: Kubernetes orders subsets and ports by a hash of
their content; here they are ordered by the content itself (ports by
name, number, protocol; subsets by their ports), which is just as
deterministic and readable.
"""

from __future__ import annotations

from collections.abc import Iterable

from controllers.api.core import EndpointAddress, EndpointPort, EndpointSubset

__all__ = ["Row", "address_key", "pack", "port_key", "repack_subsets"]

_AddressKey = tuple[str, str]

Row = tuple[EndpointAddress, tuple[EndpointPort, ...], bool]
"""One address with its ports (none: a portless headless Service) and its readiness."""


def address_key(address: EndpointAddress) -> _AddressKey:
    """An address's identity and sort key: its IP, then its target's uid."""
    ref = address.target_ref
    return (address.ip, "" if ref is None else str(ref.uid))


def port_key(port: EndpointPort) -> tuple[str, int, str, str]:
    """A port's sort key: name, number, protocol, application protocol."""
    return (port.name, port.port, port.protocol, port.app_protocol or "")


def repack_subsets(subsets: Iterable[EndpointSubset]) -> tuple[EndpointSubset, ...]:
    """
    ``subsets`` regrouped: one subset per set of ports sharing identical addresses.

    Guarantees:
        * every (address, port) pair of the input is in the output exactly
          once, ready unless it was listed not-ready anywhere;
        * addresses are sorted by IP then target uid, ports by
          :func:`port_key`, subsets by their ports;
        * an address with no port (a headless Service without ports) makes
          a subset without ports;
        * repacking the output gives the output (idempotent).
    """
    addresses: dict[_AddressKey, EndpointAddress] = {}
    by_port: dict[EndpointPort | None, dict[_AddressKey, bool]] = {}
    for subset in subsets:
        for port in subset.ports or (None,):
            readiness = by_port.setdefault(port, {})
            for address in subset.addresses:
                key = address_key(address)
                addresses.setdefault(key, address)
                readiness.setdefault(key, True)
            for address in subset.not_ready_addresses:
                key = address_key(address)
                addresses.setdefault(key, address)
                readiness[key] = False  # not-ready wins
    return _group(addresses, by_port)


def pack(rows: Iterable[Row]) -> tuple[EndpointSubset, ...]:
    """
    The subsets of ``rows``: what :func:`repack_subsets` gives for one subset per row.

    The fast path of the Endpoints controller: no intermediate subsets, and
    rows are first grouped by the identity of their ports tuple (rows
    computed once and reused share it), so that the ports, which hash
    slowly, are hashed once per group rather than once per row.
    """
    addresses: dict[_AddressKey, EndpointAddress] = {}
    same_ports: dict[int, tuple[tuple[EndpointPort, ...], list[tuple[_AddressKey, bool]]]] = {}
    for address, ports, ready in rows:
        ref = address.target_ref
        key = (address.ip, "" if ref is None else str(ref.uid))
        if key not in addresses:
            addresses[key] = address
        group = same_ports.get(id(ports))
        if group is None:
            group = same_ports[id(ports)] = (ports, [])
        group[1].append((key, ready))
    by_port: dict[EndpointPort | None, dict[_AddressKey, bool]] = {}
    for ports, members in same_ports.values():
        for port in ports or (None,):
            readiness = by_port.get(port)
            if readiness is None:
                readiness = by_port[port] = {}
            for key, ready in members:
                if not ready:
                    readiness[key] = False  # not-ready wins
                elif key not in readiness:
                    readiness[key] = True
    return _group(addresses, by_port)


def _group(
    addresses: dict[_AddressKey, EndpointAddress],
    by_port: dict[EndpointPort | None, dict[_AddressKey, bool]],
) -> tuple[EndpointSubset, ...]:
    """Ports that share the same addresses (and readiness) make one subset; sorted."""
    groups: dict[frozenset[tuple[_AddressKey, bool]], list[EndpointPort]] = {}
    for port, readiness in by_port.items():
        ports = groups.setdefault(frozenset(readiness.items()), [])
        if port is not None:
            ports.append(port)
    final = []
    for members, ports in groups.items():
        ready = sorted(key for key, is_ready in members if is_ready)
        not_ready = sorted(key for key, is_ready in members if not is_ready)
        final.append(
            EndpointSubset(
                addresses=tuple(addresses[k] for k in ready),
                not_ready_addresses=tuple(addresses[k] for k in not_ready),
                ports=tuple(sorted(ports, key=port_key)),
            )
        )
    final.sort(key=_subset_key)
    return tuple(final)


def _subset_key(subset: EndpointSubset) -> tuple[tuple[str, int, str, str], ...]:
    # Each port is in exactly one subset, and only one subset has no port: a total order.
    return tuple(port_key(p) for p in subset.ports)
