"""Processes and wiring: settings, the `okno` command, startup and shutdown."""
