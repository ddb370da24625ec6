"""The error tree of the handoff package."""


class HandoffError(Exception):
    """Base of every error the handoff package raises."""


class IllegalTransition(HandoffError):
    """A ticket cannot go from its status to the one asked for."""


class DeskMisconfigured(HandoffError):
    """The bot cannot work in the operators' group; the message says what to fix."""


class DeskError(HandoffError):
    """A call into the operators' group failed; the subclass says what to do about it."""


class DeskBusy(DeskError):
    """The messenger asked us to slow down: the same call may go again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class DeskUnavailable(DeskError):
    """A server or network problem, or the bot shut out of the group: worth retrying with backoff."""


class DeskRefused(DeskError):
    """The group refused this call for good (a bad request); retrying will not help."""


class TopicGone(DeskRefused):
    """The ticket's topic (or the message addressed in it) was deleted or closed by hand: the topic has
    to be created again."""
