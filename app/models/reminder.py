"""Reminders: the cadence HR set, each run (who or what started it, what it did), each
reminder sent to a learner and each digest sent to a manager."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.models.user import User, _enum_values

RUN_ERROR_MAX = 500


class ReminderSettings(Base):
    """The reminder cadence (one row; none yet means the defaults of
    ``app.training.cadence.DEFAULT``)."""

    __tablename__ = "reminder_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Remind on these days before the due date (or the expiry of a completion), e.g. [7, 1].
    days_before: Mapped[list] = mapped_column(default=list)
    # Then, while late: on the first day late, and again every N days (0: only that once).
    overdue_every_days: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RunTrigger(enum.StrEnum):
    SCHEDULE = "schedule"  # the job workers' periodic run
    COMMAND = "command"  # flask reminders send
    BROWSER = "browser"  # HR's "Send now"


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, values_callable=_enum_values, native_enum=False, length=16)


class ReminderRun(Base):
    """One reminder run: who or what started it, how far it got, and what it sent."""

    __tablename__ = "reminder_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[RunTrigger] = mapped_column(_enum(RunTrigger))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[RunState] = mapped_column(_enum(RunState), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # the last batch's end: a silent run's worker died
    # The cadence the run followed, as it was then.
    days_before: Mapped[list] = mapped_column(default=list)
    overdue_every_days: Mapped[int] = mapped_column(default=0)
    reminders: Mapped[int] = mapped_column(default=0)  # e-mails to learners
    courses: Mapped[int] = mapped_column(default=0)  # courses those e-mails named
    digests: Mapped[int] = mapped_column(default=0)  # e-mails to managers
    failed: Mapped[int] = mapped_column(default=0)  # unusable addresses
    already_reminded: Mapped[int] = mapped_column(default=0)  # reminded earlier that day
    not_activated: Mapped[int] = mapped_column(default=0)  # never signed in: skipped
    error: Mapped[str | None] = mapped_column(Text)

    started_by: Mapped[User | None] = relationship()


class Reminder(Base):
    """A reminder e-mail sent: at most one per person per day."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("user_id", "sent_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sent_on: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    courses: Mapped[list] = mapped_column(default=list)  # course ids reminded of
    manager_copied: Mapped[bool] = mapped_column(default=False)  # before digests existed
    # The run that sent it (None: before runs were recorded), and whether any course was late.
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminder_runs.id", ondelete="SET NULL"), index=True
    )
    overdue: Mapped[bool] = mapped_column(default=False, server_default="0")


class ReminderDigest(Base):
    """A manager's digest: one e-mail per manager per run, listing their late reports."""

    __tablename__ = "reminder_digests"
    __table_args__ = (UniqueConstraint("run_id", "manager_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reminder_runs.id", ondelete="CASCADE"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    reports: Mapped[int] = mapped_column(default=0)  # people listed
