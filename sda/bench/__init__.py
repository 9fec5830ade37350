"""Benchmarks and their material: synthetic sound sets, fidelity and quality metrics, the bench run.

Used by the CLI's ``bench`` command, the scripts and the tests; nothing in the product imports it.
"""
