"""A thin typed client of the MAX Bot API over aiohttp: paced requests, MAX's errors as ours, uploads.

Our own rather than a published SDK: the adapter needs a handful of calls, a base URL and an HTTP
session it controls, one request pace shared by every process on the token, and MAX's error codes
read as what the outbox should do. aiohttp is already the web server's library.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from adapters.errors import ChatBlocked, PermanentFailure, RetryLater, TemporaryFailure
from adapters.pacing import PACE_MARGIN, EvenPace, Pace

logger = logging.getLogger("okno.adapters.max")

API_URL = "https://platform-api.max.ru"
REQUEST_TIMEOUT = 20.0  # seconds; a long poll adds its own wait to this
UPLOAD_TIMEOUT = 120.0
DOWNLOAD_LIMIT = 50 * 1024 * 1024  # a citizen's file passed on to an operator, at most
RETRY_AFTER = 1.0  # MAX gives no Retry-After with its 429: its window is a second
# a file just uploaded is processed for a while: MAX refuses a message with it until then
NOT_READY_PAUSES = (0.3, 0.6, 1.2, 2.5, 5.0)
UPLOAD_KINDS = {
    "photo": "image",
    "document": "file",
    "voice": "audio",
    "audio": "audio",
    "video_note": "video",
}


class AttachmentNotReady(TemporaryFailure):
    """MAX is still processing an uploaded file (`attachment.not.ready`): send again shortly."""


class MaxClient:
    """Calls of one bot token; the HTTP session is opened on the first call (none in the constructor)."""

    def __init__(
        self, token: str, base_url: str | None = None, rate: float = 0.0, pace: Pace | None = None
    ) -> None:
        self.token = token
        self.base_url = (base_url or API_URL).rstrip("/")
        self.rate = rate
        self.pace = pace or EvenPace(rate * PACE_MARGIN)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session

    async def call(
        self,
        verb: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        wait: float = 0.0,
    ) -> Any:
        """One API request; the decoded JSON answer, or the adapter error that says what to do.
        `wait`: seconds the server may hold the request (a long poll)."""
        if self.rate > 0:
            await self.pace.wait()
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT + wait)
        try:
            async with self._http().request(
                verb,
                self.base_url + path,
                params=query,
                json=body,
                headers={"Authorization": self.token},
                timeout=timeout,
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TemporaryFailure(f"MAX is unreachable: {exc!r}") from exc
        return answer_of(status, text)

    async def send(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        """POST /messages, sent again while a file in it is still being processed."""
        for pause in (*NOT_READY_PAUSES, None):
            try:
                return await self.call("POST", "/messages", params, body)
            except AttachmentNotReady:
                if pause is None:
                    raise
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    async def upload(self, kind: str, data: bytes, filename: str) -> dict[str, Any]:
        """The upload flow: an upload URL from POST /uploads, the file posted there; the attachment
        to put in a message."""
        upload_type = UPLOAD_KINDS.get(kind, "file")
        slot = await self.call("POST", "/uploads", {"type": upload_type})
        if not isinstance(slot, dict) or not isinstance(slot.get("url"), str):
            raise TemporaryFailure(f"MAX gave no upload URL: {str(slot)[:200]}")
        form = aiohttp.FormData()
        form.add_field("data", data, filename=filename)
        try:
            async with self._http().post(
                slot["url"], data=form, timeout=aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TemporaryFailure(f"the MAX upload failed: {exc!r}") from exc
        if status != 200:
            raise TemporaryFailure(f"the MAX upload host answered {status}: {text[:200]}")
        token = slot.get("token") or _uploaded_token(text)
        if not token:
            raise TemporaryFailure(f"the MAX upload gave no token: {text[:200]}")
        return {"type": upload_type, "payload": {"token": token}}

    async def download(self, url: str) -> bytes:
        """A file a citizen sent (its URL is on MAX's file hosts, no token needed)."""
        try:
            async with self._http().get(url, timeout=aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)) as response:
                if response.status != 200:
                    raise TemporaryFailure(f"MAX file download answered {response.status}")
                if (response.content_length or 0) > DOWNLOAD_LIMIT:
                    raise PermanentFailure(f"the file is over {DOWNLOAD_LIMIT // 2**20} MB")
                data = await response.content.read(DOWNLOAD_LIMIT + 1)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TemporaryFailure(f"MAX file download failed: {exc!r}") from exc
        if len(data) > DOWNLOAD_LIMIT:
            raise PermanentFailure(f"the file is over {DOWNLOAD_LIMIT // 2**20} MB")
        return data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def answer_of(status: int, text: str) -> Any:
    """MAX's answer: its JSON when 200, else the error it means."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None  # a proxy's HTML page, say
    if status == 200:
        if data is None:
            raise TemporaryFailure(f"MAX answered 200 with no JSON: {text[:200]!r}")
        return data
    code = str(data.get("code", "")) if isinstance(data, dict) else ""
    message = str(data.get("message", "")) if isinstance(data, dict) else text[:200]
    raise translated(status, code, message)


def translated(status: int, code: str, message: str) -> Exception:
    """A MAX error as the adapter error that says what to do about it."""
    if status == 429:
        return RetryLater(RETRY_AFTER)
    if code == "attachment.not.ready":
        return AttachmentNotReady("MAX is still processing the file")
    if status >= 500 or not code:
        return TemporaryFailure(f"MAX answered {status}: {message[:200]}")
    if status == 401 or code == "verify.token":
        return PermanentFailure("MAX refused the bot token: check OKNO_MAX_TOKEN")
    if code in ("chat.denied", "chat.not.found") or "dialog.suspended" in message:
        return ChatBlocked(f"MAX {status} {code}: the citizen stopped the bot or left the dialog")
    return PermanentFailure(f"MAX {status} {code}: {message[:200]}")


def _uploaded_token(text: str) -> str | None:
    """The token in the upload host's answer: `{"token"}` for a file, `{"photos": {…: {"token"}}}`
    for an image."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("token"), str):
        return str(data["token"])
    photos = data.get("photos")
    if isinstance(photos, dict):
        for photo in photos.values():
            if isinstance(photo, dict) and isinstance(photo.get("token"), str):
                return str(photo["token"])
    return None
