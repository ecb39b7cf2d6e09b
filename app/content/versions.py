"""Which published version of a course is the newest. Read-only.

Versions are numbered 1, 2, ... per course and never change once published, so "the newest"
is the one with the highest number. Every page, export and service that needs a course's
current title or the version a newcomer starts on asks here, in SQL or in one batch.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import CourseVersion


def newest_versions_query(course_ids: Collection[int] | None = None) -> Select[CourseVersion]:
    """The newest version of each course (of ``course_ids`` only, if given), as a SELECT.

    Usable as it is, or as a subquery to join (``.subquery()``, one row per course).
    """
    numbers = select(CourseVersion.course_id, func.max(CourseVersion.number).label("number"))
    if course_ids is not None:
        numbers = numbers.where(CourseVersion.course_id.in_(course_ids))
    newest = numbers.group_by(CourseVersion.course_id).subquery("newest_number")
    return select(CourseVersion).join(newest, (CourseVersion.course_id == newest.c.course_id)
                                      & (CourseVersion.number == newest.c.number))


def newest_versions(session: Session, course_ids: Collection[int] | None = None
                    ) -> dict[int, CourseVersion]:
    """The newest version of each course (of ``course_ids``, if given), by course id; one
    query. A course with no published version is absent."""
    return {v.course_id: v for v in session.scalars(newest_versions_query(course_ids))}


def list_versions(session: Session) -> list[CourseVersion]:
    """Every published version, by course, newest first within each course."""
    return list(session.scalars(select(CourseVersion).order_by(CourseVersion.course_id,
                                                                CourseVersion.number.desc())))
