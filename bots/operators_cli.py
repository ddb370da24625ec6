"""`okno operators add / list / disable / enable / passwd`: the web inbox's accounts."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from bots.database_cli import on_database
from bots.settings import Settings
from handoff.accounts import Role, hash_password
from storage.web import AccountExists, WebStore

T = TypeVar("T")
MIN_PASSWORD = 10


def add_operators_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    operators = sub.add_parser("operators", help="accounts of the web inbox")
    commands = operators.add_subparsers(dest="operators_command", metavar="COMMAND")
    add = commands.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("login")
    add.add_argument(
        "--name",
        help="as citizens and colleagues see it (default: asked; the inbox asks at the first sign-in)",
    )
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    commands.add_parser("list", help="every account with its role and state")
    for name, text in (("disable", "stop an account signing in"), ("enable", "let it sign in again")):
        commands.add_parser(name, help=text).add_argument("login")
    passwd = commands.add_parser("passwd", help="set a new password")
    passwd.add_argument("login")
    passwd.add_argument("--password-stdin", action="store_true")


def cmd_operators(args: argparse.Namespace, settings: Settings) -> int:
    command = args.operators_command
    try:
        if command == "list":
            return _run(settings, _list)
        if command in ("disable", "enable"):
            disabled = command == "disable"  # either way the sessions of before end
            return _run(settings, lambda store: _set(store, args.login, disabled=disabled))
        password = _password(args.password_stdin)
        if password is None:
            return 2
        if command == "passwd":
            return _run(
                settings, lambda store: _set(store, args.login, password_hash=hash_password(password))
            )
        role, name = args.role, args.name or _asked_name(args.login)
        return _run(settings, lambda store: _add(store, args.login, name, role, password))
    except (OSError, SQLAlchemyError) as exc:
        sys.stderr.write(f"Cannot reach the database: {exc}\nCheck OKNO_DATABASE_URL.\n")
        return 2


def _asked_name(login: str) -> str:
    """The person's name, asked when someone is at the terminal; else the login, and the web inbox
    asks for the name at the first sign-in."""
    if not sys.stdin.isatty():
        return login
    typed = " ".join(input("Имя, которое увидят граждане (например, Анна Петрова): ").split())
    return typed or login


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Пароль: ")
        if getpass.getpass("Ещё раз: ") != password:
            sys.stderr.write("The passwords differ; nothing changed.\n")
            return None
    if len(password) < MIN_PASSWORD:
        sys.stderr.write(f"The password is too short: at least {MIN_PASSWORD} characters.\n")
        return None
    return password


def _run(settings: Settings, action: Callable[[WebStore], Awaitable[int]]) -> int:
    return on_database(settings, WebStore, action)


async def _add(store: WebStore, login: str, name: str, role: str, password: str) -> int:
    try:
        await store.add_account(login, name, role, hash_password(password))
    except AccountExists:
        sys.stderr.write(
            f"The login {login} is taken; `okno operators passwd {login}` sets a new password.\n"
        )
        return 2
    sys.stdout.write(f"Added {login} ({Role(role).label}). They sign in at /inbox.\n")
    return 0


async def _list(store: WebStore) -> int:
    accounts = await store.accounts()
    if not accounts:
        sys.stdout.write("No accounts yet: okno operators add LOGIN --role operator\n")
    for account in accounts:
        state = "отключён" if account.disabled else "активен"
        sys.stdout.write(f"{account.login:<20} {account.name:<28} {Role(account.role).label:<12} {state}\n")
    return 0


async def _set(store: WebStore, login: str, **values: object) -> int:
    """Disable, enable or set a new password; the account's sessions issued so far end either way."""
    if not await store.set_account(login, end_sessions=True, **values):
        sys.stderr.write(f"There is no account {login}; `okno operators list` shows them.\n")
        return 2
    sys.stdout.write(f"{login}: done.\n")
    return 0
