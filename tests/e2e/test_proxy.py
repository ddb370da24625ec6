"""The compose deployment's proxy (deploy/nginx.conf), run by a real nginx in front of two `okno run`
replicas on one PostgreSQL and Redis: citizens' chat sockets (with a browser's Origin) pass through
it and are answered, spread over both replicas, and go on being served when one replica is gone.

Only the addresses are changed for the test: the replicas' ports stand for Docker's name `okno`."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database, pg_url
from tests.e2e.conftest import free_port
from tests.waiting import CEILING, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).parents[2]
OKNO = ROOT / ".venv" / "bin" / "okno"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DISPATCH = re.compile(r"set \$okno okno:8080;\s*proxy_pass http://\$okno;")


def proxy_config(deployed: str, port: int, replicas: list[int], prefix: Path) -> str:
    """deploy/nginx.conf with this test's addresses: its own port, and the replicas for `okno`."""
    assert DISPATCH.search(deployed) and "listen 8080;" in deployed, "deploy/nginx.conf changed shape"
    servers = "".join(f"server 127.0.0.1:{replica}; " for replica in replicas)
    config = DISPATCH.sub("proxy_pass http://okno;", deployed)
    config = re.sub(r"resolver [^;]*;", f"upstream okno {{ {servers}}}", config)
    config = config.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    top = f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
    # which replica each request went to, for the test to see the spread
    log = (
        f"log_format upstreams '$request_uri $upstream_addr';\n    access_log {prefix}/access.log upstreams;"
    )
    return top + config.replace("http {", f"http {{\n    {log}", 1)


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[list[asyncio.subprocess.Process], list[int]]]:
    name = await create_pg_database()
    ports = [free_port(), free_port()]
    env = {
        "PATH": "/usr/bin:/bin",
        "OKNO_DATABASE_URL": pg_url(name),
        "OKNO_REDIS_URL": REDIS_URL,
        "OKNO_REDIS_PREFIX": f"okno-proxy-{uuid.uuid4().hex[:8]}:",
        "OKNO_WEB_TRUSTED_PROXIES": "127.0.0.1",
        "OKNO_LOG_LEVEL": "WARNING",
    }
    processes = []
    try:
        for port in ports:
            with (tmp_path / f"okno-{port}.log").open("ab") as log:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        str(OKNO),
                        "run",
                        env=env | {"OKNO_WEB_PORT": str(port)},
                        cwd=tmp_path,
                        stdout=log,
                        stderr=log,
                    )
                )
        yield processes, ports
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
            await asyncio.wait_for(process.wait(), CEILING)
        await drop_pg_database(name)


@pytest.fixture
async def proxy(tmp_path: Path, replicas: tuple[list[Any], list[int]]) -> AsyncIterator[int]:
    if not Path(NGINX).exists():
        pytest.skip("no nginx here (apt-get install nginx; .ci/run installs it)")
    port = free_port()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    config = prefix / "nginx.conf"
    config.write_text(proxy_config((ROOT / "deploy" / "nginx.conf").read_text(), port, replicas[1], prefix))
    nginx = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(prefix), "-c", str(config), "-g", "daemon off;", stderr=asyncio.subprocess.PIPE
    )
    try:
        yield port
    finally:
        nginx.terminate()
        await asyncio.wait_for(nginx.wait(), CEILING)


async def healthy(session: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(CEILING):
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def frame_of(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(CEILING):
        while True:
            frame = await ws.receive_json()
            assert frame.get("type") != "error", frame
            if frame.get("type") == kind:
                return dict(frame)


async def converse(session: aiohttp.ClientSession, port: int, citizen: int) -> str:
    """A new citizen through the proxy, as a browser on the proxy's page: greeted, asks, is answered.
    Each comes from an address of its own, which the proxy passes on (the per-address budgets of
    new chats would refuse a crowd from one address)."""
    origin = f"http://127.0.0.1:{port}"
    address = {"X-Forwarded-For": f"198.51.100.{citizen}"}
    async with session.ws_connect(f"ws://127.0.0.1:{port}/chat/ws", origin=origin, headers=address) as ws:
        await ws.send_json({"type": "hello", "visitor": None})
        welcome = await frame_of(ws, "welcome")
        await frame_of(ws, "message")  # the greeting and menu
        await ws.send_json({"type": "message", "id": uuid.uuid4().hex, "text": "как восстановить пароль"})
        await frame_of(ws, "ack")
        answer = await frame_of(ws, "message")
        assert answer.get("text"), answer
        return str(welcome.get("visitor"))


def served_by(tmp_path: Path, port: int) -> int:
    """Chat sockets nginx passed to the replica at `port`, by its access log."""
    log = tmp_path / "nginx" / "access.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(1 for line in lines if line.startswith("/chat/ws ") and line.endswith(f":{port}"))


async def test_the_compose_proxy_spreads_chat_sockets_over_the_replicas_and_survives_one_gone(
    replicas: tuple[list[asyncio.subprocess.Process], list[int]], proxy: int, tmp_path: Path
) -> None:
    processes, ports = replicas
    async with aiohttp.ClientSession() as session:
        for port in (*ports, proxy):
            await healthy(session, f"http://127.0.0.1:{port}/healthz")
        visitors = await asyncio.gather(*(converse(session, proxy, n) for n in range(6)))
        assert len(set(visitors)) == 6
        await until(lambda: all(served_by(tmp_path, port) for port in ports), "sockets on both replicas")
        processes[0].terminate()
        await asyncio.wait_for(processes[0].wait(), CEILING)
        after = await asyncio.gather(*(converse(session, proxy, n) for n in range(10, 14)))
        assert len(set(after)) == 4
