"""Shared test helpers, one package instead of loaders by file path in each test module.

``tests/`` is on ``sys.path`` (pytest puts the rootdir conftest's directory
there), so any test imports ``kmgtest.<module>``.
"""
