"""Abuse: does a normal citizen still get quick answers while strangers attack, and what do they store?

`okno run` runs as its own process (helpers of `web_chat.py`), on SQLite + in-memory state and, if
asked with `--postgres` or when PostgreSQL and Redis answer at 127.0.0.1, on PostgreSQL + Redis.
Its defenses keep their defaults, except that 127.0.0.1 is a trusted proxy, so that every client
(all of them are 127.0.0.1) names its address in X-Forwarded-For: the normal citizen one of its
own, the attackers many others; and, as in `web_chat.py`, the per-message rate limits are raised
(a message flood is not one of the attacks here, and the citizen writes faster than a person).

1. Idle: one normal citizen sends M messages in sequence (a short pause between them) over its
   socket; measured is the latency from a message to the first frame of its reply.
2. Under attack, the same citizen sends its M messages again while an attacker process of its own
   (so that the attackers' work does not delay the citizen's measuring loop; niced, since real
   attackers do not take the server's CPU) runs, each kind at a
   set rate (`--spray-rate`, `--hello-rate`, `--upload-rate`; 0 is as fast as answered):
   a. sign-in spraying: concurrent POST /inbox/login (login=sprayN, password=x) from many
      addresses, each with a valid CSRF token and pre-session cookie from the login form, so that
      the tries reach the password hashing unless a budget refuses them first;
   b. hello floods: sockets from a few addresses, each saying hello as a new visitor and held
      idle for a few seconds if welcomed (refusals close with code 4429);
   c. upload floods: POST /chat/files with 1 MB bodies, with invented visitor tokens (from many
      addresses) and with a real visitor's token (from a few).
3. Storage: the database's size, and rows in conversations, messages and web_files, before and
   after the attack, against the configured budgets.

Targets: every citizen message answered; p99 under attack ≤ 2 × idle p99; no sign-in succeeds and
password checks stay within the overall budget; new conversations ≤ the new-visitor budget (5 at
once, then the hour's pace of 30) × flooding addresses (+ the upload attacker's one); no file stored
for an invented token; files stored for the real token within the visitor's daily quota. Exits 1
naming the targets missed. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import re
import secrets
import socket
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vk_e2e import free_port
from web_chat import (
    POSTGRES,
    SQLITE,
    Socket,
    Talk,
    backend,
    describe,
    open_socket,
    percentile,
    plan,
    raise_fd_limit,
    reason,
    receive,
    reporting,
    running_okno,
    talk,
)

from handoff.signin import SignInBudget

CITIZEN = "10.0.0.1"  # the normal citizen's own address
BUSY_CLOSE = 4429  # adapters.web.server: an address over its budget
RATIO_TARGET = 2.0  # p99 under attack ≤ this × idle p99
WARM_UP = 2.0  # seconds of attack before the citizen starts writing again
MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n"  # a photo by its first bytes, as the chat checks them
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
# the budgets okno runs with here: its defaults (bots/settings.py, handoff/signin.py)
NEW_PER_HOUR, NEW_AT_ONCE, SOCKETS_PER_ADDRESS = 30, 5, 20
FILES_PER_VISITOR, MB_PER_VISITOR = 20, 20
SIGNIN = SignInBudget()
TABLES = ("conversations", "messages", "web_files")


def address(kind: int, n: int) -> str:
    """The n-th attacker address of one kind (10.kind.x.y): never the citizen's."""
    return f"10.{kind}.{n // 250 % 250}.{n % 250 + 1}"


def forwarded(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


@dataclass
class Attack:
    """What the attackers sent and what they got back, by kind."""

    spray: Counter[str] = field(default_factory=Counter)  # HTTP status or failure
    hello: Counter[str] = field(default_factory=Counter)  # accepted, refused 4429 (why), other
    fake_uploads: Counter[str] = field(default_factory=Counter)
    real_uploads: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    ended: float = 0.0

    def counts(self) -> dict[str, Any]:
        kinds = {
            "spray": self.spray,
            "hello": self.hello,
            "fake": self.fake_uploads,
            "real": self.real_uploads,
        }
        return {k: dict(v) for k, v in kinds.items()} | {"seconds": self.ended - self.started}

    @classmethod
    def of(cls, counts: dict[str, Any]) -> Attack:
        spray, hello, fake, real = (Counter(counts[k]) for k in ("spray", "hello", "fake", "real"))
        return cls(spray, hello, fake, real, started=0.0, ended=float(counts["seconds"]))

    def progress(self) -> str:
        return (
            f"sign-in {self.spray.total():,} ({brief(self.spray)}); hello {self.hello.total():,} "
            f"({brief(self.hello)}); uploads with invented tokens {self.fake_uploads.total():,} "
            f"({brief(self.fake_uploads)}), with a real one {self.real_uploads.total():,} "
            f"({brief(self.real_uploads)})"
        )


@dataclass
class Storage:
    size: int  # bytes: the SQLite files, or pg_database_size
    rows: dict[str, int]
    file_bytes: int


@dataclass
class Result:
    name: str
    idle: Talk
    attacked: Talk
    attack: Attack
    before: Storage
    after: Storage
    flood_addresses: int
    sprayers: int
    misses: list[str] = field(default_factory=list)


def brief(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "none yet"


def p50_ms(stats: Talk) -> float:
    return percentile(stats.latencies, 0.5) * 1000


# The attackers


class Pace:
    """At most `rate` requests a second of one kind, shared by its workers (0: as fast as answered),
    until the attack stops."""

    def __init__(self, rate: float, stop: asyncio.Event) -> None:
        self.interval, self.stop, self.at = 1 / rate if rate > 0 else 0.0, stop, 0.0

    async def go(self) -> bool:
        if self.interval:
            now = time.monotonic()
            self.at = max(self.at + self.interval, now)
            await asyncio.sleep(self.at - now)
        return not self.stop.is_set()


async def login_form(session: aiohttp.ClientSession, url: str, ip: str) -> tuple[str, str]:
    """The pre-session cookie and the CSRF token of the sign-in form, as a browser would get them."""
    async with session.get(f"{url}/inbox/login", headers=forwarded(ip)) as response:
        page = await response.text()
        cookie = response.cookies.get("okno_login")
    found = CSRF_FIELD.search(page)
    if response.status != 200 or cookie is None or found is None:
        raise ConnectionError(f"no sign-in form with a CSRF token (HTTP {response.status})")
    return cookie.value, found.group(1)


async def spray(
    session: aiohttp.ClientSession, url: str, worker: int, pace: Pace, seen: Counter[str]
) -> None:
    """One sprayer: a fresh address for every try (10.1.x.y), logins spray0, spray1, …"""
    n = worker
    try:
        nonce, csrf = await login_form(session, url, address(1, worker))
    except (aiohttp.ClientError, OSError) as exc:
        seen[reason(exc)] += 1
        return
    while await pace.go():
        ip = address(1, n)
        form = {"login": f"spray{n}", "password": "x", "csrf": csrf}
        headers = forwarded(ip) | {"Cookie": f"okno_login={nonce}"}
        try:
            async with session.post(
                f"{url}/inbox/login", data=form, headers=headers, allow_redirects=False
            ) as r:
                await r.read()
                seen[str(r.status)] += 1
        except (aiohttp.ClientError, OSError) as exc:
            seen[reason(exc)] += 1
        n += 1000


async def hello(
    session: aiohttp.ClientSession, ws_url: str, ip: str, hold: float, seen: Counter[str]
) -> None:
    """One socket from `ip` saying hello as a new visitor; held idle for `hold` seconds if welcomed."""
    try:
        async with asyncio.timeout(30):
            ws = await session.ws_connect(ws_url, headers=forwarded(ip), autoping=True)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        seen[f"failed: {reason(exc)}"] += 1
        return
    try:
        await ws.send_json({"type": "hello", "visitor": None})
        while True:
            message = await ws.receive(timeout=30)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                why = f"refused 4429 ({message.extra or 'no reason'})" if ws.close_code == BUSY_CLOSE else ""
                seen[why or f"closed {ws.close_code}"] += 1
                return
            if message.type == aiohttp.WSMsgType.TEXT and json.loads(message.data).get("type") == "welcome":
                seen["accepted"] += 1
                with contextlib.suppress(TimeoutError):  # idle: only the server's pings come
                    async with asyncio.timeout(hold):
                        async for _ in ws:
                            pass
                return
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        seen[f"failed: {reason(exc)}"] += 1
    finally:
        await ws.close()


async def visitor(session: aiohttp.ClientSession, ws_url: str, ip: str) -> tuple[Socket, str]:
    """A real chat from `ip`: its socket, greeted, and its visitor token."""
    ws = await session.ws_connect(ws_url, headers=forwarded(ip))
    await ws.send_json({"type": "hello", "visitor": None})
    token = ""
    while True:
        frame = await receive(ws, 30)
        if frame is None or frame.get("type") == "error":
            await ws.close()
            raise ConnectionError(f"the upload attacker's chat did not open: {frame}")
        if token and frame.get("type") == "message":  # greeted: its conversation is stored
            return ws, token
        token = token or str(frame.get("visitor") or "") if frame.get("type") == "welcome" else token


async def flood(
    session: aiohttp.ClientSession,
    ws_url: str,
    addresses: int,
    at_once: int,
    hold: float,
    pace: Pace,
    seen: Counter[str],
) -> None:
    """`at_once` sockets from each of `addresses` addresses (10.2.0.x), again and again."""

    async def one(ip: str) -> None:
        while await pace.go():
            await hello(session, ws_url, ip, hold, seen)

    await asyncio.gather(*(one(address(2, a)) for a in range(addresses) for _ in range(at_once)))


async def upload(
    session: aiohttp.ClientSession, url: str, token: str, ip: str, body: bytes, seen: Counter[str]
) -> None:
    form = aiohttp.FormData()
    form.add_field("file", body, filename="photo.png", content_type="image/png")
    headers = forwarded(ip) | {"X-Okno-Visitor": token}
    try:
        async with session.post(f"{url}/chat/files", data=form, headers=headers) as response:
            await response.read()
            seen[str(response.status)] += 1
    except (aiohttp.ClientError, OSError) as exc:
        seen[f"failed: {reason(exc)}"] += 1


async def uploads(
    session: aiohttp.ClientSession,
    url: str,
    token: str | None,
    workers: int,
    pace: Pace,
    seen: Counter[str],
) -> None:
    """1 MB photos, as fast as answered: with invented tokens from 10.3.x.y, or with `token` from
    a few addresses (10.4.0.x)."""
    body = PNG + secrets.token_bytes(MB - len(PNG))

    async def one(worker: int) -> None:
        n = worker
        while await pace.go():
            if token is None:
                await upload(session, url, secrets.token_urlsafe(24), address(3, n), body, seen)
            else:
                await upload(session, url, token, address(4, n % 4), body, seen)
            n += workers

    await asyncio.gather(*(one(w) for w in range(workers)))


# The normal citizen


async def citizen(ws: Socket, stats: Talk, pause: float) -> Talk:
    """The normal citizen's messages in sequence, each after the previous one's replies."""
    texts, want = plan(1, stats.planned)[0]
    stats.started = time.monotonic()
    await talk(ws, texts, want, stats, pause)
    return stats


def talk_of(messages: int) -> Talk:
    """What the citizen's `messages` will be measured into, with the replies the engine will give."""
    _, want = plan(1, messages)[0]
    return Talk(1, messages, sum(want))


async def attackers(url: str, args: argparse.Namespace) -> None:
    """The attacker process (`--attacker URL`): every attack at once until its stdin closes, then
    what they sent and got, as JSON on stdout. A process of its own, so that the attackers' work
    does not delay the citizen's measuring loop."""
    ws_url = url.replace("http://", "ws://") + "/chat/ws"
    attack, stop = Attack(), asyncio.Event()
    jar = aiohttp.DummyCookieJar()  # cookies are sent by hand, per attacker
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=jar) as session:
        victim, real_token = await visitor(session, ws_url, address(4, 0))  # the upload attacker's own chat
        jobs: list[Awaitable[None]] = []
        if "spray" in args.attacks:
            pace = Pace(args.spray_rate, stop)
            jobs += [spray(session, url, w, pace, attack.spray) for w in range(args.sprayers)]
        if "hello" in args.attacks:
            pace = Pace(args.hello_rate, stop)
            flooding = flood(
                session, ws_url, args.flood_addresses, args.flood_sockets, args.hold, pace, attack.hello
            )
            jobs.append(flooding)
        if "upload" in args.attacks:
            fake, real = Pace(args.upload_rate, stop), Pace(args.upload_rate, stop)
            jobs.append(uploads(session, url, None, args.uploaders, fake, attack.fake_uploads))
            jobs.append(uploads(session, url, real_token, args.uploaders, real, attack.real_uploads))
        tasks = [asyncio.ensure_future(job) for job in jobs]
        attack.started = time.monotonic()
        try:
            async with reporting(attack.progress):
                await asyncio.to_thread(sys.stdin.read)  # until the citizen is done
        finally:
            attack.ended = time.monotonic()
            stop.set()
            _, pending = await asyncio.wait(tasks, timeout=args.hold + 35)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await victim.close()
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise SystemExit(f"an attacker failed: {task.exception()!r}")
    print(json.dumps(attack.counts()))


async def under_attack(url: str, ws: Socket, args: argparse.Namespace) -> tuple[Talk, Attack]:
    """The citizen's messages again while the attacker process runs; it stops when the citizen is done."""
    command = [sys.executable, __file__, *sys.argv[1:], "--attacker", url]
    pipe = asyncio.subprocess.PIPE
    # niced: on a real deployment the attackers' CPU is not the server's, and here they share two
    # cores; the rates they reach are in the table
    niced = functools.partial(os.nice, 10)
    child = await asyncio.create_subprocess_exec(*command, stdin=pipe, stdout=pipe, preexec_fn=niced)
    assert child.stdin is not None
    stats = talk_of(args.messages)
    try:
        await asyncio.sleep(WARM_UP)
        async with reporting(lambda: f"citizen answered {stats.answered}/{stats.planned}"):
            await asyncio.wait_for(citizen(ws, stats, args.pause), args.timeout)
    finally:
        child.stdin.close()
        out, _ = await asyncio.wait_for(child.communicate(), args.hold + 60)
    if child.returncode != 0:
        raise SystemExit(f"the attacker process exited with code {child.returncode}")
    return stats, Attack.of(json.loads(out))


# Storage


async def storage(extra: dict[str, str]) -> Storage:
    """The database's size and its rows in TABLES, and the bytes of the web chat's files."""
    url = extra["OKNO_DATABASE_URL"]
    counts = ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES)
    query = f"SELECT {counts}, (SELECT coalesce(sum(size), 0) FROM web_files)"
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        with contextlib.closing(sqlite3.connect(path)) as db:
            *rows, file_bytes = db.execute(query).fetchone()
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        return Storage(size, dict(zip(TABLES, rows, strict=True)), file_bytes)
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415 - only this backend needs it

    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        row = await connection.fetchrow(f"{query}, pg_database_size(current_database())")
    finally:
        await connection.close()
    *rows, file_bytes, size = list(row)
    return Storage(size, dict(zip(TABLES, rows, strict=True)), file_bytes)


# One backend


async def run_backend(name: str, args: argparse.Namespace) -> Result:
    print(f"{name}: idle, then under attack", file=sys.stderr, flush=True)
    overrides = {
        "OKNO_WEB_INBOX": "true",
        "OKNO_WEB_TRUSTED_PROXIES": "127.0.0.1",  # clients name their addresses in X-Forwarded-For
        "OKNO_WEB_SECRET": secrets.token_urlsafe(32),
        # the per-address budgets under attack are the defaults (web_chat's benchmarks raise them)
        "OKNO_WEB_CHAT_NEW_PER_HOUR": str(NEW_PER_HOUR),
        "OKNO_WEB_CHAT_NEW_AT_ONCE": str(NEW_AT_ONCE),
        "OKNO_WEB_CHAT_SOCKETS_PER_ADDRESS": str(SOCKETS_PER_ADDRESS),
    }
    async with backend(name) as extra:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        async with running_okno(extra, port, overrides):
            async with aiohttp.ClientSession(headers=forwarded(CITIZEN)) as own:
                ws = await open_socket(own, f"ws://127.0.0.1:{port}/chat/ws")
                idle = await citizen(ws, talk_of(args.messages), args.pause)
                print(f"  idle: {idle.line(name, args.messages)}", file=sys.stderr, flush=True)
                before = await storage(extra)
                attacked, attack = await under_attack(url, ws, args)
                await ws.close()
            await asyncio.sleep(1.0)  # the last updates handled
            after = await storage(extra)
    result = Result(name, idle, attacked, attack, before, after, args.flood_addresses, args.sprayers)
    result.misses = misses(result)
    return result


def misses(r: Result) -> list[str]:
    """The targets this backend missed, each said in a line."""
    found = []
    idle_p99, attacked_p99 = r.idle.p99_ms(), r.attacked.p99_ms()
    for phase, stats in (("idle", r.idle), ("under attack", r.attacked)):
        if stats.answered != stats.planned or stats.errors:
            found.append(f"{r.name}: {phase}: {', '.join(stats.verdicts())}")
    if attacked_p99 > RATIO_TARGET * idle_p99:
        found.append(
            f"{r.name}: p99 under attack {attacked_p99:.0f} ms > {RATIO_TARGET:g} × idle {idle_p99:.0f} ms"
        )
    signed_in = r.attack.spray["303"] + r.attack.spray["200"]
    if signed_in:
        found.append(f"{r.name}: {signed_in:,} sprayed sign-ins SUCCEEDED")
    seconds = r.attack.ended - r.attack.started
    # 401: a password checked (a login nobody has takes a check's time and place, without hashing);
    # the tries in flight when the attack stopped may be answered after its last second
    checked, in_flight = r.attack.spray["401"], r.sprayers
    allowed = SIGNIN.overall_per_second * seconds + SIGNIN.overall_burst + in_flight
    if checked > allowed:
        found.append(f"{r.name}: {checked:,} passwords checked, over the budget's {allowed:,.0f}")
    grown = {t: r.after.rows[t] - r.before.rows[t] for t in TABLES}
    # an address starts NEW_AT_ONCE chats at once, then more at the hour's pace, NEW_PER_HOUR at most
    per_address = min(NEW_PER_HOUR, NEW_AT_ONCE + math.ceil(seconds * NEW_PER_HOUR / 3600))
    most = per_address * r.flood_addresses + 1
    if grown["conversations"] > most:
        found.append(f"{r.name}: {grown['conversations']:,} new conversations > {most:,}")
    stored_files = grown["web_files"]
    if stored_files > FILES_PER_VISITOR or r.after.file_bytes - r.before.file_bytes > MB_PER_VISITOR * MB:
        found.append(f"{r.name}: {stored_files:,} files stored, over one visitor's quota")
    if r.attack.fake_uploads["200"]:
        found.append(f"{r.name}: {r.attack.fake_uploads['200']:,} uploads with invented tokens ACCEPTED")
    return found


def table(results: list[Result], args: argparse.Namespace) -> list[str]:
    lines = [
        f"Normal citizen: {args.messages} messages, {args.pause:g} s apart; reply latency (first frame)",
        "| backend | idle p50 | idle p99 | attack p50 | attack p99 | p99 ratio (≤ 2) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r.attacked.p99_ms() / r.idle.p99_ms() if r.idle.p99_ms() else float("nan")
        lines.append(
            f"| {r.name} | {p50_ms(r.idle):.0f} ms | {r.idle.p99_ms():.0f} ms | {p50_ms(r.attacked):.0f} ms "
            f"| {r.attacked.p99_ms():.0f} ms | {ratio:.2f} |"
        )
    lines += [
        "",
        "Attacks (answers by HTTP status; sockets: accepted or closed with 4429 and why)",
        "| backend | seconds | sign-in sprays | hello floods | uploads, fake token | uploads, real token |",
        "|---|---:|---|---|---|---|",
    ]
    for r in results:
        a = r.attack
        lines.append(
            f"| {r.name} | {a.ended - a.started:.0f} | {a.spray.total():,}: {describe(a.spray)} "
            f"| {a.hello.total():,}: {describe(a.hello)} "
            f"| {a.fake_uploads.total():,}: {describe(a.fake_uploads)} "
            f"| {a.real_uploads.total():,}: {describe(a.real_uploads)} |"
        )
    lines += [
        "",
        "Storage during the attack (quotas: new chats ≤ "
        f"{NEW_AT_ONCE} per address at once, {NEW_PER_HOUR} an hour, × {args.flood_addresses} flooding "
        "addresses + 1; files ≤ "
        f"{FILES_PER_VISITOR} and {MB_PER_VISITOR} MB per visitor a day)",
        "| backend | database size | conversations | messages | web files | file bytes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b, after = r.before, r.after
        grown = {t: after.rows[t] - b.rows[t] for t in TABLES}
        lines.append(
            f"| {r.name} | {b.size / MB:.1f} → {after.size / MB:.1f} MB | +{grown['conversations']:,} "
            f"| +{grown['messages']:,} | +{grown['web_files']:,} "
            f"| +{(after.file_bytes - b.file_bytes) / MB:.1f} MB |"
        )
    return lines


def reachable(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 100, so that the p99 is not simply the slowest of a few
    parser.add_argument("--messages", type=int, default=100, help="messages the normal citizen sends")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between the citizen's messages")
    parser.add_argument("--sprayers", type=int, default=20, help="concurrent sign-in sprayers")
    parser.add_argument("--flood-addresses", type=int, default=4, help="addresses the hello flood comes from")
    parser.add_argument(
        "--flood-sockets", type=int, default=50, help="sockets each flooding address opens at once"
    )
    parser.add_argument("--hold", type=float, default=3.0, help="seconds a welcomed flood socket stays idle")
    parser.add_argument("--uploaders", type=int, default=2, help="concurrent uploads of each kind")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the citizen may take at most")
    parser.add_argument(
        "--backend",
        choices=[SQLITE, POSTGRES],
        action="append",
        help="default: SQLite, and PostgreSQL + Redis if they answer at 127.0.0.1",
    )
    parser.add_argument("--spray-rate", type=float, default=200, help="sign-in tries a second (0: unbounded)")
    parser.add_argument("--hello-rate", type=float, default=100, help="flood sockets a second (0: unbounded)")
    parser.add_argument(
        "--upload-rate", type=float, default=10, help="uploads a second of each kind (0: unbounded)"
    )
    parser.add_argument(
        "--attacks", default="spray,hello,upload", help="which attacks run together (comma-separated)"
    )
    parser.add_argument("--attacker", metavar="URL", help=argparse.SUPPRESS)  # the attacker process
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis too, reachable or not")
    args = parser.parse_args()
    raise_fd_limit()
    if args.attacker:
        await attackers(args.attacker, args)
        return 0
    names = args.backend or [SQLITE]
    if not args.backend and (args.postgres or (reachable(5432) and reachable(6379))):
        names.append(POSTGRES)
    results = []
    for name in names:
        results.append(await run_backend(name, args))
    for line in table(results, args):
        print(line)
    missed = [m for r in results for m in r.misses]
    for line in missed:
        print(f"MISSED: {line}")
    print("targets " + ("met" if not missed else "NOT met"))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
