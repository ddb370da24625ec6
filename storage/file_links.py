"""Expiring signed links to the web chat's files: a browser opens one without a header or a cookie
(an <img>, an <audio> player, a link in a new tab), but only for a few minutes after a page made it.

The signer is the process's, keyed once at start from OKNO_WEB_SECRET (`configure`); unset, a random
key means links made before a restart stop working, as inbox sessions do."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

LOCAL_FILE = "web:"  # a ref to a file kept here, as other channels and the desk see it
DEFAULT_SECONDS = 600.0


class FileLinks:
    def __init__(
        self, key: bytes, seconds: float = DEFAULT_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.key, self.seconds, self.clock = key, seconds, clock

    def _mac(self, ref: str, expires: int) -> str:
        message = f"web-file:{ref}:{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]

    def url(self, ref: str) -> str:
        """Where a browser opens a file: ours with a signature for a while, other platforms' by their URL."""
        if ref.startswith(("http://", "https://")):
            return ref
        ref = ref.removeprefix(LOCAL_FILE)
        expires = int(self.clock() + self.seconds)
        return f"/chat/files/{ref}?e={expires}&s={self._mac(ref, expires)}"

    def valid(self, ref: str, expires: str, signature: str) -> bool:
        if not expires.isdigit() or int(expires) < self.clock():
            return False
        return hmac.compare_digest(self._mac(ref, int(expires)), signature)


_links = FileLinks(secrets.token_bytes(32))


def configure(key: bytes, seconds: float = DEFAULT_SECONDS) -> FileLinks:
    """Key the process's links (at start, from the settings); returns the signer now in use."""
    global _links  # noqa: PLW0603 - one signer per process, as the inbox's session key
    _links = FileLinks(hashlib.sha256(b"okno-file-links:" + key).digest(), seconds)
    return _links


def links() -> FileLinks:
    return _links


def file_url(ref: str) -> str:
    """A link to a file as a page shows it: signed and expiring for ours."""
    return _links.url(ref)
