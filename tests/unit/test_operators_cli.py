"""`okno operators …`: the web inbox's accounts from the command line, on a SQLite file of its own."""

from __future__ import annotations

import asyncio
import getpass
import io
import sys
from pathlib import Path

import pytest

from bots.cli import main
from handoff.accounts import check_password
from storage.db import make_engine, make_sessions
from storage.models import OperatorAccount
from storage.web import WebStore

PASSWORD = "длинный-пароль-1"
NEW_PASSWORD = "другой-пароль-22"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database of this test only; run from an empty folder so no `.env` is read."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OKNO_DATABASE_URL", url)
    return url


class Cli:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch, self.capsys = monkeypatch, capsys

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        """Run `okno ARGS` with STDIN; the exit code, stdout and stderr."""
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["operators", *args])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def okno(database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


def account(url: str, login: str) -> OperatorAccount | None:
    async def read() -> OperatorAccount | None:
        engine = make_engine(url)
        try:
            return await WebStore(make_sessions(engine)).account(login)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_an_added_account_is_listed_with_its_role(okno: Cli, database: str) -> None:
    code, out, _ = okno(
        "add",
        "anna",
        "--name",
        "Анна Петрова",
        "--role",
        "specialist",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0 and "anna (специалист)" in out and "/inbox" in out
    assert okno("add", "boris", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0

    code, out, _ = okno("list")
    assert code == 0
    anna, boris = out.splitlines()
    assert anna.split()[0] == "anna" and "Анна Петрова" in anna and "специалист" in anna and "активен" in anna
    assert boris.split()[:2] == ["boris", "boris"] and "оператор" in boris  # name defaults to the login
    stored = account(database, "anna")
    assert stored is not None and check_password(PASSWORD, stored.password_hash)
    assert PASSWORD not in stored.password_hash


def test_a_too_short_password_adds_nothing(okno: Cli, database: str) -> None:
    code, out, err = okno("add", "anna", "--password-stdin", stdin="123456789\n")  # nine characters
    assert code == 2 and "at least 10" in err and out == ""
    assert "No accounts yet" in okno("list")[1]
    assert account(database, "anna") is None


def test_a_taken_login_is_refused_and_the_account_kept(okno: Cli, database: str) -> None:
    assert okno("add", "anna", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    code, _, err = okno("add", "anna", "--role", "supervisor", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert code == 2 and "taken" in err and "okno operators passwd anna" in err
    stored = account(database, "anna")
    assert stored is not None and stored.role == "operator" and check_password(PASSWORD, stored.password_hash)


def test_passwords_typed_twice_differently_change_nothing(okno: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    typed = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    code, _, err = okno("add", "anna")
    assert code == 2 and "differ" in err
    assert "No accounts yet" in okno("list")[1]

    typed = iter([PASSWORD, PASSWORD])  # typed the same twice: the account is there
    assert okno("add", "anna")[0] == 0
    assert okno("list")[1].startswith("anna")


def test_disable_and_enable_show_in_the_list(okno: Cli, database: str) -> None:
    okno("add", "anna", "--password-stdin", stdin=PASSWORD + "\n")
    assert okno("disable", "anna")[0] == 0
    assert "отключён" in okno("list")[1]
    stored = account(database, "anna")
    assert stored is not None and stored.disabled

    assert okno("enable", "anna")[0] == 0
    listed = okno("list")[1]
    assert "активен" in listed and "отключён" not in listed


def test_an_unknown_login_is_reported(okno: Cli) -> None:
    code, _, err = okno("disable", "ghost")
    assert code == 2 and "There is no account ghost" in err
    code, _, err = okno("passwd", "ghost", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert code == 2 and "There is no account ghost" in err


def test_passwd_sets_a_new_password(okno: Cli, database: str) -> None:
    okno("add", "anna", "--password-stdin", stdin=PASSWORD + "\n")
    before = account(database, "anna")
    assert okno("passwd", "anna", "--password-stdin", stdin="short\n")[0] == 2
    unchanged = account(database, "anna")
    assert before is not None and unchanged is not None and unchanged.password_hash == before.password_hash

    assert okno("passwd", "anna", "--password-stdin", stdin=NEW_PASSWORD + "\n")[0] == 0
    after = account(database, "anna")
    assert after is not None and check_password(NEW_PASSWORD, after.password_hash)
    assert not check_password(PASSWORD, after.password_hash)


def test_the_name_is_asked_at_the_terminal(okno: Cli, monkeypatch: pytest.MonkeyPatch, database: str) -> None:
    typed = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    terminal = io.StringIO("  Анна   Петрова \n")
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", terminal)
    assert main(["operators", "add", "anna"]) == 0
    stored = account(database, "anna")
    assert stored is not None and stored.name == "Анна Петрова"


def test_passwd_disable_and_enable_each_end_the_accounts_sessions(okno: Cli, database: str) -> None:
    """Signed sessions carry the account's generation: each of these bumps it, so the inbox refuses
    every cookie issued before (the HTTP side: tests/e2e/test_web_sign_in.py)."""
    okno("add", "anna", "--password-stdin", stdin=PASSWORD + "\n")
    generations = []
    for command in (("passwd", "anna", "--password-stdin"), ("disable", "anna"), ("enable", "anna")):
        assert okno(*command, stdin=NEW_PASSWORD + "\n")[0] == 0
        stored = account(database, "anna")
        assert stored is not None
        generations.append(stored.session_generation)
    assert generations == [1, 2, 3]
