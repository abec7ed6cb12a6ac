"""
reconcile: level-triggered reconciliation controllers for asyncio.

This module is the curated public API: it only re-exports names from the
layer subpackages (``model`` → ``primitives`` → ``cluster`` → ``runtime``),
which stay importable for à-la-carte use. ``reconcile.testing`` holds the
test kit (virtual clock, in-memory cluster, history digests).
"""

from __future__ import annotations

from reconcile.cluster.admission import Admission, Operation
from reconcile.cluster.client import (
    Client,
    EventType,
    JsonPatch,
    MergePatch,
    ObjectList,
    Preconditions,
    Propagation,
    Reader,
    Watcher,
    WatchEvent,
    Writer,
)
from reconcile.cluster.deletion import delete_by_uid
from reconcile.cluster.faulty import ClientFaults, FaultyClient
from reconcile.cluster.informer import EventHandler, FunctionHandler, Informer, SharedInformers
from reconcile.cluster.informer import handler as event_handler
from reconcile.cluster.memory import FINALIZER_FOREGROUND, FINALIZER_ORPHAN, MemoryCluster
from reconcile.cluster.ownwrites import OwnWrites
from reconcile.cluster.store import (
    INDEX_CONTROLLER,
    INDEX_LABEL,
    INDEX_NAMESPACE,
    INDEX_OWNER,
    Store,
)
from reconcile.errors import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    ExpiredError,
    FencedError,
    FieldError,
    InvalidError,
    NotFoundError,
    ReconcileError,
    RetryAfter,
    ServerError,
    TerminalError,
    TooManyRequestsError,
)
from reconcile.logs import configure
from reconcile.model.conditions import (
    Condition,
    ConditionStatus,
    find_condition,
    is_condition_false,
    is_condition_true,
    remove_condition,
    set_condition,
)
from reconcile.model.convert import from_json, to_json
from reconcile.model.coordination import Lease, LeaseSpec
from reconcile.model.event import Event, ObjectReference
from reconcile.model.fields import FieldSelector
from reconcile.model.frozen import JSON, FrozenDict, freeze
from reconcile.model.kinds import Kind, KindRegistry, Resource, kind, kind_of, registry
from reconcile.model.meta import ObjectKey, ObjectMeta, OwnerReference, ResourceVersion, Uid
from reconcile.model.ownership import (
    AlreadyOwnedError,
    add_finalizer,
    controller_of,
    has_finalizer,
    is_controlled_by,
    owner_reference_to,
    remove_finalizer,
    remove_owner_reference,
    set_controller_reference,
)
from reconcile.model.selectors import (
    LabelSelector,
    LabelSelectorRequirement,
    SelectorParseError,
)
from reconcile.planted import PlantedBug, planted
from reconcile.planted import declare as declare_bug
from reconcile.primitives.clock import Clock, SystemClock
from reconcile.primitives.ratelimit import (
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    TokenBucketRateLimiter,
    default_rate_limiter,
)
from reconcile.primitives.skew import SkewedClock
from reconcile.primitives.virtual import VirtualClock
from reconcile.primitives.workqueue import ShutDown, WorkQueue
from reconcile.runtime.controller import Controller, Outcome, Watch
from reconcile.runtime.events import EventRecorder
from reconcile.runtime.expectations import Expectations
from reconcile.runtime.finalizers import with_finalizer
from reconcile.runtime.handlers import enqueue_mapped, enqueue_owner, enqueue_self
from reconcile.runtime.leaderelection import LeaderElector, LeadershipLostError
from reconcile.runtime.manager import Manager, ManagerState
from reconcile.runtime.operator import Context, Diff, DiffItem, Operator
from reconcile.runtime.predicates import (
    and_,
    annotations_changed,
    generation_changed,
    labels_changed,
    not_,
    or_,
    resource_version_changed,
)
from reconcile.runtime.reconciler import Reconciler, Request, Result, reconciler
from reconcile.runtime.settle import pending_work, settle

__all__ = [
    "FINALIZER_FOREGROUND",
    "FINALIZER_ORPHAN",
    "INDEX_CONTROLLER",
    "INDEX_LABEL",
    "INDEX_NAMESPACE",
    "INDEX_OWNER",
    "JSON",
    "Admission",
    "AlreadyExistsError",
    "AlreadyOwnedError",
    "ApiError",
    "Client",
    "ClientFaults",
    "Clock",
    "Condition",
    "ConditionStatus",
    "ConflictError",
    "Context",
    "Controller",
    "Diff",
    "DiffItem",
    "Event",
    "EventHandler",
    "EventRecorder",
    "EventType",
    "Expectations",
    "ExpiredError",
    "FaultyClient",
    "FencedError",
    "FieldError",
    "FieldSelector",
    "FrozenDict",
    "FunctionHandler",
    "Informer",
    "InvalidError",
    "ItemExponentialRateLimiter",
    "JsonPatch",
    "Kind",
    "KindRegistry",
    "LabelSelector",
    "LabelSelectorRequirement",
    "LeaderElector",
    "LeadershipLostError",
    "Lease",
    "LeaseSpec",
    "Manager",
    "ManagerState",
    "MaxOfRateLimiter",
    "MemoryCluster",
    "MergePatch",
    "NotFoundError",
    "ObjectKey",
    "ObjectList",
    "ObjectMeta",
    "ObjectReference",
    "Operation",
    "Operator",
    "Outcome",
    "OwnWrites",
    "OwnerReference",
    "PlantedBug",
    "Preconditions",
    "Propagation",
    "RateLimiter",
    "Reader",
    "ReconcileError",
    "Reconciler",
    "Request",
    "Resource",
    "ResourceVersion",
    "Result",
    "RetryAfter",
    "SelectorParseError",
    "ServerError",
    "SharedInformers",
    "ShutDown",
    "SkewedClock",
    "Store",
    "SystemClock",
    "TerminalError",
    "TokenBucketRateLimiter",
    "TooManyRequestsError",
    "Uid",
    "VirtualClock",
    "Watch",
    "WatchEvent",
    "Watcher",
    "WorkQueue",
    "Writer",
    "add_finalizer",
    "and_",
    "annotations_changed",
    "configure",
    "controller_of",
    "declare_bug",
    "default_rate_limiter",
    "delete_by_uid",
    "enqueue_mapped",
    "enqueue_owner",
    "enqueue_self",
    "event_handler",
    "find_condition",
    "freeze",
    "from_json",
    "generation_changed",
    "has_finalizer",
    "is_condition_false",
    "is_condition_true",
    "is_controlled_by",
    "kind",
    "kind_of",
    "labels_changed",
    "not_",
    "or_",
    "owner_reference_to",
    "pending_work",
    "planted",
    "reconciler",
    "registry",
    "remove_condition",
    "remove_finalizer",
    "remove_owner_reference",
    "resource_version_changed",
    "set_condition",
    "set_controller_reference",
    "settle",
    "to_json",
    "with_finalizer",
]
