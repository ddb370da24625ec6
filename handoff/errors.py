"""The error tree of the handoff package."""


class HandoffError(Exception):
    """Base of every error the handoff package raises."""


class IllegalTransition(HandoffError):
    """A ticket cannot go from its status to the one asked for."""


class DeskError(HandoffError):
    """The operators' group refused or failed an action."""


class TopicGone(DeskError):
    """The ticket's topic was deleted or closed by hand: it has to be created again."""


class DeskRetryLater(DeskError):
    """The messenger asks to slow down."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:.0f} s")
        self.seconds = seconds


class DeskUnavailable(DeskError):
    """A network or server failure: worth retrying later."""


class DeskMisconfigured(DeskError):
    """The bot cannot work in the operators' group; the message says what to fix."""
