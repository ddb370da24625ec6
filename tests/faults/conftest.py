"""The fault tests reuse the end-to-end fixtures: the fake Bot API server."""

from tests.e2e.conftest import fake

__all__ = ["fake"]
