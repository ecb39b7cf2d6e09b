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
from app.organisation.details import current_values
from app.organisation.publishing import update_details
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


# Example values for the organisation's details, so that a demo shows courses as an
# organisation would see them (and `courses check` has nothing unset to warn about). Set only
# where the organisation has set no details of its own.
DEMO_DETAILS = {
    "organisation_name": "Example Contact Centre Ltd",
    "privacy_team": "the privacy team (privacy@example.org, extension 4410)",
    "security_contact": "the security desk (security@example.org, extension 4999)",
    "speak_up_channel": "the speak-up policy on the intranet, and the ethics line "
    "(ethics@example.org)",
    "approved_ai_tools": "the Assist panel in your agent desktop, and the Translate tool in "
    "the case system",
    "opt_out_steps": "1. Press *AI off* in the call bar.\n"
    "2. Tick *Opted out of AI* on the customer's account.\n"
    "3. Tell the customer it is done.",
    "disclosure_voice": (
        "\u201cCalls are recorded, and an AI tool transcribes them and suggests information to "
        "your adviser. You can ask your adviser to switch it off at any time.\u201d"
    ),
    "disclosure_chat": (
        "\u201cHi, I\u2019m from the customer team. An AI tool suggests replies and summarises "
        "our chat; I check everything before I send it.\u201d"
    ),
    "disclosure_email": (
        "\u201cThis reply was drafted with the help of an AI tool and checked by a member of "
        "our team.\u201d"
    ),
}


def create_demo(session: Session) -> list[DemoAccount]:
    """Create the demo accounts that are missing, fill in example organisation details if
    none are set, and give the learner some progress."""
    accounts = []
    learner = None
    for email, name, roles in DEMO_ACCOUNTS:
        if find_user_by_email(session, email) is not None:
            accounts.append(DemoAccount(email, frozenset(roles), None))
            continue
        password = secrets.token_urlsafe(12)
        user = create_user(session, email=email, name=name, roles=roles, password=password)
        accounts.append(DemoAccount(email, frozenset(roles), password))
        if email.startswith("learner@"):
            learner = user
    admin = find_user_by_email(session, "admin@candor.example")
    if admin is not None and not current_values(session):
        update_details(session, admin, DEMO_DETAILS)  # publishes minor versions that use them
    if learner is not None:
        _list_courses(session)
        _start_course(session, learner)
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
