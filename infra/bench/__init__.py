"""Benchmarks (``make bench``): each module in ``__main__.BENCHES`` has ``run() -> dict``."""
