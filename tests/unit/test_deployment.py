"""The deployment files agree with the settings."""

import re
from pathlib import Path

import yaml

from bots.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f"OKNO_{name.upper()}" for name in Settings.model_fields}


def test_every_variable_compose_sets_is_a_real_setting() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    names = set(compose["services"]["okno"]["environment"])
    assert names, "compose sets no Okno variables"
    assert names <= SETTINGS, names - SETTINGS


def test_every_variable_in_env_example_is_a_real_setting_and_all_are_documented() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"\bOKNO_[A-Z_]+", text))
    assert mentioned <= SETTINGS, mentioned - SETTINGS
    assert mentioned == SETTINGS, SETTINGS - mentioned
