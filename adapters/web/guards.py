"""What keeps strangers from abusing the chat: its response headers, the socket's Origin check, a cap
on the sockets one address holds open, and the budgets of new chats and files an address may start."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable

from aiohttp import web

from adapters.web.embedding import origin_allowed, parse_origin
from storage.state import StateStore

logger = logging.getLogger("okno.adapters.web.guards")

SERVER_NAME = "Okno"  # instead of aiohttp's and Python's versions


class RefusalLog:
    """Refusals logged as counts, so that a flood does not flood the log: the first of a kind at
    once, then at most one line a minute saying how many came since."""

    def __init__(
        self, to: logging.Logger, every: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.to, self.every, self.clock = to, every, clock
        self._since: dict[str, tuple[float, int]] = {}  # kind: (when last logged, refused since)

    def refused(self, kind: str) -> None:
        now = self.clock()
        logged, count = self._since.get(kind, (now - self.every, 0))
        count += 1
        if now - logged < self.every:
            self._since[kind] = (logged, count)
            return
        self._since[kind] = (now, 0)
        if count == 1:
            self.to.info("refused: %s", kind)
        else:
            self.to.info("refused: %s (%d times in the last %.0f s)", kind, count, now - logged)


async def harden(_request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, static files, redirects and errors too, is never sniffed
    into another type, and the Server header names no versions."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Server"] = SERVER_NAME


def same_origin(request: web.Request, allowed: Iterable[str]) -> bool:
    """No Origin (not a browser's cross-site request), the chat's own (the Host the request came to,
    whatever scheme a proxy in front ends), or a site allowed to embed the chat."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    # the page's scheme with the Host we were reached at: behind an HTTPS proxy Host has no port
    own = parse_origin(f"{parsed[0]}://{request.host}")
    return (own is not None and own[1:] == parsed[1:]) or origin_allowed(origin, allowed)


class OpenSockets:
    """How many chat sockets each address, and every address together, holds open in this process."""

    def __init__(self, per_address: int, in_all: int) -> None:
        self.per_address, self.in_all = per_address, in_all
        self._open: Counter[str] = Counter()
        self._total = 0

    def take(self, address: str) -> str | None:
        """None if one more may open (it is counted), else why not: "address" or "process"."""
        if self._total >= self.in_all:
            return "process"
        if self._open[address] >= self.per_address:
            return "address"
        self._open[address] += 1
        self._total += 1
        return None

    def give_back(self, address: str) -> None:
        self._total -= 1
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]


class ByteBudget:
    """Bytes an address may upload in a period, kept in the state store (shared with Redis). Checked
    and counted in two steps: uploads racing at once may overshoot by one file, never by more."""

    def __init__(self, states: StateStore, limit: int, period: float) -> None:
        self.states, self.limit, self.period = states, limit, period

    async def left(self, address: str) -> int:
        kept = await self.states.load(f"web:file-bytes:{address}") or {}
        if float(kept.get("until", 0)) <= time.time():
            return self.limit
        return self.limit - int(kept.get("bytes", 0))

    async def spend(self, address: str, size: int) -> None:
        key = f"web:file-bytes:{address}"
        kept = await self.states.load(key) or {}
        now = time.time()
        until = float(kept.get("until", 0))
        used = int(kept.get("bytes", 0)) if until > now else 0
        until = until if until > now else now + self.period
        await self.states.save(key, {"bytes": used + size, "until": until}, ttl=until - now)
