"""Tests of the built-in controllers and their kinds."""
