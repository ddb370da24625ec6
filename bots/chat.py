"""`okno chat`: talk to the engine in a terminal; buttons are chosen by number."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from dialog.engine import ConversationEngine
from dialog.messages import Button, Effect, InboundMessage, OpenTicket, RelayToTicket, Reply, TicketKind
from dialog.state import ConversationState

QUIT = {"/quit", "/exit", "выход"}
INTRO = "Okno — чат с ботом в терминале. Кнопки выбираются номером, выход: /quit или Ctrl+D.\n"


def render(replies: tuple[Reply, ...]) -> tuple[str, list[Button]]:
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        lines.append("бот> " + reply.text.replace("\n", "\n     "))
        for button in reply.buttons:
            buttons.append(button)
            lines.append(f"     [{len(buttons)}] {button.label}")
    return "\n".join(lines) + "\n", buttons


def run_chat(engine: ConversationEngine, read: Callable[[str], str], out: TextIO) -> None:
    """Run until end of input or /quit; `read` is `input` in a terminal."""
    out.write(INTRO)
    state = ConversationState()
    buttons: list[Button] = []
    pending: InboundMessage | None = InboundMessage("cli", "local", "local", text="/start")
    while True:
        if pending is None:
            try:
                line = read("вы> ")
            except EOFError:
                out.write("\n")
                return
            if line.strip() in QUIT:
                return
            pending = _message(line, buttons)
        turn = engine.handle(pending, state)
        state = turn.state
        text, buttons = render(turn.replies)
        out.write(text + "".join(_effect_line(effect) for effect in turn.effects))
        out.flush()
        pending = None


def _effect_line(effect: Effect) -> str:
    """The terminal has no operators: say what would have happened with them."""
    if isinstance(effect, OpenTicket):
        data = ", ".join(f"{k}={v}" for k, v in effect.identification) or "без данных"
        if effect.category_title:
            data += f", направление «{effect.category_title}»"
        if effect.kind is TicketKind.CALLBACK:
            data += f", обратный звонок, удобное время: {effect.callback_time or 'любое'}"
        return (
            f"     (здесь открылось бы обращение к оператору: правило {effect.rule}, уровень {effect.level}, "
            f"{data}; операторы работают в Telegram-группе, см. OKNO_DESK_CHAT_IDS)\n"
        )
    if isinstance(effect, RelayToTicket):
        return "     (сообщение ушло бы оператору)\n"
    return "     (обращений в терминале нет)\n"


def _message(line: str, buttons: list[Button]) -> InboundMessage:
    choice = line.strip()
    if choice.isdigit() and 1 <= int(choice) <= len(buttons):
        return InboundMessage("cli", "local", "local", payload=buttons[int(choice) - 1].id)
    return InboundMessage("cli", "local", "local", text=line)
