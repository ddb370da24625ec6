"""The error tree of the handoff package."""


class HandoffError(Exception):
    """Base of every error the handoff package raises."""


class IllegalTransition(HandoffError):
    """A ticket cannot go from its status to the one asked for."""


class DeskMisconfigured(HandoffError):
    """The bot cannot work in the operators' group; the message says what to fix."""
