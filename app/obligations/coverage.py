"""Coverage of each obligation: who must be covered, who holds a valid completion of a course
that meets it, and who does not, by department. Read-only; no Flask.

Who must be covered is everyone who trains (active people holding the learner role, the
"everyone" of an assignment): the obligations are the organisation's, not a course's. A
course meets an obligation when its newest version lists it in ``course.toml``. A person is
covered by a completion of such a course that is still valid at ``now`` (not expired, not
revoked: ``dates.is_expired`` on the record's own expiry, as every page reads it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session, aliased

from app.dates import is_expired
from app.db import name_sort_key
from app.models import Course, CourseVersion, Enrollment, Role, User, UserRole
from app.obligations.registry import REGISTRY, Obligation

NOT_ASSIGNED = "not assigned a course that meets it"


@dataclass(frozen=True)
class Gap:
    """A person not covered, and why."""

    user_id: int
    name: str
    why: str


@dataclass(frozen=True)
class DepartmentCoverage:
    department: str | None
    required: int
    covered: int
    gaps: list[Gap]


@dataclass(frozen=True)
class Coverage:
    obligation: Obligation
    courses: list[str]  # titles of the courses that meet it
    departments: list[DepartmentCoverage]

    @property
    def required(self) -> int:
        return sum(d.required for d in self.departments)

    @property
    def covered(self) -> int:
        return sum(d.covered for d in self.departments)


def obligation_coverage(session: Session, now: datetime) -> list[Coverage]:
    """Every obligation of the registry, with its coverage at ``now``."""
    meeting = _courses_meeting(session)
    people = session.execute(
        select(User.id, User.name, User.department).where(
            User.active,
            User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.LEARNER)),
        )
    ).all()
    records: dict[int, dict[int, Any]] = defaultdict(dict)
    e = Enrollment
    for row in session.execute(
        select(e.user_id, e.course_id, e.completed_at, e.revoked_at, e.expires_at)
    ):
        records[row.user_id][row.course_id] = row
    report = []
    for slug, obligation in REGISTRY.items():
        courses = meeting.get(slug, {})
        by_department: dict[str | None, list] = defaultdict(list)
        for person in people:
            by_department[person.department].append(
                (person, _why_not(records[person.id], courses, now))
            )
        departments = [
            DepartmentCoverage(
                department,
                len(members),
                sum(1 for _, why in members if why is None),
                sorted(
                    (Gap(p.id, p.name, why) for p, why in members if why is not None),
                    key=lambda gap: name_sort_key(gap.name),
                ),
            )
            for department, members in sorted(
                by_department.items(), key=lambda item: name_sort_key(item[0] or "\uffff")
            )
        ]
        report.append(Coverage(obligation, sorted(courses.values()), departments))
    return report


def courses_meeting(slug: str) -> Select:
    """The ids of the courses whose newest version meets the obligation ``slug`` (checked
    against the registry by the caller), as SQL: a scope of records by obligation."""
    later = aliased(CourseVersion)
    newest = (
        select(func.max(later.number))
        .where(later.course_id == CourseVersion.course_id)
        .scalar_subquery()
    )
    # Obligations are a JSON list of registry slugs ([a-z0-9.-]), so the quoted slug is found
    # as it is in the list's text on both databases.
    return select(CourseVersion.course_id).where(
        CourseVersion.number == newest,
        cast(CourseVersion.obligations, String).contains(f'"{slug}"', autoescape=True),
    )


def _courses_meeting(session: Session) -> dict[str, dict[int, str]]:
    """Obligation slug -> {course id: title}, by each course's newest version."""
    newest: dict[int, CourseVersion] = {}
    for version in session.scalars(
        select(CourseVersion).join(Course).order_by(CourseVersion.course_id, CourseVersion.number)
    ):
        newest[version.course_id] = version
    meeting: dict[str, dict[int, str]] = defaultdict(dict)
    for course_id, version in newest.items():
        for slug in version.obligations or ():
            meeting[slug][course_id] = version.title
    return meeting


def _why_not(enrollments: dict[int, Any], courses: dict[int, str], now: datetime) -> str | None:
    """None when a valid completion of one of ``courses`` covers the person, else why not."""
    mine = [enrollments[c] for c in courses if c in enrollments]
    if not mine:
        return NOT_ASSIGNED
    for enrollment in mine:
        if (
            enrollment.completed_at is not None
            and enrollment.revoked_at is None
            and not is_expired(enrollment.expires_at, now)
        ):
            return None
    if any(e.completed_at is not None and is_expired(e.expires_at, now) for e in mine):
        return "completion expired"
    if any(e.revoked_at is not None for e in mine):
        return "certificate revoked"
    return "not completed yet"
