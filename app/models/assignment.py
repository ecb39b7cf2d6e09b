"""Assignments: HR putting people on a course with a deadline, and what follows from it."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.fields import DEPARTMENT_MAX
from app.models.course import Course
from app.models.user import User, _enum_values


class Audience(enum.StrEnum):
    EVERYONE = "everyone"
    DEPARTMENT = "department"
    PEOPLE = "people"


class Assignment(Base):
    """A rule: this course, for this audience, due by a date or N days after assignment.

    New employees who match the audience get it too, when they are created or imported.
    """

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    audience: Mapped[Audience] = mapped_column(
        Enum(
            Audience,
            values_callable=_enum_values,
            native_enum=False,
            length=16,
            validate_strings=True,
        )
    )
    department: Mapped[str | None] = mapped_column(String(DEPARTMENT_MAX))
    due_on: Mapped[date | None]  # a fixed date, or
    due_days: Mapped[int | None]  # days after each person is assigned
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    # A cancelled assignment reaches nobody new; it stays on record with who cancelled it.
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    people: Mapped[list[AssignmentPerson]] = relationship(cascade="all, delete-orphan")


class AssignmentPerson(Base):
    __tablename__ = "assignment_people"

    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )

    user: Mapped[User] = relationship()


class Invitation(Base):
    """A single-use, expiring link that lets a new account set its first password."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token: the token itself is only ever in the link sent.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
