"""On the first start the web inbox gets a supervisor, and the newcomer is told how to sign in, once."""

from __future__ import annotations

import asyncio
import re

import pytest

from bots.settings import Settings
from bots.web import first_sign_in
from handoff.accounts import check_password
from storage.db import make_engine, make_sessions
from storage.web import WebStore


async def test_the_first_start_prints_a_working_sign_in_once(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(database_url)
    store = WebStore(make_sessions(engine))
    settings = Settings(database_url=database_url, web_port=8123)
    try:
        await first_sign_in(settings, store)
        told = capsys.readouterr().err
        found = re.search(r"логин (\S+), пароль (\S+)", told)
        assert found is not None and "http://127.0.0.1:8123/inbox" in told
        account = await store.account(found.group(1))
        assert account is not None and account.role == "supervisor"
        assert check_password(found.group(2), account.password_hash)
        await first_sign_in(settings, store)  # the next start: an account exists, nothing is printed
        assert capsys.readouterr().err == "" and len(await store.accounts()) == 1
    finally:
        await engine.dispose()


async def test_processes_started_together_make_one_first_account_and_none_fails(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engines = [make_engine(database_url) for _ in range(3)]
    settings = Settings(database_url=database_url, web_port=8123)
    try:
        stores = [WebStore(make_sessions(engine)) for engine in engines]
        await asyncio.gather(*(first_sign_in(settings, store) for store in stores))
        assert len(await stores[0].accounts()) == 1
        told = re.findall(r"логин (\S+), пароль (\S+)", capsys.readouterr().err)
        account = await stores[0].account(told[0][0])
        assert len(told) == 1 and account is not None and check_password(told[0][1], account.password_hash)
    finally:
        for engine in engines:
            await engine.dispose()
