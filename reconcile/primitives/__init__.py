"""
Layer 1: asynchronous building blocks that know nothing of resources.

Rule: may import :mod:`reconcile.model` and the standard library; never
imports :mod:`reconcile.cluster` or :mod:`reconcile.runtime`. Every stateful
primitive takes its time from an injected :class:`~reconcile.primitives.clock.Clock`
and exposes ``statistics()``.
"""
