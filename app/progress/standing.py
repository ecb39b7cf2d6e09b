"""Where a learner stands on one course, as their course page shows it: the version they read,
which modules they read in this cycle and which comes next, their assessment, a renewal to
offer, a retraining notice. Read-only.

Two statements whatever the number of modules, attempts and courses (the course, their
enrolment, the version they read and their reads of it; the attempts of their cycle, asked
only of a learner on this version of a course with an assessment), and two more only for a
learner asked to retrain (``training.changes.notice_of``); the version itself from the
process's cache (``content.published``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.content.published import PublishedModule, PublishedVersion, published_version
from app.db import utcnow
from app.progress.reading import reader_row_and_reads, reads_in_cycle
from app.quizzes.standing import (
    AssessmentStatus,
    AttemptSummary,
    list_attempt_summaries,
    standing_of,
)
from app.training.changes import RetrainingNotice, notice_of
from app.training.renewal import renewal_open
from app.training.status import course_status, facts_of, label


@dataclass(frozen=True)
class CourseStanding:
    """A learner's course page: what it shows, decided here (the template only shows it)."""

    version: PublishedVersion
    read_at: dict[int, datetime]  # module id -> when read in the current cycle
    assessment: AssessmentStatus[AttemptSummary]
    renewal: str | None  # the status in words when a renewal is open to them, else None
    notice: RetrainingNotice | None

    @property
    def next_module(self) -> PublishedModule | None:
        """The first module not read yet (None: they read them all)."""
        return next((m for m in self.version.modules if m.id not in self.read_at), None)

    @property
    def reading_started(self) -> bool:
        """Whether any module is read in this cycle."""
        return bool(self.read_at)

    @property
    def completed_by_reading(self) -> bool:
        """Every module read, and no assessment: reading completes the course."""
        return self.next_module is None and not self.assessment.has_quiz


def course_standing(
    bind: Session | Connection, user_id: int, slug: str, now: datetime | None = None
) -> CourseStanding:
    """Course ``slug`` as ``user_id`` stands on it (NotFound when the course is hidden from
    them, or retired before they started it): the rules of ``current_version``,
    ``read_in_cycle``, ``quizzes.standing.assessment_status``, ``training.status`` and
    ``training.changes``, over the rows the page reads once."""
    row, reads = reader_row_and_reads(bind, user_id, slug)
    version = published_version(bind, row.reads_id, row.content_hash)
    read_at = reads_in_cycle(reads, row)
    enrolled = row if row.enrollment_id is not None else None
    assessment = standing_of(
        version,
        version.quiz,
        enrolled,
        lambda: list_attempt_summaries(bind, row.enrollment_id, row.cycle),
        lambda: bool(version.modules) and all(m.id in read_at for m in version.modules),
    )
    renewal = None
    if enrolled is not None:
        now, facts = now or utcnow(), facts_of(enrolled)
        if renewal_open(facts, now, row.visibility):
            renewal = label(course_status(facts, now), facts)
    notice = notice_of(bind, user_id, row.course_id, enrolled, version) if enrolled else None
    return CourseStanding(version, read_at, assessment, renewal, notice)
