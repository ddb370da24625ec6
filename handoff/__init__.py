"""Tickets, queues, routing, working hours and the operator inbox (later issues)."""
