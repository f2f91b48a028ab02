"""Benchmarks of what an operation costs, measured beside the Temporal floor in one run."""
