"""Problems found in course sources, reported as ``file:line: message``.

Loaders collect every problem they find instead of stopping at the first, so that a trainer
fixes a course in one pass. ``ContentError`` carries them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import DomainError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a source file; ``line`` is 1-based (0 when the file has none)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def as_warning(self) -> str:
        """The line ``courses check`` prints for a warning: ``file:line: warning: message``."""
        return f"{self.path}:{self.line}: warning: {self.message}"


class ContentError(DomainError):
    """Course sources are invalid; ``problems`` lists every one found."""

    status = 422

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
