"""The informer cache: reads, incremental indexes, relist diffs and the sync handshake."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.cluster.client import EventType, WatchEvent
from reconcile.cluster.store import (
    INDEX_CONTROLLER,
    INDEX_LABEL,
    INDEX_NAMESPACE,
    INDEX_OWNER,
    Store,
    StoreDiff,
    StoreStatistics,
    StoreWriter,
)
from reconcile.model.meta import ObjectKey, OwnerReference, ResourceVersion, Uid
from reconcile.model.selectors import LabelSelector
from reconcile.primitives.virtual import VirtualClock
from tests.kinds import Widget, widget


def ref(uid: str, *, controller: bool = False) -> OwnerReference:
    return OwnerReference(
        api_version="test.reconcile.dev/v1",
        kind="Widget",
        name=uid,
        uid=Uid(uid),
        controller=controller or None,
    )


def event(kind: EventType, obj: Widget | None, rv: str = "1") -> WatchEvent[Widget]:
    return WatchEvent(type=kind, object=obj, resource_version=ResourceVersion(rv))


def added(obj: Widget) -> WatchEvent[Widget]:
    return event(EventType.ADDED, obj, obj.metadata.resource_version or "1")


def key(text: str) -> ObjectKey:
    return ObjectKey.parse(text)


def names(objects: list[Widget]) -> list[str]:
    return [str(o.key) for o in objects]


def filled(*objects: Widget) -> StoreWriter[Widget]:
    writer: StoreWriter[Widget] = StoreWriter()
    for obj in objects:
        writer.apply(added(obj))
    return writer


def test_get_returns_the_stored_object_itself() -> None:
    """Objects are stored as received: no copy is made."""
    obj = widget("a")
    store = filled(obj).store
    assert obj is store.get(key("default/a"))
    assert None is store.get(key("default/missing"))


def test_apply_returns_the_previous_object() -> None:
    """ADDED returns None for a new key; MODIFIED returns what it replaced."""
    writer: StoreWriter[Widget] = StoreWriter()
    first, second = widget("a", resource_version="1"), widget("a", resource_version="2", size=3)
    assert None is writer.apply(added(first))
    assert first is writer.apply(event(EventType.MODIFIED, second, "2"))
    assert second is writer.store.get(key("default/a"))


def test_modified_for_an_unknown_key_is_an_add() -> None:
    """A MODIFIED event for a key not in the cache stores the object."""
    writer: StoreWriter[Widget] = StoreWriter()
    assert None is writer.apply(event(EventType.MODIFIED, widget("a")))
    assert ["default/a"] == names(writer.store.list())


def test_deleted_removes_and_returns_the_cached_object() -> None:
    """DELETED removes the key and returns the cached state; an unknown key returns None."""
    obj = widget("a")
    writer = filled(obj)
    assert obj is writer.apply(event(EventType.DELETED, widget("a", resource_version="9"), "9"))
    assert None is writer.apply(event(EventType.DELETED, widget("a"), "10"))
    assert 0 == len(writer.store)


def test_bookmark_only_moves_the_resource_version() -> None:
    """A BOOKMARK changes nothing but the resource version."""
    writer = filled(widget("a"))
    assert None is writer.apply(event(EventType.BOOKMARK, None, "42"))
    assert ("42", 1) == (writer.store.resource_version, len(writer.store))


def test_event_without_object_is_rejected() -> None:
    """ADDED/MODIFIED/DELETED must carry an object."""
    with pytest.raises(ValueError, match="must carry an object"):
        StoreWriter[Widget]().apply(event(EventType.ADDED, None))


def test_list_is_in_key_order() -> None:
    """list() returns every object sorted by namespace, then name."""
    store = filled(widget("b", namespace="y"), widget("z"), widget("a", namespace="y")).store
    assert ["default/z", "y/a", "y/b"] == names(store.list())
    assert [key("default/z"), key("y/a"), key("y/b")] == store.keys()


def test_list_filters_by_namespace() -> None:
    """list(namespace=...) returns that namespace only; "" means all, as in the client."""
    store = filled(widget("b", namespace="y"), widget("z"), widget("a", namespace="y")).store
    assert ["y/a", "y/b"] == names(store.list(namespace="y"))
    assert [] == store.list(namespace="nowhere")
    assert 3 == len(store.list(namespace=""))


def test_list_filters_by_label_selector() -> None:
    """list(labels=...) accepts a selector or its string form, equalities and expressions."""
    store = filled(
        widget("a", labels={"app": "web", "tier": "front"}),
        widget("b", labels={"app": "web", "tier": "back"}),
        widget("c", labels={"app": "db"}),
        widget("d", namespace="other", labels={"app": "web"}),
    ).store
    assert ["default/a", "default/b", "other/d"] == names(store.list(labels="app=web"))
    assert ["default/b", "other/d"] == names(
        store.list(labels=LabelSelector.parse("app=web,tier!=front"))
    )
    assert ["default/a", "default/b"] == names(store.list(namespace="default", labels="app=web"))
    assert ["default/a", "default/b"] == names(store.list(labels="tier"))
    assert 4 == len(store.list(labels=""))


_LABELS = st.dictionaries(st.sampled_from("abc"), st.sampled_from("xy"), max_size=3)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["default", "other"]), _LABELS), max_size=12),
    st.sampled_from([None, "default", "other"]),
    _LABELS,
    st.booleans(),
)
def test_list_by_labels_equals_filtering_every_object(
    objects: list[tuple[str, dict[str, str]]],
    namespace: str | None,
    match: dict[str, str],
    with_expression: bool,
) -> None:
    """Whatever the index narrows the candidates to, list() returns what a full scan would."""
    store = filled(
        *(widget(f"w{i}", namespace=ns, labels=labels) for i, (ns, labels) in enumerate(objects))
    ).store
    expressions = LabelSelector.parse("c notin (y)").match_expressions if with_expression else ()
    selector = LabelSelector(match_labels=match, match_expressions=expressions)
    expected = [
        w
        for w in sorted(store.list(), key=lambda w: (w.metadata.namespace, w.metadata.name))
        if (namespace is None or w.metadata.namespace == namespace)
        and selector.matches(w.metadata.labels)
    ]
    assert expected == store.list(namespace=namespace, labels=selector)


def test_owner_index_finds_dependents() -> None:
    """by_index('owner', uid) returns every object with an owner reference to uid."""
    store = filled(
        widget("a", owners=[ref("rs-1", controller=True)]),
        widget("b", owners=[ref("rs-1"), ref("rs-2", controller=True)]),
        widget("c", owners=[ref("rs-2", controller=True)]),
        widget("d"),
    ).store
    assert ["default/a", "default/b"] == names(store.by_index(INDEX_OWNER, "rs-1"))
    assert [key("default/b"), key("default/c")] == store.index_keys(INDEX_OWNER, "rs-2")
    assert [] == store.by_index(INDEX_OWNER, "rs-3")


def test_controller_index_holds_only_controller_references() -> None:
    """by_index('controller', uid) ignores non-controller owner references."""
    store = filled(
        widget("a", owners=[ref("rs-1", controller=True)]),
        widget("b", owners=[ref("rs-1"), ref("rs-2", controller=True)]),
    ).store
    assert ["default/a"] == names(store.by_index(INDEX_CONTROLLER, "rs-1"))
    assert ["rs-1", "rs-2"] == store.index_values(INDEX_CONTROLLER)


@settings(max_examples=25, deadline=None)
@given(
    swaps=st.lists(st.tuples(st.integers(0, 299), st.integers(300, 399), st.booleans()), max_size=8)
)
def test_large_buckets_stay_in_key_order_as_members_change(
    swaps: list[tuple[int, int, bool]],
) -> None:
    """A bucket big enough for its order to be reused still lists exactly its keys, sorted."""
    writer = filled(*(widget(f"w{i:03d}", owners=[ref("rs-1")]) for i in range(300)))
    members = {f"w{i:03d}" for i in range(300)}
    for leaving, joining, read_between in swaps:
        # Same size before and after: only the members differ.
        gone = widget(f"w{leaving:03d}", owners=[ref("rs-1")])
        if f"w{leaving:03d}" in members and f"w{joining:03d}" not in members:
            writer.apply(event(EventType.DELETED, gone))
            members.discard(f"w{leaving:03d}")
            if read_between:
                writer.store.by_index(INDEX_OWNER, "rs-1")
            writer.apply(added(widget(f"w{joining:03d}", owners=[ref("rs-1")])))
            members.add(f"w{joining:03d}")
        expected = [f"default/{name}" for name in sorted(members)]
        assert expected == names(writer.store.by_index(INDEX_OWNER, "rs-1"))
        assert expected == [str(k) for k in writer.store.index_keys(INDEX_OWNER, "rs-1")]


def test_indexes_follow_updates() -> None:
    """Changing labels or owners moves the object between index values."""
    writer = filled(widget("a", labels={"app": "web"}, owners=[ref("rs-1", controller=True)]))
    moved = widget("a", labels={"app": "db"}, owners=[ref("rs-2")], resource_version="2")
    writer.apply(event(EventType.MODIFIED, moved, "2"))
    store = writer.store
    assert ([], ["default/a"]) == (
        names(store.by_index(INDEX_LABEL, "app=web")),
        names(store.by_index(INDEX_LABEL, "app=db")),
    )
    assert (["rs-2"], []) == (store.index_values(INDEX_OWNER), store.index_values(INDEX_CONTROLLER))


def test_namespace_index_and_empty_values_are_dropped() -> None:
    """Index values with no objects left disappear rather than linger."""
    writer = filled(widget("a", namespace="x"), widget("b", namespace="y"))
    assert ["x", "y"] == writer.store.index_values(INDEX_NAMESPACE)
    writer.apply(event(EventType.DELETED, widget("a", namespace="x"), "2"))
    assert ["y"] == writer.store.index_values(INDEX_NAMESPACE)


def test_custom_indexer_is_called_once_per_version() -> None:
    """A custom index is maintained incrementally, calling its function once per stored object."""
    calls: list[str] = []

    def by_color(obj: Widget) -> list[str]:
        calls.append(obj.metadata.name)
        return [obj.spec.color]

    writer: StoreWriter[Widget] = StoreWriter()
    writer.add_indexer("color", by_color)
    writer.apply(added(widget("a", color="red")))
    writer.apply(added(widget("b", color="red")))
    writer.apply(event(EventType.MODIFIED, widget("a", color="blue", resource_version="2"), "2"))
    store = writer.store
    assert (["default/b"], ["default/a"]) == (
        names(store.by_index("color", "red")),
        names(store.by_index("color", "blue")),
    )
    assert ["a", "b", "a"] == calls


def test_custom_indexer_added_late_indexes_existing_objects() -> None:
    """Registering an indexer after objects are stored indexes them at once."""
    writer = filled(widget("a", size=2), widget("b", size=3))
    writer.add_indexer("size", lambda obj: [str(obj.spec.size)])
    assert ["default/b"] == names(writer.store.by_index("size", "3"))
    writer.apply(event(EventType.DELETED, widget("b"), "5"))
    assert ["2"] == writer.store.index_values("size")


def test_duplicate_index_names_are_rejected() -> None:
    """Each index name, built-ins included, can be registered only once."""
    writer: StoreWriter[Widget] = StoreWriter()
    with pytest.raises(ValueError, match="already exists"):
        writer.add_indexer(INDEX_LABEL, lambda obj: ())


def test_unknown_index_raises_key_error() -> None:
    """Asking an index that does not exist is an error, not an empty answer."""
    store: Store[Widget] = StoreWriter[Widget]().store
    with pytest.raises(KeyError, match="no index named 'nope'"):
        store.by_index("nope", "x")
    assert [INDEX_CONTROLLER, INDEX_LABEL, INDEX_NAMESPACE, INDEX_OWNER] == store.index_names()


def test_replace_returns_the_difference() -> None:
    """replace() reports added, updated (by resource version) and deleted objects."""
    a1, b1, c1 = (widget(n, resource_version="1") for n in "abc")
    writer = filled(a1, b1, c1)
    a2, d1 = widget("a", resource_version="5", size=9), widget("d", resource_version="4")
    b_same = widget("b", resource_version="1")
    diff = writer.replace([a2, b_same, d1], ResourceVersion("7"))
    assert StoreDiff(added=(d1,), updated=((a1, a2),), deleted=(c1,)) == diff
    assert (["default/a", "default/b", "default/d"], "7") == (
        names(writer.store.list()),
        writer.store.resource_version,
    )
    assert b1 is writer.store.get(key("default/b"))


def test_replace_without_resource_versions_compares_objects() -> None:
    """Objects without resource versions count as updated only when they differ."""
    writer = filled(widget("a"), widget("b"))
    diff = writer.replace([widget("a"), widget("b", size=5)], ResourceVersion("3"))
    assert (0, 1, 0) == (len(diff.added), len(diff.updated), len(diff.deleted))


def test_replace_removes_index_entries_of_deleted_objects() -> None:
    """After a relist, indexes hold nothing about objects that are gone."""
    writer = filled(widget("a", labels={"app": "web"}, owners=[ref("rs-1", controller=True)]))
    writer.replace([], ResourceVersion("9"))
    store = writer.store
    assert {name: [] for name in store.index_names()} == {
        name: store.index_values(name) for name in store.index_names()
    }


def test_wait_synced_returns_after_mark_synced() -> None:
    """wait_synced() blocks until the writer marks the store synced, then returns at once."""
    clock = VirtualClock()

    async def scenario() -> list[str]:
        writer: StoreWriter[Widget] = StoreWriter()
        seen: list[str] = []

        async def waiter() -> None:
            await writer.store.wait_synced()
            seen.append("synced")

        async with asyncio.TaskGroup() as tg:
            tg.create_task(waiter())
            await clock.wait_idle()
            seen.append(f"before:{writer.store.synced}")
            writer.replace([widget("a")], ResourceVersion("1"))
            writer.mark_synced()
        await writer.store.wait_synced()
        seen.append(f"elapsed:{clock.time()}")
        return seen

    assert ["before:False", "synced", "elapsed:0.0"] == clock.run(scenario())


def test_statistics_count_objects_and_writes() -> None:
    """statistics() reports sizes and counters."""
    writer = filled(widget("a", labels={"x": "1"}), widget("b", namespace="other"))
    writer.apply(event(EventType.BOOKMARK, None, "8"))
    writer.replace([widget("a", labels={"x": "1"})], ResourceVersion("9"))
    writer.mark_synced()
    expected = StoreStatistics(
        objects=1,
        indexes=4,
        index_values=2,
        applied=3,
        replaced=1,
        resource_version=ResourceVersion("9"),
        synced=True,
    )
    assert expected == writer.store.statistics()


def test_contains_and_len() -> None:
    """`in` tests keys; len() counts objects."""
    store = filled(widget("a"), widget("b")).store
    assert (True, False, False, 2) == (
        key("default/a") in store,
        key("default/c") in store,
        "default/a" in store,
        len(store),
    )
