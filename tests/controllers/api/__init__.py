"""Tests of the built-in kinds: exact Kubernetes JSON, lossless round trips."""
