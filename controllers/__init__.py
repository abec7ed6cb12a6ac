"""
Built-in Kubernetes kinds, controllers and simulated node agents.

Rule: an ordinary user of the framework. Modules here import ``reconcile``
only through its public façade (``from reconcile import ...``), exactly as a
user's own controller would; ``tests/test_architecture.py`` enforces it.
"""
