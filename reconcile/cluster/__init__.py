"""
Layer 2: the API boundary.

Rule: the only layer that talks to a cluster backend. It defines the client
protocols (:mod:`~reconcile.cluster.client`), the in-memory API server
(:mod:`~reconcile.cluster.memory`) and the list+watch machinery that keeps
read-only caches (:mod:`~reconcile.cluster.informer`). It may import
:mod:`reconcile.model` and :mod:`reconcile.primitives`, never
:mod:`reconcile.runtime`.
"""
