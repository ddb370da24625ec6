"""Expiring signed links to the web chat's files: a browser opens one without a header or a cookie
(an <img>, an <audio> player, a link in a new tab), but only for a few minutes after a page made it.

The composition root keys one signer from OKNO_WEB_SECRET and gives it to the web store, which
signs every link it hands out; unset, a random key means links made before a restart stop
working, as inbox sessions do."""

from __future__ import annotations

import hashlib
import hmac
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


def keyed(secret: bytes, seconds: float = DEFAULT_SECONDS) -> FileLinks:
    """The links of a deployment's secret (a key of its own, not the secret itself)."""
    return FileLinks(hashlib.sha256(b"okno-file-links:" + secret).digest(), seconds)
