"""
Built-in Kubernetes kinds, controllers and simulated node agents.

Rule: an ordinary user of the framework. Modules here import ``reconcile``
only through its public façade (``from reconcile import ...``), exactly as a
user's own controller would; ``tests/test_architecture.py`` enforces it.

The embedded cluster is the entry point::

    from controllers import Cluster, run

    async def main() -> None:
        async with Cluster(nodes=3, seed=7) as cluster:
            await cluster.apply(MANIFEST)
            await cluster.settle()

    run(main)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The catalogue of planted bugs is declared whenever any built-in controller is.
import controllers.planted  # noqa: F401

__all__ = ["Cluster", "run"]

if TYPE_CHECKING:
    from controllers.cluster import Cluster, run


def __getattr__(name: str) -> Any:
    # Lazy: importing one built-in package must not import every other one.
    if name in __all__:
        from controllers import cluster  # noqa: PLC0415 - lazy on purpose

        return getattr(cluster, name)
    raise AttributeError(name)
