"""
Logging setup, done only when asked.

The library logs through ``structlog.get_logger()`` with stable dotted event
names (``reconcile.finished``, ``informer.relisted``) and key/value data.
Importing ``reconcile`` configures nothing: an application that already
configures structlog keeps its configuration. :func:`configure` is a
convenience for programs, examples and lessons that do not.

Every reconcile runs inside ``structlog.contextvars.bound_contextvars``
(``controller``, ``key``, ``reconcile_id``); :func:`configure` puts
``merge_contextvars`` first so user log lines inside a reconciler carry them.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from reconcile.primitives.clock import Clock

__all__ = ["configure"]


def configure(
    *,
    json: bool = False,
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    clock: Clock | None = None,
) -> None:
    """
    Configure structlog for a program that has no logging setup of its own.

    Args:
        json: One JSON object per line (for machines) instead of aligned text.
        level: Minimum level, as a ``logging`` number or name (``"DEBUG"``
            shows every ``reconcile.finished`` line).
        stream: Where to write (standard error by default).
        clock: Stamp each line with this clock's ``now()`` (``time`` key), so
            runs in virtual time show simulated time; no stamp when omitted.
    """
    if isinstance(level, str):
        numeric = logging.getLevelName(level.upper())
        if not isinstance(numeric, int):
            raise ValueError(f"level: unknown logging level {level!r}")
        level = numeric
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    stamp: list[structlog.typing.Processor] = []
    if clock is not None:
        now = clock.now

        def add_time(
            _logger: object, _name: str, event: structlog.typing.EventDict
        ) -> structlog.typing.EventDict:
            event["time"] = now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
            return event

        stamp.append(add_time)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *stamp,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
