"""The asv benchmark suite for fibext: one module per area (bench_*.py)."""
