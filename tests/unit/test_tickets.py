from datetime import UTC, datetime

import pytest

from handoff.errors import IllegalTransition
from handoff.tickets import Level, Status, Ticket, parse_ticket_number, ticket_number

AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def new_ticket() -> Ticket:
    return Ticket(ticket_number(10427), "telegram", 1, "explicit_request", Level.OPERATOR, Status.NEW, AT)


def test_the_usual_life_of_a_ticket_is_recorded() -> None:
    ticket = new_ticket().take("op-1", AT)
    ticket = ticket.move(Status.NEEDS_INFO, "op-1", AT, "нужен номер заявления")
    ticket = ticket.move(Status.IN_PROGRESS, "citizen", AT)
    ticket = ticket.move(Status.RESOLVED, "op-1", AT)
    assert ticket.status is Status.RESOLVED and ticket.assignee == "op-1"
    assert [(t.before, t.after) for t in ticket.trail] == [
        (Status.NEW, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.NEEDS_INFO),
        (Status.NEEDS_INFO, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.RESOLVED),
    ]
    assert ticket.trail[1].note == "нужен номер заявления"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [((), Status.RESOLVED), ((Status.CLOSED,), Status.IN_PROGRESS), ((), Status.NEEDS_INFO)],
)
def test_illegal_transitions_are_refused(path: tuple[Status, ...], illegal: Status) -> None:
    ticket = new_ticket()
    for status in path:
        ticket = ticket.move(status, "bot", AT)
    with pytest.raises(IllegalTransition):
        ticket.move(illegal, "bot", AT)


def test_only_a_new_ticket_can_be_taken() -> None:
    taken = new_ticket().take("op-1", AT)
    with pytest.raises(IllegalTransition):
        taken.take("op-2", AT)


def test_escalation_goes_to_a_specialist_and_waits_to_be_taken() -> None:
    ticket = new_ticket().take("op-1", AT).escalate("op-1", AT)
    assert (ticket.level, ticket.status, ticket.assignee) == (Level.SPECIALIST, Status.NEW, None)
    assert ticket.trail[-1].note == "передано специалисту"
    with pytest.raises(IllegalTransition):
        ticket.escalate("op-1", AT)


def test_labels_are_the_documents_words() -> None:
    assert [s.label for s in Status] == ["новое", "в работе", "требуется уточнение", "решено", "закрыто"]


@pytest.mark.parametrize("sequence", [0, 7, 10427, 999_999])
def test_ticket_numbers_round_trip(sequence: int) -> None:
    number = ticket_number(sequence)
    assert parse_ticket_number(number) == sequence
    assert parse_ticket_number(f"№ {number}") == sequence


def test_a_mistyped_number_is_not_someone_elses() -> None:
    number = ticket_number(10427)
    body, check = number.split("-")
    assert parse_ticket_number(f"{body}-{(int(check) + 1) % 10}") is None
    assert parse_ticket_number(f"{body[:-2]}{body[-1]}{body[-2]}-{check}") is None  # swapped digits
    assert parse_ticket_number("5") is None
