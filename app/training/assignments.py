"""Assigning courses, retraining and renewal, and the people x courses status matrix.

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

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.events import record
from app.dates import expiry_of, format_date
from app.db import utcnow
from app.errors import DomainError
from app.models import (
    Assignment,
    AssignmentPerson,
    Audience,
    Completion,
    Course,
    CourseVersion,
    Enrollment,
    User,
)
from app.training.status import (
    DUE_SOON_DAYS,
    Status,
    StatusFacts,
    course_status,
    label,
)

MAX_DUE_DAYS = 365
# A renewal started after expiry, and a newcomer joining a fixed-date assignment whose date
# has passed, get this many days.
GRACE_DAYS = 30
# Ids per IN (...) list: far below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 1000
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


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _check_due(due_on: date | None, due_days: int | None, now: datetime) -> None:
    if (due_on is None) == (due_days is None):
        raise DomainError("Give either a due date or a number of days, not both.")
    if due_days is not None and (
        isinstance(due_days, bool) or not isinstance(due_days, int)
        or not 1 <= due_days <= MAX_DUE_DAYS
    ):
        raise DomainError(f"The number of days must be between 1 and {MAX_DUE_DAYS}.")
    if due_on is not None:
        _check_due_on(due_on, now)


def _check_due_on(due_on: date, now: datetime) -> None:
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


def _targets(session: Session, audience: Audience, department: str, user_ids: Iterable[int]
             ) -> list[int]:
    if audience is Audience.EVERYONE:
        if department or list(user_ids):
            raise DomainError("An assignment to everyone takes no department or people.")
        return _active_user_ids(session)
    if audience is Audience.DEPARTMENT:
        if list(user_ids):
            raise DomainError("An assignment to a department takes no list of people.")
        if not department:
            raise DomainError("Choose the department to assign the course to.")
        if len(department) > 120:
            raise DomainError("A department name has at most 120 characters.")
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
    for chunk in _chunks(wanted):
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
    if session.scalar(select(CourseVersion.id).where(CourseVersion.course_id == course.id)
                      .limit(1)) is None:
        raise DomainError("This course has no published version yet.", status=409)
    department = _clean(department)
    user_ids = list(user_ids)
    session.flush()
    targets = _targets(session, audience, department, user_ids)
    assignment = Assignment(
        course_id=course.id, audience=audience,
        department=department if audience is Audience.DEPARTMENT else None,
        due_on=due_on, due_days=due_days, created_at=now, created_by_id=actor.id,
    )
    session.add(assignment)
    session.flush()
    if audience is Audience.PEOPLE:
        _insert_rows(session, AssignmentPerson.__table__,
                     [{"assignment_id": assignment.id, "user_id": i} for i in targets])
    counts = _apply(session, assignment, targets, _due_at(assignment, now), now, actor.id)
    record(session, "assignment.created", actor=actor, subject=assignment,
           course_id=course.id, audience=audience.value, department=assignment.department,
           people=len(targets), due_on=due_on.isoformat() if due_on else None,
           due_days=due_days, assigned=counts.assigned,
           already_assigned=counts.already_assigned,
           skipped_completed=counts.skipped_completed, restarted=counts.restarted)
    return AssignmentResult(assignment, counts.assigned, counts.already_assigned,
                            counts.skipped_completed, counts.restarted)


def apply_assignments_to(session: Session, user: User, now: datetime | None = None) -> int:
    """Apply every active assignment that covers ``user``; the number of courses newly given."""
    now = now or utcnow()
    if not user.active:
        return 0
    session.flush()
    covers = [Assignment.audience == Audience.EVERYONE,
              and_(Assignment.audience == Audience.PEOPLE, Assignment.id.in_(
                  select(AssignmentPerson.assignment_id)
                  .where(AssignmentPerson.user_id == user.id)))]
    if user.department:
        covers.append(and_(Assignment.audience == Audience.DEPARTMENT,
                           Assignment.department == user.department))
    assignments = session.scalars(
        select(Assignment).where(Assignment.active, or_(*covers))
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
        record(session, "assignment.applied", subject=user, assignment_ids=applied,
               assigned=given)
    return given


@dataclass
class _Existing:
    id: int
    user_id: int
    version_id: int | None
    assigned_at: datetime | None
    completed_at: datetime | None


def _load_existing(session: Session, course_id: int, user_ids: Sequence[int]
                   ) -> dict[int, _Existing]:
    columns = (Enrollment.id, Enrollment.user_id, Enrollment.version_id,
               Enrollment.assigned_at, Enrollment.completed_at)
    base = select(*columns).where(Enrollment.course_id == course_id)
    if len(user_ids) > CHUNK:
        # Many people: one query for the whole course beats a long list of ids.
        wanted = set(user_ids)
        rows: Iterable[Any] = (r for r in session.execute(base) if r.user_id in wanted)
    else:
        rows = session.execute(base.where(Enrollment.user_id.in_(user_ids)))
    existing = {r.user_id: _Existing(*r) for r in rows}
    if any(row.completed_at is not None for row in existing.values()):
        narrow = [Enrollment.user_id.in_(user_ids)] if len(user_ids) <= CHUNK else []
        completions = _cycle_completions(session, Enrollment.course_id == course_id, *narrow)
        for row in existing.values():
            if row.id in completions:
                row.completed_at, row.version_id = completions[row.id]
    return existing


def _apply(session: Session, assignment: Assignment, user_ids: Sequence[int], due: datetime,
           now: datetime, assigned_by_id: int | None) -> _Counts:
    """Apply ``assignment`` to ``user_ids``: set-based, race-safe on the unique enrollment."""
    counts = _Counts()
    months = _recertify_months(session, assignment.course_id)
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
                facts = StatusFacts(completed_at=row.completed_at, expires_at=expiry_of(
                    row.completed_at, months.get(row.version_id or 0, 0)))
                if course_status(facts, now) is Status.EXPIRED:
                    restart.append(row.id)
                else:
                    counts.skipped_completed += 1
            elif row.assigned_at is None:
                adopt.append(row.id)
            else:
                tighten.append(row.id)
                counts.already_assigned += 1
        for chunk in _chunks(adopt):
            session.execute(update(_enrollments).where(
                _enrollments.c.id.in_(chunk), _enrollments.c.assigned_at.is_(None),
                _enrollments.c.completed_at.is_(None)).values(assigned_at=now, **governs))
        for chunk in _chunks(adopt + tighten):
            # The guard in the statement, not only in Python: a due date never moves later.
            session.execute(update(_enrollments).where(
                _enrollments.c.id.in_(chunk), _enrollments.c.completed_at.is_(None),
                or_(_enrollments.c.due_at.is_(None), _enrollments.c.due_at > due),
            ).values(due_at=due, **governs))
        for chunk in _chunks(restart):
            session.execute(update(_enrollments).where(
                _enrollments.c.id.in_(chunk), _enrollments.c.completed_at.is_not(None),
            ).values(cycle=_enrollments.c.cycle + 1, version_id=None, started_at=None,
                     completed_at=None, assigned_at=now, due_at=due, **governs))
        counts.assigned += len(adopt) + len(restart)
        counts.restarted += len(restart)
        _expire_enrollments(session, set(adopt + tighten + restart))
        if not missing:
            return counts
        rows = [{"user_id": user_id, "course_id": assignment.course_id, "created_at": now,
                 "assigned_at": now, "due_at": due, "cycle": 1, **governs}
                for user_id in missing]
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
    raise DomainError("Enrollments changed while the course was being assigned; try again.",
                      status=409)


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


def _recertify_months(session: Session, course_id: int | None = None) -> dict[int, int]:
    query = select(CourseVersion.id, CourseVersion.recertify_months)
    if course_id is not None:
        query = query.where(CourseVersion.course_id == course_id)
    return {vid: months for vid, months in session.execute(query)}


def _cycle_completions(session: Session, *criteria: ColumnElement[bool]
                       ) -> dict[int, tuple[datetime, int]]:
    """The latest completion of each enrollment's current cycle: (completed_at, version_id)."""
    rows = session.execute(
        select(Completion.enrollment_id, Completion.completed_at, Completion.version_id)
        .join(Enrollment, and_(Enrollment.id == Completion.enrollment_id,
                               Enrollment.cycle == Completion.cycle))
        .join(User, User.id == Enrollment.user_id)
        .where(*criteria)
        .order_by(Completion.id)
    )
    # Completions are append-only, a correction is a newer record: the last one wins.
    return {eid: (completed_at, vid) for eid, completed_at, vid in rows}


def _rowcount(result: Any) -> int:
    return cast(CursorResult, result).rowcount


def require_retraining(session: Session, actor: User, version: CourseVersion, due_on: date,
                       now: datetime | None = None) -> int:
    """Start a new cycle for everyone whose current completion is of an older version."""
    now = now or utcnow()
    if not version.material:
        raise DomainError(f"Version {version.number} is not a material change: completions "
                          "of earlier versions stay valid.")
    _check_due_on(due_on, now)
    session.flush()
    older = select(CourseVersion.id).where(CourseVersion.course_id == version.course_id,
                                           CourseVersion.number < version.number)
    changed = _rowcount(session.execute(
        update(_enrollments)
        .where(_enrollments.c.course_id == version.course_id,
               _enrollments.c.completed_at.is_not(None),
               _enrollments.c.version_id.in_(older.scalar_subquery()))
        .values(cycle=_enrollments.c.cycle + 1, version_id=None, started_at=None,
                completed_at=None, due_at=end_of_day(due_on), assigned_at=now,
                assigned_by_id=actor.id)
    ))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Enrollment) and obj.course_id == version.course_id:
            session.expire(obj)
    record(session, "course.retraining_required", actor=actor, subject=version,
           course_id=version.course_id, version_number=version.number,
           due_on=due_on.isoformat(), enrollments=changed)
    return changed


def start_renewal(session: Session, user: User, course: Course, now: datetime | None = None
                  ) -> Enrollment:
    """Start a new cycle, on the newest version, for a completion due for renewal or expired."""
    now = now or utcnow()
    session.flush()
    enrollment = session.scalar(select(Enrollment).where(
        Enrollment.user_id == user.id, Enrollment.course_id == course.id))
    if enrollment is None or enrollment.completed_at is None:
        raise DomainError("You have no completion of this course to renew.", status=409)
    completions = _cycle_completions(session, Enrollment.id == enrollment.id)
    completed_at, version_id = completions.get(
        enrollment.id, (enrollment.completed_at, enrollment.version_id or 0))
    months = _recertify_months(session, course.id).get(version_id, 0)
    expires = expiry_of(completed_at, months)
    facts = StatusFacts(completed_at=completed_at, expires_at=expires)
    if expires is None:
        raise DomainError("Your completion of this course does not expire.", status=409)
    if course_status(facts, now) not in (Status.DUE_SOON, Status.EXPIRED):
        opens = expires - timedelta(days=DUE_SOON_DAYS)
        raise DomainError(f"Your completion expires on {format_date(expires)}; you can "
                          f"renew it from {format_date(opens)}.", status=409)
    # Due by the last moment the old completion is valid (the end of the day before expiry).
    due = expires - timedelta(seconds=1) if expires > now else now + timedelta(days=GRACE_DAYS)
    old_cycle = enrollment.cycle
    # Guarded by the cycle: of two renewals at once, one starts the cycle, the other no-ops.
    claimed = _rowcount(session.execute(
        update(_enrollments)
        .where(_enrollments.c.id == enrollment.id, _enrollments.c.cycle == old_cycle,
               _enrollments.c.completed_at.is_not(None))
        .values(cycle=old_cycle + 1, version_id=None, started_at=None, completed_at=None,
                due_at=due)
    ))
    session.refresh(enrollment)
    if claimed == 1:
        record(session, "course.renewal_started", actor=user, subject=enrollment,
               course_id=course.id, cycle=enrollment.cycle, due_at=due.isoformat())
    return enrollment


# --- the status matrix -------------------------------------------------------------------

# Most urgent first, when sorting by status.
STATUS_ORDER = {s: i for i, s in enumerate((
    Status.OVERDUE, Status.EXPIRED, Status.DUE_SOON, Status.IN_PROGRESS, Status.NOT_STARTED,
    Status.COMPLETED))}


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One person on one course: the facts of their current cycle and its status."""

    user_id: int
    name: str
    email: str
    department: str | None
    manager_id: int | None
    course_id: int
    course_slug: str
    course_title: str
    version_number: int
    assigned_at: datetime | None
    due_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    status: Status

    @property
    def facts(self) -> StatusFacts:
        return StatusFacts(self.assigned_at, self.due_at, self.started_at, self.completed_at,
                           self.expires_at)

    @property
    def label(self) -> str:
        return label(self.status, self.facts)

    @property
    def holds_valid_completion(self) -> bool:
        return self.completed_at is not None and self.status is not Status.EXPIRED


@dataclass(frozen=True)
class StatusPage:
    rows: list[StatusRow]
    total: int  # rows matching the filters, before paging


_SORT_KEYS: dict[str, Any] = {
    "name": lambda r: r.name.casefold(),
    "email": lambda r: r.email,
    "department": lambda r: r.department.casefold() if r.department else None,
    "course": lambda r: r.course_title.casefold(),
    "status": lambda r: STATUS_ORDER[r.status],
    "assigned": lambda r: r.assigned_at,
    "due": lambda r: r.due_at,
    "started": lambda r: r.started_at,
    "completed": lambda r: r.completed_at,
    "expires": lambda r: r.expires_at,
}
SORTS = frozenset(_SORT_KEYS) | {f"-{k}" for k in _SORT_KEYS}


def _sorted(rows: list[StatusRow], sort: str) -> list[StatusRow]:
    key = _SORT_KEYS[sort.lstrip("-")]
    rows = sorted(rows, key=lambda r: (r.name.casefold(), r.course_title.casefold(), r.user_id))
    present = [r for r in rows if key(r) is not None]
    absent = [r for r in rows if key(r) is None]  # blanks last, whichever the direction
    return sorted(present, key=key, reverse=sort.startswith("-")) + absent


def status_rows(
    session: Session,
    *,
    course_id: int | None = None,
    department: str | None = None,
    manager_id: int | None = None,
    user_id: int | None = None,
    status: Status | Collection[Status] | None = None,
    limit: int | None = None,
    offset: int = 0,
    sort: str | None = "name",
    now: datetime | None = None,
    due_soon_days: int = DUE_SOON_DAYS,
) -> StatusPage:
    """The people x courses matrix for active people with an enrollment, filtered and paged.

    Three queries whatever the number of rows. Status is computed in Python (it depends on
    ``now`` and on each version's validity), so the status filter, the sort and the paging
    are applied after it, over every row the other filters match. ``sort`` is a column name
    from ``SORTS``, "-" first for descending, blanks always last; None leaves rows unsorted.
    """
    now = now or utcnow()
    if offset < 0 or (limit is not None and limit < 0):
        raise DomainError("Paging must not be negative.")
    if sort is not None and sort not in SORTS:
        raise DomainError("Unknown sort order.")
    wanted: set[Status] | None = None
    if status is not None:
        wanted = {Status(status)} if isinstance(status, str) else {Status(s) for s in status}
    criteria: list[ColumnElement[bool]] = [User.active.is_(True)]
    if course_id is not None:
        criteria.append(Enrollment.course_id == course_id)
    if department is not None:
        criteria.append(User.department == department)
    if manager_id is not None:
        criteria.append(User.manager_id == manager_id)
    if user_id is not None:
        criteria.append(User.id == user_id)

    versions = session.execute(select(
        CourseVersion.id, CourseVersion.course_id, CourseVersion.number, CourseVersion.title,
        CourseVersion.recertify_months)).all()
    by_id = {v.id: v for v in versions}
    newest: dict[int, Any] = {}
    for v in versions:
        if v.course_id not in newest or v.number > newest[v.course_id].number:
            newest[v.course_id] = v
    completions = _cycle_completions(session, *criteria)
    enrolled = session.execute(
        select(User.id, User.name, User.email, User.department, User.manager_id,
               Enrollment.id, Enrollment.course_id,
               Enrollment.version_id, Enrollment.assigned_at, Enrollment.due_at,
               Enrollment.started_at, Enrollment.completed_at, Course.slug)
        .select_from(Enrollment)
        .join(User, User.id == Enrollment.user_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(*criteria)
    )
    rows: list[StatusRow] = []
    # Plain tuple unpacking: attribute access on 20,000 result rows costs more than the query.
    for (user_id, name, email, user_department, user_manager_id, enrollment_id, enrolled_on,
         version_id, assigned_at, due_at, started_at, completed_at, slug) in enrolled:
        done_on = version_id
        if completed_at is not None and enrollment_id in completions:
            completed_at, done_on = completions[enrollment_id]
        version = by_id.get(version_id) or newest.get(enrolled_on)
        if version is None:
            continue  # a course with no published version has nothing to show
        months = by_id[done_on].recertify_months if done_on in by_id else 0
        expires = expiry_of(completed_at, months)
        facts = StatusFacts(assigned_at, due_at, started_at, completed_at, expires)
        row_status = course_status(facts, now, due_soon_days)
        if wanted is not None and row_status not in wanted:
            continue
        rows.append(StatusRow(
            user_id, name, email, user_department, user_manager_id, enrolled_on, slug,
            version.title, version.number, assigned_at, due_at, started_at, completed_at,
            expires, row_status,
        ))
    if sort is not None:
        rows = _sorted(rows, sort)
    end = None if limit is None else offset + limit
    return StatusPage(rows=rows[offset:end], total=len(rows))


@dataclass
class Tally:
    """Counts over a set of status rows."""

    total: int = 0
    completed: int = 0  # holding a valid completion of the current cycle
    overdue: int = 0
    expired: int = 0
    due_soon: int = 0

    @property
    def rate(self) -> float:
        """Share of rows with a valid completion, 0 to 1 (0 when there are none)."""
        return self.completed / self.total if self.total else 0.0

    def add(self, status: Status, completed: bool, count: int = 1) -> None:
        self.total += count
        self.completed += count if completed and status is not Status.EXPIRED else 0
        self.overdue += count if status is Status.OVERDUE else 0
        self.expired += count if status is Status.EXPIRED else 0
        self.due_soon += count if status is Status.DUE_SOON else 0


@dataclass
class Summary:
    """Completion over every active person x course enrollment, overall and by department."""

    overall: Tally = field(default_factory=Tally)
    by_department: dict[str | None, Tally] = field(default_factory=dict)  # None: no department

    @property
    def overdue(self) -> int:
        return self.overall.overdue


def summary(session: Session, now: datetime | None = None) -> Summary:
    """The completion rate overall and by department, and how much is overdue."""
    # Count combinations first: a handful of keys, however many rows.
    combinations = Counter((row.department, row.status, row.completed_at is not None)
                           for row in status_rows(session, now=now, sort=None).rows)
    result = Summary()
    departments: dict[str | None, Tally] = defaultdict(Tally)
    for (department, status, completed), count in combinations.items():
        result.overall.add(status, completed, count)
        departments[department].add(status, completed, count)
    result.by_department = dict(sorted(departments.items(),
                                       key=lambda item: (item[0] is None, item[0] or "")))
    return result
