"""
Logging: one canonical ``reconcile.finished`` line per reconcile, a bound context, and configure().

Captures use a :class:`structlog.testing.LogCapture` behind
``merge_contextvars`` (``capture_logs()`` alone would drop the bound
context, because it replaces every processor).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Sequence

import pytest
import structlog
from structlog.typing import EventDict

import reconcile
from reconcile.errors import TerminalError
from reconcile.model.meta import ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.controller import Controller
from reconcile.runtime.manager import Manager
from reconcile.runtime.reconciler import Request, Result, reconciler
from reconcile.testing import MemoryCluster, run
from tests.kinds import Widget

Outcome = Result | Exception


@pytest.fixture
def captured() -> list[EventDict]:
    """Every log entry, with the contextvars merged in as configure() does (conftest resets it)."""
    capture = structlog.testing.LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    return capture.entries


def _finished(entries: list[EventDict]) -> list[EventDict]:
    return [e for e in entries if e["event"] == "reconcile.finished"]


def _reconcile_widget(script: Sequence[tuple[float, Outcome]], *, seconds: float = 60) -> int:
    """
    Reconcile one widget; each call sleeps, then returns (or raises), as ``script`` says.

    Returns how many reconciles the controller counted.
    """
    remaining = list(script)

    async def scenario(clock: VirtualClock) -> int:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)

        async def sync(request: Request) -> Result:
            log = structlog.get_logger("tests.user")
            log.info("user.checking", name=request.name)
            if not remaining:
                return Result.done()
            pause, outcome = remaining.pop(0)
            await clock.sleep(pause)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        controller = manager.add(
            Controller(name="widgets", for_=Widget, reconciler=reconciler(sync))
        )
        await cluster.create(Widget(metadata=ObjectMeta(name="w", namespace="default")))
        async with manager:
            await clock.advance(seconds)
        return controller.statistics().reconciles

    return run(scenario)


# -- the canonical line and the bound context ------------------------------


def test_emits_one_finished_line_per_reconcile(captured: list[EventDict]) -> None:
    """Each reconcile ends with exactly one reconcile.finished carrying outcome, duration, delay."""
    reconciles = _reconcile_widget(
        [
            (0.25, Result.after(10)),
            (0.0, ConnectionError("refused")),
            (1.5, TerminalError("spec.size: impossible")),
        ]
    )
    fields = [
        (e["outcome"], e["duration_ms"], e["requeue_after"], e["log_level"])
        for e in _finished(captured)
    ]

    assert [
        ("requeue_after", 250.0, 10, "debug"),
        ("error", 0.0, 0.005, "error"),  # the first backoff step
        ("terminal_error", 1500.0, None, "warning"),
    ] == fields
    assert 3 == reconciles


def test_logs_failures_with_their_exception(captured: list[EventDict]) -> None:
    """A failed reconcile's line carries the exception itself (for its traceback)."""
    boom = ConnectionError("refused")
    _reconcile_widget([(0.0, boom)])

    assert [boom, None] == [e.get("exc_info") for e in _finished(captured)]


def test_binds_controller_key_and_reconcile_id_to_user_log_lines(
    captured: list[EventDict],
) -> None:
    """Lines a reconciler logs carry controller, key and the reconcile_id of its finished line."""
    _reconcile_widget([(0.0, Result.after(1))])
    user = [e for e in captured if e["event"] == "user.checking"]
    finished = _finished(captured)

    assert [("widgets", "default/w")] * 2 == [(e["controller"], e["key"]) for e in user]
    assert [e["reconcile_id"] for e in finished] == [e["reconcile_id"] for e in user]
    assert 2 == len({e["reconcile_id"] for e in user})  # one id per reconcile


def test_unbinds_the_context_after_each_reconcile(captured: list[EventDict]) -> None:
    """Lines logged outside a reconcile carry no controller, key or reconcile_id."""

    async def scenario(clock: VirtualClock) -> None:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)

        async def sync(_request: Request) -> Result:
            return Result.done()

        manager.add(Controller(name="widgets", for_=Widget, reconciler=reconciler(sync)))
        await cluster.create(Widget(metadata=ObjectMeta(name="w", namespace="default")))
        async with manager:
            await clock.advance(1)
            structlog.get_logger("tests.app").info("app.tick")

    run(scenario)
    (tick,) = [e for e in captured if e["event"] == "app.tick"]

    assert set() == {"controller", "key", "reconcile_id"} & tick.keys()
    assert 1 == len(_finished(captured))


# -- configure() -------------------------------------------------------------


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_configure_json_writes_one_object_per_line() -> None:
    """configure(json=True) renders each event as one sorted JSON object on the given stream."""
    stream = io.StringIO()
    reconcile.configure(json=True, stream=stream)
    log = structlog.get_logger("tests")
    log.info("thing.happened", count=2)
    log.warning("thing.worried", why="disk")

    assert [
        {"event": "thing.happened", "count": 2, "level": "info"},
        {"event": "thing.worried", "why": "disk", "level": "warning"},
    ] == _lines(stream)


def test_configure_level_filters_lower_levels() -> None:
    """Events below `level` are not written; the default level is INFO."""
    quiet, default = io.StringIO(), io.StringIO()
    reconcile.configure(json=True, stream=quiet, level="WARNING")
    structlog.get_logger().info("dropped")
    structlog.get_logger().error("kept")
    reconcile.configure(json=True, stream=default)
    structlog.get_logger().debug("dropped")
    structlog.get_logger().info("kept")

    assert ["kept"] == [line["event"] for line in _lines(quiet)]
    assert ["kept"] == [line["event"] for line in _lines(default)]


def test_configure_debug_level_shows_reconcile_finished() -> None:
    """With level="DEBUG", the successful reconcile.finished lines are written too."""
    stream = io.StringIO()
    reconcile.configure(json=True, stream=stream, level="DEBUG")
    _reconcile_widget([(0.0, Result.done())])
    finished = [line for line in _lines(stream) if line["event"] == "reconcile.finished"]

    assert [("success", "widgets", "default/w")] == [
        (line["outcome"], line["controller"], line["key"]) for line in finished
    ]


def test_configure_rejects_an_unknown_level() -> None:
    """A level name logging does not know is refused."""
    with pytest.raises(ValueError, match="LOUD"):
        reconcile.configure(level="LOUD")


def test_configure_stamps_lines_with_the_given_clock() -> None:
    """configure(clock=...) adds the clock's now() as `time`, so virtual time shows."""
    stream = io.StringIO()

    async def scenario(clock: VirtualClock) -> None:
        reconcile.configure(json=True, stream=stream, clock=clock)
        await clock.advance(90.25)
        structlog.get_logger().info("later")

    run(scenario)

    assert [{"event": "later", "level": "info", "time": "2025-01-01T00:01:30.250Z"}] == _lines(
        stream
    )


def test_configure_merges_the_bound_context() -> None:
    """Context bound with bound_contextvars appears on configured lines."""
    stream = io.StringIO()
    reconcile.configure(json=True, stream=stream)
    with structlog.contextvars.bound_contextvars(controller="c", key="ns/n"):
        structlog.get_logger().info("inside")

    assert [{"event": "inside", "level": "info", "controller": "c", "key": "ns/n"}] == _lines(
        stream
    )


def test_configure_json_renders_exceptions_as_text() -> None:
    """An exc_info on a JSON line becomes a formatted traceback under `exception`."""
    stream = io.StringIO()
    reconcile.configure(json=True, stream=stream)
    try:
        raise ConnectionError("refused")
    except ConnectionError as exc:
        structlog.get_logger().error("failed", exc_info=exc)
    (line,) = _lines(stream)

    assert isinstance(line["exception"], str)
    assert "ConnectionError: refused" in line["exception"]


def test_configure_console_writes_readable_text() -> None:
    """Without json, lines are plain text with the event and its key=value pairs."""
    stream = io.StringIO()
    reconcile.configure(stream=stream)
    structlog.get_logger().info("thing.happened", count=2)

    assert "thing.happened" in stream.getvalue()
    assert "count=2" in stream.getvalue()
    assert "\x1b[" not in stream.getvalue()  # no colours


def test_importing_reconcile_configures_nothing() -> None:
    """Importing reconcile (and its test kit) leaves structlog and logging unconfigured."""
    code = (
        "import logging, structlog\n"
        "import reconcile, reconcile.testing, reconcile.runtime.manager\n"
        "root = logging.getLogger()\n"
        "print(structlog.is_configured(), len(root.handlers), root.level)\n"
    )
    # A fresh interpreter: this process already configured structlog (see conftest).
    done = subprocess.run(  # noqa: S603  # our own interpreter, a constant script
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert "False 0 30" == done.stdout.strip()
