"""
Layer 0: pure values.

Rule: frozen ``attrs`` classes and pure functions only. No I/O, no clocks
(time is passed in as ``now``) and never ``import asyncio``. Everything
here is safe to share between tasks because nothing here can change.
"""
