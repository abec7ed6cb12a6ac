"""
Store against a model dictionary, with indexes recomputed from scratch after every step.

Rules apply random ADDED/MODIFIED/DELETED/BOOKMARK events and relists over a
small universe of keys, labels and owners (so collisions, moves between
index values and duplicate owner uids are common); a custom indexer may be
registered at any point. Invariants: ``get``/``list``/``keys`` agree with the
model, and every index equals a recomputation from the model's objects.
"""

from __future__ import annotations

from collections import defaultdict

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reconcile.cluster.client import EventType, WatchEvent
from reconcile.cluster.store import (
    INDEX_CONTROLLER,
    INDEX_LABEL,
    INDEX_NAMESPACE,
    INDEX_OWNER,
    StoreWriter,
)
from reconcile.model.meta import ObjectKey, OwnerReference, ResourceVersion, Uid
from tests.kinds import Widget, WidgetSpec, widget

NAMES = ["a", "b", "c"]
NAMESPACES = ["x", "y"]
KEYS = st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(NAMES))
LABELS = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["1", "2"]))
OWNERS = st.lists(
    st.builds(
        lambda uid, controller: OwnerReference(
            api_version="v1", kind="Widget", name=uid, uid=Uid(uid), controller=controller
        ),
        st.sampled_from(["u1", "u2", "u3"]),
        st.sampled_from([None, False, True]),
    ),
    max_size=3,
)
COLORS = st.sampled_from(["red", "blue", ""])


def _builtin(obj: Widget) -> dict[str, list[str]]:
    meta = obj.metadata
    refs = meta.owner_references
    return {
        INDEX_NAMESPACE: [meta.namespace],
        INDEX_OWNER: [r.uid for r in refs],
        INDEX_CONTROLLER: [r.uid for r in refs if r.controller],
        INDEX_LABEL: [f"{k}={v}" for k, v in meta.labels.items()],
    }


def _by_color(obj: Widget) -> list[str]:
    return [obj.spec.color] if obj.spec.color else []


class StoreMachine(RuleBasedStateMachine):
    """Random events and relists against a dict, indexes recomputed from scratch."""

    def __init__(self) -> None:
        super().__init__()
        self.writer: StoreWriter[Widget] = StoreWriter()
        self.model: dict[tuple[str, str], Widget] = {}
        self.rv = 0
        self.custom = False

    def _next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def _make(
        self, key: tuple[str, str], labels: dict[str, str], owners: list[OwnerReference], color: str
    ) -> Widget:
        return widget(
            key[1],
            namespace=key[0],
            labels=labels,
            owners=owners,
            color=color,
            resource_version=self._next_rv(),
        )

    @rule(
        key=KEYS,
        labels=LABELS,
        owners=OWNERS,
        color=COLORS,
        kind=st.sampled_from([EventType.ADDED, EventType.MODIFIED]),
    )
    def put(
        self,
        key: tuple[str, str],
        labels: dict[str, str],
        owners: list[OwnerReference],
        color: str,
        kind: EventType,
    ) -> None:
        obj = self._make(key, labels, owners, color)
        previous = self.writer.apply(
            WatchEvent(type=kind, object=obj, resource_version=obj.metadata.resource_version)
        )
        assert self.model.get(key) is previous
        self.model[key] = obj

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), size=st.integers(0, 3))
    def change_spec_only(self, data: st.DataObject, size: int) -> None:
        """An update sharing label and owner objects with its predecessor (the fast path)."""
        key = data.draw(st.sampled_from(sorted(self.model)))
        old = self.model[key]
        new = attrs.evolve(
            old,
            metadata=attrs.evolve(old.metadata, resource_version=ResourceVersion(self._next_rv())),
            spec=WidgetSpec(size=size, color=old.spec.color),
        )
        event = WatchEvent(
            type=EventType.MODIFIED, object=new, resource_version=new.metadata.resource_version
        )
        assert old is self.writer.apply(event)
        self.model[key] = new

    @rule(key=KEYS)
    def delete(self, key: tuple[str, str]) -> None:
        rv = self._next_rv()
        last = widget(key[1], namespace=key[0], resource_version=rv)
        previous = self.writer.apply(
            WatchEvent(type=EventType.DELETED, object=last, resource_version=ResourceVersion(rv))
        )
        assert self.model.pop(key, None) is previous

    @rule()
    def bookmark(self) -> None:
        rv = self._next_rv()
        assert None is self.writer.apply(
            WatchEvent(type=EventType.BOOKMARK, object=None, resource_version=ResourceVersion(rv))
        )

    @rule(data=st.data())
    def relist(self, data: st.DataObject) -> None:
        listed: dict[tuple[str, str], Widget] = {}
        for key in sorted({(ns, n) for ns in NAMESPACES for n in NAMES}):
            choices = ["absent", "new"] + (["keep"] if key in self.model else [])
            match data.draw(st.sampled_from(choices)):
                case "keep":
                    listed[key] = self.model[key]
                case "new":
                    listed[key] = self._make(
                        key, data.draw(LABELS), data.draw(OWNERS), data.draw(COLORS)
                    )
        rv = ResourceVersion(self._next_rv())
        diff = self.writer.replace(list(listed.values()), rv)
        old = self.model
        assert [o for k, o in listed.items() if k not in old] == list(diff.added)
        assert [(old[k], o) for k, o in listed.items() if k in old and old[k] is not o] == list(
            diff.updated
        )
        assert [o for k, o in sorted(old.items()) if k not in listed] == list(diff.deleted)
        self.model = listed

    @precondition(lambda self: not self.custom)
    @rule()
    def add_color_index(self) -> None:
        self.writer.add_indexer("color", _by_color)
        self.custom = True

    @invariant()
    def reads_agree_with_the_model(self) -> None:
        store = self.writer.store
        for ns in NAMESPACES:
            for name in NAMES:
                assert self.model.get((ns, name)) is store.get(ObjectKey(namespace=ns, name=name))
        expected = [obj for _, obj in sorted(self.model.items())]
        assert expected == store.list()
        assert [o.key for o in expected] == store.keys()
        assert len(expected) == len(store)
        for ns in NAMESPACES:
            assert [o for o in expected if o.metadata.namespace == ns] == store.list(namespace=ns)
        for selector in ("app=1", "app=1,tier=2", "tier!=1", "!app"):
            wanted = [o for o in expected if _matches(selector, o)]
            assert wanted == store.list(labels=selector)

    @invariant()
    def indexes_equal_a_recomputation(self) -> None:
        store = self.writer.store
        expected: dict[str, defaultdict[str, set[ObjectKey]]] = {
            name: defaultdict(set) for name in store.index_names()
        }
        for obj in self.model.values():
            values = _builtin(obj)
            if self.custom:
                values["color"] = _by_color(obj)
            for name, produced in values.items():
                for value in produced:
                    expected[name][value].add(obj.key)
        for name, buckets in expected.items():
            actual = {v: store.index_keys(name, v) for v in store.index_values(name)}
            assert {v: sorted(keys) for v, keys in buckets.items()} == actual


def _matches(selector: str, obj: Widget) -> bool:
    labels = obj.metadata.labels
    match selector:
        case "app=1":
            return labels.get("app") == "1"
        case "app=1,tier=2":
            return labels.get("app") == "1" and labels.get("tier") == "2"
        case "tier!=1":
            return labels.get("tier") != "1"
        case "!app":
            return "app" not in labels
    raise AssertionError(selector)


StoreMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStore = StoreMachine.TestCase
