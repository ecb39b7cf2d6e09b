"""Assigning courses to people, and applying the active assignments to a newcomer.

Callers own the transaction: these functions flush and never commit. Applying an assignment
costs a fixed number of statements whatever the number of people (bulk loads, bulk inserts,
set-based updates), so assigning a course to 10,000 employees is one request, not 10,000.

Rules for applying an assignment to a person:

- no enrollment yet: one is created, assigned, with the assignment's due date;
- enrolled of their own accord: the enrollment becomes assigned; an earlier due date stays;
- already assigned: the due date only ever moves earlier (and the assignment that set the
  earlier date becomes the one on record); it is never moved later;
- completed in the current cycle and still valid (even if renewal is due soon): untouched;
- completed but expired: a new cycle starts, due by the assignment's date.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.audit.events import record
from app.content.versions import newest_versions
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.fields import DEPARTMENT_MAX
from app.models import (
    Assignment,
    AssignmentPerson,
    Audience,
    Course,
    CourseVersion,
    Enrollment,
    Role,
    User,
    UserRole,
    Visibility,
)
from app.training.cycles import CHUNK, NEW_CYCLE, chunks
from app.training.status import Status, StatusFacts, course_status

MAX_DUE_DAYS = 365
# A renewal started after expiry, and a newcomer joining a fixed-date assignment whose date
# has passed, get this many days.
GRACE_DAYS = 30
_INSERT_RETRIES = 3

_enrollments = cast(Table, Enrollment.__table__)  # set-based statements use the table


@dataclass(frozen=True)
class AssignmentResult:
    """What applying an assignment did."""

    assignment: Assignment
    assigned: int = 0  # put on the course now (new, self-enrolled, or expired and restarted)
    already_assigned: int = 0  # were assigned before; a due date only ever moved earlier
    skipped_completed: int = 0  # completed in their current cycle and still valid
    restarted: int = 0  # of ``assigned``: expired completions that started a new cycle


@dataclass
class _Counts:
    assigned: int = 0
    already_assigned: int = 0
    skipped_completed: int = 0
    restarted: int = 0


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in UTC: a due date means "by the end of that day"."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _check_due(due_on: date | None, due_days: int | None, now: datetime) -> None:
    if (due_on is None) == (due_days is None):
        raise DomainError("Give either a due date or a number of days, not both.")
    if due_days is not None and (
        isinstance(due_days, bool)
        or not isinstance(due_days, int)
        or not 1 <= due_days <= MAX_DUE_DAYS
    ):
        raise DomainError(f"The number of days must be between 1 and {MAX_DUE_DAYS}.")
    if due_on is not None:
        check_due_on(due_on, now)


def check_due_on(due_on: date, now: datetime) -> None:
    """Refuse a due date that is not a date, or is in the past."""
    if not isinstance(due_on, date) or isinstance(due_on, datetime):
        raise DomainError("Give the due date as a date.")
    if due_on < now.date():
        raise DomainError("The due date is in the past.")


def _due_at(assignment: Assignment, now: datetime, *, newcomer: bool = False) -> datetime:
    if assignment.due_days is not None:
        return now + timedelta(days=assignment.due_days)
    assert assignment.due_on is not None  # noqa: S101 (guaranteed by assign)
    due = end_of_day(assignment.due_on)
    if newcomer and due < now:
        # Someone who joins after a fixed date has passed is not late on their first day.
        return now + timedelta(days=GRACE_DAYS)
    return due


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _active_user_ids(session: Session, *criteria: ColumnElement[bool]) -> list[int]:
    return list(session.scalars(select(User.id).where(User.active, *criteria).order_by(User.id)))


def _is_learner() -> ColumnElement[bool]:
    return User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.LEARNER))


def _targets(
    session: Session, audience: Audience, department: str, user_ids: Iterable[int]
) -> list[int]:
    if audience is Audience.EVERYONE:
        if department or list(user_ids):
            raise DomainError("An assignment to everyone takes no department or people.")
        # Everyone who trains: the people holding the learner role, not HR or admin accounts.
        return _active_user_ids(session, _is_learner())
    if audience is Audience.DEPARTMENT:
        if list(user_ids):
            raise DomainError("An assignment to a department takes no list of people.")
        if not department:
            raise DomainError("Choose the department to assign the course to.")
        if len(department) > DEPARTMENT_MAX:
            raise DomainError(f"A department name has at most {DEPARTMENT_MAX} characters.")
        ids = _active_user_ids(session, User.department == department)
        if not ids:
            raise DomainError(f"No active employee is in the department “{department}”.")
        return ids
    if department:
        raise DomainError("An assignment to named people takes no department.")
    try:
        wanted = sorted({int(i) for i in user_ids if not isinstance(i, bool)})
    except (TypeError, ValueError):
        raise DomainError("Choose the people to assign the course to.") from None
    if not wanted:
        raise DomainError("Choose the people to assign the course to.")
    found: list[int] = []
    for chunk in chunks(wanted):
        found.extend(_active_user_ids(session, User.id.in_(chunk)))
    if len(found) != len(wanted):
        missing = len(wanted) - len(found)
        raise DomainError(f"{missing} of the chosen people do not exist or are not active.")
    return wanted


def assign(
    session: Session,
    actor: User,
    course: Course,
    audience: Audience | str,
    *,
    department: str | None = None,
    user_ids: Iterable[int] = (),
    due_on: date | None = None,
    due_days: int | None = None,
    now: datetime | None = None,
) -> AssignmentResult:
    """Create an assignment of ``course`` and apply it to every active person it covers."""
    now = now or utcnow()
    try:
        audience = Audience(audience)
    except ValueError:
        raise DomainError("Choose who the course is for.") from None
    _check_due(due_on, due_days, now)
    if (
        session.scalar(
            select(CourseVersion.id).where(CourseVersion.course_id == course.id).limit(1)
        )
        is None
    ):
        raise DomainError("This course has no published version yet.", status=409)
    if course.visibility is Visibility.RETIRED:
        raise DomainError("This course is retired: it takes no new learners.", status=409)
    department = _clean(department)
    user_ids = list(user_ids)
    session.flush()
    targets = _targets(session, audience, department, user_ids)
    assignment = Assignment(
        course_id=course.id,
        audience=audience,
        department=department if audience is Audience.DEPARTMENT else None,
        due_on=due_on,
        due_days=due_days,
        created_at=now,
        created_by_id=actor.id,
    )
    session.add(assignment)
    session.flush()
    if audience is Audience.PEOPLE:
        _insert_rows(
            session,
            AssignmentPerson.__table__,
            [{"assignment_id": assignment.id, "user_id": i} for i in targets],
        )
    counts = _apply(session, assignment, targets, _due_at(assignment, now), now, actor.id)
    record(
        session,
        "assignment.created",
        actor=actor,
        subject=assignment,
        course_id=course.id,
        audience=audience.value,
        department=assignment.department,
        people=len(targets),
        due_on=due_on.isoformat() if due_on else None,
        due_days=due_days,
        assigned=counts.assigned,
        already_assigned=counts.already_assigned,
        skipped_completed=counts.skipped_completed,
        restarted=counts.restarted,
    )
    return AssignmentResult(
        assignment,
        counts.assigned,
        counts.already_assigned,
        counts.skipped_completed,
        counts.restarted,
    )


def apply_assignments_to(session: Session, user: User, now: datetime | None = None) -> int:
    """Apply every active assignment that covers ``user``; the number of courses newly given."""
    now = now or utcnow()
    if not user.active:
        return 0
    session.flush()
    covers = [
        and_(
            Assignment.audience == Audience.PEOPLE,
            Assignment.id.in_(
                select(AssignmentPerson.assignment_id).where(AssignmentPerson.user_id == user.id)
            ),
        ),
    ]
    if Role.LEARNER in user.roles:  # "everyone" means the people who train
        covers.append(Assignment.audience == Audience.EVERYONE)
    if user.department:
        covers.append(
            and_(
                Assignment.audience == Audience.DEPARTMENT, Assignment.department == user.department
            )
        )
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.active, or_(*covers))
        .order_by(Assignment.created_at, Assignment.id)
    ).all()
    applied, given = [], 0
    for assignment in assignments:
        due = _due_at(assignment, now, newcomer=True)
        counts = _apply(session, assignment, [user.id], due, now, assignment.created_by_id)
        if counts.assigned or counts.already_assigned:
            applied.append(assignment.id)
        given += counts.assigned
    if given:
        record(session, "assignment.applied", subject=user, assignment_ids=applied, assigned=given)
    return given


@dataclass
class _Existing:
    id: int
    user_id: int
    version_id: int | None
    assigned_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None


def _load_existing(
    session: Session, course_id: int, user_ids: Sequence[int]
) -> dict[int, _Existing]:
    columns = (
        Enrollment.id,
        Enrollment.user_id,
        Enrollment.version_id,
        Enrollment.assigned_at,
        Enrollment.completed_at,
        Enrollment.expires_at,
    )
    base = select(*columns).where(Enrollment.course_id == course_id)
    if len(user_ids) > CHUNK:
        # Many people: one query for the whole course beats a long list of ids.
        wanted = set(user_ids)
        rows: Iterable[Any] = (r for r in session.execute(base) if r.user_id in wanted)
    else:
        rows = session.execute(base.where(Enrollment.user_id.in_(user_ids)))
    return {r.user_id: _Existing(*r) for r in rows}


def _apply(
    session: Session,
    assignment: Assignment,
    user_ids: Sequence[int],
    due: datetime,
    now: datetime,
    assigned_by_id: int | None,
) -> _Counts:
    """Apply ``assignment`` to ``user_ids``: set-based, race-safe on the unique enrollment."""
    counts = _Counts()
    governs = {"assignment_id": assignment.id, "assigned_by_id": assigned_by_id}
    pending: Sequence[int] = user_ids
    for _ in range(_INSERT_RETRIES):
        existing = _load_existing(session, assignment.course_id, pending)
        adopt, tighten, restart, missing = [], [], [], []
        for user_id in pending:
            row = existing.get(user_id)
            if row is None:
                missing.append(user_id)
            elif row.completed_at is not None:
                facts = StatusFacts(completed_at=row.completed_at, expires_at=row.expires_at)
                if course_status(facts, now) is Status.EXPIRED:
                    restart.append(row.id)
                else:
                    counts.skipped_completed += 1
            elif row.assigned_at is None:
                adopt.append(row.id)
            else:
                tighten.append(row.id)
                counts.already_assigned += 1
        for chunk in chunks(adopt):
            session.execute(
                update(_enrollments)
                .where(
                    _enrollments.c.id.in_(chunk),
                    _enrollments.c.assigned_at.is_(None),
                    _enrollments.c.completed_at.is_(None),
                )
                .values(assigned_at=now, **governs)
            )
        for chunk in chunks(adopt + tighten):
            # The guard in the statement, not only in Python: a due date never moves later.
            session.execute(
                update(_enrollments)
                .where(
                    _enrollments.c.id.in_(chunk),
                    _enrollments.c.completed_at.is_(None),
                    or_(_enrollments.c.due_at.is_(None), _enrollments.c.due_at > due),
                )
                .values(due_at=due, **governs)
            )
        for chunk in chunks(restart):
            session.execute(
                update(_enrollments)
                .where(
                    _enrollments.c.id.in_(chunk),
                    _enrollments.c.completed_at.is_not(None),
                )
                .values(
                    cycle=_enrollments.c.cycle + 1,
                    **NEW_CYCLE,
                    assigned_at=now,
                    due_at=due,
                    **governs,
                )
            )
        counts.assigned += len(adopt) + len(restart)
        counts.restarted += len(restart)
        _expire_enrollments(session, set(adopt + tighten + restart))
        if not missing:
            return counts
        rows = [
            {
                "user_id": user_id,
                "course_id": assignment.course_id,
                "created_at": now,
                "assigned_at": now,
                "due_at": due,
                "cycle": 1,
                **governs,
            }
            for user_id in missing
        ]
        try:
            with session.begin_nested():
                _insert_rows(session, _enrollments, rows)
        except IntegrityError:
            # Someone enrolled one of them meanwhile (a learner opening the course): load
            # what is there now and go again for those people only.
            pending = missing
            continue
        counts.assigned += len(missing)
        return counts
    raise DomainError(
        "Enrollments changed while the course was being assigned; try again.", status=409
    )


def _insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    # One executemany: pysqlite loops in C, psycopg pipelines the rows in one round trip.
    # (Measured: faster than multi-row VALUES or RETURNING-batched inserts on both.)
    if rows:
        session.execute(insert(table), list(rows))


def _expire_enrollments(session: Session, ids: Collection[int]) -> None:
    # Set-based UPDATEs bypass the identity map: let loaded enrollments reload.
    if not ids:
        return
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Enrollment) and obj.id in ids:
            session.expire(obj)


@dataclass(frozen=True)
class AssignmentLine:
    """One assignment as the list shows it: the rule, its course's title, how many people it
    names (for "chosen people"), who made and who cancelled it."""

    assignment: Assignment
    title: str
    people: int
    created_by: str | None
    cancelled_by: str | None


def list_assignments(session: Session, limit: int = 200) -> list[AssignmentLine]:
    """The most recent assignments, newest first, cancelled ones included: two queries
    (the rules with their counts and names, and the course titles), whatever the number."""
    named = (
        select(AssignmentPerson.assignment_id, func.count().label("n"))
        .group_by(AssignmentPerson.assignment_id)
        .subquery("named")
    )
    creator, canceller = aliased(User), aliased(User)
    rows = session.execute(
        select(Assignment, func.coalesce(named.c.n, 0), creator.name, canceller.name)
        .outerjoin(named, named.c.assignment_id == Assignment.id)
        .outerjoin(creator, creator.id == Assignment.created_by_id)
        .outerjoin(canceller, canceller.id == Assignment.cancelled_by_id)
        .order_by(Assignment.created_at.desc(), Assignment.id.desc())
        .limit(limit)
    ).all()
    titles = {v.course_id: v.title for v in session.scalars(newest_versions())}
    return [
        AssignmentLine(a, titles.get(a.course_id, ""), n, made, cancelled)
        for a, n, made, cancelled in rows
    ]


def cancel_assignment(
    session: Session, actor: User, assignment_id: int, now: datetime | None = None
) -> Assignment:
    """Stop an assignment reaching anyone new (people who join later, or match it later).
    Who has the course keeps it; the rule stays on record, marked cancelled."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("There is no such assignment.")
    if not assignment.active:
        raise DomainError("This assignment is already cancelled.", status=409)
    assignment.active = False
    assignment.cancelled_at = now or utcnow()
    assignment.cancelled_by_id = actor.id
    session.flush()
    record(session, "assignment.cancelled", actor=actor, subject=assignment)
    return assignment
