"""Web inbox accounts: roles and what they may do, password hashes, signed sessions and CSRF tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from dialog.tickets import Level

# scrypt at OWASP's recommended cost: about 50 ms and 16 MB a check, so a leaked table is slow to crack
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 12 * 3600  # a working shift


class Role(StrEnum):
    OPERATOR = "operator"
    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"

    @property
    def label(self) -> str:
        return {"operator": "оператор", "specialist": "специалист", "supervisor": "руководитель"}[self.value]


def may_act(role: Role, level: int) -> bool:
    """Operators work first-line tickets; specialists and supervisors any."""
    return role is not Role.OPERATOR or level < Level.SPECIALIST


def sees_identification(role: Role) -> bool:
    """Operators see masked identification (when masking is on); specialists and supervisors see it whole."""
    return role is not Role.OPERATOR


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# the first account is made before anyone is there to name it, and a script may add one with no
# name (it is then its login): the person's name is asked at the first sign-in, before the account
# can act where citizens would read «занимается оператор Администратор»
UNNAMED = "Администратор"
NAME_LIMIT = 64


def needs_name(name: str, login: str = "") -> bool:
    return not name.strip() or name in (UNNAMED, login)


def name_problem(name: str) -> str | None:
    """Why a display name cannot be used, or None: citizens read it as «Анна Петрова: …»."""
    name = name.strip()
    if len(name) < 2 or len(name) > NAME_LIMIT or not any(c.isalpha() for c in name):
        return f"Укажите имя, которое увидят граждане и коллеги: от 2 до {NAME_LIMIT} символов."
    if needs_name(name):
        return "Укажите своё имя, например «Анна Петрова»."
    return None


@dataclass(frozen=True, slots=True)
class Session:
    login: str
    name: str
    role: Role
    nonce: str  # per sign-in: the CSRF token is bound to it
    issued: float  # seconds since the epoch
    generation: int = 0  # the account's session generation when issued: a newer one ends it

    @property
    def actor_id(self) -> str:
        return f"web:{self.login}"


class SessionSigner:
    """Sessions live in a cookie signed with the server's secret (HMAC-SHA256), nothing server-side."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def issue(self, login: str, name: str, role: Role, generation: int = 0) -> tuple[Session, str]:
        session = Session(login, name, role, secrets.token_urlsafe(12), time.time(), generation)
        fields = [login, name, role.value, session.nonce, session.issued, generation]
        body = _b64(json.dumps(fields).encode())
        return session, f"{body}.{self._mac(body)}"

    def read(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):  # bytes: any text compares
            return None
        try:
            login, name, role, nonce, issued, generation = json.loads(_unb64(body))
            session = Session(str(login), str(name), Role(role), str(nonce), float(issued), int(generation))
        except (ValueError, TypeError):
            return None
        return session if time.time() - session.issued < SESSION_SECONDS else None

    def csrf(self, session: Session) -> str:
        return self._mac(f"csrf:{session.login}:{session.nonce}")

    def check_csrf(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.csrf(session).encode())

    def login_csrf(self, nonce: str) -> str:
        """The sign-in form's token, bound to the browser's pre-session cookie (double submit)."""
        return self._mac(f"login-csrf:{nonce}")

    def check_login_csrf(self, nonce: str, token: str) -> bool:
        return bool(nonce) and hmac.compare_digest(token.encode(), self.login_csrf(nonce).encode())

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self.secret, body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
