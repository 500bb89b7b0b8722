"""Helpers shared by the test modules (importable as ``support.*``: pyproject puts tests/ on the path).

conftest.py holds only fixtures; test modules import helpers from here, never from conftest
or from another test module (tests/unit/test_test_layout.py checks it).
"""
