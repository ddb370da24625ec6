"""The composition root: everything the processes need, built from the settings."""

from __future__ import annotations

import logging
import time

from bots.settings import Settings
from dialog.classifier import Classifier, build_classifier
from dialog.engine import ConversationEngine
from dialog.knowledge import load_knowledge

logger = logging.getLogger("okno.bots.wiring")


def build_classifier_from(settings: Settings) -> Classifier:
    started = time.perf_counter()
    classifier = build_classifier(load_knowledge(settings.knowledge_dir))
    logger.info(
        "knowledge base %s loaded: %d topics in %.2f s",
        classifier.knowledge.revision,
        len(classifier.knowledge.topics),
        time.perf_counter() - started,
    )
    return classifier


def build_engine(settings: Settings) -> ConversationEngine:
    return ConversationEngine(build_classifier_from(settings))
