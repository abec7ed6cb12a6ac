"""Numbered, runnable examples; each is run by ``tests/test_examples.py``."""
