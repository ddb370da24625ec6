"""`docker compose up --scale okno=3` behind the proxy: what a user would notice breaking."""

import re
from pathlib import Path
from typing import Any

import yaml

from dialog.knowledge import DEFAULT_KNOWLEDGE_DIR, load_facts
from dialog.ticket_talk import AttachmentPolicy

ROOT = Path(__file__).resolve().parents[2]


def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    found: dict[str, Any] = compose["services"]
    return found


def nginx_conf() -> str:
    proxy = services()["proxy"]
    mounts = [v for v in proxy["volumes"] if v.split(":")[1] == "/etc/nginx/nginx.conf"]
    assert mounts, "the proxy mounts no nginx.conf"
    path = ROOT / str(mounts[0]).split(":")[0]
    return path.read_text(encoding="utf-8")


def directives(conf: str) -> list[str]:
    """Each directive on one line, comments dropped, spaces collapsed."""
    text = re.sub(r"#[^\n]*", "", conf)
    return [" ".join(part.split()) for part in re.split(r"[;{}]", text) if part.strip()]


def test_okno_publishes_no_host_port_so_replicas_do_not_collide() -> None:
    assert "ports" not in services()["okno"]


def test_the_proxy_publishes_8080_and_starts_after_okno() -> None:
    proxy = services()["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert [str(port) for port in proxy["ports"]] == ["8080:8080"]
    assert "okno" in proxy["depends_on"]  # the list or the mapping form


def test_okno_has_the_redis_and_postgresql_urls() -> None:
    environment = services()["okno"]["environment"]
    assert environment["OKNO_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in environment["OKNO_DATABASE_URL"]
    assert environment["OKNO_REDIS_URL"].startswith("redis://redis:6379")


def test_okno_trusts_the_proxy_at_its_fixed_address() -> None:
    compose = services()
    address = compose["proxy"]["networks"]["default"]["ipv4_address"]
    assert compose["okno"]["environment"]["OKNO_WEB_TRUSTED_PROXIES"] == address


def test_nginx_points_at_okno_and_passes_websockets() -> None:
    found = directives(nginx_conf())
    assert "resolver 127.0.0.11 valid=5s ipv6=off" in found
    assert "set $okno okno:8080" in found
    assert "proxy_pass http://$okno" in found
    assert "proxy_http_version 1.1" in found
    assert "proxy_set_header Upgrade $http_upgrade" in found
    assert "proxy_set_header Connection $connection_upgrade" in found
    assert "proxy_set_header Host $http_host" in found  # the chat compares Origin with Host


def test_nginx_passes_the_client_address_keeps_sockets_and_takes_uploads() -> None:
    found = directives(nginx_conf())
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in found
    assert "proxy_set_header X-Real-IP $remote_addr" in found
    timeout = next(d for d in found if d.startswith("proxy_read_timeout "))
    assert timeout.split()[1] in {"1h", "3600s", "3600"}
    size = next(d for d in found if d.startswith("client_max_body_size ")).split()[1].lower()
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    limit = int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    facts = load_facts(DEFAULT_KNOWLEDGE_DIR / "facts.yaml", {})
    upload = AttachmentPolicy.from_facts({n: f.value for n, f in facts.items() if f.value is not None})
    assert limit >= upload.max_bytes + 64 * 1024  # a file at the upload_limit fact, and its form
