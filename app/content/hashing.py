"""The content hash of a course: SHA-256 over its normalised sources.

Two loads of the same files give the same hash on any machine (line endings and a BOM are
normalised away by the loader), so an unchanged course is recognised and keeps its version.
"""

from __future__ import annotations

import hashlib

from app.content.loader import CourseSource


def content_hash(course: CourseSource) -> str:
    """Hash course.toml, every module, the quiz and every asset, each framed by name and size."""
    digest = hashlib.sha256()

    def part(name: str, data: bytes) -> None:
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)

    part("course.toml", course.metadata_source.encode())
    for module in course.modules:
        part(f"{module.stem}.md", module.source.encode())
    if course.quiz_source is not None:
        part("quiz.md", course.quiz_source.encode())
    for asset in course.assets:
        part(f"assets/{asset.name}", hashlib.sha256(asset.data).hexdigest().encode())
    return digest.hexdigest()
