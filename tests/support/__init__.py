"""Helpers shared by the test packages: Redis servers, graphs, workloads, audits.

Importable as ``support`` because ``tests/`` is on pytest's ``pythonpath``.
"""
