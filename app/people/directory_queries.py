"""Look-ups for HR forms, filters and the employee search: courses, departments, managers,
people. Read-only."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.content.versions import newest_versions
from app.db import NAME_COLLATION, connection_of
from app.fields import fold, search_text
from app.models import CourseVersion, Invitation, User

SEARCH_PAGE_SIZE = 100


@dataclass(frozen=True)
class PeopleSearch:
    """One page of the people matching a search, and how many match in all."""

    people: list[User]
    total: int
    text: str  # the text searched for, as used (trimmed: fields.search_text)
    page: int  # 1-based
    page_size: int = SEARCH_PAGE_SIZE


def search_people(session: Session, text: str, page: int = 1) -> PeopleSearch:
    """Everyone (active or not) whose name, e-mail, employee id or department contains
    ``text``, whatever the case (and the accents, but in the department), by name; page
    ``page`` of them and the total; DomainError for text no search takes (search_text)."""
    text = search_text(text)
    page = max(1, page)
    query = select(User)
    if text:
        wanted = fold(text)  # % and _ are searched for as themselves (autoescape)
        query = query.where(
            or_(
                User.search_key.contains(wanted, autoescape=True),
                func.lower(User.department).contains(text.lower(), autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    people = session.scalars(
        query.order_by(User.name.collate(NAME_COLLATION), User.id)
        .limit(SEARCH_PAGE_SIZE)
        .offset((page - 1) * SEARCH_PAGE_SIZE)
    ).all()
    return PeopleSearch(list(people), total, text, page)


def list_courses(session: Session) -> list[CourseVersion]:
    """The newest version of every published course, by title."""
    return sorted(session.scalars(newest_versions()), key=lambda v: v.title.casefold())


def list_versions(session: Session) -> list[CourseVersion]:
    """Every published version, by course, newest first within each course."""
    return list(
        session.scalars(
            select(CourseVersion).order_by(CourseVersion.course_id, CourseVersion.number.desc())
        )
    )


def list_departments(session: Session) -> list[str]:
    """Every department an active person is in, sorted."""
    return sorted(
        session.scalars(
            select(User.department)
            .distinct()
            .where(User.active.is_(True), User.department.is_not(None))
        )
    )


def list_managers(session: Session) -> list[User]:
    """Everyone who manages at least one active person."""
    report = aliased(User)
    return list(
        session.scalars(
            select(User)
            .where(
                User.id.in_(
                    select(report.manager_id).where(
                        report.active.is_(True), report.manager_id.is_not(None)
                    )
                )
            )
            .order_by(User.name)
        )
    )


PICK_LIMIT = 50  # people a picker search shows at once
PICKED_MAX = 1000  # people one "chosen people" form carries; more is a department's job


def find_people_to_pick(session: Session, text: str) -> list[User]:
    """Active people whose name, e-mail or employee id contains ``text`` (any case, any
    accents), by name in the language's order, at most ``PICK_LIMIT``: the assignment form's
    people picker. DomainError for text no search takes (search_text)."""
    text = fold(search_text(text))
    if not text:
        return []
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.search_key.contains(text, autoescape=True),
            )
            .order_by(User.name.collate(NAME_COLLATION), User.id)
            .limit(PICK_LIMIT)
        )
    )


def people_by_ids(session: Session, ids: list[int]) -> list[User]:
    """The people with these ids (at most ``PICKED_MAX``), by name: the ones already chosen."""
    if not ids:
        return []
    return list(
        session.scalars(
            select(User)
            .where(User.id.in_(ids[:PICKED_MAX]))
            .order_by(User.name.collate(NAME_COLLATION), User.id)
        )
    )


@dataclass(frozen=True)
class NotActivated:
    """Active people who have never set a password, with their latest invitation."""

    people: list[tuple[User, datetime | None, datetime | None]]  # (person, invited, expires)
    total: int
    page: int
    page_size: int = SEARCH_PAGE_SIZE


def not_activated(session: Session, page: int = 1) -> NotActivated:
    """People who cannot sign in yet (active, no password): they need an invitation, not a
    reminder. By name in the language's order, with when they were last invited."""
    page = max(1, page)
    latest = (
        select(
            Invitation.user_id,
            func.max(Invitation.created_at).label("invited"),
            func.max(Invitation.expires_at).label("expires"),
        )
        .group_by(Invitation.user_id)
        .subquery("latest")
    )
    waiting = (User.active.is_(True), User.password_hash.is_(None))
    total = session.scalar(select(func.count()).select_from(User).where(*waiting)) or 0
    rows = session.execute(
        select(User, latest.c.invited, latest.c.expires)
        .outerjoin(latest, latest.c.user_id == User.id)
        .where(*waiting)
        .order_by(User.name.collate(NAME_COLLATION), User.id)
        .limit(SEARCH_PAGE_SIZE)
        .offset((page - 1) * SEARCH_PAGE_SIZE)
    ).all()
    return NotActivated([(u, invited, expires) for u, invited, expires in rows], total, page)


@functools.cache
def _team_size_query() -> Select:
    # Built once: every learner's dashboard runs it (for the link to their team).
    return (
        select(func.count())
        .select_from(User)
        .where(User.manager_id == bindparam("manager_id"), User.active.is_(True))
    )


def team_size(bind: Session | Connection, manager_id: int) -> int:
    """How many active people name ``manager_id`` as their manager (0: not a manager)."""
    found = connection_of(bind).execute(_team_size_query(), {"manager_id": manager_id})
    return found.scalar() or 0
