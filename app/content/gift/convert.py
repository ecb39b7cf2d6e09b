"""Converting a GIFT file: read every question, write the ones Candor can hold.

See ``app.content.gift`` for the contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.content.gift.reader import Reader, split_blocks
from app.content.gift.writer import Writer
from app.content.problems import Problem


@dataclass(frozen=True)
class GiftConversion:
    """The quiz.md text converted from a GIFT file, and what the trainer must know about it."""

    markdown: str  # the quiz.md text ("" if nothing convertible)
    converted: int  # questions converted
    skipped: list[Problem]  # unsupported questions, each with line and type
    notes: list[Problem]  # lossy conversions worth telling the user
    problems: list[Problem]  # malformed input


def convert_gift(text: str, path: str) -> GiftConversion:
    """Convert a GIFT file to quiz.md, reporting every question it skips or cannot read."""
    reader = Reader(path)
    lines = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))
    for block in split_blocks(lines, path, reader.notes):
        reader.read(block)
    writer = Writer(reader)
    parts = [md for question in reader.questions if (md := writer.write(question)) is not None]
    return GiftConversion(
        markdown="\n".join(parts),
        converted=len(parts),
        skipped=reader.skipped,
        notes=sorted(reader.notes),
        problems=sorted(reader.problems),
    )
