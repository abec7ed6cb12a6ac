"""Traces: a digest independent of keeping lines, saving and loading, and where two traces part."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import MemoryCluster, ObjectMeta
from reconcile.testing import VirtualClock, run
from reconcile.verify import Divergence, Trace, diff
from tests.kinds import Widget

_ENTRIES = st.lists(
    st.dictionaries(
        st.sampled_from(["write", "fault", "kind", "key", "component", "t"]),
        st.one_of(st.integers(-5, 5), st.text(max_size=5), st.floats(0, 10)),
        max_size=4,
    ),
    max_size=8,
)


@settings(max_examples=50, deadline=None)
@given(_ENTRIES)
def test_digest_is_the_same_whether_lines_are_kept_or_not(entries: list[dict[str, object]]) -> None:
    """Keeping lines in memory changes nothing in the digest or the count."""
    kept, lean = Trace(keep=True), Trace(keep=False)
    for entry in entries:
        kept(entry)
        lean(entry)
    assert (kept.digest(), kept.count) == (lean.digest(), lean.count)
    assert ([], len(entries)) == (lean.lines, len(kept.lines))


def test_digest_depends_on_order_and_content() -> None:
    """Swapping two entries, or changing one, changes the digest."""
    a, b, c = Trace(), Trace(), Trace()
    for trace, entries in [
        (a, [{"write": "create"}, {"fault": "lag"}]),
        (b, [{"fault": "lag"}, {"write": "create"}]),
        (c, [{"write": "create"}, {"fault": "heal"}]),
    ]:
        for entry in entries:
            trace(entry)
    assert len({a.digest(), b.digest(), c.digest()}) == 3


def test_entries_are_stamped_with_the_clock_unless_they_carry_a_time() -> None:
    """An entry without ``t`` gets the clock's time; one with ``t`` keeps its own."""

    async def scenario(clock: VirtualClock) -> list[dict[str, object]]:
        trace = Trace(clock=clock)
        await clock.advance(2.5)
        trace({"fault": "lag"})
        trace({"fault": "heal", "t": 1.0})
        return trace.entries()

    assert [{"fault": "lag", "t": 2.5}, {"fault": "heal", "t": 1.0}] == run(scenario)


def test_lines_have_sorted_keys_and_no_spaces() -> None:
    """Lines are canonical JSON, so equal entries give equal bytes."""
    trace = Trace()
    trace({"write": "create", "component": "c", "key": "default/w"})
    assert ['{"component":"c","key":"default/w","write":"create"}'] == trace.lines


def test_follow_records_every_commit_of_the_server() -> None:
    """A followed server's commits appear as ``commit`` entries with kind, key and version."""

    async def scenario(clock: VirtualClock) -> list[dict[str, object]]:
        server = MemoryCluster(clock=clock)
        trace = Trace(clock=clock)
        trace.follow(server)
        await server.create(Widget(metadata=ObjectMeta(name="w", namespace="ns")))
        return trace.entries()

    expected = {"commit": "ADDED", "kind": "Widget", "key": "ns/w", "rv": "1", "t": 0.0}
    assert [expected] == run(scenario)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """A saved trace loads back as the same lines, into a new folder if need be."""
    trace = Trace()
    for i in range(3):
        trace({"write": "create", "n": i})
    path = trace.save(tmp_path / "nested" / "run.jsonl")
    assert path.read_text().endswith("\n")
    assert trace.lines == Trace.load(path)


def test_diff_of_equal_traces_is_none() -> None:
    """Identical traces do not diverge."""
    lines = ['{"a":1}', '{"b":2}']
    assert diff(lines, list(lines)) is None
    assert diff([], []) is None


def test_diff_finds_the_first_differing_line() -> None:
    """The first line that differs is reported, with both sides."""
    divergence = diff(["same", "left", "more"], ["same", "right", "other"])
    assert Divergence(line=1, left="left", right="right") == divergence
    assert "traces differ at line 2:\n  - left\n  + right" == str(divergence)


def test_diff_reports_a_trace_that_ends_early() -> None:
    """When one trace is a prefix of the other, the first extra line is the divergence."""
    assert Divergence(line=2, left=None, right="extra") == diff(["a", "b"], ["a", "b", "extra"])
    assert Divergence(line=1, left="b", right=None) == diff(["a", "b"], ["a"])
