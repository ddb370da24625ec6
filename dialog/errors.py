"""The error tree of the dialog package."""


class DialogError(Exception):
    """Base of every error the dialog package raises."""


class KnowledgeError(DialogError):
    """The knowledge base cannot be loaded or is invalid; `problems` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
