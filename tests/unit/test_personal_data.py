"""The personal-data detector: what it finds and masks in free text, and what it leaves alone."""

import io
import logging
from collections.abc import Iterator

import pytest

from bots.logs import PersonalDataFilter, setup_logging
from dialog.personal_data import find, luhn_valid, mask_answer, mask_text

REVIEW = "не принимают мой СНИЛС 11223344595, звоните на 89991234567"


def test_the_reviews_sentence_is_masked() -> None:
    assert mask_text(REVIEW) == "не принимают мой СНИЛС ***-***-445 95, звоните на +7 *** ***-**-67"
    assert [f.kind for f in find(REVIEW)] == ["snils", "phone"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # СНИЛС in any usual writing, checked by its control number
        ("снилс 112-233-445 95", "снилс ***-***-445 95"),
        ("112 233 445 95 мой номер", "***-***-445 95 мой номер"),
        ("11223344595", "***-***-445 95"),
        ("СНИЛС: 112-233-44595.", "СНИЛС: ***-***-445 95."),
        # passports: spaced, or by the words around them
        ("паспорт 45 12 345678", "паспорт ** ** ***678"),
        ("мой паспорт 4512 345678 выдан", "мой паспорт ** ** ***678 выдан"),
        ("паспорт 4512345678", "паспорт ** ** ***678"),
        ("серия 4512 номер 345678", "серия ** ** ***678"),
        ("данные 45 12 345678", "данные ** ** ***678"),
        # phones: +7 or 8, with any spacing, brackets and dashes
        ("+7 (912) 345-67-89", "+7 *** ***-**-89"),
        ("звоните 8 912 345 67 89!", "звоните +7 *** ***-**-89!"),
        ("тел.89123456789", "тел.+7 *** ***-**-89"),
        ("+79123456789", "+7 *** ***-**-89"),
        ("8(495)123-45-67", "+7 *** ***-**-67"),
        ("912 345-67-89", "+7 *** ***-**-89"),
        ("мой телефон 9123456789", "мой телефон +7 *** ***-**-89"),
        # e-mail
        ("пишите на ivanov.ii@mail.ru.", "пишите на i***@mail.ru."),
        ("Petrov_77@yandex.ru", "P***@yandex.ru"),
        # bank cards, Luhn-checked
        ("карта 4111 1111 1111 1111", "карта **** 1111"),
        ("5555555555554444", "**** 4444"),
        ("4111-1111-1111-1111 списали", "**** 1111 списали"),
        # passwords and codes: nothing of them is kept
        ("пароль: Qwerty123", "пароль: ***"),
        ("код 123456", "код ***"),
        ("пришёл код из СМС 1234, что дальше", "пришёл код из СМС ***, что дальше"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Обращение № 10427-3 в работе",
        "подавал 12.03.2024, ответа нет",
        "12 03 2024 подал заявление",
        "заплатил 15 000 руб., потом ещё 1 500 000 рублей",
        "сумма 9 999 999 руб",
        "горячая линия 8 800 555-35-35",
        "позвоните 8-800-555-35-35",
        "112-233-445 96 — не сходится контрольное число",
        "ИНН 500100732259",
        "заявление 2024-123456 от мая",
        "заявление № 9123456789 висит",
        "4111 1111 1111 1112 не карта: Luhn не сходится",
        "код ошибки 1234",
        "прошло 3 дня, очередь 15 человек",
        "привет, как дела?",
        "",
    ],
)
def test_not_personal_data_stays(text: str) -> None:
    assert mask_text(text) == text


def test_a_phone_like_number_is_a_snils_only_after_the_word() -> None:
    assert mask_text("89991234567") == "+7 *** ***-**-67"


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_an_identification_answer_is_masked_like_the_card_shows_it() -> None:
    hidden = {"full_name": "Петров Пётр Петрович", "snils": "112-233-445 95", "phone": "+79123456789"}
    assert mask_answer("петров пётр петрович", hidden) == "Петров П. П."
    assert mask_answer("112-233-445 95", hidden) == "***-***-445 95"
    assert mask_answer("+7 912 345-67-89", hidden) == "+7 *** ***-**-89"
    assert mask_answer("9123456789", hidden) == "+7 *** ***-**-89"  # bare, but the answer given
    assert mask_answer(REVIEW, {}) == mask_text(REVIEW)
    assert mask_answer("отказали в услуге", hidden) == "отказали в услуге"


@pytest.fixture(autouse=True)
def okno_logger() -> Iterator[None]:
    """setup_logging changes the `okno` logger: put back as it was after each test."""
    okno = logging.getLogger("okno")
    handlers, level = okno.handlers[:], okno.level
    yield
    okno.handlers[:] = handlers
    okno.setLevel(level)


def test_logs_are_masked_at_every_level(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("DEBUG", "text")
    logger = logging.getLogger("okno.test.personal_data")
    logger.debug("citizen wrote: %s", REVIEW)
    logger.info("citizen wrote: " + REVIEW)
    logger.warning("snils %s, code %s", "112-233-445 95", "код 123456")
    err = capsys.readouterr().err
    assert err.count("***-***-445 95") == 3 and "+7 *** ***-**-67" in err and "код ***" in err
    assert "11223344595" not in err and "89991234567" not in err and "112-233-445 95" not in err


def test_json_logs_are_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "json")
    logging.getLogger("okno.test.personal_data").info("%s", REVIEW)
    err = capsys.readouterr().err
    assert "***-***-445 95" in err and "11223344595" not in err


def test_the_filter_leaves_other_records_alone() -> None:
    record = logging.LogRecord("okno", logging.INFO, __file__, 1, "ticket %s taken", ("10427-3",), None)
    assert PersonalDataFilter().filter(record)
    assert record.getMessage() == "ticket 10427-3 taken" and record.args == ("10427-3",)


def failing_with_personal_data() -> None:
    raise ValueError("bad СНИЛС 112-233-445 95, phone +7 999 123-45-67")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_tracebacks_and_stacks_are_masked(fmt: str) -> None:
    """An exception's message and a stack go through the formatter, not the record's message: the
    handler's output is masked all the same."""
    setup_logging("INFO", fmt)
    [handler] = logging.getLogger("okno").handlers
    out = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    logger = logging.getLogger("okno.test.personal_data")
    try:
        failing_with_personal_data()
    except ValueError:
        logger.exception("request failed")
    logger.info("here", stack_info=True)
    logger.warning("again", exc_info=ValueError("СНИЛС 11223344595"))
    written = out.getvalue()
    assert "request failed" in written and "failing_with_personal_data" in written  # the traceback is there
    assert "Stack (most recent call last)" in written
    assert "***-***-445 95" in written and "+7 *** ***-**-67" in written
    for digits in ("112-233", "999 123", "11223344595"):
        assert digits not in written


def test_a_librarys_traceback_on_the_roots_handler_is_masked() -> None:
    out = io.StringIO()
    library = logging.StreamHandler(out)  # a plain formatter, not ours
    root = logging.getLogger()
    root.addHandler(library)
    try:
        setup_logging("INFO", "text")
        try:
            failing_with_personal_data()
        except ValueError:
            logging.getLogger("some.library").error("failed", exc_info=True)
    finally:
        root.removeHandler(library)
    written = out.getvalue()
    assert "Traceback" in written and "***-***-445 95" in written
    assert "112-233" not in written and "999 123" not in written
