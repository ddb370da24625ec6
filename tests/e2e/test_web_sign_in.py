"""Signing in to the web inbox under attack: password checks off the event loop within budgets,
backoff that does not lock the owner out, sessions that end with a new password, and a sign-in
form that another site cannot post."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from bots.operators_cli import _set
from dialog.engine import ConversationEngine
from handoff.accounts import check_password, hash_password
from handoff.signin import SignInBudget, SignInLimits
from handoff.web_guard import LOGIN_FAILED, LOGIN_FORGED, LOGIN_THROTTLED, InboxGuard
from storage.state import MemoryStore
from tests.e2e.web_helpers import Site, add_accounts, login_token, post_login, serving, sign_in
from tests.waiting import CEILING, until

PASSWORD = "верный-пароль-42"
NEW_PASSWORD = "новый-пароль-2027"


@pytest.fixture
async def site(tmp_path: Path, engine: ConversationEngine) -> AsyncIterator[Site]:
    # the tests name the client's address in X-Forwarded-For, as a trusted proxy would
    async with serving(tmp_path, engine, web_trusted_proxies=["127.0.0.1"]) as running_site:
        await add_accounts(running_site, {"anna": ("Анна Петрова", "operator")}, PASSWORD)
        await add_accounts(running_site, {"admin": ("Светлана Ким", "supervisor")}, PASSWORD)
        yield running_site


def guard_of(site: Site) -> InboxGuard:
    assert site.runtime.web.inbox is not None
    return site.runtime.web.inbox.guard


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


class HeldHasher:
    """The password check, held until released; counts the checks running at once."""

    def __init__(self) -> None:
        self.lock, self.released = threading.Lock(), threading.Event()
        self.running = self.most = self.calls = 0

    def __call__(self, password: str, stored: str) -> bool:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.released.wait(CEILING)
            return check_password(password, stored)
        finally:
            with self.lock:
                self.running -= 1


# 1. Sign-in cannot freeze the server


async def test_a_spray_of_sign_ins_neither_blocks_the_server_nor_hashes_beyond_the_budget(site: Site) -> None:
    guard = guard_of(site)
    hasher = HeldHasher()
    guard.passwords.check = hasher
    burst = 10  # the whole inbox's budget in this test: ten checks, next to no refill
    budget = SignInBudget(overall_per_second=0.001, overall_burst=burst, free_failures=1000)
    guard.limits = SignInLimits(guard.states, budget)
    statuses: list[int] = []
    async with browser() as http:
        token = await login_token(http, site.url)

        async def spray(n: int) -> None:  # a real account's password guessed from many addresses
            form = {"login": "anna", "password": f"x{n}", "csrf": token}
            statuses.append((await post_login(http, site.url, form, from_address(f"10.0.{n}.1")))[0])

        tasks = [asyncio.create_task(spray(n)) for n in range(100)]
        try:
            workers = guard.passwords.workers
            await until(lambda: hasher.running == workers, "the pool busy with held checks")
            # beyond the budget: refused at once, while every check in the pool is still held
            await until(lambda: statuses.count(429) == 100 - burst, "the tries beyond the budget refused")
            async with http.get(f"{site.url}/healthz") as response:  # the event loop is free
                assert response.status == 200
            assert hasher.calls == workers  # the rest of the budget waits for a free worker
        finally:
            hasher.released.set()
        await asyncio.gather(*tasks)
    assert sorted(statuses) == [401] * burst + [429] * (100 - burst)
    assert hasher.calls == burst and hasher.most <= guard.passwords.workers


async def test_invented_logins_are_answered_as_a_wrong_password_without_hashing(site: Site) -> None:
    """A spray of logins nobody has costs no CPU: once one check has been timed, such a try waits as
    long as a check takes, holding a place in the pool, and gets the wrong password's answer."""
    guard = guard_of(site)
    calls: list[str] = []

    def counted(password: str, stored: str) -> bool:
        calls.append(password)
        return check_password(password, stored)

    guard.passwords.check = counted
    async with browser() as http:
        token = await login_token(http, site.url)
        wrong = await post_login(http, site.url, {"login": "anna", "password": "x", "csrf": token})
        answers = [
            await post_login(
                http,
                site.url,
                {"login": f"spray{n}", "password": "x", "csrf": token},
                from_address(f"10.1.{n}.1"),
            )
            for n in range(8)
        ]
    assert calls == ["x"]  # anna's wrong password only
    assert {status for status, _ in answers} == {wrong[0]} == {401}
    assert all(LOGIN_FAILED in page for _, page in answers)


async def test_one_address_trying_many_logins_runs_out_of_its_own_budget(site: Site) -> None:
    guard = guard_of(site)
    guard.limits = SignInLimits(guard.states, SignInBudget(address_per_minute=0.01, address_burst=3))
    async with browser() as http:
        token = await login_token(http, site.url)
        results = [
            await post_login(http, site.url, {"login": f"user{n}", "password": "x", "csrf": token})
            for n in range(4)
        ]
        assert [status for status, _ in results] == [401, 401, 401, 429]
        assert LOGIN_THROTTLED in results[-1][1]
        status, _ = await sign_in(http, site.url, "anna", PASSWORD, from_address("10.9.9.9"))
        assert status == 200  # another address is not held up


# 2. Backoff per account and per address, without locking the owner out


async def test_failures_from_one_address_do_not_lock_the_owner_out_from_another(site: Site) -> None:
    async with browser() as attacker:
        for _ in range(5):
            status, page = await sign_in(attacker, site.url, "admin", "подбираю", from_address("203.0.113.5"))
            assert status == 401 and LOGIN_FAILED in page
        status, page = await sign_in(attacker, site.url, "admin", PASSWORD, from_address("203.0.113.5"))
        assert status == 429 and LOGIN_THROTTLED in page  # that address is held up, even the right one
        status, _ = await sign_in(attacker, site.url, "admin", "ещё раз", from_address("198.51.100.7"))
        assert status == 429  # a wrong password on an account under backoff, from anywhere
    async with browser() as owner:
        status, page = await sign_in(owner, site.url, "admin", PASSWORD, from_address("192.0.2.10"))
        assert status == 200 and "Обращения" in page  # the owner, from their own address


async def test_an_accounts_backoff_grows_with_each_failure_and_spares_fresh_addresses() -> None:
    now = [1_000_000.0]
    states = MemoryStore(clock=lambda: now[0])
    limits = SignInLimits(states, clock=lambda: now[0])
    for _ in range(5):
        assert await limits.wait_before("admin", "10.0.0.1") == 0
        await limits.failed("admin", "10.0.0.1")
    delays = [await limits.backoff_until("admin") - now[0]]
    for n in range(3):  # a wrong password from each fresh address is checked, and doubles the delay
        assert await limits.wait_before("admin", f"10.0.1.{n}") == 0
        assert await limits.failed("admin", f"10.0.1.{n}")  # under backoff: answered as throttled
        delays.append(await limits.backoff_until("admin") - now[0])
    assert delays == [30.0, 60.0, 120.0, 240.0]
    now[0] += 120  # the address's own budget has refilled; the account's backoff has not run out
    assert await limits.wait_before("admin", "10.0.0.1") == pytest.approx(120.0)
    assert await limits.wait_before("boris", "10.0.0.1") == 0  # another account is not held up
    assert await limits.wait_before("admin", "10.0.2.1") == 0  # nor a fresh address on this one
    now[0] += 121
    assert await limits.wait_before("admin", "10.0.0.1") == 0


async def test_while_the_overall_budget_is_spent_tries_are_refused_without_asking_the_store() -> None:
    """A spray at the whole inbox's limit costs a round trip to Redis only once per refill."""
    now = [1_000_000.0]
    states = MemoryStore(clock=lambda: now[0])
    asked: list[str] = []
    take_token = states.take_token

    async def counted(bucket: str, rate: float, capacity: float) -> float:
        asked.append(bucket)
        return await take_token(bucket, rate, capacity)

    states.take_token = counted  # type: ignore[method-assign]
    limits = SignInLimits(states, SignInBudget(overall_per_second=0.5, overall_burst=2), clock=lambda: now[0])
    assert [await limits.wait_before("anna", f"10.0.0.{n}") for n in range(2)] == [0, 0]
    assert await limits.wait_before("anna", "10.0.0.3") == pytest.approx(2.0)
    asked.clear()
    waits = [await limits.wait_before(f"spray{n}", f"10.0.1.{n}") for n in range(50)]
    assert all(w == pytest.approx(2.0) for w in waits) and asked == []
    now[0] += 2.0  # refilled: the next try is asked about again, and let through
    assert await limits.wait_before("anna", "10.0.0.9") == 0 and "login:overall" in asked


# 3. Sessions end with a new password, and on disabling (enabling does not revive them)


async def test_a_new_password_ends_the_sessions_of_before(site: Site) -> None:
    store = site.runtime.web_store
    assert store is not None
    async with browser() as laptop:
        assert (await sign_in(laptop, site.url, "anna", PASSWORD))[0] == 200
        assert await _set(store, "anna", password_hash=hash_password(NEW_PASSWORD)) == 0
        async with laptop.get(f"{site.url}/inbox", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/inbox/login")
        assert (await sign_in(laptop, site.url, "anna", NEW_PASSWORD))[0] == 200
        async with laptop.get(f"{site.url}/inbox", allow_redirects=False) as response:
            assert response.status == 200


async def test_disabling_and_enabling_an_account_does_not_revive_its_old_cookies(site: Site) -> None:
    store = site.runtime.web_store
    assert store is not None
    async with browser() as laptop:
        assert (await sign_in(laptop, site.url, "anna", PASSWORD))[0] == 200
        stolen = laptop.cookie_jar.filter_cookies(URL(site.url))["okno_session"].value
        assert await _set(store, "anna", disabled=True) == 0
        assert await _set(store, "anna", disabled=False) == 0
        async with (
            aiohttp.ClientSession(cookies={"okno_session": stolen}) as thief,
            thief.get(f"{site.url}/inbox", allow_redirects=False) as response,
        ):
            assert response.status == 303
        assert (await sign_in(laptop, site.url, "anna", PASSWORD))[0] == 200  # signing in again works


# 4. The sign-in form cannot be posted from another site


async def test_a_sign_in_without_the_forms_token_or_from_another_site_is_refused(site: Site) -> None:
    plain = {"login": "anna", "password": PASSWORD}
    async with browser() as http, browser() as other:
        status, page = await post_login(http, site.url, plain)
        assert status == 403 and LOGIN_FORGED in page
        token = await login_token(http, site.url)
        theirs = await login_token(other, site.url)  # a token of another browser's form
        status, _ = await post_login(http, site.url, plain | {"csrf": theirs})
        assert status == 403
        evil = {"Origin": "https://evil.example"}
        status, page = await post_login(http, site.url, plain | {"csrf": token}, evil)
        assert status == 403 and LOGIN_FORGED in page
        async with http.get(f"{site.url}/inbox", allow_redirects=False) as response:
            assert response.status == 303  # none of them signed in
        own = {"Origin": site.url}
        status, _ = await post_login(http, site.url, plain | {"csrf": token}, own)
        assert status == 303  # the inbox's own page, as a browser posts it
    async with browser() as http:  # behind a proxy that names the inbox in X-Forwarded-Host
        token = await login_token(http, site.url)
        proxied = {"Origin": "https://okno.example.gov", "X-Forwarded-Host": "okno.example.gov"}
        status, _ = await post_login(http, site.url, plain | {"csrf": token}, proxied)
        assert status == 303
