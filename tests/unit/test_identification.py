import pytest

from dialog import identification as ident


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("112-233-445 95", "112-233-445 95"),
        ("11223344595", "112-233-445 95"),
        ("087 654 303 00", "087-654-303 00"),  # sum 202: 202 mod 101 = 0
        ("001-001-997 00", "001-001-997 00"),  # issued before checksums
    ],
)
def test_valid_snils_is_normalized(text: str, expected: str) -> None:
    assert ident.snils(text) == expected


@pytest.mark.parametrize("text", ["112-233-445 96", "1122334459", "abc", "112-233-445 9a", ""])
def test_invalid_snils_is_refused(text: str) -> None:
    assert ident.snils(text) is None


@pytest.mark.parametrize(
    "text", ["+7 912 345-67-89", "8 (912) 345 67 89", "89123456789", "9123456789", "7-912-345-67-89"]
)
def test_phones_are_normalized_to_plus_seven(text: str) -> None:
    assert ident.phone(text) == "+79123456789"


@pytest.mark.parametrize("text", ["+7 495 123-45-67", "12345", "+1 912 345 67 89", "телефон"])
def test_non_mobile_or_foreign_phones_are_refused(text: str) -> None:
    assert ident.phone(text) is None


def test_full_name_is_capitalized_and_checked() -> None:
    assert ident.full_name("иванов  иван иванович") == "Иванов Иван Иванович"
    assert ident.full_name("Римский-корсаков Николай") == "Римский-Корсаков Николай"
    assert ident.full_name("Иван") is None
    assert ident.full_name("Ivanov Ivan") is None
    assert ident.full_name("Иванов Иван 1985") is None


def test_application_number() -> None:
    assert ident.application_number("№ 12345-678") == "12345-678"
    assert ident.application_number("abc") is None
    assert ident.application_number("заявление") is None


def test_masks_hide_most_of_the_value() -> None:
    assert ident.mask("snils", "112-233-445 95") == "***-***-445 95"
    assert ident.mask("phone", "+79123456789") == "+7 *** ***-**-89"
    assert ident.mask("full_name", "Иванов Иван Иванович") == "Иванов И. И."


def test_every_check_has_a_hint_in_russian() -> None:
    assert set(ident.HINTS) == {"full_name", "snils", "phone", "application_number"}
    assert all(any("а" <= ch <= "я" for ch in hint) for hint in ident.HINTS.values())
