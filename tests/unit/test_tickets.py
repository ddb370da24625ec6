import itertools

import pytest

from dialog.tickets import Status
from handoff.errors import IllegalTransition
from handoff.tickets import check_transition, parse_ticket_number, ticket_number

LIFE = ["new", "in_progress", "needs_info", "in_progress", "resolved", "in_progress", "new", "in_progress"]


def test_the_usual_life_of_a_ticket_is_allowed() -> None:
    for before, after in itertools.pairwise(LIFE):
        check_transition(Status(before), Status(after))


@pytest.mark.parametrize(
    ("before", "after"),
    [("new", "resolved"), ("closed", "in_progress"), ("new", "needs_info"), ("closed", "new")],
)
def test_illegal_transitions_are_refused(before: str, after: str) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(Status(before), Status(after))


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
