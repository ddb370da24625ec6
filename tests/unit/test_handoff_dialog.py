"""The conversation side of a handoff: identification questions, relay, status queries, rating."""

from __future__ import annotations

import pytest

from dialog.engine import ConversationEngine, Turn
from dialog.messages import (
    Attachment,
    AttachmentKind,
    InboundMessage,
    OpenTicket,
    RateTicket,
    RelayToTicket,
    StatusQuery,
    SystemEvent,
    TicketEventKind,
)
from dialog.state import ConversationState
from dialog.ticket_talk import find_ticket_number, ticket_number


def text(value: str, *attachments: Attachment) -> InboundMessage:
    return InboundMessage("test", "c1", "u1", text=value, attachments=attachments)


def press(payload: str) -> InboundMessage:
    return InboundMessage("test", "c1", "u1", payload=payload)


def talk(engine: ConversationEngine, state: ConversationState, *messages: str) -> Turn:
    turn = None
    for message in messages:
        turn = engine.handle(press(message[1:]) if message.startswith("!") else text(message), state)
        state = turn.state
    assert turn is not None
    return turn


def test_a_rule_asks_the_identification_questions_one_at_a_time(engine: ConversationEngine) -> None:
    trigger = "отказали в услуге без объяснения причин, что делать"
    turn = engine.handle(text(trigger), ConversationState())
    assert turn.decision.rule == "refusal_without_reason"
    assert "фамилию" in turn.replies[-1].text and not turn.effects
    turn = engine.handle(text("петров пётр"), turn.state)
    assert "СНИЛС" in turn.replies[0].text
    bad = engine.handle(text("112-233-445 96"), turn.state)  # wrong control number
    assert "контрольное число" in bad.replies[0].text and "СНИЛС" in bad.replies[0].text
    turn = engine.handle(text("112-233-445 95"), bad.state)
    assert "телефон" in turn.replies[0].text
    turn = engine.handle(text("8 (912) 345-67-89"), turn.state)
    assert "номер заявления" in turn.replies[0].text
    turn = engine.handle(press("intake:skip"), turn.state)
    # the triggering message already describes the problem: no fifth question, a ticket instead
    (effect,) = turn.effects
    assert isinstance(effect, OpenTicket)
    assert effect.rule == "refusal_without_reason" and effect.level == 2
    assert dict(effect.identification) == {
        "full_name": "Петров Пётр",
        "snils": "112-233-445 95",
        "phone": "+79123456789",
    }
    assert effect.description == trigger
    assert turn.state.handed_off == "refusal_without_reason" and turn.state.intake is None


def test_an_explicit_request_asks_for_a_description_and_can_be_cancelled(engine: ConversationEngine) -> None:
    turn = talk(engine, ConversationState(), "позовите оператора", "!intake:skip", "!intake:skip", "не знаю")
    assert "номер заявления" in turn.replies[0].text
    turn = engine.handle(press("intake:skip"), turn.state)
    assert "Опишите" in turn.replies[0].text
    short = engine.handle(text("помогите"), turn.state)
    assert "подробнее" in short.replies[0].text
    done = engine.handle(text("не могу подписать заявление электронной подписью"), short.state)
    assert isinstance(done.effects[0], OpenTicket) and "подписать" in done.effects[0].description
    cancelled = talk(engine, ConversationState(), "/operator", "отмена")
    assert cancelled.state.intake is None and cancelled.state.handed_off is None
    assert "не передаю" in cancelled.replies[0].text


def test_a_second_handoff_does_not_ask_again_what_is_known(engine: ConversationEngine) -> None:
    known = ConversationState(
        identity={"full_name": "Петров Пётр", "snils": "", "phone": "", "application_number": ""}
    )
    turn = engine.handle(text("заявление висит в обработке уже третий месяц"), known)
    assert isinstance(turn.effects[0], OpenTicket)
    assert dict(turn.effects[0].identification) == {"full_name": "Петров Пётр"}


def test_a_complaint_is_answered_and_goes_to_a_specialist(engine: ConversationEngine) -> None:
    turn = engine.handle(press("topic:complaint"), ConversationState())
    assert "жалоб" in turn.replies[0].text.lower()
    assert turn.state.intake is not None and turn.state.intake["level"] == 3


def test_with_an_operator_messages_are_relayed_and_bad_files_refused(engine: ConversationEngine) -> None:
    state = ConversationState(handed_off="explicit_request")
    turn = engine.handle(text("вот скриншот ошибки"), state)
    assert turn.effects == (RelayToTicket("вот скриншот ошибки"),) and not turn.replies
    photo = Attachment(AttachmentKind.PHOTO, 300_000, None, "image/jpeg", ref="file-1")
    pdf = Attachment(AttachmentKind.DOCUMENT, 10_000, "скан.pdf", "application/pdf", ref="file-2")
    huge = Attachment(AttachmentKind.PHOTO, 9_000_000, None, "image/jpeg", ref="file-3")
    turn = engine.handle(text("", photo, pdf, huge), state)
    assert turn.effects == (RelayToTicket("", (photo,)),)
    assert len(turn.replies) == 2 and "скан.pdf" in turn.replies[0].text and "2 МБ" in turn.replies[1].text
    sticker = engine.handle(text("", Attachment(AttachmentKind.STICKER)), state)
    assert not sticker.effects and "не передаётся" in sticker.replies[0].text


def test_with_an_operator_a_voice_message_is_relayed_and_a_long_one_refused(
    engine: ConversationEngine,
) -> None:
    state = ConversationState(handed_off="explicit_request")
    voice = Attachment(AttachmentKind.VOICE, 40_000, None, "audio/ogg", ref="voice-1", duration=25)
    note = Attachment(AttachmentKind.VIDEO_NOTE, 900_000, None, "video/mp4", ref="note-1", duration=30)
    turn = engine.handle(text("", voice, note), state)
    assert turn.effects == (RelayToTicket("", (voice, note)),) and not turn.replies  # relayed silently
    long = Attachment(AttachmentKind.VOICE, 900_000, None, "audio/ogg", ref="voice-2", duration=181)
    turn = engine.handle(text("", long), state)
    assert not turn.effects
    assert "до 3 минут" in turn.replies[0].text and "Голосовое сообщение не передано" in turn.replies[0].text
    unreachable = Attachment(AttachmentKind.VOICE, duration=5)  # a platform that gave no link to it
    turn = engine.handle(text("", unreachable), state)
    assert not turn.effects and "не передаётся" in turn.replies[0].text


def test_a_voice_message_to_the_bot_gets_asked_for_text(engine: ConversationEngine) -> None:
    voice = Attachment(AttachmentKind.VOICE, 40_000, None, "audio/ogg", ref="voice-1", duration=4)
    turn = engine.handle(text("", voice), ConversationState())
    assert not turn.effects and turn.decision.intent == "voice"
    assert "Голосовые сообщения я не прослушиваю" in turn.replies[0].text
    assert "напишите" in turn.replies[0].text and "оператор" in turn.replies[0].text
    photo_and_voice = engine.handle(text("", voice, Attachment(AttachmentKind.PHOTO)), ConversationState())
    assert "Файлы и фото" in photo_and_voice.replies[0].text  # not only a recording: the general answer


def test_status_queries_by_number_button_and_command(engine: ConversationEngine) -> None:
    number = ticket_number(10427)
    turn = engine.handle(text(f"статус обращения № {number}"), ConversationState())
    assert turn.effects == (StatusQuery(number),)
    assert engine.handle(press(f"status:{number}"), ConversationState()).effects == (StatusQuery(number),)
    assert engine.handle(text("/status"), ConversationState()).effects == (StatusQuery(None),)
    assert find_ticket_number("10427-4") is None  # a bare number whose check digit does not match
    assert find_ticket_number(number) == number
    assert find_ticket_number("статус обращения 10427-4") == "10427-4"  # answered «не найдено»
    assert find_ticket_number("с 2020-2 по 2021 год") is None


def test_resolution_asks_for_a_rating_and_an_optional_comment(engine: ConversationEngine) -> None:
    state = ConversationState(handed_off="explicit_request")
    turn = engine.handle_event(SystemEvent("test", "c1", "u1", TicketEventKind.RESOLVED, "10427-3"), state)
    assert "10427-3" in turn.replies[0].text and turn.state.handed_off is None
    assert [b.label for b in turn.replies[0].buttons][:5] == ["1", "2", "3", "4", "5"]
    scored = engine.handle(press("rate:4"), turn.state)
    assert scored.effects == (RateTicket("10427-3", score=4),)
    commented = engine.handle(text("оператор помог быстро"), scored.state)
    assert commented.effects == (RateTicket("10427-3", comment="оператор помог быстро"),)
    assert commented.state.rating_stage is None
    moved_on = engine.handle(text("как восстановить пароль"), turn.state)  # no rating: a new question
    assert moved_on.decision.topic == "password_recovery" and not moved_on.effects


def test_a_sticker_during_the_questions_is_not_taken_for_an_answer(engine: ConversationEngine) -> None:
    turn = engine.handle(text("позовите оператора"), ConversationState())
    sticker = engine.handle(text("", Attachment(AttachmentKind.STICKER)), turn.state)
    assert "текстом" in sticker.replies[0].text and "фамилию" in sticker.replies[0].text
    assert sticker.state.identity == {}


def test_after_a_resolution_a_remaining_problem_brings_the_ticket_back(engine: ConversationEngine) -> None:
    known = ConversationState(
        identity=dict.fromkeys(("full_name", "snils", "phone", "application_number"), "")
    )
    resolved = engine.handle_event(
        SystemEvent("test", "c1", "u1", TicketEventKind.RESOLVED, "10427-3"), known
    )
    skipped = engine.handle(press("rate:skip"), resolved.state)
    back = engine.handle(text("ничего не исправили, проблема осталась"), skipped.state)
    assert back.decision.rule == "ticket_not_resolved" and "не решён" in back.replies[0].text
    assert isinstance(back.effects[0], OpenTicket) and back.effects[0].rule == "ticket_not_resolved"
    # a new question is answered and leaves the old ticket behind
    asked = engine.handle(text("как восстановить пароль"), skipped.state)
    assert asked.decision.topic == "password_recovery" and asked.state.after_ticket is None
    thanks = engine.handle(text("спасибо"), skipped.state)
    assert not thanks.effects and thanks.state.after_ticket == "10427-3"


def test_a_ticket_event_survives_its_inbox_row_and_a_damaged_one_is_refused() -> None:
    event = SystemEvent("telegram", "42", "7", TicketEventKind.CLOSED, "10427-3")

    assert SystemEvent.decode("telegram", event.encode()) == event
    assert SystemEvent.decode("telegram", {"update_id": 1, "message": {}}) is None  # a platform's update
    with pytest.raises(ValueError, match="damaged"):
        SystemEvent.decode("telegram", {"okno_event": {"kind": "exploded", "chat_id": "42"}})
