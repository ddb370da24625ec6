"""Integration tests use the real databases and Redis fixtures of tests/conftest.py."""
