"""Demo accounts for trying Candor out. Callers own the transaction.

Each account gets a random password, shown once; running it again finds the accounts in
place and changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.content.versions import newest_version_by_slug
from app.db import utcnow
from app.models import Course, Enrollment, Module, ModuleProgress, Role, User, Visibility
from app.people.accounts import create_user, find_user_by_email

DEMO_ACCOUNTS = [
    ("learner@candor.example", "Dana Learner", {Role.LEARNER}),
    ("trainer@candor.example", "Tomás Trainer", {Role.TRAINER, Role.LEARNER}),
    ("hr@candor.example", "Harriet HR", {Role.HR, Role.LEARNER}),
    ("admin@candor.example", "Ada Admin", {Role.ADMIN}),
]
DEMO_COURSE = "ai-in-the-contact-center"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    roles: frozenset[Role]
    password: str | None  # None when the account already existed


def create_demo(session: Session) -> list[DemoAccount]:
    """Create the demo accounts that are missing, and give the learner some progress."""
    accounts = []
    for email, name, roles in DEMO_ACCOUNTS:
        if find_user_by_email(session, email) is not None:
            accounts.append(DemoAccount(email, frozenset(roles), None))
            continue
        password = secrets.token_urlsafe(12)
        user = create_user(session, email=email, name=name, roles=roles, password=password)
        accounts.append(DemoAccount(email, frozenset(roles), password))
        if email.startswith("learner@"):
            _list_courses(session)
            _start_course(session, user)
    return accounts


def _list_courses(session: Session) -> None:
    """List the courses published so far, so every demo learner sees them (a new course is
    hidden until a trainer lists it). Once, with the demo learner: reruns change nothing."""
    for course in session.scalars(select(Course).where(Course.visibility == Visibility.HIDDEN)):
        course.visibility = Visibility.LISTED
        record(
            session,
            "course.visibility_changed",
            subject=course,
            before="hidden",
            after="listed",
            reason="demo data",
        )


def _start_course(session: Session, user: User) -> None:
    version = newest_version_by_slug(session, DEMO_COURSE)
    if version is None:
        return
    now = utcnow()
    session.add(
        Enrollment(
            user_id=user.id,
            course_id=version.course_id,
            version_id=version.id,
            started_at=now - timedelta(days=1),
            assigned_at=now - timedelta(days=2),
            due_at=now + timedelta(days=14),
        )
    )
    first = session.scalar(
        select(Module).where(Module.version_id == version.id).order_by(Module.position).limit(1)
    )
    if first is not None:
        session.add(
            ModuleProgress(
                user_id=user.id,
                module_id=first.id,
                first_opened_at=now - timedelta(days=1, minutes=9),
                completed_at=now - timedelta(days=1),
                seconds_spent=540,
            )
        )
    session.flush()
