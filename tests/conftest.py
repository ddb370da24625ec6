"""Shared fixtures: the real knowledge base, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialog.classifier import Classifier, build_classifier
from dialog.engine import ConversationEngine

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV_SET = SHARED / "eval" / "dev.jsonl"
CONTRACT = SHARED / "faq-topics.yaml"
HOLDOUT = ROOT / "tests" / "data" / "holdout.jsonl"
HOLDOUT2 = ROOT / "tests" / "data" / "holdout2.jsonl"


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return build_classifier()


@pytest.fixture(scope="session")
def engine(classifier: Classifier) -> ConversationEngine:
    return ConversationEngine(classifier)
