"""
10 — verify your own controller under faults: a sweep finds a stale-cache bug.

A ``Shelf`` asks for ``spec.size`` ``Book``\\ s. Two librarians keep shelves
full; both pass an ordinary test, in which nothing goes wrong:

* ``careful_librarian`` records the books it creates in ``Expectations``
  and waits until its cache has seen them before counting again (the
  ReplicaSet controller's guard against a stale cache);
* ``hasty_librarian`` counts the books in its cache and creates what is
  missing, every time. Its cache can lag behind its own writes, and then it
  creates the same books twice.

:func:`reconcile.verify.fault_sweep` runs the workload once per fault at
every point of the fault-free run (crash after each write, a lagging
cache, a relist back in time, coalesced events, expired watches) and checks
the invariant after every commit. It passes the careful librarian and
catches the hasty one, printing the fault, the seed and a command that
replays it.

Run it: ``python examples/10_fault_sweep.py``.
"""

from __future__ import annotations

import attrs

import reconcile
from reconcile.verify import Driver, State, VerificationError, fault_sweep


@attrs.frozen(kw_only=True)
class ShelfSpec:
    size: int = 0


@attrs.frozen(kw_only=True)
class ShelfStatus:
    books: int = 0


@reconcile.kind(group="examples.reconcile.dev", version="v1", kind="Shelf")
@attrs.frozen(kw_only=True)
class Shelf(reconcile.Resource):
    spec: ShelfSpec = ShelfSpec()
    status: ShelfStatus = ShelfStatus()


@reconcile.kind(group="examples.reconcile.dev", version="v1", kind="Book")
@attrs.frozen(kw_only=True)
class Book(reconcile.Resource):
    pass


def _shelf_of(book: reconcile.Resource) -> reconcile.ObjectKey | None:
    ref = reconcile.controller_of(book.metadata)
    if ref is None:
        return None
    return reconcile.ObjectKey(namespace=book.metadata.namespace, name=ref.name)


def _librarian(manager: reconcile.Manager, *, careful: bool) -> None:
    shelves, books = manager.store(Shelf), manager.store(Book)
    client, expectations = manager.client, reconcile.Expectations(clock=manager.clock)

    def observed(book: reconcile.Resource) -> None:
        if (key := _shelf_of(book)) is not None:
            expectations.creation_observed(key)

    manager.informers.get(Book).add_handler(reconcile.event_handler(on_add=observed))

    async def keep_full(request: reconcile.Request) -> reconcile.Result:
        shelf = shelves.get(request)
        if shelf is None:
            expectations.forget(request)
            return reconcile.Result.done()
        if careful and not expectations.satisfied(request):
            return reconcile.Result.done()  # our own creates are not in the cache yet
        mine = books.by_index(reconcile.INDEX_CONTROLLER, shelf.metadata.uid)
        missing = shelf.spec.size - len(mine)
        if missing > 0:
            expectations.expect_creations(request, missing)
            for _ in range(missing):
                await client.create(
                    Book(
                        metadata=reconcile.ObjectMeta(
                            generate_name=f"{shelf.metadata.name}-",
                            namespace=shelf.metadata.namespace,
                            owner_references=[reconcile.owner_reference_to(shelf)],
                        )
                    )
                )
        count = min(len(mine) + max(missing, 0), shelf.spec.size)
        if shelf.status.books != count:
            await client.update_status(attrs.evolve(shelf, status=ShelfStatus(books=count)))
        return reconcile.Result.done()

    manager.add(
        reconcile.Controller(
            name="librarian", for_=Shelf, owns=(Book,), reconciler=reconcile.reconciler(keep_full)
        )
    )


def careful_librarian(manager: reconcile.Manager) -> None:
    _librarian(manager, careful=True)


def hasty_librarian(manager: reconcile.Manager) -> None:
    _librarian(manager, careful=False)


async def workload(driver: Driver) -> None:
    """A user fills a shelf, waits, then makes it bigger."""
    shelf = await driver.api.create(
        Shelf(
            metadata=reconcile.ObjectMeta(name="poetry", namespace="library"),
            spec=ShelfSpec(size=3),
        )
    )
    await driver.advance(5)
    shelf = await driver.api.get(Shelf, shelf.key)
    await driver.api.update(attrs.evolve(shelf, spec=ShelfSpec(size=5)))
    await driver.advance(5)


def never_too_many_books(state: State) -> None:
    """Safety, after every commit: no shelf ever holds more books than it asks for."""
    for shelf in state.list(Shelf):
        owned = [b for b in state.list(Book) if _shelf_of(b) == shelf.key]
        assert len(owned) <= shelf.spec.size, f"{shelf.key} has {len(owned)} > {shelf.spec.size}"


def shelves_full(state: State) -> None:
    """Liveness, after the faults heal: every shelf holds exactly what it asks for."""
    for shelf in state.list(Shelf):
        owned = [b for b in state.list(Book) if _shelf_of(b) == shelf.key]
        assert len(owned) == shelf.spec.size == shelf.status.books, (shelf, len(owned))


def main() -> dict[str, object]:
    """Sweep both librarians; return what each sweep found."""
    found: dict[str, object] = {}
    for name, setup in [("careful", careful_librarian), ("hasty", hasty_librarian)]:
        try:
            report = fault_sweep(
                {"librarian": setup},
                workload,
                invariants=[never_too_many_books],
                converged=shelves_full,
            )
        except VerificationError as error:
            print(f"{name} librarian: FOUND A BUG\n{error}\n")
            found[name] = error
        else:
            print(
                f"{name} librarian: {report.runs} runs passed "
                f"({report.simulated:.0f} simulated s in {report.wall:.1f} s)\n"
            )
            found[name] = report
    return found


if __name__ == "__main__":
    reconcile.configure(level="CRITICAL")  # the sweep crashes components on purpose
    main()
