"""Published course versions: which one is the newest, and what a version holds.

The newest version of a course is the one with the highest number (numbers only grow; a
version is never changed or deleted). Read-only queries: nothing here writes.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Asset, Course, CourseVersion


def newest_version(session: Session, course_id: int) -> CourseVersion | None:
    """The course's newest published version, or None if it has none."""
    return session.scalar(
        select(CourseVersion)
        .where(CourseVersion.course_id == course_id)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    )


def newest_version_by_slug(session: Session, slug: str) -> CourseVersion | None:
    """The newest published version of the course ``slug``, or None."""
    return session.scalar(
        select(CourseVersion)
        .join(Course)
        .where(Course.slug == slug)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    )


def newest_numbers() -> Select[int, int]:
    """``(course_id, number)`` of every course's newest version, to join as a subquery."""
    return select(CourseVersion.course_id, func.max(CourseVersion.number).label("number")).group_by(
        CourseVersion.course_id
    )


def newest_versions() -> Select[CourseVersion]:
    """The newest version of every course: the batch form of ``newest_version``."""
    newest = newest_numbers().subquery("newest")
    return select(CourseVersion).join(
        newest,
        (CourseVersion.course_id == newest.c.course_id) & (CourseVersion.number == newest.c.number),
    )


def find_asset(session: Session, slug: str, number: int, name: str) -> Asset:
    """The image ``name`` of version ``number`` of the course ``slug``; NotFound otherwise."""
    asset = session.scalar(
        select(Asset)
        .join(CourseVersion)
        .join(Course)
        .where(Course.slug == slug, CourseVersion.number == number, Asset.name == name)
    )
    if asset is None:
        raise NotFound("There is no such image.")
    return asset


def find_version(session: Session, slug: str, number: int | None = None) -> CourseVersion:
    """Version ``number`` of the course ``slug`` (the newest if None); NotFound otherwise."""
    query = select(CourseVersion).join(Course).where(Course.slug == slug)
    if number is not None:
        query = query.where(CourseVersion.number == number)
    version = session.scalar(query.order_by(CourseVersion.number.desc()).limit(1))
    if version is None:
        raise NotFound(
            f"There is no version {number} of {slug}." if number else f"There is no course {slug}."
        )
    return version
