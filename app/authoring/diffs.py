"""A readable difference between two course folders, file by file (difflib)."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "context", "gap"
    text: str
    old: int | None = None  # line number in the old file
    new: int | None = None  # line number in the new file


@dataclass
class FileDiff:
    path: str
    status: str  # "added", "removed", "changed"
    lines: list[DiffLine] = field(default_factory=list)
    note: str = ""  # for images: sizes instead of lines

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.kind == "added")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.kind == "removed")


def folder_diff(old: dict[str, bytes], new: dict[str, bytes], context: int = 2) -> list[FileDiff]:
    """Every file that differs between ``old`` and ``new``, in path order."""
    diffs = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        if path.startswith("assets/"):
            diffs.append(FileDiff(path, status, note=_image_note(before, after)))
            continue
        diffs.append(FileDiff(path, status, _lines(before or b"", after or b"", context)))
    return diffs


def _image_note(before: bytes | None, after: bytes | None) -> str:
    def describe(data: bytes) -> str:
        return f"{len(data):,} bytes, SHA-256 {hashlib.sha256(data).hexdigest()[:12]}"

    if before is None:
        return f"new image ({describe(after or b'')})"
    if after is None:
        return f"image removed (was {describe(before)})"
    return f"image replaced: was {describe(before)}, now {describe(after)}"


def _lines(before: bytes, after: bytes, context: int) -> list[DiffLine]:
    old = before.decode("utf-8", errors="replace").splitlines()
    new = after.decode("utf-8", errors="replace").splitlines()
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if out:
            out.append(DiffLine("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset, text in enumerate(old[i1:i2]):
                    out.append(DiffLine("context", text, i1 + offset + 1, j1 + offset + 1))
                continue
            for offset, text in enumerate(old[i1:i2]):
                out.append(DiffLine("removed", text, old=i1 + offset + 1))
            for offset, text in enumerate(new[j1:j2]):
                out.append(DiffLine("added", text, new=j1 + offset + 1))
    return out
