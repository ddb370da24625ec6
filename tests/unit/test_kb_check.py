import shutil
import sys
from pathlib import Path

import pytest
import yaml

from bots.tools import kb_check
from dialog.knowledge import DEFAULT_KNOWLEDGE_DIR, load_knowledge
from dialog.validation import check_knowledge, load_contract
from tests.conftest import CONTRACT

needs_contract = pytest.mark.skipif(
    not CONTRACT.exists(), reason="../shared/faq-topics.yaml is not beside the project"
)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, target)
    return target


def edit_topics(directory: Path, name: str, change: object) -> None:
    path = directory / "topics" / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@needs_contract
def test_shipped_knowledge_base_passes_against_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert kb_check(DEFAULT_KNOWLEDGE_DIR, CONTRACT, sys.stdout) == 0
    assert "OK" in capsys.readouterr().out


@needs_contract
def test_every_contract_topic_exists_with_its_title_and_category() -> None:
    contract = load_contract(CONTRACT)
    knowledge = load_knowledge()
    for topic_id, spec in contract["topics"].items():
        assert knowledge.topics[topic_id].title == spec["title"]
        assert knowledge.topics[topic_id].category == spec["category"]


def test_facts_are_written_once_and_inserted(kb_copy: Path) -> None:
    facts = kb_copy / "facts.yaml"
    data = yaml.safe_load(facts.read_text(encoding="utf-8"))
    data["facts"]["hotline_phone"]["value"] = "8 800 000-00-00"
    facts.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    answer = load_knowledge(kb_copy).topics["hotline_phone"].answer
    assert "8 800 000-00-00" in answer


@needs_contract
def test_broken_knowledge_base_lists_every_problem(kb_copy: Path) -> None:
    def break_it(data: dict) -> None:  # type: ignore[type-arg]
        data["topics"][0]["answer"] += " {no_such_fact}"
        data["topics"][1]["paraphrases"].append(data["topics"][0]["paraphrases"][0])
        data["topics"][2]["related"] = ["nowhere"]
        data["topics"][3]["answer"] = "я" * 5000
        data["topics"] = [t for t in data["topics"] if t["id"] != "unresolved_problem"]  # a contract topic

    edit_topics(kb_copy, "contacts.yaml", break_it)
    problems = "\n".join(check_knowledge(kb_copy, load_contract(CONTRACT)))
    assert "{no_such_fact}" in problems
    assert "repeats" in problems
    assert "'nowhere' does not exist" in problems
    assert "over 4096" in problems
    assert "is missing" in problems


def test_kb_check_exits_non_zero_with_a_list(kb_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_topics(kb_copy, "account.yaml", lambda d: d["topics"][0].update(id="hotline_phone"))
    assert kb_check(kb_copy, CONTRACT, sys.stdout) == 1
    assert "duplicate topic id 'hotline_phone'" in capsys.readouterr().out


def test_paraphrase_that_a_rule_would_steal_is_reported(
    kb_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_topics(kb_copy, "account.yaml", lambda d: d["topics"][0]["paraphrases"].append("позовите оператора"))
    assert kb_check(kb_copy, CONTRACT, sys.stdout) == 1
    assert "is taken by rule explicit_request (handoff)" in capsys.readouterr().out


def test_escalation_rules_about_the_conversation_are_checked(kb_copy: Path) -> None:
    path = kb_copy / "escalation.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = {r["id"]: r for r in data["conversation_rules"]}
    assert set(rules) == {"repeated_fallback", "repeated_not_helped", "complaint", "ticket_not_resolved"}
    assert rules["complaint"]["level"] == 3 and rules["repeated_fallback"]["after"] == {"fallbacks": 2}
    rules["complaint"]["after"] = {"topic": "no_such_topic"}
    rules["repeated_fallback"]["after"] = {"fallbacks": 0}
    rules["repeated_not_helped"]["level"] = 5
    data["conversation_rules"].append(dict(rules["complaint"], after={"topic": "complaint"}))
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = check_knowledge(kb_copy, None)
    assert any("repeated_fallback" in p and "at least 1" in p for p in problems)
    assert any("repeated_not_helped" in p and "level" in p for p in problems)
    assert any("'complaint' is used twice" in p for p in problems)


def test_a_conversation_rule_for_an_unknown_topic_is_reported(kb_copy: Path) -> None:
    path = kb_copy / "escalation.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    complaint = next(r for r in data["conversation_rules"] if r["id"] == "complaint")
    complaint["after"] = {"topic": "no_such_topic"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert check_knowledge(kb_copy, None) == [
        "escalation.yaml: conversation rule 'complaint': unknown topic 'no_such_topic'"
    ]
