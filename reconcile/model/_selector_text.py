"""
Text helpers shared by label and field selectors: quoting and value errors.

Contract: both produce the messages Kubernetes' validation prints, so label
selectors (:mod:`reconcile.model.selectors`) and field selectors
(:mod:`reconcile.model.fields`) word their errors alike. Pure functions; no
state.
"""

from __future__ import annotations

import json

__all__ = ["invalid", "quote"]


def quote(text: str) -> str:
    """``text`` as a double-quoted JSON string (non-ASCII kept as is)."""
    return json.dumps(text, ensure_ascii=False)


def invalid(path: str, value: str, problem: str) -> ValueError:
    """The error for a ``value`` at field ``path`` that breaks a rule (``problem``)."""
    return ValueError(f"{path}: Invalid value: {quote(value)}: {problem}")
