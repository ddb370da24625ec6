"""Recordings for the voice tests, and the players the web inbox shows for them."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

from adapters.web.voice import as_ogg
from tests.e2e.web_helpers import Operator

# two seconds recorded by Chromium's MediaRecorder from its fake microphone (audio/webm;codecs=opus)
WEBM = (Path(__file__).parents[1] / "data" / "voice" / "chromium.webm").read_bytes()
OGG = as_ogg(WEBM).data  # the same recording as a Telegram or VK voice message (Ogg Opus)
CLUSTER = b"\x1f\x43\xb6\x75"


def longer(webm: bytes, times: int) -> bytes:
    """The recording with its clusters repeated, as a recorder writes a longer one."""
    first = webm.index(CLUSTER)
    return webm[:first] + webm[first:] * times


PLAYER = re.compile(r'<audio controls preload="none" src="([^"]+)"')


async def players(web: Operator, ticket_id: int, count: int = 1) -> list[str]:
    """The sources of the ticket page's audio players, once there are `count` of them."""
    found: list[str] = []
    for _ in range(300):
        _, page = await web.get(f"/inbox/ticket/{ticket_id}?fragment=1")
        found = [html.unescape(src) for src in PLAYER.findall(page)]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the ticket page shows {len(found)} audio player(s), not {count}")


async def played(web: Operator, src: str) -> tuple[int, str, bytes]:
    """What the signed-in operator's browser gets for a player's source."""
    async with web.http.get(f"{web.url}{src}") as response:
        return response.status, response.content_type, await response.read()
