"""``OwnWrites``: reading one's own writes through a cache that lags behind them."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile import OwnWrites
from reconcile.model.meta import ObjectMeta, ResourceVersion, Uid
from tests.kinds import Widget, WidgetSpec


def _version(index: int, *, size: int = 1, uid: str = "u1", name: str = "w") -> Widget:
    meta = ObjectMeta(
        name=name, namespace="default", uid=Uid(uid), resource_version=ResourceVersion(str(index))
    )
    return Widget(metadata=meta, spec=WidgetSpec(size=size))


def test_returns_the_write_while_the_cache_holds_the_version_it_replaced() -> None:
    own: OwnWrites[Widget] = OwnWrites()
    read, wrote = _version(1), _version(2, size=5)
    own.record(read, wrote)
    assert wrote == own.fresher(read)


def test_trusts_the_cache_once_it_holds_the_write_or_anything_later() -> None:
    own: OwnWrites[Widget] = OwnWrites()
    own.record(_version(1), _version(2, size=5))
    later = _version(3, size=7)  # someone else wrote after us
    assert later == own.fresher(later)
    assert 0 == len(own)  # forgotten: even the replaced version is now read as cached
    assert _version(1) == own.fresher(_version(1))


def test_an_object_recreated_under_the_name_is_not_ours() -> None:
    own: OwnWrites[Widget] = OwnWrites()
    own.record(_version(1), _version(2, size=5))
    successor = _version(1, uid="u2")
    assert successor == own.fresher(successor)


def test_writes_in_a_row_cover_every_version_the_cache_may_show() -> None:
    own: OwnWrites[Widget] = OwnWrites()
    own.record(_version(1), _version(2, size=2))
    own.record(_version(2, size=2), _version(3, size=3))
    for cached in (_version(1), _version(2, size=2)):
        assert _version(3, size=3) == own.fresher(cached)


def test_forget_and_the_limit_let_entries_go() -> None:
    own: OwnWrites[Widget] = OwnWrites(limit=2)
    for name in ("a", "b", "c"):
        own.record(_version(1, name=name), _version(2, name=name, size=9))
    assert 2 == len(own)
    assert _version(1, name="a") == own.fresher(_version(1, name="a"))  # the oldest went
    own.forget(_version(1, name="b").metadata.key)
    assert _version(1, name="b") == own.fresher(_version(1, name="b"))
    assert _version(2, name="c", size=9) == own.fresher(_version(1, name="c"))
    with pytest.raises(ValueError, match="limit"):
        OwnWrites(limit=0)


_OPS = st.lists(
    st.one_of(
        st.just(("ours", 0)), st.just(("theirs", 0)), st.tuples(st.just("cache"), st.integers(0, 3))
    ),
    max_size=40,
)


@given(_OPS)
def test_reads_are_never_older_than_the_cache_nor_than_our_last_write(
    ops: list[tuple[str, int]],
) -> None:
    """
    One object with a linear history, written by us (from what we read, and
    only when that is the latest, else the server would refuse) and by others;
    the cache shows some earlier version and only moves forward. What we
    read is always the newer of the cache's version and our last write.
    """
    history = [_version(0)]
    cache = 0
    ours = -1
    own: OwnWrites[Widget] = OwnWrites()
    for op, step in ops:
        if op == "ours":
            read = own.fresher(history[cache])
            if read == history[-1]:
                wrote = attrs.evolve(
                    _version(len(history), size=read.spec.size + 1), spec=read.spec
                )
                history.append(wrote)
                own.record(read, wrote)
                ours = len(history) - 1
        elif op == "theirs":
            history.append(_version(len(history), size=len(history)))
        else:
            cache = min(len(history) - 1, cache + step)
        seen = own.fresher(history[cache])
        assert history.index(seen) == max(cache, ours)
