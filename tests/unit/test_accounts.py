"""Web inbox accounts: password hashes, signed session cookies, CSRF tokens, and rights by role."""

from __future__ import annotations

import base64
import json

import pytest

from dialog.tickets import Level
from handoff import accounts
from handoff.accounts import Role, SessionSigner, check_password, hash_password, may_act, sees_identification

SECRET = b"unit-test-secret-unit-test-secret"


def test_a_password_checks_against_its_hash_and_a_wrong_one_does_not() -> None:
    stored = hash_password("верный-пароль-42")
    assert stored.startswith("scrypt$") and "верный" not in stored
    assert check_password("верный-пароль-42", stored)
    assert not check_password("верный-пароль-43", stored)
    assert not check_password("", stored)


def test_the_same_password_hashes_differently_each_time() -> None:
    first, second = hash_password("одинаковый-пароль"), hash_password("одинаковый-пароль")
    assert first != second  # salted: equal passwords do not show in a leaked table
    assert check_password("одинаковый-пароль", first) and check_password("одинаковый-пароль", second)


@pytest.mark.parametrize(
    "stored",
    ["", "not a hash", "bcrypt$16384$8$1$AAAA$AAAA", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$!!$AA"],
)
def test_a_damaged_stored_hash_refuses_instead_of_failing(stored: str) -> None:
    assert check_password("любой-пароль", stored) is False


def test_a_session_cookie_reads_back_as_who_signed_in() -> None:
    signer = SessionSigner(SECRET)
    session, cookie = signer.issue("anna", "Анна Петрова", Role.SPECIALIST)
    read = signer.read(cookie)
    assert read == session
    assert read is not None and read.actor_id == "web:anna"


def forged(cookie: str, **changes: object) -> str:
    """The cookie's body with some fields changed, under the original signature."""
    body, mac = cookie.rsplit(".", 1)
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    values = (
        dict(zip(("login", "name", "role", "nonce", "issued", "generation"), fields, strict=True)) | changes
    )
    raw = json.dumps(list(values.values())).encode()
    return f"{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{mac}"


def test_a_tampered_or_foreign_session_cookie_is_rejected() -> None:
    signer = SessionSigner(SECRET)
    _, cookie = signer.issue("anna", "Анна Петрова", Role.OPERATOR)
    assert signer.read(forged(cookie, role="supervisor")) is None  # no promoting oneself
    assert signer.read(forged(cookie, login="sveta")) is None
    assert signer.read(forged(cookie, generation=7)) is None  # no reviving an ended generation
    assert signer.read(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert SessionSigner(b"another-server-secret-0123456789").read(cookie) is None
    for junk in (None, "", "no-dot", ".", "abc."):
        assert signer.read(junk) is None


def test_a_session_ends_after_a_working_shift(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = SessionSigner(SECRET)
    _, cookie = signer.issue("anna", "Анна Петрова", Role.OPERATOR)
    now = accounts.time.time()
    monkeypatch.setattr(accounts.time, "time", lambda: now + accounts.SESSION_SECONDS - 60)
    assert signer.read(cookie) is not None
    monkeypatch.setattr(accounts.time, "time", lambda: now + accounts.SESSION_SECONDS + 1)
    assert signer.read(cookie) is None


def test_csrf_tokens_belong_to_one_sign_in() -> None:
    signer = SessionSigner(SECRET)
    first, cookie = signer.issue("anna", "Анна Петрова", Role.OPERATOR)
    second, _ = signer.issue("anna", "Анна Петрова", Role.OPERATOR)
    assert first.nonce != second.nonce and signer.csrf(first) != signer.csrf(second)
    assert signer.check_csrf(first, signer.csrf(first))
    assert not signer.check_csrf(first, signer.csrf(second))  # the same person's other tab/sign-in
    assert not signer.check_csrf(first, "")
    read = signer.read(cookie)
    assert read is not None and signer.check_csrf(read, signer.csrf(first))  # stable across requests
    assert not SessionSigner(b"another-server-secret-0123456789").check_csrf(first, signer.csrf(first))


def test_a_garbled_non_ascii_csrf_token_is_refused() -> None:
    signer = SessionSigner(SECRET)
    session, _ = signer.issue("anna", "Анна Петрова", Role.OPERATOR)
    assert signer.check_csrf(session, "токен") is False


def test_a_garbled_non_ascii_session_cookie_is_refused() -> None:
    assert SessionSigner(SECRET).read("e30.подпись") is None


@pytest.mark.parametrize(
    ("role", "level", "allowed"),
    [
        (Role.OPERATOR, Level.OPERATOR, True),
        (Role.OPERATOR, Level.SPECIALIST, False),
        (Role.SPECIALIST, Level.OPERATOR, True),
        (Role.SPECIALIST, Level.SPECIALIST, True),
        (Role.SUPERVISOR, Level.OPERATOR, True),
        (Role.SUPERVISOR, Level.SPECIALIST, True),
    ],
)
def test_who_may_act_on_which_level(role: Role, level: Level, allowed: bool) -> None:
    assert may_act(role, int(level)) is allowed


def test_only_operators_see_identification_masked() -> None:
    assert [sees_identification(role) for role in Role] == [False, True, True]
    assert [role.label for role in Role] == ["оператор", "специалист", "руководитель"]
