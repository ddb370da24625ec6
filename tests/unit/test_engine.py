from dialog.engine import ConversationEngine
from dialog.messages import Action, Attachment, AttachmentKind, InboundMessage
from dialog.state import ConversationState


def text(value: str) -> InboundMessage:
    return InboundMessage("test", "c1", "u1", text=value)


def press(payload: str) -> InboundMessage:
    return InboundMessage("test", "c1", "u1", payload=payload)


def test_start_shows_the_category_menu(engine: ConversationEngine) -> None:
    turn = engine.handle(text("/start"), ConversationState())
    labels = [b.label for b in turn.replies[-1].buttons]
    assert "Регистрация и вход" in labels and len(labels) == 6


def test_menu_category_topic_answer_and_feedback(engine: ConversationEngine) -> None:
    state = ConversationState()
    turn = engine.handle(press("cat:account"), state)
    ids = [b.id for b in turn.replies[0].buttons]
    assert "topic:password_recovery" in ids and ids[-1] == "menu"
    turn = engine.handle(press("topic:password_recovery"), turn.state)
    assert "парол" in turn.replies[0].text.lower()
    assert turn.replies[-1].text.endswith("Помог ли ответ?")
    assert [b.label for b in turn.replies[-1].buttons] == ["Да", "Нет"]
    done = engine.handle(press(turn.replies[-1].buttons[0].id), turn.state)
    assert "Спасибо" in done.replies[0].text
    assert done.state.last_topic is None


def test_not_helped_offers_related_topics_and_an_operator(engine: ConversationEngine) -> None:
    turn = engine.handle(text("как восстановить пароль"), ConversationState())
    assert turn.decision.topic == "password_recovery"
    turn = engine.handle(press("fb:no:password_recovery"), turn.state)
    ids = [b.id for b in turn.replies[0].buttons]
    assert "operator" in ids and any(i.startswith("topic:") for i in ids)
    again = engine.handle(press(ids[0]), turn.state)  # a related topic
    twice = engine.handle(text("нет"), again.state)
    # the second «Нет» is an escalation rule: the identification questions begin
    assert twice.decision.rule == "repeated_not_helped"
    assert "оператор" in twice.replies[0].text
    assert [b.id for b in twice.replies[0].buttons] == ["intake:skip", "intake:cancel"]


def test_operator_button_hands_off(engine: ConversationEngine) -> None:
    turn = engine.handle(press("operator"), ConversationState())
    assert turn.decision.action is Action.HANDOFF
    assert turn.state.intake is not None and turn.state.intake["rule"] == "explicit_request"
    assert "фамилию" in turn.replies[0].text


def test_two_fallbacks_in_a_row_hand_off(engine: ConversationEngine) -> None:
    first = engine.handle(text("как сварить борщ"), ConversationState())
    assert first.decision.action is Action.FALLBACK
    assert "operator" not in [b.id for b in first.replies[0].buttons]
    second = engine.handle(text("посоветуй сериал"), first.state)
    assert second.state.intake is not None and second.state.intake["rule"] == "repeated_fallback"
    assert "оператор" in second.replies[0].text


def test_an_answer_resets_the_fallback_streak(engine: ConversationEngine) -> None:
    first = engine.handle(text("как сварить борщ"), ConversationState())
    answer = engine.handle(text("как восстановить пароль"), first.state)
    assert answer.state.fallbacks == 0


def test_clarify_buttons_lead_to_answers(engine: ConversationEngine) -> None:
    state = ConversationState(offered=("call_cost", "hotline_phone"))
    turn = engine.handle(press("topic:call_cost"), state)
    assert turn.decision.topic == "call_cost"


def test_stale_and_forged_buttons_get_a_polite_menu(engine: ConversationEngine) -> None:
    for payload in ("topic:no_such_topic", "fb:yes:password_recovery", "cat:", "garbage", ""):
        turn = engine.handle(press(payload), ConversationState())
        assert "не действует" in turn.replies[0].text
        assert len(turn.replies[0].buttons) == 6


def test_a_photo_without_text_gets_told_what_the_bot_takes(engine: ConversationEngine) -> None:
    message = InboundMessage("test", "c1", "u1", attachments=(Attachment(AttachmentKind.PHOTO),))
    turn = engine.handle(message, ConversationState())
    assert "текст" in turn.replies[0].text


def test_a_sticker_is_a_reaction_answered_like_its_emoji(engine: ConversationEngine) -> None:
    def sticker(emoji: str | None) -> str:
        attachment = Attachment(AttachmentKind.STICKER, None, emoji)
        turn = engine.handle(
            InboundMessage("test", "c1", "u1", attachments=(attachment,)), ConversationState()
        )
        assert turn.decision.action is Action.SMALLTALK and not turn.effects
        return turn.replies[0].text

    assert sticker("🙏") == engine.classifier.smalltalk.by_id["thanks"].reply
    assert sticker(None) == sticker("🐈") == engine.classifier.smalltalk.by_id["acknowledgement"].reply


def test_state_round_trips_and_survives_garbage() -> None:
    state = ConversationState(last_topic="sms_code", offered=("a", "b"), fallbacks=1, turns=4)
    assert ConversationState.from_dict(state.to_dict()) == state
    assert ConversationState.from_dict({"fallbacks": "many"}) == ConversationState()
    assert ConversationState.from_dict(None) == ConversationState()


def test_every_answer_fits_a_message(engine: ConversationEngine) -> None:
    for topic in engine.knowledge.topics:
        turn = engine.handle(press(f"topic:{topic}"), ConversationState())
        assert 0 < len(turn.replies[0].text) <= 4096
        assert "{" not in turn.replies[0].text


def test_help_lists_the_commands(engine: ConversationEngine) -> None:
    turn = engine.handle(text("/help"), ConversationState())
    assert "/operator" in turn.replies[0].text and "/menu" in turn.replies[0].text
    assert len(turn.replies[0].buttons) == 6


def test_operator_command_hands_off(engine: ConversationEngine) -> None:
    turn = engine.handle(text("/operator"), ConversationState())
    assert turn.decision.action is Action.HANDOFF


def test_a_long_section_is_paged_within_ten_buttons(engine: ConversationEngine) -> None:
    seen: list[str] = []
    turn = engine.handle(press("cat:contacts"), ConversationState())
    pages = 0
    while True:
        pages += 1
        buttons = turn.replies[0].buttons
        assert len(buttons) <= 10 and buttons[-1].id == "menu"
        assert f"страница {pages} из" in turn.replies[0].text
        seen += [b.id.removeprefix("topic:") for b in buttons if b.id.startswith("topic:")]
        more = [b for b in buttons if b.label.startswith("Ещё")]
        if not more:
            break
        turn = engine.handle(press(more[0].id), turn.state)
    expected = [t.id for t in engine.knowledge.category_topics("contacts")]
    assert pages > 1 and seen == expected  # every topic once, in order
    back = [b for b in turn.replies[0].buttons if b.label.startswith("‹")]
    assert (
        back
        and engine.handle(press(back[0].id), turn.state).replies[0].buttons[0].id == f"topic:{expected[0]}"
    )


def test_a_short_section_and_a_stale_page(engine: ConversationEngine) -> None:
    turn = engine.handle(press("cat:security"), ConversationState())
    assert "страница" not in turn.replies[0].text and not any(
        b.label.startswith("Ещё") for b in turn.replies[0].buttons
    )
    beyond = engine.handle(press("cat:contacts:99"), ConversationState())  # an old keyboard: the last page
    assert "страница 2 из 2" in beyond.replies[0].text
    bogus = engine.handle(press("cat:contacts:x"), ConversationState())
    assert bogus.decision.intent == "stale_button"
