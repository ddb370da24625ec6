"""What one operators' group may still be sent: Telegram's per-group limit as a sliding window.

Telegram's Bot FAQ: «In a group, bots are not be able to send more than 20 messages per minute»,
and in a single chat «avoid sending more than one message per second. We may allow short bursts».
What counts (tdlib/td#2592, tdlib/telegram-bot-api#648, answered by Telegram's levlam): editing a
message shares the sending limit, and creating a topic is sending the service message about it
(so are renaming, closing and reopening one); `answerCallbackQuery` is not limited. So every call
the poster makes into a group is charged here, edits included — unless a deployment that learns
otherwise turns `OKNO_DESK_EDITS_COUNT` off.

The window is shared by every process on the same state store. Each tier of `post_plan` may fill
it to the limit less a reserve per tier above it (20, 16, 12, 8 by default): card edits after a press
always find a slot, conversations under way find one while new tickets' topics keep the group
busy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

TakeSlot = Callable[[str, int, float, float], Awaitable[float]]  # key, limit, window, spacing → wait

WINDOW_SECONDS = 61.0  # Telegram's minute, and a second for the time a request travels
SPACING_SECONDS = 1.0  # «one message per second» in a chat


@dataclass(frozen=True, slots=True)
class GroupBudget:
    per_minute: float  # 0: no limit
    reserve: int  # slots each tier keeps from the tiers after it (see `limit`)
    edits_count: bool = True

    @property
    def limited(self) -> bool:
        return self.per_minute > 0

    @property
    def spacing(self) -> float:
        """A second between posts, or less when a deployment allows more than 60 a minute."""
        return min(SPACING_SECONDS, 60 / self.per_minute) if self.limited else 0.0

    def limit(self, tier: int) -> int:
        """Tier 0 may use the whole window; each tier after it `reserve` slots less."""
        return max(1, int(self.per_minute) - self.reserve * tier)


class GroupSlots:
    """Takes slots of one group's window, or says how long until one frees."""

    def __init__(self, budget: GroupBudget, take_slot: TakeSlot) -> None:
        self.budget = budget
        self._take = take_slot

    async def try_take(self, chat: str, tier: int, edit: bool = False) -> float:
        """0 if a post may go now (and it is counted), else the seconds until one may."""
        if not self.budget.limited:
            return 0.0
        if edit and not self.budget.edits_count:
            return await self._take(f"desk-edits:{chat}", 1_000_000, WINDOW_SECONDS, self.budget.spacing)
        return await self._take(f"desk:{chat}", self.budget.limit(tier), WINDOW_SECONDS, self.budget.spacing)
