"""Benchmarks (``make bench``). Nothing here is imported by the product."""
