"""Scenario tests for ``MemoryCluster``: the in-memory API server's Kubernetes semantics."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import attrs
import pytest

from reconcile.cluster._replace import replacer
from reconcile.cluster.client import (
    EventType,
    JsonPatch,
    MergePatch,
    Preconditions,
    Propagation,
    WatchEvent,
)
from reconcile.cluster.memory import FINALIZER_FOREGROUND, FINALIZER_ORPHAN, MemoryCluster
from reconcile.errors import (
    AlreadyExistsError,
    ConflictError,
    ExpiredError,
    FieldError,
    InvalidError,
    NotFoundError,
)
from reconcile.model.frozen import freeze
from reconcile.model.kinds import KindRegistry, Resource, kind
from reconcile.model.meta import ObjectKey, ObjectMeta, OwnerReference, ResourceVersion, Uid
from reconcile.model.selectors import LabelSelector
from reconcile.primitives.virtual import DEFAULT_EPOCH, VirtualClock
from reconcile.testing import run as reconcile_run
from tests.kinds import GROUP, Gadget, Gizmo, GizmoSpec, Widget, WidgetSpec, WidgetStatus

_LOCAL = KindRegistry()


@kind(
    group=GROUP,
    version="v1",
    status_subresource=False,
    field_selectors={"spec.color": lambda obj: obj.spec.color},
    into=_LOCAL,
)
@attrs.frozen(kw_only=True)
class Sprocket(Resource):
    """A kind whose status is written by ``update`` (no subresource), with a field selector."""

    spec: WidgetSpec = attrs.field(factory=WidgetSpec)
    status: WidgetStatus = attrs.field(factory=WidgetStatus)


@attrs.frozen(kw_only=True, cache_hash=True)
class Pair:
    """A class whose instances cache their hash in a hidden slot."""

    a: int
    b: int


Scenario = Callable[[MemoryCluster, VirtualClock], Awaitable[None]]


def run(scenario: Scenario, *, history: int = 100) -> None:
    """Run ``scenario`` against a fresh cluster in virtual time."""
    clock = VirtualClock()

    async def main() -> None:
        await scenario(MemoryCluster(clock=clock, seed=7, history=history), clock)

    clock.run(main())


def widget(name: str = "w", namespace: str = "ns", **meta: object) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace=namespace, **meta))  # type: ignore[arg-type]


def unversioned(obj: Widget) -> Widget:
    return obj.with_meta(resource_version=ResourceVersion(""))


def merge(patch: dict[str, Any]) -> MergePatch:
    return MergePatch(patch=freeze(patch))


def json_patch(operations: Iterable[dict[str, Any]]) -> JsonPatch:
    return JsonPatch(operations=tuple(freeze(op) for op in operations))


def fields_of(error: InvalidError) -> list[str]:
    return [cause.field for cause in error.causes]


class Recorder:
    """Consumes a watch in a background task; ``events`` grows as the loop runs."""

    def __init__(self, events: AsyncIterator[WatchEvent[Resource]]) -> None:
        self.events: list[WatchEvent[Resource]] = []
        self.error: BaseException | None = None
        self.task = asyncio.get_running_loop().create_task(self._consume(events))

    async def _consume(self, events: AsyncIterator[WatchEvent[Resource]]) -> None:
        try:
            async for event in events:
                self.events.append(event)
        except ExpiredError as exc:
            self.error = exc

    def types(self) -> list[tuple[EventType, str]]:
        return [(e.type, e.resource_version) for e in self.events]


def record(cluster: MemoryCluster) -> list[WatchEvent[Resource]]:
    log: list[WatchEvent[Resource]] = []
    cluster.on_commit.append(log.append)
    return log


# -- create --------------------------------------------------------------------------------


def test_create_fills_server_owned_metadata() -> None:
    """Create sets uid, resourceVersion, generation 1 and a creation time truncated to seconds."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await clock.advance(1.75)
        created = await cluster.create(widget(generation=9, uid=Uid("mine")))
        meta = created.metadata
        assert "1" == meta.resource_version
        assert 1 == meta.generation
        assert DEFAULT_EPOCH + dt.timedelta(seconds=1) == meta.creation_timestamp
        assert meta.uid not in ("", "mine")
        assert created == await cluster.get(Widget, "w", namespace="ns")

    run(scenario)


def test_create_with_generate_name_uses_seeded_suffix() -> None:
    """generateName appends a five-character suffix drawn from the cluster's seed."""
    names: list[list[str]] = []

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        made = [await cluster.create(widget("", generate_name="web-")) for _ in range(3)]
        names.append([w.metadata.name for w in made])

    run(scenario)
    run(scenario)
    assert names[0] == names[1]
    assert 3 == len(set(names[0]))
    assert all(name.startswith("web-") and len(name) == 9 for name in names[0])


def test_create_existing_name_already_exists() -> None:
    """Creating a name that is taken raises AlreadyExistsError and commits nothing."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        with pytest.raises(AlreadyExistsError):
            await cluster.create(widget())
        assert "1" == cluster.resource_version

    run(scenario)


def test_create_rejects_invalid_metadata_naming_each_field() -> None:
    """Create refuses a bad name, a missing namespace, a resourceVersion and bad labels at once."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        bad = widget("Bad_Name", "", resource_version=ResourceVersion("3"), labels={"bad key": "v"})
        with pytest.raises(InvalidError) as caught:
            await cluster.create(bad)
        expected = [
            "metadata.name",
            "metadata.namespace",
            "metadata.resourceVersion",
            "metadata.labels",
        ]
        assert expected == fields_of(caught.value)
        assert 422 == caught.value.code
        assert () == (await cluster.list(Widget)).items

    run(scenario)


def test_create_without_name_or_generate_name_is_invalid() -> None:
    """An object needs a name or a generateName."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        with pytest.raises(InvalidError) as caught:
            await cluster.create(widget(""))
        assert [
            FieldError(
                field="metadata.name",
                type="Required value",
                detail="name or generateName is required",
            )
        ] == list(caught.value.causes)

    run(scenario)


def test_create_rejects_invalid_label_value_and_owner_reference() -> None:
    """Label values and owner references are validated with field paths."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        owner = OwnerReference(api_version="v1", kind="Widget", name="o", uid=Uid(""))
        bad = widget(labels={"app": "-x-"}, owner_references=(owner,))
        with pytest.raises(InvalidError) as caught:
            await cluster.create(bad)
        assert ["metadata.labels[app]", "metadata.ownerReferences[0].uid"] == fields_of(
            caught.value
        )

    run(scenario)


def test_create_cluster_scoped_object_drops_namespace() -> None:
    """A cluster-scoped object is stored without a namespace and found by name alone."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        created = await cluster.create(Gizmo(metadata=ObjectMeta(name="g", namespace="ns")))
        assert "" == created.metadata.namespace
        assert created == await cluster.get(Gizmo, ObjectKey(namespace="other", name="g"))

    run(scenario)


def test_create_resets_status_of_kinds_with_status_subresource() -> None:
    """Status sent with a create is dropped when the kind has a status subresource."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        created = await cluster.create(attrs.evolve(widget(), status=WidgetStatus(ready=3)))
        assert WidgetStatus() == created.status
        kept = await cluster.create(
            Sprocket(metadata=ObjectMeta(name="s", namespace="ns"), status=WidgetStatus(ready=3))
        )
        assert WidgetStatus(ready=3) == kept.status

    run(scenario)


# -- get and list ----------------------------------------------------------------------------


def test_get_missing_object_is_not_found() -> None:
    """get raises NotFoundError (404) for an absent object."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        with pytest.raises(NotFoundError) as caught:
            await cluster.get(Widget, "nope", namespace="ns")
        assert 404 == caught.value.code

    run(scenario)


def test_list_filters_by_namespace_labels_and_fields() -> None:
    """list applies namespace, label and field selectors (including !=) and sorts by key."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        for ns, name, app in [("b", "x", "web"), ("a", "y", "web"), ("a", "x", "db")]:
            await cluster.create(widget(name, ns, labels={"app": app}))

        def keys(items: Iterable[Widget]) -> list[str]:
            return [str(w.key) for w in items]

        assert ["a/x", "a/y", "b/x"] == keys((await cluster.list(Widget)).items)
        assert ["a/x", "a/y"] == keys((await cluster.list(Widget, namespace="a")).items)
        assert ["a/y", "b/x"] == keys((await cluster.list(Widget, labels="app=web")).items)
        selector = LabelSelector(match_labels={"app": "db"})
        assert ["a/x"] == keys((await cluster.list(Widget, labels=selector)).items)
        assert ["a/y"] == keys((await cluster.list(Widget, fields="metadata.name!=x")).items)
        listed = await cluster.list(Widget, namespace="b", fields="metadata.namespace=b")
        assert ["b/x"] == keys(listed.items)
        assert cluster.resource_version == listed.resource_version

    run(scenario)


def test_list_by_declared_field_selector() -> None:
    """A kind's declared field selectors (spec.color) filter lists."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        for name, color in [("a", "red"), ("b", "blue")]:
            meta = ObjectMeta(name=name, namespace="ns")
            await cluster.create(Sprocket(metadata=meta, spec=WidgetSpec(color=color)))
        listed = await cluster.list(Sprocket, fields="spec.color!=red")
        assert ["b"] == [s.metadata.name for s in listed.items]

    run(scenario)


def test_unknown_field_selector_is_invalid() -> None:
    """A field selector on an unselectable field raises InvalidError naming it."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        with pytest.raises(InvalidError) as caught:
            await cluster.list(Widget, fields="spec.size=3")
        assert ["fieldSelector"] == fields_of(caught.value)
        assert "spec.size" == caught.value.causes[0].value
        with pytest.raises(InvalidError):
            cluster.watch(Widget, fields="status.ready=1")

    run(scenario)


def test_unparsable_label_selector_is_invalid() -> None:
    """A label selector that does not parse raises InvalidError on labelSelector."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        with pytest.raises(InvalidError) as caught:
            await cluster.list(Widget, labels="app in (")
        assert ["labelSelector"] == fields_of(caught.value)

    run(scenario)


# -- update ----------------------------------------------------------------------------------


def test_update_with_stale_resource_version_conflicts() -> None:
    """An update carrying an old resourceVersion raises ConflictError and changes nothing."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        second = await cluster.update(attrs.evolve(first, spec=WidgetSpec(size=2)))
        with pytest.raises(ConflictError):
            await cluster.update(attrs.evolve(first, spec=WidgetSpec(size=3)))
        assert second == await cluster.get(Widget, "w", namespace="ns")
        assert 1 == cluster.statistics().conflicts

    run(scenario)


def test_update_with_empty_resource_version_is_unconditional() -> None:
    """An empty resourceVersion writes whatever the stored version is."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        await cluster.update(attrs.evolve(first, spec=WidgetSpec(size=2)))
        third = await cluster.update(unversioned(attrs.evolve(first, spec=WidgetSpec(size=3))))
        assert (WidgetSpec(size=3), "3") == (third.spec, third.metadata.resource_version)

    run(scenario)


def test_update_with_other_uid_conflicts() -> None:
    """A uid in the object is a precondition: a different one raises ConflictError."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        with pytest.raises(ConflictError, match="UID in precondition"):
            await cluster.update(first.with_meta(uid=Uid("someone-else")))

    run(scenario)


def test_update_of_missing_object_is_not_found() -> None:
    """Updating an object that does not exist raises NotFoundError."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        with pytest.raises(NotFoundError):
            await cluster.update(widget())

    run(scenario)


def test_update_never_changes_status() -> None:
    """With a status subresource, update keeps the stored status."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        changed = attrs.evolve(first, spec=WidgetSpec(size=5), status=WidgetStatus(ready=5))
        updated = await cluster.update(changed)
        assert (WidgetSpec(size=5), WidgetStatus()) == (updated.spec, updated.status)

    run(scenario)


def test_status_update_never_changes_spec() -> None:
    """update_status writes only the status: spec and metadata are kept."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget(labels={"a": "b"}))
        sent = attrs.evolve(
            first.with_meta(labels={"x": "y"}, finalizers=("x.dev/f",)),
            spec=WidgetSpec(size=9),
            status=WidgetStatus(ready=2),
        )
        updated = await cluster.update_status(sent)
        assert WidgetStatus(ready=2) == updated.status
        assert first.spec == updated.spec
        expected = first.with_meta(resource_version=ResourceVersion("2"))
        assert expected.metadata == updated.metadata

    run(scenario)


def test_status_update_of_kind_without_subresource_is_not_found() -> None:
    """update_status needs a status subresource."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        gadget = await cluster.create(Gadget(metadata=ObjectMeta(name="g", namespace="ns")))
        with pytest.raises(NotFoundError, match="no status subresource"):
            await cluster.update_status(gadget)

    run(scenario)


def test_generation_bumps_only_on_spec_change() -> None:
    """Spec changes bump generation; metadata and status changes do not."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        w = await cluster.create(widget())
        w = await cluster.update(w.with_meta(labels={"a": "b"}, annotations={"n": "1"}))
        assert 1 == w.metadata.generation
        w = await cluster.update_status(attrs.evolve(w, status=WidgetStatus(ready=1)))
        assert 1 == w.metadata.generation
        w = await cluster.update(attrs.evolve(w, spec=WidgetSpec(size=2)))
        assert 2 == w.metadata.generation
        s = await cluster.create(Sprocket(metadata=ObjectMeta(name="s", namespace="ns")))
        s = await cluster.update(attrs.evolve(s, status=WidgetStatus(ready=4)))
        assert (1, WidgetStatus(ready=4)) == (s.metadata.generation, s.status)

    run(scenario)


def test_update_keeps_server_owned_metadata() -> None:
    """Clients cannot change uid, creation time, generation or deletion fields by update."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        sent = first.with_meta(
            generation=42,
            creation_timestamp=DEFAULT_EPOCH + dt.timedelta(days=1),
            deletion_timestamp=DEFAULT_EPOCH,
            labels={"a": "b"},
        )
        updated = await cluster.update(sent)
        expected = first.with_meta(labels={"a": "b"}, resource_version=ResourceVersion("2"))
        assert expected == updated

    run(scenario)


def test_noop_update_commits_nothing() -> None:
    """Writes that change nothing get no new resourceVersion and no watch event."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget(labels={"a": "b"}))
        log = record(cluster)
        assert first is await cluster.update(first)
        assert first is await cluster.update(first.with_meta(labels={"a": "b"}))
        assert first is await cluster.update_status(first)
        assert first is await cluster.patch(
            Widget, "w", merge({"spec": {"size": 1}}), namespace="ns"
        )
        assert ([], "1") == (log, cluster.resource_version)

    run(scenario)


# -- delete ----------------------------------------------------------------------------------


def test_delete_without_finalizers_removes_object() -> None:
    """Deleting an object without finalizers removes it at once, with a DELETED event."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        log = record(cluster)
        assert None is await cluster.delete(Widget, "w", namespace="ns")
        with pytest.raises(NotFoundError):
            await cluster.get(Widget, "w", namespace="ns")
        deleted = first.with_meta(resource_version=ResourceVersion("2"))
        rv = ResourceVersion("2")
        assert [WatchEvent(type=EventType.DELETED, object=deleted, resource_version=rv)] == log
        with pytest.raises(NotFoundError):
            await cluster.delete(Widget, "w", namespace="ns")

    run(scenario)


def test_delete_with_finalizer_sets_deletion_timestamp() -> None:
    """Finalizers hold a deleted object: deletionTimestamp is set and generation bumped."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget(finalizers=("x.dev/f",)))
        await clock.advance(2.5)
        held = await cluster.delete(Widget, "w", namespace="ns")
        assert held is not None
        assert DEFAULT_EPOCH + dt.timedelta(seconds=2) == held.metadata.deletion_timestamp
        assert (2, 0) == (held.metadata.generation, held.metadata.deletion_grace_period_seconds)
        assert held == await cluster.get(Widget, "w", namespace="ns")
        assert held is await cluster.delete(Widget, "w", namespace="ns")  # nothing new
        assert "2" == cluster.resource_version

    run(scenario)


def test_removing_last_finalizer_deletes_object() -> None:
    """An update that empties the finalizers of a deleting object removes it."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget(finalizers=("x.dev/a", "x.dev/b")))
        held = await cluster.delete(Widget, "w", namespace="ns")
        assert held is not None
        log = record(cluster)
        held = await cluster.update(held.with_meta(finalizers=("x.dev/b",)))
        assert 1 == len((await cluster.list(Widget)).items)
        final = await cluster.update(held.with_meta(finalizers=()))
        assert () == (await cluster.list(Widget)).items
        assert [EventType.MODIFIED, EventType.DELETED] == [e.type for e in log]
        assert final == log[-1].object

    run(scenario)


def test_no_finalizer_can_be_added_while_deleting() -> None:
    """Adding a finalizer to a deleting object is forbidden."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget(finalizers=("x.dev/a",)))
        held = await cluster.delete(Widget, "w", namespace="ns")
        assert held is not None
        with pytest.raises(InvalidError) as caught:
            await cluster.update(held.with_meta(finalizers=("x.dev/a", "x.dev/b")))
        assert [("metadata.finalizers", "Forbidden")] == [
            (c.field, c.type) for c in caught.value.causes
        ]

    run(scenario)


def test_orphan_propagation_is_recorded_as_finalizer() -> None:
    """Orphan propagation holds the object with the orphan finalizer."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        held = await cluster.delete(Widget, "w", namespace="ns", propagation=Propagation.ORPHAN)
        assert held is not None
        assert ((FINALIZER_ORPHAN,), True) == (held.metadata.finalizers, held.metadata.deleting)

    run(scenario)


def test_foreground_propagation_replaces_orphan_finalizer() -> None:
    """Foreground propagation records foregroundDeletion in place of orphan."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget(finalizers=("x.dev/a", FINALIZER_ORPHAN)))
        held = await cluster.delete(Widget, "w", namespace="ns", propagation=Propagation.FOREGROUND)
        assert held is not None
        assert ("x.dev/a", FINALIZER_FOREGROUND) == held.metadata.finalizers

    run(scenario)


def test_background_propagation_drops_gc_finalizers() -> None:
    """Background propagation removes orphan/foregroundDeletion, which may delete at once."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        await cluster.delete(Widget, "w", namespace="ns", propagation=Propagation.ORPHAN)
        gone = await cluster.delete(Widget, "w", namespace="ns", propagation=Propagation.BACKGROUND)
        assert None is gone
        assert () == (await cluster.list(Widget)).items

    run(scenario)


def test_delete_preconditions_conflict() -> None:
    """Delete preconditions on uid and resourceVersion raise ConflictError when unmet."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        for preconditions in [
            Preconditions(uid=Uid("other")),
            Preconditions(resource_version=ResourceVersion("99")),
        ]:
            with pytest.raises(ConflictError):
                await cluster.delete(Widget, "w", namespace="ns", preconditions=preconditions)
        met = Preconditions(uid=first.metadata.uid, resource_version=ResourceVersion("1"))
        assert None is await cluster.delete(Widget, "w", namespace="ns", preconditions=met)

    run(scenario)


# -- patch -----------------------------------------------------------------------------------


def test_merge_patch_changes_spec_and_bumps_generation() -> None:
    """A merge patch merges objects, replaces scalars and bumps generation for the spec."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget(labels={"a": "1", "b": "2"}))
        patch = merge({"spec": {"size": 4}, "metadata": {"labels": {"a": None}}})
        patched = await cluster.patch(Widget, "w", patch, namespace="ns")
        assert WidgetSpec(size=4) == patched.spec
        assert {"b": "2"} == patched.metadata.labels
        assert (2, "2") == (patched.metadata.generation, patched.metadata.resource_version)

    run(scenario)


def test_merge_patch_with_stale_resource_version_conflicts() -> None:
    """A resourceVersion inside a patch is a precondition."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        await cluster.patch(Widget, "w", merge({"spec": {"size": 2}}), namespace="ns")
        stale = merge({"metadata": {"resourceVersion": "1"}, "spec": {"size": 3}})
        with pytest.raises(ConflictError):
            await cluster.patch(Widget, "w", stale, namespace="ns")
        fresh = merge({"metadata": {"resourceVersion": "2"}, "spec": {"size": 3}})
        assert 3 == (await cluster.patch(Widget, "w", fresh, namespace="ns")).spec.size

    run(scenario)


def test_merge_patch_producing_invalid_object_is_invalid() -> None:
    """A patch that yields an ill-typed object raises InvalidError naming the field."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        with pytest.raises(InvalidError) as caught:
            await cluster.patch(Widget, "w", merge({"spec": {"size": "big"}}), namespace="ns")
        assert ["spec.size"] == fields_of(caught.value)

    run(scenario)


def test_patch_cannot_rename_object() -> None:
    """metadata.name and namespace are immutable through a patch."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        rename = merge({"metadata": {"name": "other"}})
        with pytest.raises(InvalidError) as caught:
            await cluster.patch(Widget, "w", rename, namespace="ns")
        assert ["metadata.name"] == fields_of(caught.value)

    run(scenario)


def test_json_patch_applies_operations() -> None:
    """RFC 6902 operations apply in order."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        ops = (
            {"op": "test", "path": "/spec/size", "value": 1},
            {"op": "add", "path": "/spec/color", "value": "red"},
            {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}},
        )
        patched = await cluster.patch(Widget, "w", json_patch(ops), namespace="ns")
        assert (WidgetSpec(size=1, color="red"), {"a": "b"}) == (
            patched.spec,
            patched.metadata.labels,
        )

    run(scenario)


def test_json_patch_test_failure_is_invalid() -> None:
    """A failing test operation refuses the whole patch, naming the tested field."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        ops = (
            {"op": "replace", "path": "/spec/color", "value": "red"},
            {"op": "test", "path": "/spec/size", "value": 2},
        )
        with pytest.raises(InvalidError) as caught:
            await cluster.patch(Widget, "w", json_patch(ops), namespace="ns")
        assert ["spec.size"] == fields_of(caught.value)
        assert first == await cluster.get(Widget, "w", namespace="ns")

    run(scenario)


def test_json_patch_on_missing_path_is_invalid() -> None:
    """Removing a path that does not exist is refused with that path."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        ops = ({"op": "remove", "path": "/metadata/labels/nope"},)
        with pytest.raises(InvalidError) as caught:
            await cluster.patch(Widget, "w", json_patch(ops), namespace="ns")
        assert ["metadata.labels.nope"] == fields_of(caught.value)

    run(scenario)


def test_status_patch_changes_only_status() -> None:
    """patch(status=True) writes the status and ignores the rest of the patch."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        patch = merge({"status": {"ready": 3}, "spec": {"size": 8}})
        patched = await cluster.patch(Widget, "w", patch, namespace="ns", status=True)
        assert (first.spec, WidgetStatus(ready=3)) == (patched.spec, patched.status)
        spec_only = await cluster.patch(Widget, "w", patch, namespace="ns")
        assert (WidgetSpec(size=8), WidgetStatus(ready=3)) == (spec_only.spec, spec_only.status)

    run(scenario)


# -- watch -----------------------------------------------------------------------------------


def test_watch_from_resource_version_replays_history_in_order() -> None:
    """watch(since=rv) yields exactly the events committed after rv, then follows."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        log = record(cluster)
        w = await cluster.create(widget())
        await cluster.create(Gizmo(metadata=ObjectMeta(name="g")))  # another kind's rv
        w = await cluster.update(attrs.evolve(w, spec=WidgetSpec(size=2)))
        recorder = Recorder(cluster.watch(Widget, since=ResourceVersion("1")))
        await clock.wait_idle()
        await cluster.delete(Widget, "w", namespace="ns")
        await clock.wait_idle()
        widget_events = [e for e in log if isinstance(e.object, Widget)]
        assert widget_events[1:] == recorder.events
        assert [(EventType.MODIFIED, "3"), (EventType.DELETED, "4")] == recorder.types()

    run(scenario)


def test_watch_without_since_lists_then_follows() -> None:
    """since=None yields current objects as ADDED, a BOOKMARK, then later changes."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget("b"))
        await cluster.create(widget("a"))
        recorder = Recorder(cluster.watch(Widget, bookmarks=True))
        await clock.wait_idle()
        await cluster.create(widget("c"))
        await clock.wait_idle()
        expected = [
            (EventType.ADDED, "2"),
            (EventType.ADDED, "1"),
            (EventType.BOOKMARK, "2"),
            (EventType.ADDED, "3"),
        ]
        assert expected == recorder.types()

    run(scenario)


def test_watch_filters_by_namespace_and_labels() -> None:
    """A filtered watch sees only matching events; bookmarks cover filtered batches."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        start = cluster.resource_version
        plain = Recorder(cluster.watch(Widget, namespace="a", labels="app=web", since=start))
        marked = Recorder(cluster.watch(Widget, labels="app=web", since=start, bookmarks=True))
        await cluster.create(widget("x", "a", labels={"app": "web"}))
        await cluster.create(widget("y", "b", labels={"app": "web"}))
        await clock.wait_idle()
        await cluster.create(widget("z", "a", labels={"app": "db"}))
        await clock.wait_idle()
        assert [(EventType.ADDED, "1")] == plain.types()
        expected = [(EventType.ADDED, "1"), (EventType.ADDED, "2"), (EventType.BOOKMARK, "3")]
        assert expected == marked.types()

    run(scenario)


def test_watch_from_compacted_version_is_expired() -> None:
    """A resourceVersion older than the retained history raises ExpiredError (410)."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        w = await cluster.create(widget())
        await cluster.update(attrs.evolve(w, spec=WidgetSpec(size=2)))
        cluster.compact()
        with pytest.raises(ExpiredError) as caught:
            cluster.watch(Widget, since=ResourceVersion("1"))
        assert 410 == caught.value.code
        recorder = Recorder(cluster.watch(Widget, since=ResourceVersion("2")))
        await cluster.delete(Widget, "w", namespace="ns")
        await clock.wait_idle()
        assert [(EventType.DELETED, "3")] == recorder.types()

    run(scenario)


def test_watch_that_falls_behind_history_is_expired() -> None:
    """A watcher that has not read events the history has since trimmed gets ExpiredError."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        w = await cluster.create(widget())
        recorder = Recorder(cluster.watch(Widget, since=w.metadata.resource_version))
        for size in range(2, 10):  # history=3: trims once 6 events are held
            w = await cluster.update(attrs.evolve(w, spec=WidgetSpec(size=size)))
        await clock.wait_idle()
        assert isinstance(recorder.error, ExpiredError)
        assert [] == recorder.events
        assert 0 == cluster.statistics().watchers

    run(scenario, history=3)


def test_watch_with_bad_since_is_refused() -> None:
    """A non-numeric resourceVersion is invalid; one from the future is expired."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        with pytest.raises(InvalidError):
            cluster.watch(Widget, since=ResourceVersion("abc"))
        with pytest.raises(ExpiredError, match="too large"):
            cluster.watch(Widget, since=ResourceVersion("5"))

    run(scenario)


def test_cancelling_one_watcher_leaves_others_running() -> None:
    """Watchers park on their own futures: cancelling one does not disturb another."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = Recorder(cluster.watch(Widget, since=ResourceVersion("0")))
        second = Recorder(cluster.watch(Widget, since=ResourceVersion("0")))
        await clock.wait_idle()
        first.task.cancel()
        await clock.wait_idle()
        await cluster.create(widget())
        await clock.wait_idle()
        assert [(EventType.ADDED, "1")] == second.types()
        assert 1 == cluster.statistics().watchers

    run(scenario)


def test_resource_version_is_cluster_wide_and_increasing() -> None:
    """Every commit of any kind takes the next resourceVersion."""

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        log = record(cluster)
        w = await cluster.create(widget())
        await cluster.create(Gizmo(metadata=ObjectMeta(name="g")))
        await cluster.update(attrs.evolve(w, spec=WidgetSpec(size=3)))
        await cluster.update(Gizmo(metadata=ObjectMeta(name="g"), spec=GizmoSpec(level=2)))
        assert ["1", "2", "3", "4"] == [e.resource_version for e in log]
        stats = cluster.statistics()
        assert (4, 2, 4) == (stats.resource_version, stats.objects, stats.writes)

    run(scenario)


# -- admission -------------------------------------------------------------------------------


def test_admission_rejection_names_field_and_changes_nothing() -> None:
    """Validators' field errors are joined into one InvalidError and nothing is committed."""

    def small(new: Widget, old: Widget | None, op: object) -> list[FieldError]:
        if new.spec.size > 3:
            return [FieldError(field="spec.size", value=new.spec.size, detail="at most 3")]
        return []

    def named(new: Widget, old: Widget | None, op: object) -> list[FieldError]:
        raise InvalidError("Widget", new.metadata.name, [FieldError(field="spec.color")])

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        first = await cluster.create(widget())
        log = record(cluster)
        cluster.admission.register(Widget, validator=small)
        cluster.admission.register(Widget, validator=named)
        with pytest.raises(InvalidError) as caught:
            await cluster.update(attrs.evolve(first, spec=WidgetSpec(size=4)))
        assert ["spec.size", "spec.color"] == fields_of(caught.value)
        assert ([], first) == (log, await cluster.get(Widget, "w", namespace="ns"))
        assert "1" == cluster.resource_version

    run(scenario)


def test_defaulters_and_mutators_run_before_validators() -> None:
    """Defaulters, then mutators, shape the object that validators see and that is stored."""
    seen: list[str] = []

    def default(new: Widget) -> Widget:
        return new if new.spec.color else attrs.evolve(new, spec=WidgetSpec(color="grey"))

    def mutate(new: Widget, old: Widget | None, op: object) -> Widget:
        return new.with_meta(labels={**new.metadata.labels, "mutated": "yes"}, uid=Uid("forged"))

    def validate(new: Widget, old: Widget | None, op: object) -> None:
        seen.append(new.spec.color)

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        cluster.admission.register(Widget, defaulter=default, mutator=mutate, validator=validate)
        created = await cluster.create(widget())
        assert ("grey", {"mutated": "yes"}) == (created.spec.color, created.metadata.labels)
        assert "forged" != created.metadata.uid
        assert ["grey"] == seen

    run(scenario)


def test_delete_validator_can_refuse_deletion() -> None:
    """Validators also see deletes, with the stored object."""

    def keep(new: Widget, old: Widget | None, op: object) -> list[FieldError]:
        return [FieldError(field="metadata.name", type="Forbidden")] if op.name == "DELETE" else []  # type: ignore[attr-defined]

    async def scenario(cluster: MemoryCluster, clock: VirtualClock) -> None:
        await cluster.create(widget())
        cluster.admission.register(Widget, validator=keep)
        with pytest.raises(InvalidError):
            await cluster.delete(Widget, "w", namespace="ns")
        assert 1 == len(await cluster.list(Widget))

    run(scenario)


# -- the fast evolve -------------------------------------------------------------------------


def test_replacer_matches_attrs_evolve() -> None:
    """The write path's replace equals attrs.evolve, including for cached-hash classes."""
    meta = ObjectMeta(name="a", namespace="b", labels={"x": "y"})
    assert attrs.evolve(meta, generation=3) == replacer(ObjectMeta)(meta, generation=3)
    w = Widget(metadata=meta)
    assert attrs.evolve(w, spec=WidgetSpec(size=2)) == replacer(Widget)(w, spec=WidgetSpec(size=2))
    pair = Pair(a=1, b=2)
    copied = replacer(Pair)(pair, b=3)
    assert (Pair(a=1, b=3), hash(Pair(a=1, b=3))) == (copied, hash(copied))
    assert LabelSelector.parse("a=b,c") == replacer(LabelSelector)(LabelSelector.parse("a=b,c"))


def test_filtered_watch_sees_objects_leave_and_enter_the_selection() -> None:
    """A label change shows as DELETED, then ADDED, to a watch filtered by that label."""

    async def scenario(clock: VirtualClock) -> list[tuple[str, str]]:
        cluster = MemoryCluster(clock=clock)
        widget = await cluster.create(
            Widget(metadata=ObjectMeta(name="a", namespace="n", labels={"app": "web"}))
        )
        since = cluster.resource_version
        seen: list[tuple[str, str]] = []

        async def follow() -> None:
            async for event in cluster.watch(Widget, labels="app=web", since=since):
                assert event.object is not None
                seen.append((event.type.value, event.object.metadata.labels["app"]))

        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(follow())
            await asyncio.sleep(0)
            widget = await cluster.update(widget.with_meta(labels={"app": "db"}))
            widget = await cluster.update(widget.with_meta(labels={"app": "web", "x": "y"}))
            widget = await cluster.update(widget.with_meta(labels={"app": "web", "x": "z"}))
            await cluster.update(widget.with_meta(labels={"app": "db", "x": "z"}))
            await clock.advance(1)
            task.cancel()
        return seen

    expected = [("DELETED", "web"), ("ADDED", "web"), ("MODIFIED", "web"), ("DELETED", "web")]
    assert expected == reconcile_run(scenario)
