"""Send a ``requests`` client's VK API calls to another server, e.g. the fake's ``http://127.0.0.1:PORT``.

vk_api hard-codes ``https://api.vk.ru/method/<name>``; a session from ``routed_session(fake.url)`` rewrites
that prefix (and ``https://api.vk.com/``) to the base URL just before the request goes out, so the client
itself needs no change. URLs the fake hands out (Long Poll server, upload URLs) already point at it.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests
from requests.adapters import HTTPAdapter

VK_API_PREFIXES = ("https://api.vk.ru/", "https://api.vk.com/")


class RewritingAdapter(HTTPAdapter):
    """A transport adapter that replaces a URL prefix with ``base_url`` before sending."""

    def __init__(self, base_url: str, prefixes: Iterable[str] = VK_API_PREFIXES) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.prefixes = tuple(prefixes)

    def rewrite(self, url: str) -> str:
        for prefix in self.prefixes:
            if url.startswith(prefix):
                return self.base_url + url.removeprefix(prefix)
        return url

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        request.url = self.rewrite(request.url or "")
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def routed_session(base_url: str) -> requests.Session:
    """A session whose calls to api.vk.ru / api.vk.com go to ``base_url``; close it when done."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment for a local server
    adapter = RewritingAdapter(base_url)
    for prefix in VK_API_PREFIXES:
        session.mount(prefix, adapter)
    return session
