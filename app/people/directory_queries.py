"""Look-ups for HR forms and filters: courses, departments, managers. Read-only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models import CourseVersion, User
from app.progress.reading import latest_versions_query


def list_courses(session: Session) -> list[CourseVersion]:
    """The newest version of every published course, by title."""
    return sorted(session.scalars(latest_versions_query()), key=lambda v: v.title.casefold())


def list_departments(session: Session) -> list[str]:
    """Every department an active person is in, sorted."""
    return sorted(session.scalars(
        select(User.department).distinct().where(User.active.is_(True),
                                                 User.department.is_not(None))))


def list_managers(session: Session) -> list[User]:
    """Everyone who manages at least one active person."""
    report = aliased(User)
    return list(session.scalars(
        select(User).where(User.id.in_(select(report.manager_id).where(
            report.active.is_(True), report.manager_id.is_not(None))))
        .order_by(User.name)))

