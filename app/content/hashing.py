"""The content hash of a course: SHA-256 over its normalised sources, and over the values of
the organisation's details its modules use.

Two loads of the same files give the same hash on any machine (line endings and a BOM are
normalised away by the loader), so an unchanged course is recognised and keeps its version.
A course that uses no organisation detail hashes exactly as before details existed; one that
does gets a new hash, and so a new version, whenever one of those values changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from app.content.details import canonical
from app.content.loader import CourseSource


def source_hash(
    metadata_source: str,
    modules: Sequence[tuple[str, str]],
    quiz_source: str | None,
    assets: Sequence[tuple[str, str]],
    details: Mapping[str, str | None],
) -> str:
    """Hash course.toml, every module (stem, source), the quiz, every asset (name, SHA-256 hex)
    and the detail values used, each framed by name and size."""
    digest = hashlib.sha256()

    def part(name: str, data: bytes) -> None:
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)

    part("course.toml", metadata_source.encode())
    for stem, source in modules:
        part(f"{stem}.md", source.encode())
    if quiz_source is not None:
        part("quiz.md", quiz_source.encode())
    for name, sha256_hex in assets:
        part(f"assets/{name}", sha256_hex.encode())
    if details:
        part("organisation details", canonical(details))
    return digest.hexdigest()


def content_hash(course: CourseSource, details: Mapping[str, str | None] | None = None) -> str:
    """The hash of a loaded course, read with ``details`` (the values its modules use)."""
    return source_hash(
        course.metadata_source,
        [(m.stem, m.source) for m in course.modules],
        course.quiz_source,
        [(a.name, hashlib.sha256(a.data).hexdigest()) for a in course.assets],
        details or {},
    )
