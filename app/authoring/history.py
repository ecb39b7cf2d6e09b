"""A course's published versions as the studio's history page shows them: who published
each, how many people are on it and have completed it, and what changed between two."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.authoring.diffs import FileDiff, folder_diff
from app.content.folders import version_files
from app.content.versions import find_version
from app.models import Completion, Course, CourseVersion, Enrollment, User


@dataclass(frozen=True)
class VersionHistory:
    versions: list[CourseVersion]  # newest first
    on_version: dict[int, int]  # people whose current cycle is on it, by version id
    completed: dict[int, int]  # completions of it (every cycle), by version id
    publishers: dict[int, str]  # who published, by user id


def version_history(session: Session, course: Course) -> VersionHistory:
    """Every published version of ``course`` and its figures: four statements, whatever the
    number of versions."""
    versions = list(
        session.scalars(
            select(CourseVersion)
            .where(CourseVersion.course_id == course.id)
            .order_by(CourseVersion.number.desc())
        )
    )
    on_version = session.execute(
        select(Enrollment.version_id, func.count())
        .where(Enrollment.course_id == course.id, Enrollment.version_id.is_not(None))
        .group_by(Enrollment.version_id)
    )
    completed = session.execute(
        select(Completion.version_id, func.count())
        .where(Completion.course_id == course.id)
        .group_by(Completion.version_id)
    )
    publisher_ids = {v.published_by_id for v in versions if v.published_by_id}
    publishers = session.execute(select(User.id, User.name).where(User.id.in_(publisher_ids)))
    return VersionHistory(
        versions,
        {version_id: count for version_id, count in on_version if version_id is not None},
        {version_id: count for version_id, count in completed},
        {user_id: name for user_id, name in publishers},
    )


def compare_versions(
    session: Session, slug: str, first: int, second: int
) -> tuple[CourseVersion, CourseVersion, list[FileDiff]]:
    """The older and newer of two versions of a course, and what changed from one to the
    other, file by file; NotFound for a version the course does not have."""
    older, newer = (find_version(session, slug, n) for n in sorted((first, second)))
    return older, newer, folder_diff(version_files(session, older), version_files(session, newer))
