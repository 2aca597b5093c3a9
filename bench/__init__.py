"""Benchmarks: `python -m bench [--quick]` (CPU, against the tutorial) and `python -m bench.gpu_speedrun`."""
