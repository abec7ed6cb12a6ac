"""The kind-agnostic oracles: ``State``, ``orphans``, ``canonical`` and ``further_pass``."""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import MemoryCluster, ObjectKey, ObjectMeta, Resource
from reconcile.testing import VirtualClock, run
from reconcile.verify import Simulation, State, canonical, further_pass, orphans
from tests.kinds import Gadget, GadgetSpec, Gizmo, Widget, owner_reference
from tests.verify import fixtures


def _meta(name: str, namespace: str = "default", **kw: Any) -> ObjectMeta:
    return ObjectMeta(name=name, namespace=namespace, **kw)


def _owned(name: str, owner: Widget) -> Gadget:
    return Gadget(
        metadata=_meta(name, owner.metadata.namespace, owner_references=(owner_reference(owner),))
    )


def test_state_lists_sorted_and_filtered_like_the_server() -> None:
    """``list`` sorts by key and filters by namespace and labels; an unseen kind lists empty."""

    async def scenario(clock: VirtualClock) -> None:
        server = MemoryCluster(clock=clock)
        for namespace, name, tier in [("b", "x", "web"), ("a", "y", "db"), ("a", "x", "web")]:
            await server.create(Widget(metadata=_meta(name, namespace, labels={"tier": tier})))
        state = State(server)
        keys = [str(w.metadata.key) for w in state.list(Widget)]
        assert ["a/x", "a/y", "b/x"] == keys
        assert ["x", "y"] == [w.metadata.name for w in state.list(Widget, namespace="a")]
        assert ["a/x", "b/x"] == [
            str(w.metadata.key) for w in state.list(Widget, labels="tier=web")
        ]
        assert () == state.list(Gizmo)
        assert state.server is server

    run(scenario)


def test_state_get_finds_one_object_or_none() -> None:
    """``get`` finds a namespaced or cluster-scoped object by name, else ``None``."""

    async def scenario(clock: VirtualClock) -> None:
        server = MemoryCluster(clock=clock)
        await server.create(Widget(metadata=_meta("w", "ns")))
        await server.create(Gizmo(metadata=ObjectMeta(name="g")))
        state = State(server)
        found = state.get(Widget, "w", "ns")
        assert found is not None
        assert ObjectKey(namespace="ns", name="w") == found.metadata.key
        assert state.get(Widget, "w", "other") is None
        assert state.get(Widget, "nope", "ns") is None
        gizmo = state.get(Gizmo, "g")
        assert gizmo is not None
        assert "g" == gizmo.metadata.name

    run(scenario)


def test_state_all_returns_every_object_of_every_kind() -> None:
    """``all`` spans every kind the server has seen."""

    async def scenario(clock: VirtualClock) -> None:
        server = MemoryCluster(clock=clock)
        await server.create(Widget(metadata=_meta("w")))
        await server.create(Gizmo(metadata=ObjectMeta(name="g")))
        await server.create(Gadget(metadata=_meta("d")))
        kinds = sorted(type(o).__name__ for o in State(server).all())
        assert ["Gadget", "Gizmo", "Widget"] == kinds

    run(scenario)


def test_orphans_are_objects_whose_every_owner_is_gone() -> None:
    """A gadget whose owner uid no longer exists is an orphan; one with a live owner is not."""

    async def scenario(clock: VirtualClock) -> None:
        server = MemoryCluster(clock=clock)
        kept = await server.create(Widget(metadata=_meta("kept")))
        gone = await server.create(Widget(metadata=_meta("gone")))
        await server.create(_owned("of-kept", kept))
        await server.create(_owned("of-gone", gone))
        await server.create(Gadget(metadata=_meta("ownerless")))
        assert [] == orphans(State(server))
        await server.delete(Widget, gone.metadata.key)
        assert ["Gadget default/of-gone"] == orphans(State(server))

    run(scenario)


def test_orphans_match_owners_by_uid_not_by_name() -> None:
    """An owner deleted and recreated under the same name does not adopt the old dependents."""

    async def scenario(clock: VirtualClock) -> None:
        server = MemoryCluster(clock=clock)
        old = await server.create(Widget(metadata=_meta("w")))
        await server.create(_owned("g", old))
        await server.delete(Widget, old.metadata.key)
        await server.create(Widget(metadata=_meta("w")))
        assert ["Gadget default/g"] == orphans(State(server))

    run(scenario)


def test_orphans_exclude_terminating_objects_and_other_kinds() -> None:
    """A dependent already being deleted is not reported, nor a kind left out of ``kinds``."""

    async def scenario(clock: VirtualClock) -> None:
        server = MemoryCluster(clock=clock)
        owner = await server.create(Widget(metadata=_meta("w")))
        await server.create(_owned("plain", owner))
        held = _owned("held", owner)
        held = attrs.evolve(held, metadata=attrs.evolve(held.metadata, finalizers=("keep",)))
        await server.create(held)
        await server.delete(
            Gadget, ObjectKey(namespace="default", name="held")
        )  # finalizer: terminating, still there
        await server.delete(Widget, owner.metadata.key)
        assert ["Gadget default/plain"] == orphans(State(server))
        assert [] == orphans(State(server), kinds=[Widget])

    run(scenario)


async def _family(server: MemoryCluster, *, part: str = "bolt") -> None:
    """A widget named from ``generateName`` with a gadget it owns (which names it)."""
    owner = await server.create(
        Widget(metadata=ObjectMeta(generate_name="w-", namespace="default"))
    )
    await server.create(
        Gadget(
            metadata=ObjectMeta(
                generate_name=f"{owner.metadata.name}-",
                namespace="default",
                owner_references=(owner_reference(owner),),
            ),
            spec=GadgetSpec(part=part),
        )
    )


def _canonical_of(seed: int, **kw: Any) -> tuple[list[str], MemoryCluster]:
    async def scenario(clock: VirtualClock) -> tuple[list[str], MemoryCluster]:
        server = MemoryCluster(clock=clock, seed=seed)
        await server.create(Gizmo(metadata=ObjectMeta(name="padding")))  # shifts versions
        await clock.advance(seed)  # shifts timestamps
        await _family(server, part=kw.pop("part", "bolt"))
        return canonical(State(server), **kw), server

    return run(scenario)


def test_canonical_ignores_what_runs_may_vary() -> None:
    """Two runs differing in uids, versions, times and generated names compare equal."""
    first, server = _canonical_of(1)
    second, _ = _canonical_of(2)
    assert first == second
    text = "\n".join(first)
    for obj in State(server).all():
        assert obj.metadata.uid not in text
        assert f'"{obj.metadata.resource_version}"' not in text
    for field in ("uid", "resourceVersion", "creationTimestamp", "generation"):
        assert f'"{field}"' not in text


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(["bolt", "nut", "gear"]), min_size=1, max_size=3),
    st.integers(0, 2**16),
    st.integers(0, 2**16),
)
def test_canonical_of_the_same_objects_is_the_same_under_any_seeds(
    parts: list[str], seed_a: int, seed_b: int
) -> None:
    """Families built alike compare equal whatever the seeds and the order of creation."""

    def build(seed: int, order: list[str]) -> list[str]:
        async def scenario(clock: VirtualClock) -> list[str]:
            server = MemoryCluster(clock=clock, seed=seed)
            for part in order:
                await _family(server, part=part)
                await clock.advance(seed % 7)
            return canonical(State(server))

        return run(scenario)

    assert build(seed_a, parts) == build(seed_b, list(reversed(parts)))


def test_canonical_keeps_what_matters() -> None:
    """A different spec still shows as a difference."""
    assert _canonical_of(1)[0] != _canonical_of(1, part="nut")[0]


def test_canonical_replaces_generated_names_everywhere() -> None:
    """A generated name becomes ``<generateName>*`` as the name and inside owner references."""
    lines, _ = _canonical_of(3)
    by_kind = {data["kind"]: data["metadata"] for data in map(json.loads, lines)}
    assert "w-*" == by_kind["Widget"]["name"]
    gadget = by_kind["Gadget"]
    assert "w-*" == gadget["ownerReferences"][0]["name"]
    assert ("w-*-", "w-*-*") == (gadget["generateName"], gadget["name"])  # named after its owner


def test_canonical_scrubs_timestamps_and_uids_inside_values() -> None:
    """Strings shaped like a timestamp or a uid anywhere in an object are scrubbed."""

    async def scenario(clock: VirtualClock) -> list[str]:
        server = MemoryCluster(clock=clock)
        for name, part in [
            ("t", "2025-01-01T00:00:05.5Z"),
            ("u", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ]:
            await server.create(Gadget(metadata=_meta(name), spec=GadgetSpec(part=part)))
        return canonical(State(server))

    parts = [json.loads(line)["spec"]["part"] for line in run(scenario)]
    assert ["<time>", "<uid>"] == parts


def test_canonical_drops_ignored_objects_and_applies_the_projection() -> None:
    """``ignore`` removes objects entirely; ``project`` rewrites the scrubbed data."""

    def no_gadgets(obj: Resource) -> bool:
        return isinstance(obj, Gadget)

    def without_spec(obj: Resource, data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k != "spec"}

    lines, _ = _canonical_of(1, ignore=no_gadgets, project=without_spec)
    kinds = sorted(json.loads(line)["kind"] for line in lines)
    assert ["Gizmo", "Widget"] == kinds
    assert all('"spec"' not in line for line in lines)


def test_further_pass_reports_the_writes_of_a_controller_that_is_never_done() -> None:
    """A controller that writes on every pass is caught by one more pass; a correct one is not."""

    async def scenario(clock: VirtualClock) -> None:
        for setup, expected in [(fixtures.tally, ("MODIFIED Gizmo tally",)), (fixtures.keeper, ())]:
            async with Simulation({"c": setup}) as sim:
                await sim.api.create(fixtures.widget(size=2))
                await sim.settle()
                extra = await further_pass(sim.api, sim.managers().values(), sim.settle)
                assert expected == extra.writes
                assert (1, 1) == (extra.keys, extra.reconciles)

    run(scenario)


def test_further_pass_leaves_out_ignored_objects() -> None:
    """Writes to objects ``ignore`` accepts are not reported."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.tally}) as sim:
            await sim.api.create(fixtures.widget(size=2))
            await sim.settle()
            extra = await further_pass(
                sim.api,
                sim.managers().values(),
                sim.settle,
                ignore=lambda obj: isinstance(obj, Gizmo),
            )
            assert () == extra.writes

    run(scenario)


def test_further_pass_counts_the_reconciles_of_a_poller() -> None:
    """A controller that keeps requeueing itself shows many reconciles for one key."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.poller}) as sim:
            await sim.api.create(fixtures.widget(size=2))
            await sim.settle(limit=60)
            extra = await further_pass(
                sim.api, sim.managers().values(), lambda: sim.settle(limit=60)
            )
            assert () == extra.writes
            assert 1 == extra.keys
            assert extra.reconciles >= 10

    run(scenario)
