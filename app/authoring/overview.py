"""The studio's list of courses: how each stands, in aggregates only (never a person)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.content.versions import newest_versions
from app.models import (
    AttemptStatus,
    Completion,
    Course,
    CourseVersion,
    Draft,
    Enrollment,
    Management,
    QuizAttempt,
    User,
    Visibility,
)


@dataclass
class CourseRow:
    """One line of the overview."""

    course: Course
    title: str
    version: int | None
    published_at: datetime | None
    published_by: str | None
    in_progress: dict[int, int] = field(default_factory=dict)  # version number -> learners
    completions: int = 0
    attempts: int = 0
    passed: int = 0
    failed_must_pass: int = 0  # attempts failed by a must-pass item, whatever their score
    draft_pending: bool = False

    @property
    def pass_rate(self) -> int | None:
        """Percent of submitted attempts that passed, or None without any."""
        return round(100 * self.passed / self.attempts) if self.attempts else None

    @property
    def state(self) -> str:
        """What a trainer reads first: draft pending, then how learners see it."""
        labels = {
            Visibility.HIDDEN: "hidden",
            Visibility.LISTED: "published, listed",
            Visibility.RETIRED: "retired",
        }
        state = labels[self.course.visibility]
        return f"draft changes pending; {state}" if self.draft_pending else state

    @property
    def managed_in_studio(self) -> bool:
        return self.course.managed_by is Management.STUDIO


def course_rows(session: Session) -> list[CourseRow]:
    """Every course by title; a draft saved since the last publication is pending."""
    newest = {v.course_id: v for v in session.scalars(newest_versions())}
    publishers = dict(
        session.execute(
            select(User.id, User.name).where(
                User.id.in_([v.published_by_id for v in newest.values() if v.published_by_id])
            )
        ).all()
    )
    rows = {}
    for course in session.scalars(select(Course).order_by(Course.slug)):
        version = newest.get(course.id)
        rows[course.id] = CourseRow(
            course=course,
            title=version.title if version else course.slug,
            version=version.number if version else None,
            published_at=version.published_at if version else None,
            published_by=publishers.get(version.published_by_id or 0) if version else None,
        )
    for course_id, revision, updated_at in session.execute(
        select(Draft.course_id, Draft.revision, Draft.updated_at)
    ):
        version = newest.get(course_id)
        rows[course_id].draft_pending = revision > 0 and (
            version is None or updated_at > version.published_at
        )
    for course_id, number, count in session.execute(
        select(Enrollment.course_id, CourseVersion.number, func.count())
        .join(CourseVersion, CourseVersion.id == Enrollment.version_id)
        .where(Enrollment.completed_at.is_(None))
        .group_by(Enrollment.course_id, CourseVersion.number)
    ):
        rows[course_id].in_progress[number] = count
    for course_id, count in session.execute(
        select(Completion.course_id, func.count()).group_by(Completion.course_id)
    ):
        rows[course_id].completions = count
    for course_id, attempts, passed, failed_must_pass in session.execute(
        select(
            CourseVersion.course_id,
            func.count(),
            func.sum(case((QuizAttempt.passed.is_(True), 1), else_=0)),
            func.sum(case((QuizAttempt.must_pass_failed > 0, 1), else_=0)),
        )
        .join(CourseVersion, CourseVersion.id == QuizAttempt.version_id)
        .where(QuizAttempt.status == AttemptStatus.SUBMITTED)
        .group_by(CourseVersion.course_id)
    ):
        rows[course_id].attempts = attempts
        rows[course_id].passed = int(passed or 0)
        rows[course_id].failed_must_pass = int(failed_must_pass or 0)
    return sorted(rows.values(), key=lambda r: (r.title.lower(), r.course.slug))
