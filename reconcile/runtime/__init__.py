"""
Layer 3: the engine.

Rule: builds on every lower layer and is the only one that runs user code.
A :class:`~reconcile.runtime.controller.Controller` turns informer events
into keys on a work queue and keys into calls of one idempotent
``reconcile(request)``; a :class:`~reconcile.runtime.manager.Manager` owns
one ``asyncio.TaskGroup`` for every informer and controller it runs.
"""
