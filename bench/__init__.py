"""Benchmarks: a district-year generator and timed runs (see README.md)."""
