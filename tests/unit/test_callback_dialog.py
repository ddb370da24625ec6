"""The conversation side of a callback and of routing: the phone and a convenient time are asked,
the ticket names the category of the problem, and asking again while a ticket is open says so."""

from __future__ import annotations

from dialog.engine import ConversationEngine, Turn
from dialog.messages import InboundMessage, OpenTicket, RelayToTicket, TicketKind
from dialog.state import ConversationState


def talk(engine: ConversationEngine, *messages: str, state: ConversationState | None = None) -> Turn:
    """Messages in turn; one starting with «!» is a button press."""
    state = state or ConversationState()
    turn = None
    for message in messages:
        inbound = (
            InboundMessage("test", "c1", "u1", payload=message[1:])
            if message.startswith("!")
            else InboundMessage("test", "c1", "u1", text=message)
        )
        turn = engine.handle(inbound, state)
        state = turn.state
    assert turn is not None
    return turn


def opened(turn: Turn) -> OpenTicket:
    (effect,) = turn.effects
    assert isinstance(effect, OpenTicket)
    return effect


def test_a_callback_asks_for_the_phone_then_a_convenient_time(engine: ConversationEngine) -> None:
    turn = talk(engine, "перезвоните мне, пожалуйста")
    assert turn.decision.rule == "callback_request"
    asked = turn.replies[-1]
    assert "перезвонить" in asked.text and "номер" in asked.text
    assert [b.label for b in asked.buttons] == ["Отменить"]  # the number cannot be skipped
    assert "ФИО" not in asked.text and "фамилию" not in asked.text
    refused = talk(engine, "нет", state=turn.state)
    assert "Без номера телефона" in refused.replies[0].text
    wrong = talk(engine, "12345", state=refused.state)
    assert "10 цифр" in wrong.replies[0].text
    when = talk(engine, "8 (912) 345-67-89", state=wrong.state)
    assert "удобно" in when.replies[0].text
    assert [b.label for b in when.replies[0].buttons] == ["Пропустить", "Отменить"]
    done = talk(engine, "после 18, в будни", state=when.state)
    ticket = opened(done)
    assert ticket.kind is TicketKind.CALLBACK and ticket.rule == "callback_request"
    assert ticket.callback_time == "после 18, в будни"
    assert dict(ticket.identification) == {"phone": "+79123456789"}
    assert done.state.handed_off == "callback_request" and done.state.intake is None


def test_the_convenient_time_may_be_skipped_and_the_callback_cancelled(engine: ConversationEngine) -> None:
    skipped = talk(engine, "можно обратный звонок?", "+7 912 345 67 89", "!intake:skip")
    assert opened(skipped).callback_time == ""
    cancelled = talk(engine, "наберите меня", "отмена")
    assert not cancelled.effects and cancelled.state.intake is None and not cancelled.state.handed_off


def test_a_callback_uses_the_number_it_was_given_and_keeps_what_was_told_before(
    engine: ConversationEngine,
) -> None:
    known = ConversationState(identity={"full_name": "Петров Пётр", "phone": "+79000000001"})
    turn = talk(engine, "позвоните мне", "+7 912 345 67 89", "!intake:skip", state=known)
    assert dict(opened(turn).identification) == {"full_name": "Петров Пётр", "phone": "+79123456789"}


def test_a_ticket_goes_to_the_category_of_the_topic_last_answered(engine: ConversationEngine) -> None:
    turn = talk(engine, "не приходит смс с кодом", "!fb:no:sms_code", "перезвоните мне", "89123456789", "-")
    ticket = opened(turn)
    assert (ticket.category, ticket.category_title) == ("account", "Регистрация и вход")
    # an ordinary ticket is routed the same way
    turn = talk(engine, "как узнать статус заявления", "позовите оператора", *["!intake:skip"] * 4)
    assert opened(turn).category == "applications" and opened(turn).kind is TicketKind.QUESTION


def test_the_situation_names_its_own_category_before_the_last_topic(engine: ConversationEngine) -> None:
    state = talk(engine, "не приходит смс с кодом").state
    turn = talk(engine, "заявление уже второй месяц в обработке, никаких изменений", state=state)
    assert turn.decision.rule == "application_stuck"
    turn = talk(engine, *["!intake:skip"] * 4, state=turn.state)
    assert opened(turn).category == "applications"


def test_a_request_that_tells_its_problem_names_the_category(engine: ConversationEngine) -> None:
    story = "Третий день не могу подать заявление на пособие, ошибка при отправке. Перезвоните мне"
    ticket = opened(talk(engine, story, "89123456789", "завтра утром"))
    assert ticket.category == "applications" and ticket.description == story
    # a bare request names none: the default operators take it
    assert opened(talk(engine, "позвоните мне", "89123456789", "-")).category is None


def test_asking_for_people_again_while_a_ticket_is_open_is_relayed_as_a_repeat(
    engine: ConversationEngine,
) -> None:
    state = ConversationState(handed_off="explicit_request")
    again = talk(engine, "позовите оператора!", state=state)
    assert again.effects == (RelayToTicket("позовите оператора!", (), "explicit_request"),)
    assert not again.replies  # the handoff side says which ticket is in work
    callback = talk(engine, "перезвоните мне лучше", state=state)
    assert callback.effects == (RelayToTicket("перезвоните мне лучше", (), "callback_request"),)
    button = talk(engine, "!operator", state=state)
    assert button.effects == (RelayToTicket("", (), "explicit_request"),)
    plain = talk(engine, "вот скриншот ошибки", state=state)
    assert plain.effects == (RelayToTicket("вот скриншот ошибки"),)


def test_the_last_topic_survives_the_feedback_and_a_restart_but_not_a_ticket(
    engine: ConversationEngine,
) -> None:
    turn = talk(engine, "не приходит смс с кодом", "!fb:yes:sms_code")
    assert turn.state.recent_topic == "sms_code" and turn.state.last_topic is None
    assert ConversationState.from_dict(turn.state.to_dict()).recent_topic == "sms_code"
