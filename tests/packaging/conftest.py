"""Packaging tier: the built packages come from the session fixture ``built``
(tests/conftest.py, shared with the systemd tier); helpers in kmgtest.packages."""
