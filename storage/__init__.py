"""Persistence: database models, repositories and the state store (later issues)."""
