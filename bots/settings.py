"""Settings from the environment (prefix OKNO_) and `.env`; the only module that reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialog.knowledge import DEFAULT_KNOWLEDGE_DIR


class SettingsError(Exception):
    """The settings are wrong; the message says which and how to fix them."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OKNO_", env_file=".env", extra="ignore")

    knowledge_dir: Path = DEFAULT_KNOWLEDGE_DIR
    contract_file: Path = Path("../shared/faq-topics.yaml")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["text", "json"] = "text"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"OKNO_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from exc
