"""vk-api off the event loop: a routed HTTP session, an in-memory config, a bounded thread pool."""

from __future__ import annotations

import asyncio
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import vk_api
from jconfig.memory import MemoryConfig
from requests.adapters import HTTPAdapter
from vk_api import VkUpload
from vk_api.exceptions import ApiError, ApiHttpError

from adapters.errors import ChatBlocked, PermanentFailure, RetryLater, TemporaryFailure
from adapters.pacing import PACE_MARGIN, EvenPace, Pace

logger = logging.getLogger("okno.adapters.vk")

API_VERSION = "5.199"
VK_HOSTS = ("https://api.vk.ru/", "https://api.vk.com/")
RETRY_CODES = {6: 1.0, 9: 5.0, 29: 10.0}  # too many per second, flood control, rate limit reached
TEMPORARY_CODES = {10}  # internal server error
BLOCKED_CODES = {901, 902, 7}  # the citizen does not allow messages from the community
BAD_TOKEN = 5
TOO_LONG = 914
UPLOAD_API_CALLS = 2  # get…UploadServer and save…; the upload itself goes to another server
REQUEST_TIMEOUT = 20.0  # seconds; a hung VK call must not hold a thread for ever


class RoutedAdapter(HTTPAdapter):
    """vk-api hard-codes its host and sets no timeout: this gives every request a timeout and,
    with a base URL, sends it there instead (a proxy, a fake server)."""

    def __init__(self, base_url: str | None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/" if base_url else None

    def rewrite(self, url: str) -> str:
        for host in VK_HOSTS:
            if self.base_url and url.startswith(host):
                return self.base_url + url[len(host) :]
        return url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        request.url = self.rewrite(request.url or "")
        kwargs["timeout"] = kwargs.get("timeout") or REQUEST_TIMEOUT
        return super().send(request, *args, **kwargs)


def make_session(base_url: str | None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment unless OKNO_VK_API_URL names one
    adapter = RoutedAdapter(base_url)
    for host in VK_HOSTS:
        session.mount(host, adapter)
    return session


class VkClient:
    """API calls of one community token; each runs in the pool so a slow VK call blocks nothing."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        threads: int = 8,
        rate: float = 0.0,
        pace: Pace | None = None,
    ) -> None:
        self.rate = rate
        self.pace = pace or EvenPace(rate * PACE_MARGIN)
        self.session = make_session(base_url)
        self.vk = vk_api.VkApi(
            token=token, session=self.session, config=MemoryConfig, api_version=API_VERSION
        )
        self.vk.RPS_DELAY = 0  # our own limiter paces the calls, not vk-api's lock and sleep
        self.vk.error_handlers.pop(6, None)  # vk-api would retry «too many requests» forever in a thread
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vk")

    async def call(self, method: str, **params: Any) -> Any:
        return await self._request(method, params, raw=False)

    async def call_raw(self, method: str, **params: Any) -> Any:
        """The whole answer ({"response", "execute_errors"}), for execute."""
        return await self._request(method, params, raw=True)

    async def _request(self, method: str, params: dict[str, Any], raw: bool) -> Any:
        await self._pace()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, lambda: self.vk.method(method, params, raw=raw))
        except ApiError as exc:
            raise _translated(exc) from exc
        except (ApiHttpError, requests.RequestException) as exc:
            raise TemporaryFailure(f"VK is unreachable: {exc}") from exc

    async def _pace(self) -> None:
        """VK's requests-a-second limit for the token (0: none)."""
        if self.rate > 0:
            await self.pace.wait()

    async def upload(self, kind: str, data: bytes, peer_id: int) -> str:
        """VK's upload-server flow in the pool; returns the attachment string for messages.send."""
        for _ in range(UPLOAD_API_CALLS):  # the flow's API calls take their places in the pace
            await self._pace()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, self._upload, kind, data, peer_id)
        except ApiError as exc:
            raise _translated(exc) from exc
        except (ApiHttpError, requests.RequestException, KeyError, IndexError) as exc:
            raise TemporaryFailure(f"VK upload failed: {exc}") from exc

    def _upload(self, kind: str, data: bytes, peer_id: int) -> str:
        upload = VkUpload(self.vk)
        try:
            if kind == "photo":
                photo = upload.photo_messages(photos=[io.BytesIO(data)], peer_id=peer_id)[0]
                key = f"_{photo['access_key']}" if photo.get("access_key") else ""
                return f"photo{photo['owner_id']}_{photo['id']}{key}"
            saved = upload.document_message(doc=io.BytesIO(data), title="document", peer_id=peer_id)
            doc = saved.get("doc") or saved
            return f"doc{doc['owner_id']}_{doc['id']}"
        finally:
            upload.http.close()

    async def download(self, url: str) -> bytes:
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self.pool, self._get, url)
        except requests.RequestException as exc:
            raise TemporaryFailure(f"VK file download failed: {exc}") from exc
        return response

    def _get(self, url: str) -> bytes:
        response = self.session.get(url, timeout=REQUEST_TIMEOUT)
        response.raise_for_status()
        return bytes(response.content)

    async def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()


class MessageTooLong(PermanentFailure):
    """VK error 914: the text is over VK's limit; the channel sends it in parts."""


def _translated(exc: ApiError) -> Exception:
    return translated_code(int(exc.code), str(exc.error.get("error_msg", "")))


def translated_code(code: int, message: str) -> Exception:
    """A VK error code as the adapter error that says what to do about it."""
    if code == TOO_LONG:
        return MessageTooLong("VK error 914: message is too long")
    if code in RETRY_CODES:
        return RetryLater(RETRY_CODES[code])
    if code in TEMPORARY_CODES:
        return TemporaryFailure(f"VK error {code}: {message}")
    if code in BLOCKED_CODES:
        return ChatBlocked(f"VK error {code}: the citizen does not allow messages")
    if code == BAD_TOKEN:
        return PermanentFailure("the VK community token was rejected (error 5): check OKNO_VK_TOKEN")
    return PermanentFailure(f"VK error {code}: {message}")
