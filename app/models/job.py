"""Background jobs: what was asked for, by whom, how far it got, and the file it made.

A job's file is stored in the database in chunks (``job_chunks``), so every app instance and
every worker reaches it, and none of it lives on one machine's disk. Chunks carry the attempt
that wrote them: only the chunks of the attempt that finished the job are ever served.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models.user import _enum_values

KIND_MAX = 40
ERROR_MAX = 500
RESULT_NAME_MAX = 120


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # done, and its file deleted after the retention time


class Job(Base):
    """One piece of long work, run by a worker; its state and progress are what people see."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_MAX))
    # Who asked for it (None: the system, e.g. a scheduled run). Only they and admins see it.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    params: Mapped[dict] = mapped_column(default=dict)
    state: Mapped[JobState] = mapped_column(
        Enum(
            JobState,
            values_callable=_enum_values,
            native_enum=False,
            length=16,
            validate_strings=True,
        ),
        default=JobState.QUEUED,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(default=0)  # attempts started
    done: Mapped[int] = mapped_column(default=0)  # progress: units done (rows, e-mails)
    total: Mapped[int | None]  # of this many, when known
    error: Mapped[str | None] = mapped_column(String(ERROR_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # last sign of life from the attempt running it
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # the file is deleted from then on
    result_name: Mapped[str | None] = mapped_column(String(RESULT_NAME_MAX))
    result_type: Mapped[str | None] = mapped_column(String(RESULT_NAME_MAX))
    result_size: Mapped[int | None]


class JobChunk(Base):
    """A piece of a job's file, in order, written by one attempt."""

    __tablename__ = "job_chunks"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
