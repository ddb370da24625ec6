"""Every fact a citizen is told has a source in the documents, or is the deployment's own."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from bots.tools import kb_check
from dialog.errors import KnowledgeError
from dialog.knowledge import DEFAULT_KNOWLEDGE_DIR, fill_placeholders, load_knowledge
from dialog.provenance import check_facts, numbers_outside_facts, read_seeds, unset_deployment_facts
from tests.conftest import CONTRACT

SEEDS = CONTRACT.parent / "seeds"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the project")


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, target)
    return target


def edit_facts(directory: Path, change: object) -> None:
    path = directory / "facts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["facts"])  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@needs_seeds
def test_every_shipped_fact_is_quoted_from_the_seeds_or_belongs_to_the_deployment() -> None:
    knowledge = load_knowledge()
    assert check_facts(knowledge, read_seeds(SEEDS)) == []
    assert numbers_outside_facts(knowledge) == []
    for fact in knowledge.fact_records.values():
        assert fact.deployment or fact.source is not None, fact.name


@needs_seeds
def test_a_misquoted_fact_and_a_value_its_quote_does_not_hold_are_reported(kb_copy: Path) -> None:
    def spoil(facts: dict) -> None:  # type: ignore[type-arg]
        facts["hotline_phone"]["source"]["quote"] = "Единый номер 8 800 000 00 00"
        facts["email_reply_time"]["value"] = "24 часа"
        facts["bot_hours"]["source"]["seed"] = "009"

    edit_facts(kb_copy, spoil)
    problems = "\n".join(check_facts(load_knowledge(kb_copy), read_seeds(SEEDS)))
    assert "hotline_phone: quote not found in seed 000" in problems
    assert "email_reply_time: the value's digits 24 are not in its quote" in problems
    assert "bot_hours: seed '009' is not among the documents" in problems


@needs_seeds
def test_kb_check_proves_the_sources_and_lists_unset_deployment_facts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert kb_check(DEFAULT_KNOWLEDGE_DIR, CONTRACT, sys.stdout) == 0
    out = capsys.readouterr().out
    assert "every source found in the seeds" in out
    assert "deployment facts not set" in out and "support_email" in out
    assert kb_check(DEFAULT_KNOWLEDGE_DIR, CONTRACT, sys.stdout, {"support_email": "help@example.org"}) == 0
    assert "support_email" not in capsys.readouterr().out


def test_a_number_typed_into_an_answer_has_no_source(kb_copy: Path) -> None:
    path = kb_copy / "topics" / "contacts.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("Звонок {hotline_cost}", "Звонок стоит 5 рублей, {hotline_cost}", 1), "utf-8"
    )
    problems = numbers_outside_facts(load_knowledge(kb_copy))
    assert len(problems) == 1 and "hotline_phone" in problems[0] and "'5'" in problems[0]


def test_an_unset_deployment_fact_leaves_only_its_own_sentence_out() -> None:
    knowledge = load_knowledge()
    assert "support_email" in unset_deployment_facts(knowledge)
    email = knowledge.topics["email_support"].answer
    assert "{support_email}" not in email and "@" not in email
    assert "разделе «Контакты»" in email and "48 часов" in email  # the rest of that line and answer stay
    complaint = knowledge.topics["complaint"].answer
    assert "электронной почте" not in complaint and "8 800 555-88-88" in complaint
    with_email = load_knowledge(deployment_facts={"support_email": "help@example.org"})
    assert "help@example.org" in with_email.topics["email_support"].answer
    assert "по электронной почте help@example.org" in with_email.topics["complaint"].answer


def test_sentence_dropping_keeps_other_sentences_and_lines() -> None:
    template = "Первое {a}. Второе {gone}! Третье.\n• пункт {gone};\n• пункт {a}."
    assert fill_placeholders(template, {"a": "А"}, frozenset({"gone"})) == "Первое А. Третье.\n• пункт А."


def test_only_deployment_facts_can_be_set_by_the_deployment() -> None:
    with pytest.raises(KnowledgeError, match="hotline_phone"):
        load_knowledge(deployment_facts={"hotline_phone": "8 800 000-00-00"})


def test_each_schedule_comes_from_one_document() -> None:
    """The hotline's numbers and hours from one document, the chat's from another: never mixed."""
    records = load_knowledge().fact_records
    groups = {
        "000": ["hotline_phone", "hotline_hours", "abroad_phone", "abroad_hours", "abroad_dial_example"],
        "002": [
            *("operator_hours_weekdays", "operator_hours_saturday", "operator_day_off", "chat_off_hours"),
            *("chat_wait_low", "chat_wait_medium", "chat_wait_high", "chat_resend_after"),
        ],
        "001": [
            "feedback_short_limit",
            "feedback_message_limit",
            "feedback_attachment_limit",
            "feedback_reply_time",
        ],
    }
    for seed, names in groups.items():
        for name in names:
            source = records[name].source
            assert source is not None and source.seed == seed, name


def test_the_errors_an_outside_review_found_stay_fixed() -> None:
    topics = load_knowledge().topics
    everything = "\n".join(t.answer for t in topics.values())
    assert "с 9:00 до 21:00" not in everything and "с 10:00 до 16:00" not in everything
    assert "встанет в очередь" not in topics["support_hours"].answer
    assert "круглосуточно" in topics["call_from_abroad"].answer  # 000: +7 495 777-77-77 round the clock
    assert "независимо от тарифа" not in topics["call_cost"].answer
    assert not re.search(r"[\w.-]+@[\w-]+\.\w+", everything)  # no invented e-mail address
    assert "JPEG" not in topics["document_upload"].answer and "2 МБ" not in topics["document_upload"].answer
    assert "JPEG" not in topics["passport_documents"].answer
    assert "заграничного паспорта" in topics["passport_documents"].answer
    assert "по московскому времени" not in everything
    assert "ещё раз" not in topics["sms_code"].answer
    assert "1. Не подбирайте" not in topics["account_locked"].answer
    recovery = topics["password_recovery"].answer
    assert "15 минут" in recovery and "контрольный вопрос" in recovery
