"""Per-address limits see the citizen, not the reverse proxy in front of Okno, and cannot be fooled."""

from __future__ import annotations

from unittest import mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bots.web import client_address

PROXY = "10.0.0.5"


def request_from(peer: str, forwarded: str | None = None) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("GET", "/chat/ws", headers=headers, transport=transport)


def test_behind_a_trusted_proxy_the_client_is_the_address_it_forwarded() -> None:
    address_of = client_address(frozenset({PROXY}))
    assert address_of(request_from(PROXY, "203.0.113.7")) == "203.0.113.7"
    # a citizen who sends their own X-Forwarded-For cannot pick an address: the proxy appends the real one
    assert address_of(request_from(PROXY, "1.2.3.4, 203.0.113.7")) == "203.0.113.7"


def test_a_header_from_anyone_else_is_ignored() -> None:
    address_of = client_address(frozenset({PROXY}))
    assert address_of(request_from("198.51.100.9", "1.2.3.4")) == "198.51.100.9"
    assert client_address(frozenset())(request_from(PROXY, "1.2.3.4")) == PROXY
