"""Settings from the environment (prefix OKNO_) and `.env`; the only module that reads them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dialog.knowledge import DEFAULT_KNOWLEDGE_DIR


class SettingsError(Exception):
    """The settings are wrong; the message says which and how to fix them."""


_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as a webhook secret
_MAX_SECRET = re.compile(r"^[A-Za-z0-9_-]{5,256}$")  # and what MAX accepts


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OKNO_", env_file=".env", extra="ignore")

    # Knowledge base
    knowledge_dir: Path = DEFAULT_KNOWLEDGE_DIR
    contract_file: Path = Path("../shared/faq-topics.yaml")
    # The facts the deployment owns (facts.yaml marks them `deployment: true`), as JSON:
    # OKNO_FACTS='{"support_email": "help@example.org"}'. Unset, answers leave them out.
    facts: dict[str, str] = {}

    # Storage: a SQLite file by default, PostgreSQL in production; no Redis means in-memory state
    database_url: str = "sqlite+aiosqlite:///okno.sqlite3"
    redis_url: str | None = None
    redis_prefix: str = "okno:"  # keys of this deployment, so several can share one Redis

    # Telegram
    telegram_token: SecretStr | None = None
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_api_url: str | None = None  # a self-hosted telegram-bot-api or any Bot API server
    telegram_webhook_url: str | None = None  # the public base URL Telegram calls
    telegram_webhook_path: str = "/telegram/webhook"
    telegram_webhook_secret: SecretStr | None = None
    telegram_allow_groups: bool = False
    telegram_rate_per_second: float = Field(30.0, ge=0)  # whole bot; 0 turns the limiter off
    telegram_chat_rate_per_second: float = Field(1.0, ge=0)  # one chat; 0 turns it off

    # VK: a community bot (token with messages rights, Bots Long Poll turned on)
    vk_token: SecretStr | None = None
    vk_group_id: int | None = None  # the community's id (a positive number)
    vk_api_url: str | None = None  # a proxy or any server speaking the VK API; unset: VK itself
    vk_rate_per_second: float = Field(20.0, ge=0)  # VK allows a community token 20 requests a second
    vk_execute_batch: int = Field(25, ge=1, le=25)  # sends in one `execute` request; 1: no batching
    vk_mode: Literal["longpoll", "callback"] = "longpoll"
    vk_callback_path: str = "/vk/callback"  # on the web server, in callback mode
    vk_callback_secret: SecretStr | None = None  # the «secret key» set in the community's Callback API
    vk_confirmation: str | None = None  # the string VK asks the server to return to confirm it

    # MAX: an organisation's bot from the MAX partner platform (business.max.ru)
    max_token: SecretStr | None = None
    max_api_url: str | None = None  # a proxy or any server speaking the MAX Bot API; unset: MAX itself
    max_mode: Literal["longpoll", "webhook"] = "longpoll"
    max_webhook_url: str | None = None  # the public HTTPS URL MAX posts to; its path is served here
    max_webhook_secret: SecretStr | None = (
        None  # sent by MAX in X-Max-Bot-Api-Secret: 5-256 of A-Z a-z 0-9 _ -
    )
    max_rate_per_second: float = Field(30.0, ge=0)  # MAX allows a bot token 30 requests a second

    # The operators' side: Telegram forum supergroups where the same bot runs tickets
    desk_chat_ids: Annotated[list[int], NoDecode] = []  # operators' groups; tickets are spread over them
    desk_specialist_chat_id: int | None = None  # level 3 tickets; unset: the operators' group
    # operators with the expertise: a knowledge-base category → its groups, e.g.
    # OKNO_DESK_ROUTES='{"account": [-1001], "applications": [-1002, -1003]}'; other tickets: desk_chat_ids
    desk_routes: Annotated[dict[str, list[int]], NoDecode] = {}
    desk_operator_ids: Annotated[list[int], NoDecode] = []  # unset: every member of the group
    desk_specialist_ids: Annotated[list[int], NoDecode] = []
    desk_supervisor_ids: Annotated[list[int], NoDecode] = []  # called when a ticket waits too long
    desk_show_operator_name: bool = True  # citizens see «Анна: …» before an operator's words
    desk_mask_identification: bool = True  # cards show СНИЛС and phone partly hidden
    desk_posts_per_minute: float = Field(20.0, ge=0)  # per group, all topics together; 0: no limit
    desk_action_reserve: int = Field(4, ge=0)  # of those, kept for card edits after operators' presses
    desk_edits_count: bool = True  # Telegram counts edits and topic changes like messages
    desk_card_debounce_seconds: float = Field(2.0, ge=0)

    # Tickets
    ticket_reopen_days: float = Field(7.0, ge=0)  # writing again sooner reopens the resolved ticket
    ticket_take_sla_minutes: float = Field(15.0, gt=0)  # not taken by then: supervisors are called
    ticket_needs_info_days: float = Field(3.0, gt=0)  # no answer to a clarification: closed
    ticket_minutes_per_ticket: float = Field(6.0, gt=0)  # for the wait estimate citizens are told

    # Personal data: citizens with no conversation or ticket activity for this many days are
    # anonymized hourly (as `okno privacy forget` does); 0: kept until forgotten on request. The
    # period is the operator's to set (its policy under 152-ФЗ), so there is no default period.
    retention_days: float = Field(0.0, ge=0)

    # Web server: webhooks, the citizens' web chat and the operators' web inbox
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=1, le=65535)
    web_chat: bool = True  # the chat page at /chat and the widget at /chat/widget.js
    web_inbox: bool = True  # the operators' inbox at /inbox (accounts: `okno operators add`)
    web_allowed_origins: Annotated[list[str], NoDecode] = []  # sites that may embed the chat widget
    web_secret: SecretStr | None = None  # signs inbox sessions; unset: a new one each start
    web_trusted_proxies: Annotated[list[str], NoDecode] = []  # their X-Forwarded-For names the client
    web_secure_cookies: bool = False  # set behind HTTPS so session cookies never travel in clear
    web_chat_rate_per_second: float = Field(1.0, gt=0)  # one socket, after a burst of 5
    web_chat_ip_rate_per_second: float = Field(3.0, gt=0)  # all sockets of one address
    web_chat_new_per_hour: int = Field(30, ge=1)  # conversations one address may start in an hour
    web_chat_new_at_once: int = Field(5, ge=1)  # of those, started at once; the rest at the hour's pace
    web_chat_sockets_per_address: int = Field(20, ge=1)  # chat sockets one address holds open at once
    web_chat_sockets_max: int = Field(5000, ge=1)  # chat sockets one process holds open, all addresses
    web_files_per_visitor_per_day: int = Field(20, ge=1)  # uploads into one conversation a day
    web_file_mb_per_visitor_per_day: float = Field(20.0, gt=0)
    web_files_per_address_per_day: int = Field(60, ge=1)  # uploads from one address a day
    web_file_mb_per_address_per_day: float = Field(60.0, gt=0)
    web_file_retention_days: float = Field(30.0, gt=0)  # citizens' and operators' chat files older go
    web_file_link_minutes: float = Field(10.0, gt=0)  # how long a signed link to a chat file opens

    # Processing
    workers: int = Field(32, ge=1, le=1024)  # conversations handled at once
    # a Telegram reply in flight at a crash may have arrived: send it again (at most one double per
    # reply in flight) or leave it in `okno dlq` for a person (no double, but maybe no answer)
    resend_uncertain: bool = True

    # Logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["text", "json"] = "text"

    @field_validator(
        "desk_chat_ids", "desk_operator_ids", "desk_specialist_ids", "desk_supervisor_ids", mode="before"
    )
    @classmethod
    def _id_list(cls, value: object) -> object:
        """«-1001, -1002» or «[-1001, -1002]»: both are accepted."""
        if isinstance(value, str):
            return [int(part) for part in value.strip("[] ").replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("desk_routes", mode="before")
    @classmethod
    def _routes(cls, value: object) -> object:
        """JSON ({"account": [-1001]}) or «account=-1001; applications=-1002,-1003»."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("{"):
            return json.loads(value)
        routes: dict[str, list[int]] = {}
        for part in (p for p in value.split(";") if p.strip()):
            category, sign, groups = part.partition("=")
            if not sign:
                raise ValueError(f"{part.strip()!r} is not «category=group id, group id»")
            routes[category.strip()] = [int(g) for g in groups.split(",") if g.strip()]
        return routes

    @field_validator("web_trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        """«10.0.0.5, 10.0.0.6»: the reverse proxies in front of Okno."""
        if isinstance(value, str):
            return [part.strip() for part in value.strip("[] ").split(",") if part.strip()]
        return value

    @field_validator("web_allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """«https://a.ru, https://b.ru»: the sites whose pages may show the chat in the widget."""
        if isinstance(value, str):
            value = [part.strip() for part in value.strip("[] ").split(",") if part.strip()]
        if isinstance(value, list):
            for origin in value:
                if not re.match(r"^https?://[A-Za-z0-9.-]+(:\d+)?$", str(origin)):
                    raise ValueError(f"{origin!r} is not an origin like https://portal.example.ru")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        return value

    @field_validator("telegram_webhook_path", "vk_callback_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @model_validator(mode="after")
    def _routes_fall_back(self) -> Settings:
        if self.desk_routes and not self.desk_chat_ids:
            raise ValueError(
                "OKNO_DESK_ROUTES needs OKNO_DESK_CHAT_IDS: the groups for tickets of other categories"
            )
        if any(not groups for groups in self.desk_routes.values()):
            raise ValueError("OKNO_DESK_ROUTES: every category needs at least one group id")
        return self

    @model_validator(mode="after")
    def _vk_complete(self) -> Settings:
        if self.vk_token is not None and not self.vk_group_id:
            raise ValueError("OKNO_VK_GROUP_ID is required with OKNO_VK_TOKEN: the community's numeric id")
        if self.vk_token is not None and self.vk_mode == "callback" and not self.vk_confirmation:
            raise ValueError("OKNO_VK_CONFIRMATION is required in callback mode: the string VK shows")
        return self

    @model_validator(mode="after")
    def _max_complete(self) -> Settings:
        secret = self.max_webhook_secret
        if secret is not None and not _MAX_SECRET.match(secret.get_secret_value()):
            raise ValueError("OKNO_MAX_WEBHOOK_SECRET: 5-256 of A-Z a-z 0-9 _ -")
        if self.max_token is None or self.max_mode != "webhook":
            return self
        url = urlsplit(self.max_webhook_url or "")
        local = url.hostname in ("127.0.0.1", "localhost", "::1")
        if not url.hostname or not url.path.startswith("/") or (url.scheme != "https" and not local):
            raise ValueError(
                "OKNO_MAX_WEBHOOK_URL is required in webhook mode: the public https:// URL MAX posts to, "
                "with a path (https://bot.example.ru/max/webhook)"
            )
        if secret is None:
            raise ValueError("OKNO_MAX_WEBHOOK_SECRET is required in webhook mode: 5-256 of A-Z a-z 0-9 _ -")
        return self

    @property
    def max_webhook_path(self) -> str:
        """Where the web server takes MAX's posts: the path of OKNO_MAX_WEBHOOK_URL."""
        return urlsplit(self.max_webhook_url or "").path or "/max/webhook"

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.telegram_token is not None and self.telegram_mode == "webhook":
            if not self.telegram_webhook_url:
                raise ValueError("OKNO_TELEGRAM_WEBHOOK_URL is required in webhook mode")
            secret = self.telegram_webhook_secret
            if secret is None or not _SECRET_TOKEN.match(secret.get_secret_value()):
                raise ValueError(
                    "OKNO_TELEGRAM_WEBHOOK_SECRET is required in webhook mode: 1-256 of A-Z a-z 0-9 _ -"
                )
        return self


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = "_".join(str(p) for p in error["loc"]).upper()
            lines.append(f"OKNO_{where}: {error['msg']}" if where else str(error["msg"]))
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from exc
