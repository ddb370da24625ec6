"""MemoryTickets keeps up with the ports it stands in for: every method the handoff side may call is
there, called the same way (what it does is checked against TicketStore in tests/integration/
test_ticket_repository_contract.py)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from handoff.ports import TicketLinks, TicketRepository
from tests.fakes.tickets import MemoryLinks, MemoryTickets, as_repository


def test_memory_tickets_is_typed_as_the_port() -> None:
    """A type checker run on the tests (mypy --strict tests/unit/test_memory_tickets.py) fails here
    when the port and the fake drift apart; at run time the checks below do."""
    repository: TicketRepository = as_repository(MemoryTickets())
    links: TicketLinks = repository.links
    assert isinstance(links, MemoryLinks)


def members(port: type[Any]) -> list[str]:
    """What the Protocol declares for its users (its own attributes, not typing's machinery)."""
    return [name for name in vars(port) if not name.startswith("_")]


def shape(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("port", "fake"), [(TicketRepository, MemoryTickets), (TicketLinks, MemoryLinks)])
def test_every_method_of_the_port_is_there_with_the_same_parameters(port: type[Any], fake: type[Any]) -> None:
    methods = [name for name in members(port) if inspect.isfunction(vars(port)[name])]
    assert methods, f"no methods found on {port.__name__}"
    for name in methods:
        ours = getattr(fake, name, None)
        assert ours is not None, f"{fake.__name__} lacks {name}"
        assert inspect.iscoroutinefunction(ours), f"{fake.__name__}.{name} is not async"
        assert shape(ours) == shape(vars(port)[name]), f"{fake.__name__}.{name} is called differently"


def test_the_properties_of_the_port_are_there() -> None:
    tickets = MemoryTickets()
    for name in members(TicketRepository):
        if isinstance(vars(TicketRepository)[name], property):
            assert hasattr(tickets, name), f"MemoryTickets lacks {name}"
