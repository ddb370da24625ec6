"""Effects of a conversation turn as handoff jobs: plain JSON that waits in the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialog.messages import Attachment, Effect, OpenTicket, RateTicket, RelayToTicket, StatusQuery
from handoff.ports import DeskFile
from storage.records import JobRecord


def to_job(effect: Effect) -> JobRecord:
    if isinstance(effect, OpenTicket):
        return JobRecord(
            "open",
            {
                "rule": effect.rule,
                "level": effect.level,
                "priority": effect.priority,
                "identification": dict(effect.identification),
                "description": effect.description,
                "kind": effect.kind.value,
                "callback_time": effect.callback_time,
                "category": effect.category,
                "category_title": effect.category_title,
            },
        )
    if isinstance(effect, RelayToTicket):
        files = [_file(a) for a in effect.attachments]
        return JobRecord("relay", {"text": effect.text, "files": files, "repeat": effect.repeat})
    if isinstance(effect, StatusQuery):
        return JobRecord("status", {"number": effect.number})
    return JobRecord("rate", {"number": effect.number, "score": effect.score, "comment": effect.comment})


def _file(attachment: Attachment) -> dict[str, Any]:
    return {"kind": attachment.kind.value, "ref": attachment.ref, "name": attachment.name}


@dataclass(frozen=True, slots=True)
class Relay:
    text: str
    files: tuple[DeskFile, ...]
    repeat: str | None = None  # the rule, when the message asks for people again

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Relay:
        files = tuple(
            DeskFile(str(f["kind"]), str(f["ref"]), f.get("name"))
            for f in payload.get("files") or ()
            if isinstance(f, dict) and f.get("ref")
        )
        repeat = payload.get("repeat")
        return cls(str(payload.get("text") or ""), files, str(repeat) if repeat else None)


def effects_to_jobs(effects: tuple[Effect, ...]) -> list[JobRecord]:
    return [to_job(effect) for effect in effects]


def rate_of(payload: dict[str, Any]) -> RateTicket:
    score = payload.get("score")
    return RateTicket(str(payload.get("number") or ""), int(score) if score else None, payload.get("comment"))
