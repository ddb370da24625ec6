import io
import json
import sys
from pathlib import Path

import pytest

from bots.chat import run_chat
from bots.cli import main
from dialog.engine import ConversationEngine
from tests.conftest import BLIND_SETS, DEV_SET


def run_cli(
    args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    return code, capsys.readouterr().out


def test_classify_writes_one_json_line_per_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [{"text": "как восстановить пароль"}, {"text": "позовите оператора"}, {"text": "привет"}]
    code, out = run_cli(
        ["classify"], "\n".join(json.dumps(x, ensure_ascii=False) for x in lines), monkeypatch, capsys
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["action"] for r in rows] == ["answer", "handoff", "smalltalk"]
    assert rows[0]["topic"] == "password_recovery" and rows[1]["rule"] == "explicit_request"
    assert set(rows[0]) == {"text", "action", "topic", "candidates", "confidence", "rule"}


def test_classify_reports_malformed_lines_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(["classify"], 'not json\n{"txt": 1}\n{"text": "оператор"}\n', monkeypatch, capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert rows[0]["line"] == 1 and "error" in rows[0]
    assert rows[1]["line"] == 2
    assert rows[2]["action"] == "handoff"


@pytest.mark.skipif(not DEV_SET.exists(), reason="../shared/eval/dev.jsonl is not beside the project")
def test_quality_gate_on_the_dev_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gates = [
        "--min-topic",
        "0.90",
        "--max-confidently-wrong",
        "0.04",
        "--min-handoff-recall",
        "0.95",
        "--min-out-of-scope",
        "0.85",
        "--min-smalltalk",
        "0.90",
    ]
    code, out = run_cli(["eval", str(DEV_SET), *gates], "", monkeypatch, capsys)
    assert "topic top-1" in out
    assert code == 0, out


@pytest.mark.parametrize("labelled", BLIND_SETS, ids=lambda p: p.stem)
def test_quality_on_the_blind_sets(
    labelled: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sets written by helpers who saw only the seeds and the topic contract; nothing is tuned on them.

    The gate holds what the engine reaches today, so a change that makes it worse fails. Issue 12
    asks for handoff recall >= 97 % and small talk >= 95 % on every set; blind_b's handoff recall
    (95.7 %) and blind_a's small talk (91.7 %) are short of that, the rest of its bars are met.
    """
    gates = ["--min-topic", "0.92", "--max-confidently-wrong", "0.03", "--min-handoff-recall", "0.95"]
    gates += ["--min-handoff-precision", "0.90", "--min-out-of-scope", "0.95", "--min-smalltalk", "0.91"]
    code, out = run_cli(["eval", str(labelled), *gates], "", monkeypatch, capsys)
    assert code == 0, out


def test_eval_gate_fails_when_the_bar_is_out_of_reach(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(
        ["eval", str(BLIND_SETS[0]), "--min-topic", "100%", "--max-confidently-wrong", "0"],
        "",
        monkeypatch,
        capsys,
    )
    assert code == 1
    assert "GATE FAILED" in out


def test_eval_on_a_bad_file_says_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n', encoding="utf-8")
    code, out = run_cli(["eval", str(bad)], "", monkeypatch, capsys)
    assert code == 2 and "line 1" in out


def test_no_command_prints_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli([], "", monkeypatch, capsys)
    assert code == 0 and "chat" in out and "classify" in out


def test_bad_setting_stops_with_one_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OKNO_LOG_LEVEL", "LOUD")
    assert main(["kb", "check"]) == 2
    err = capsys.readouterr().err
    assert "OKNO_LOG_LEVEL" in err and "Traceback" not in err


def test_terminal_chat_numbers_buttons_and_follows_them(engine: ConversationEngine) -> None:
    script = iter(["2", "1", "как восстановить пароль", "1", "/quit"])
    out = io.StringIO()
    run_chat(engine, lambda _prompt: next(script), out)
    text = out.getvalue()
    assert "[1] Связь с поддержкой" in text
    assert "Раздел «Регистрация и вход»" in text  # button 2 of the menu
    assert "Помог ли ответ?" in text and "[1] Да" in text
    assert "Спасибо за оценку" in text


def test_terminal_chat_ends_cleanly_on_end_of_input(engine: ConversationEngine) -> None:
    def read(_prompt: str) -> str:
        raise EOFError

    out = io.StringIO()
    run_chat(engine, read, out)
    assert "Выберите раздел" in out.getvalue() or "Здравствуйте" in out.getvalue()


def test_terminal_chat_says_where_a_ticket_would_go(engine: ConversationEngine) -> None:
    script = iter(["позовите оператора", "Петров Пётр", "нет", "нет", "нет", "не могу подписать заявление"])

    def read(_prompt: str) -> str:
        line = next(script, None)
        if line is None:
            raise EOFError
        return line

    out = io.StringIO()
    run_chat(engine, read, out)
    text = out.getvalue()
    assert "СНИЛС" in text and "открылось бы обращение" in text and "full_name=Петров Пётр" in text
