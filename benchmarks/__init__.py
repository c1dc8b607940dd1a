"""Traffik's benchmark command: ``python -m benchmarks`` from the repository root.

Each figure is printed next to the floor it could approach (a bare dict
increment for the in-memory backend), as medians of interleaved repeats
with their min-max spread, because these machines are shared and noisy.
"""
