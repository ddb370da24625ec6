"""What a deployment decides about its web inbox: plain values, fixed when the inbox is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dialog.ticket_talk import AttachmentPolicy


@dataclass(frozen=True, slots=True)
class InboxSettings:
    attachments: AttachmentPolicy  # an operator's photo keeps to the same limits as a citizen's
    situations: Mapping[str, str] = field(default_factory=dict)  # a rule's id → the situation it names
    categories: Mapping[str, str] = field(default_factory=dict)  # the knowledge base's: id → title
    mask_identification: bool = True  # operators see a citizen's identification masked
    secure_cookies: bool = False  # the session cookie only over HTTPS
