"""
Small user-style controllers, workloads and checks over the test kinds, for
the tests of :mod:`reconcile.verify`.

Every name here is a module attribute, so a replay file can import it.
A widget asks for ``spec.size`` gadgets it controls:

* :func:`keeper` is correct: it names gadgets ``<widget>-<i>``, so a create
  from a stale cache meets ``AlreadyExists`` instead of duplicating, deletes
  the surplus and reports the count in ``status.ready``; a widget coloured
  ``broken`` is refused with a terminal error (it never converges);
* :func:`forgetful` is buggy: while ``status.ready`` is short it creates
  the missing gadgets with ``generateName`` without looking at what
  exists, then records ``ready``. A crash or a 409 between the two duplicates them;
* :func:`tally` is :func:`keeper` plus a write on every pass (a counter in
  a ``Gizmo`` nobody watches): never a fixpoint;
* :func:`poller` writes nothing but polls every widget every 5 s: a hot loop;
* :func:`counter` bumps the widget's status on every reconcile, which
  triggers the next one: a runaway.
"""

from __future__ import annotations

import contextlib

import attrs

import reconcile
from reconcile.verify import Driver, State
from tests.kinds import Gadget, GadgetSpec, Gizmo, GizmoSpec, Widget, WidgetSpec, WidgetStatus

NAMESPACE = "default"
KEY = reconcile.ObjectKey(namespace=NAMESPACE, name="w")


def _mine(manager: reconcile.Manager, widget: Widget) -> list[Gadget]:
    gadgets = manager.store(Gadget).by_index(reconcile.INDEX_CONTROLLER, widget.metadata.uid)
    return sorted(gadgets, key=lambda g: g.metadata.name)


def _gadget(widget: Widget, *, name: str = "", generate: bool = False) -> Gadget:
    return Gadget(
        metadata=reconcile.ObjectMeta(
            name=name,
            generate_name=f"{widget.metadata.name}-" if generate else "",
            namespace=widget.metadata.namespace,
            owner_references=[reconcile.owner_reference_to(widget)],
        ),
        spec=GadgetSpec(part="bolt"),
    )


async def _keep(manager: reconcile.Manager, request: reconcile.Request) -> reconcile.Result:
    widget = manager.store(Widget).get(request)
    if widget is None:
        return reconcile.Result.done()
    if widget.spec.color == "broken":
        raise reconcile.TerminalError("spec.color: a broken widget cannot be kept")
    client = manager.client
    wanted = {f"{widget.metadata.name}-{i}" for i in range(widget.spec.size)}
    mine = _mine(manager, widget)
    have = {g.metadata.name for g in mine}
    for name in sorted(wanted - have):
        with contextlib.suppress(reconcile.AlreadyExistsError):  # our cache lags our create
            await client.create(_gadget(widget, name=name))
    for gadget in mine:
        if gadget.metadata.name not in wanted:
            with contextlib.suppress(reconcile.NotFoundError):
                await client.delete(Gadget, gadget.metadata.key)
    ready = len(wanted)
    if widget.status.ready != ready:
        status = WidgetStatus(ready=ready, observed_generation=widget.metadata.generation)
        await client.update_status(attrs.evolve(widget, status=status))
    return reconcile.Result.done()


def _add(manager: reconcile.Manager, name: str, fn: reconcile.Reconciler) -> None:
    manager.add(reconcile.Controller(name=name, for_=Widget, owns=(Gadget,), reconciler=fn))


def keeper(manager: reconcile.Manager) -> None:
    """The correct widget controller."""

    async def keep(request: reconcile.Request) -> reconcile.Result:
        return await _keep(manager, request)

    _add(manager, "keeper", reconcile.reconciler(keep))


def forgetful(manager: reconcile.Manager) -> None:
    """The buggy widget controller: not idempotent across a crash or a 409."""

    async def fill(request: reconcile.Request) -> reconcile.Result:
        widget = manager.store(Widget).get(request)
        if widget is None or widget.status.ready == widget.spec.size:
            return reconcile.Result.done()
        for _ in range(widget.spec.size - widget.status.ready):
            await manager.client.create(_gadget(widget, generate=True))
        status = attrs.evolve(widget.status, ready=widget.spec.size)
        await manager.client.update_status(attrs.evolve(widget, status=status))
        return reconcile.Result.done()

    _add(manager, "forgetful", reconcile.reconciler(fill))


def tally(manager: reconcile.Manager) -> None:
    """The correct controller plus a counter written on every pass."""

    async def keep_and_count(request: reconcile.Request) -> reconcile.Result:
        result = await _keep(manager, request)
        client = manager.client
        try:
            gizmo = await client.get(Gizmo, "tally")
        except reconcile.NotFoundError:
            await client.create(Gizmo(metadata=reconcile.ObjectMeta(name="tally")))
        else:
            spec = GizmoSpec(level=gizmo.spec.level + 1)
            await client.update(attrs.evolve(gizmo, spec=spec))
        return result

    _add(manager, "tally", reconcile.reconciler(keep_and_count))


def poller(manager: reconcile.Manager) -> None:
    """A controller that writes nothing and looks at every widget every 5 s."""

    async def poll(request: reconcile.Request) -> reconcile.Result:
        return reconcile.Result.after(5.0)

    _add(manager, "poller", reconcile.reconciler(poll))


def counter(manager: reconcile.Manager) -> None:
    """A controller whose every reconcile writes the object it reconciles."""

    async def bump(request: reconcile.Request) -> reconcile.Result:
        widget = manager.store(Widget).get(request)
        if widget is not None:
            status = attrs.evolve(widget.status, ready=widget.status.ready + 1)
            await manager.client.update_status(attrs.evolve(widget, status=status))
        return reconcile.Result.done()

    _add(manager, "counter", reconcile.reconciler(bump))


def idle(manager: reconcile.Manager) -> None:
    """A component without controllers (a target for faults)."""


def widget(name: str = "w", *, size: int = 2, color: str = "") -> Widget:
    """A new widget in :data:`NAMESPACE`."""
    return Widget(
        metadata=reconcile.ObjectMeta(name=name, namespace=NAMESPACE),
        spec=WidgetSpec(size=size, color=color),
    )


async def grow(driver: Driver) -> None:
    """A user creates a widget of size 2, waits, and grows it to 3."""
    await driver.api.create(widget(size=2))
    await driver.advance(5)
    current = await driver.api.get(Widget, KEY)
    await driver.api.update(attrs.evolve(current, spec=WidgetSpec(size=3)))
    await driver.advance(5)


async def create_one(driver: Driver) -> None:
    """A user creates one widget of size 2."""
    await driver.api.create(widget(size=2))
    await driver.advance(5)


async def create_then_delete(driver: Driver) -> None:
    """A user creates a widget, waits, and deletes it (no garbage collector runs)."""
    await driver.api.create(widget(size=2))
    await driver.advance(5)
    await driver.api.delete(Widget, KEY)
    await driver.advance(5)


async def create_broken(driver: Driver) -> None:
    """A user creates a widget the keeper refuses."""
    await driver.api.create(widget(size=1, color="broken"))
    await driver.advance(5)


def at_most_size_gadgets(state: State) -> None:
    """Safety: no widget ever controls more gadgets than it asks for."""
    for w in state.list(Widget):
        owned = [g for g in state.list(Gadget) if _controlled_by(g, w)]
        assert len(owned) <= w.spec.size, f"{w.metadata.key} has {len(owned)} > {w.spec.size}"


def at_most_one_gadget(state: State) -> None:
    """A (too strict) safety property: there is never more than one gadget."""
    count = len(state.list(Gadget))
    assert count <= 1, f"{count} gadgets"


def widgets_ready(state: State) -> None:
    """Liveness: every widget controls exactly ``size`` gadgets and says so."""
    for w in state.list(Widget):
        owned = [g for g in state.list(Gadget) if _controlled_by(g, w)]
        assert len(owned) == w.spec.size == w.status.ready, (w.metadata.key, len(owned))


def _controlled_by(gadget: Gadget, owner: Widget) -> bool:
    ref = reconcile.controller_of(gadget.metadata)
    return ref is not None and ref.uid == owner.metadata.uid


def gizmos_and_gadgets(obj: reconcile.Resource) -> bool:
    """An ``ignore`` filter: leaves out every gadget and gizmo."""
    return isinstance(obj, Gadget | Gizmo)
