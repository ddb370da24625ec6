"""What a sign-in costs and who may try one: the bounded pool that checks passwords off the event
loop, and the budgets kept in the state store (shared by every process) that refuse a try before
any hashing.

Budgets, checked in this order (refused tries cost no hashing and take nothing from the later ones;
while the last is known to be spent, tries are refused before the others are asked):
- each address, whatever the logins it tries;
- each address on one login (five tries a minute);
- each account: after a few failures from anywhere, an address that has itself failed on the
  account waits a delay that doubles with every further failure, while the right password from an
  address that has not failed still signs in (one person behind a shared NAT cannot lock out
  `admin`);
- every process together: so many password checks a second, whoever asks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from handoff.accounts import check_password
from storage.state import KnownWaits, StateStore

logger = logging.getLogger("okno.handoff.signin")

Clock = Callable[[], float]
OVERALL = "login:overall"  # the bucket of every process's password checks


class PasswordPool:
    """scrypt off the event loop, at most `workers` checks at once; the rest wait their turn in
    asyncio (a request that goes away while waiting costs nothing).

    A login nobody has is answered after as long as a check takes, holding a slot as a check would,
    but without hashing: a spray of invented logins costs no CPU, and its answers cannot be told
    from a wrong password's by their time."""

    def __init__(self, workers: int, check: Callable[[str, str], bool] = check_password) -> None:
        self.workers = max(1, workers)
        self.check = check
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="okno-password")
        self._slots = asyncio.Semaphore(self.workers)
        self._typical: float | None = None  # seconds a check takes, a moving average

    async def matches(self, password: str, stored: str | None) -> bool:
        """Whether `password` is the one `stored` (an account's hash; None: there is no account)."""
        if stored is None and self._typical is not None:
            async with self._slots:
                await asyncio.sleep(self._typical)
            return False
        async with self._slots:
            loop = asyncio.get_running_loop()
            right, took = await loop.run_in_executor(self._executor, self._timed, password, stored or _NOBODY)
        self._typical = took if self._typical is None else 0.8 * self._typical + 0.2 * took
        return right and stored is not None

    def _timed(self, password: str, stored: str) -> tuple[bool, float]:
        started = time.perf_counter()
        right = self.check(password, stored)
        return right, time.perf_counter() - started

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


# checked against when no check has been timed yet: costs what an account's hash does
_NOBODY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@dataclass(frozen=True, slots=True)
class SignInBudget:
    overall_per_second: float = 5.0  # password checks of every process together (~50-80 ms of CPU each)
    overall_burst: float = 20.0
    address_per_minute: float = 30.0  # tries from one address, whatever the login
    address_burst: float = 30.0
    pair_per_minute: float = 5.0  # tries from one address on one login
    pair_burst: float = 5.0
    free_failures: int = 5  # an account's failures before its backoff starts
    backoff_first: float = 30.0  # seconds; doubles with each further failure
    backoff_most: float = 3600.0
    remembered: float = 24 * 3600.0  # how long an account's failures count


class SignInLimits:
    """The budgets of sign-in in the state store; `clock` is the wall clock (shared by processes)."""

    def __init__(
        self, states: StateStore, budget: SignInBudget | None = None, clock: Clock = time.time
    ) -> None:
        self.states = states
        self.budget = budget or SignInBudget()
        self.clock = clock
        self.known = KnownWaits(clock)  # the overall budget, while spent: refused without a round trip

    async def wait_before(self, login: str, address: str) -> float:
        """0 if this try may check a password now, else the seconds to wait (nothing is hashed)."""
        if (spent := self.known.left(OVERALL)) > 0:
            return spent
        budget, take = self.budget, self.states.take_token
        wait = await take(f"login:address:{address}", budget.address_per_minute / 60, budget.address_burst)
        if wait <= 0:
            wait = await take(f"login:{address}:{login}", budget.pair_per_minute / 60, budget.pair_burst)
        if wait <= 0:
            wait = await self._backoff(login, address)
        if wait <= 0:
            wait = await take(OVERALL, budget.overall_per_second, budget.overall_burst)
            if wait > 0:
                logger.warning(
                    "the sign-in budget of the whole inbox is spent: tries are refused for %.1f s", wait
                )
                self.known.spent(OVERALL, wait)
        return wait

    async def _backoff(self, login: str, address: str) -> float:
        failures = await self.states.load(_failures(login))
        if failures is None or not await self.states.load(_failed_from(login, address)):
            return 0.0  # an address that has not failed on this account is never held up by it
        return max(0.0, float(failures.get("until", 0)) - self.clock())

    async def failed(self, login: str, address: str) -> bool:
        """Count a wrong password; True if it came while the account was already under backoff."""
        budget = self.budget
        known = await self.states.load(_failures(login)) or {}
        count = int(known.get("count", 0)) + 1
        now, until = self.clock(), float(known.get("until", 0))
        if count >= budget.free_failures:
            delay = budget.backoff_first * 2 ** (count - budget.free_failures)
            until = now + min(delay, budget.backoff_most)
        await self.states.save(_failures(login), {"count": count, "until": until}, ttl=budget.remembered)
        await self.states.save(_failed_from(login, address), {"at": now}, ttl=budget.remembered)
        return count > budget.free_failures

    async def backoff_until(self, login: str) -> float:
        """When the account's backoff ends (0 if it has none): for tests and logs."""
        return float((await self.states.load(_failures(login)) or {}).get("until", 0))


def _failures(login: str) -> str:
    return f"inbox:login-failures:{login}"


def _failed_from(login: str, address: str) -> str:
    return f"inbox:login-failed:{login}:{address}"
