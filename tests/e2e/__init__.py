"""End-to-end tests: the bot against fake external services."""
