"""
Where a pod may and should run (``core/v1``): affinity, tolerations and spreading.

* Node affinity uses :class:`NodeSelectorRequirement`, whose operators include
  ``Gt``/``Lt`` (so it is not a label-selector requirement).
* Pod (anti-)affinity and topology spreading use :class:`reconcile.LabelSelector`,
  which stores its requirements in canonical (sorted) order.
* :class:`Taint` lives here too: taints and tolerations are read together.
"""

from __future__ import annotations

# ``always`` returns an ``attrs.field`` declaration, not a shared mutable default,
# which RUF009 cannot tell apart.
# ruff: noqa: RUF009
import datetime as dt

import attrs

from controllers.api.common import always
from reconcile import LabelSelector

__all__ = [
    "Affinity",
    "NodeAffinity",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "PodAffinity",
    "PodAffinityTerm",
    "PreferredSchedulingTerm",
    "Taint",
    "Toleration",
    "TopologySpreadConstraint",
    "WeightedPodAffinityTerm",
]

_NODE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


@attrs.frozen(kw_only=True)
class NodeSelectorRequirement:
    """``key``, ``operator`` (``In``, ``NotIn``, ``Exists``, ``DoesNotExist``, ``Gt``, ``Lt``)."""

    key: str = always("")
    operator: str = attrs.field(validator=attrs.validators.in_(_NODE_OPERATORS))
    values: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class NodeSelectorTerm:
    """Requirements ANDed together; ``matchFields`` only supports ``metadata.name``."""

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()


@attrs.frozen(kw_only=True)
class NodeSelector:
    """Terms ORed together: a node matches if it matches any term."""

    node_selector_terms: tuple[NodeSelectorTerm, ...] = always(())


@attrs.frozen(kw_only=True)
class PreferredSchedulingTerm:
    """A term whose match adds ``weight`` (1-100) to a node's score."""

    weight: int = always(0)
    preference: NodeSelectorTerm = always(factory=NodeSelectorTerm)


@attrs.frozen(kw_only=True)
class NodeAffinity:
    """Hard (required) and soft (preferred) rules on node labels."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: tuple[PreferredSchedulingTerm, ...] = ()


@attrs.frozen(kw_only=True)
class PodAffinityTerm:
    """Pods matching ``labelSelector`` in ``namespaces``, counted per ``topologyKey`` domain."""

    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    topology_key: str = always("")
    namespace_selector: LabelSelector | None = None
    match_label_keys: tuple[str, ...] = ()
    mismatch_label_keys: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class WeightedPodAffinityTerm:
    """A pod affinity term whose match adds ``weight`` (1-100) to a node's score."""

    weight: int = always(0)
    pod_affinity_term: PodAffinityTerm = always(factory=PodAffinityTerm)


@attrs.frozen(kw_only=True)
class PodAffinity:
    """Pod affinity or anti-affinity: required terms and weighted preferred terms."""

    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = ()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = ()


@attrs.frozen(kw_only=True)
class Affinity:
    """``spec.affinity``: node affinity, pod affinity and pod anti-affinity."""

    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAffinity | None = None


@attrs.frozen(kw_only=True)
class Toleration:
    """
    Lets a pod onto nodes with a matching taint.

    ``operator`` is ``Equal`` (the default when empty) or ``Exists``; an empty
    ``effect`` matches every effect; ``tolerationSeconds`` bounds how long a
    ``NoExecute`` taint is tolerated.
    """

    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


@attrs.frozen(kw_only=True)
class Taint:
    """A node taint: ``NoSchedule``, ``PreferNoSchedule`` or ``NoExecute``."""

    key: str = always("")
    value: str = ""
    effect: str = always("")
    time_added: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class TopologySpreadConstraint:
    """Keep matching pods within ``maxSkew`` of each other across ``topologyKey`` domains."""

    max_skew: int = always(0)
    topology_key: str = always("")
    when_unsatisfiable: str = always("")
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: str | None = None
    node_taints_policy: str | None = None
    match_label_keys: tuple[str, ...] = ()
