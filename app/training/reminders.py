"""Who is reminded of what, and the reminder run: learners' e-mails and managers' digests.

Who: a record is due for a reminder when the cadence says so (``app.training.cadence.
milestone``, one SQL expression), and only if its person can act on it: active, signed in at
least once (someone who never set a password gets a new invitation from HR instead), holding
the learner role, on a published course, and not under an assignment HR cancelled. A person
gets at most one e-mail a day, listing every course due for a reminder.

``preview`` pages through who would be reminded now, with the counts, in a few queries and
never loading everyone. ``send_reminders`` is the run: it walks the same records in batches of
``PEOPLE_PER_BATCH`` people (keyset, by id) and puts each e-mail in the outbox
(``app.mail.queue_mail``) as it goes, so memory stays flat however many are due, and nothing
waits on the SMTP server. Each reminder is claimed by inserting its ``Reminder`` row (unique
per person and day) in a savepoint with its outbox message: two runs at once cannot both
remind someone. Then each manager of someone reminded of late training gets one digest
listing them, walked by manager in batches too.

Callers own the transaction; ``checkpoint`` (if given) is called after each batch, so a long
run can commit as it goes (the CLI and the workers do: a run of 8,000 e-mails is not one
transaction). No Flask here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.db import NAME_COLLATION, utcnow
from app.fields import EMAIL_MAX, one_line
from app.mail.outbox import queue_mail
from app.mail.smtp import MailSettings
from app.models import (
    Assignment,
    Enrollment,
    Reminder,
    Role,
    User,
    UserRole,
)
from app.training.cadence import LATE, Cadence, deadline, milestone, read_cadence
from app.training.digests import count_active, send_digests
from app.training.matrix import Catalogue, StatusRow, record_columns, status_column
from app.training.reminder_mail import compose, is_late
from app.training.status import Status

PEOPLE_PER_BATCH = 500  # people read, composed and queued at a time
FAILURES_LISTED = 100  # unusable addresses a report names; the rest are counted
PAGE_SIZE = 50  # people per page of the preview

_users = cast(Table, User.__table__)
_enrollments = cast(Table, Enrollment.__table__)
_assignments = cast(Table, Assignment.__table__)


@dataclass(frozen=True)
class ReminderMessage:
    """One reminder, queued or (in a dry run) to be queued."""

    user_id: int
    to: str
    subject: str
    course_ids: tuple[int, ...]
    overdue: bool


@dataclass(frozen=True)
class ReminderFailure:
    user_id: int
    to: str
    reason: str


@dataclass
class ReminderReport:
    """What a run queued (or, in a dry run, would queue), what failed, and whom it skipped.

    Counts, not lists, so that a run's memory does not grow with the number of e-mails;
    ``send_reminders(on_message=...)`` hears of each message as it is queued.
    """

    dry_run: bool = False
    queued: int = 0
    courses: int = 0  # courses the queued reminders name
    digests: int = 0  # managers' digests
    failed: list[ReminderFailure] = field(default_factory=list)  # the first FAILURES_LISTED
    failed_count: int = 0
    already_reminded: int = 0
    # Never signed in (no password yet): a reminder is no use to them; HR's "Never signed
    # in" page gives them a new invitation instead.
    not_activated: int = 0

    def add(self, message: ReminderMessage) -> None:
        self.queued += 1
        self.courses += len(message.course_ids)

    def fail(self, failure: ReminderFailure) -> None:
        self.failed_count += 1
        if len(self.failed) < FAILURES_LISTED:
            self.failed.append(failure)

    def summary(self) -> str:
        """A few lines for the command line and the workers' log."""
        verb = "Would send" if self.dry_run else "Queued"
        lines = [
            f"{verb} {self.queued} reminder(s) naming {self.courses} course(s) and "
            f"{self.digests} manager digest(s); {self.failed_count} failed; "
            f"{self.already_reminded} already reminded today."
        ]
        if self.not_activated:
            lines.append(
                f"{self.not_activated} never signed in: no reminder (send them an invitation)."
            )
        lines += [f"failed: user {f.user_id} <{f.to}>: {f.reason}" for f in self.failed]
        if self.failed_count > len(self.failed):
            lines.append(f"... and {self.failed_count - len(self.failed)} more failures.")
        return "\n".join(lines)


# --- who is due a reminder ---------------------------------------------------------------


def _is_learner() -> Any:
    return exists().where(UserRole.user_id == _users.c.id, UserRole.role == Role.LEARNER)


def due_records(
    now: datetime, cadence: Cadence, catalogue: Catalogue, user_ids: Sequence[int] | None = None
) -> Select[Any]:
    """Every record due for a reminder at ``now`` of an active learner, with its step of the
    cadence and two flags: ``activated`` (has signed in) and ``reminded_today``."""
    e = _enrollments.c
    status = status_column(now)
    columns = {
        "due_at": e.due_at,
        "completed_at": e.completed_at,
        "expires_at": e.expires_at,
        "reminded_at": e.reminded_at,
        "reminded_deadline": e.reminded_deadline,
        "reminded_days_before": e.reminded_days_before,
        "status": status,
    }
    step = milestone(columns, now, cadence)
    criteria = [
        _users.c.active.is_(True),
        _is_learner(),
        e.course_id.in_(sorted(catalogue.newest)),
        # Not under an assignment HR cancelled (self-enrolled records have no due date).
        or_(e.assignment_id.is_(None), _assignments.c.cancelled_at.is_(None)),
        step.is_not(None),
    ]
    if user_ids is not None:
        criteria.append(e.user_id.in_(list(user_ids)))
    reminded_today = exists().where(Reminder.user_id == _users.c.id, Reminder.sent_on == now.date())
    return (
        select(
            e.id.label("enrollment_id"),
            *record_columns(),
            status.label("status"),
            step.label("step"),
            deadline(columns).label("deadline"),
            _users.c.password_hash.is_not(None).label("activated"),
            reminded_today.label("reminded_today"),
        )
        .select_from(_enrollments)
        .join(_users, _users.c.id == e.user_id)
        .outerjoin(_assignments, _assignments.c.id == e.assignment_id)
        .where(*criteria)
    )


def _sendable(records: Any) -> Any:
    return and_(records.c.activated.is_(True), records.c.reminded_today.is_(False))


@dataclass(frozen=True)
class DueRecord:
    """One course of a person due for a reminder, at a step of the cadence."""

    row: StatusRow
    step: int
    enrollment_id: int


def _status_row(record: Any, catalogue: Catalogue) -> StatusRow:
    version = catalogue.shown(record.course_id, record.version_id)
    return StatusRow(
        record.user_id,
        record.name,
        record.email,
        record.employee_id,
        record.department,
        record.manager_id,
        record.active,
        record.course_id,
        version.slug,
        version.title,
        version.number,
        record.assigned_at,
        record.due_at,
        record.started_at,
        record.completed_at,
        record.expires_at,
        record.revoked_at,
        record.extra_attempts,
        Status(record.status),
    )


def _records_of(
    session: Session,
    people: Sequence[int],
    now: datetime,
    cadence: Cadence,
    catalogue: Catalogue,
) -> dict[int, list[DueRecord]]:
    """The due records of ``people`` who may be reminded now, by person."""
    records = due_records(now, cadence, catalogue, people).subquery("records")
    found: dict[int, list[DueRecord]] = defaultdict(list)
    for record in session.execute(select(records).where(_sendable(records))):
        found[record.user_id].append(
            DueRecord(_status_row(record, catalogue), int(record.step), record.enrollment_id)
        )
    return found


@dataclass(frozen=True)
class Counts:
    """Who would be reminded now."""

    people: int = 0  # e-mails to learners
    courses: int = 0  # courses they name
    late_people: int = 0  # of those, with late training
    digests: int = 0  # managers who would get a digest
    not_activated: int = 0  # due, but never signed in: skipped
    already_reminded: int = 0  # due, but reminded earlier today


def count_due(
    session: Session, now: datetime, cadence: Cadence, catalogue: Catalogue | None = None
) -> Counts:
    """The counts of a run at ``now``, computed by the database in one query."""
    catalogue = catalogue or Catalogue.read(session)
    records = due_records(now, cadence, catalogue).subquery("records")
    manager = aliased(_users, name="manager")
    sendable = _sendable(records)
    late = and_(sendable, records.c.step == LATE)

    def people(condition: Any) -> Any:
        return func.count(func.distinct(case((condition, records.c.user_id))))

    row = session.execute(
        select(
            people(sendable),
            func.count(case((sendable, literal(1)))),
            people(late),
            func.count(func.distinct(case((late, manager.c.id)))),
            people(records.c.activated.is_(False)),
            people(and_(records.c.activated.is_(True), records.c.reminded_today.is_(True))),
        )
        .select_from(records)
        .outerjoin(
            manager,
            and_(
                manager.c.id == records.c.manager_id,
                manager.c.active.is_(True),
                manager.c.id != records.c.user_id,
            ),
        )
    ).one()
    return Counts(*(int(n or 0) for n in row))


@dataclass(frozen=True)
class PreviewPerson:
    user_id: int
    name: str
    email: str
    employee_id: str | None
    records: list[DueRecord]

    @property
    def late(self) -> bool:
        return any(r.step == LATE for r in self.records)


@dataclass(frozen=True)
class Preview:
    counts: Counts
    people: list[PreviewPerson]  # this page, by name in the language's order
    page: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.counts.people // self.page_size))


def preview(
    session: Session,
    now: datetime | None = None,
    cadence: Cadence | None = None,
    page: int = 1,
    page_size: int | None = None,
) -> Preview:
    """Who a run would remind now: the counts and one page of people with their courses
    (four queries, whatever the number of people)."""
    now = now or utcnow()
    page_size = page_size or PAGE_SIZE
    cadence = cadence or read_cadence(session)
    catalogue = Catalogue.read(session)
    counts = count_due(session, now, cadence, catalogue)
    records = due_records(now, cadence, catalogue).subquery("records")
    people = session.execute(
        select(records.c.user_id, records.c.name, records.c.email, records.c.employee_id)
        .where(_sendable(records))
        .group_by(records.c.user_id, records.c.name, records.c.email, records.c.employee_id)
        .order_by(records.c.name.collate(NAME_COLLATION), records.c.user_id)
        .limit(page_size)
        .offset((max(page, 1) - 1) * page_size)
    ).all()
    found = _records_of(session, [p.user_id for p in people], now, cadence, catalogue)
    return Preview(
        counts=counts,
        people=[
            PreviewPerson(p.user_id, p.name, p.email, p.employee_id, found.get(p.user_id, []))
            for p in people
        ],
        page=max(page, 1),
        page_size=page_size,
    )


# --- the run ---------------------------------------------------------------------------------


def _people_batches(
    session: Session, now: datetime, cadence: Cadence, catalogue: Catalogue
) -> Iterator[list[int]]:
    """The ids of the people to remind, in batches, by keyset (no offset scan)."""
    last = 0
    while True:
        records = due_records(now, cadence, catalogue).subquery("records")
        batch = list(
            session.scalars(
                select(records.c.user_id)
                .where(_sendable(records), records.c.user_id > last)
                .group_by(records.c.user_id)
                .order_by(records.c.user_id)
                .limit(PEOPLE_PER_BATCH)
            )
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


def send_reminders(
    session: Session,
    mail: MailSettings,
    now: datetime | None = None,
    dry_run: bool = False,
    on_message: Callable[[ReminderMessage], object] | None = None,
    *,
    cadence: Cadence | None = None,
    run_id: int | None = None,
    checkpoint: Callable[[ReminderReport], object] | None = None,
) -> ReminderReport:
    """Queue an e-mail to each person the cadence says to remind (at most one a day), then
    one digest to each manager of someone reminded of late training. Workers send them once
    the caller commits. ``cadence``: the stored one unless given; ``run_id``: the
    ``ReminderRun`` the reminders belong to."""
    now = now or utcnow()
    cadence = cadence or read_cadence(session)
    catalogue = Catalogue.read(session)
    counts = count_due(session, now, cadence, catalogue)
    report = ReminderReport(
        dry_run=dry_run,
        not_activated=counts.not_activated,
        already_reminded=counts.already_reminded,
    )
    late_managers: set[int] = set()  # for a dry run's count only: one id per manager
    for batch in _people_batches(session, now, cadence, catalogue):
        due = _records_of(session, batch, now, cadence, catalogue)
        reminded: list[int] = []
        for user_id in sorted(due):
            records = due[user_id]
            if _remind(session, mail, records, now, report, dry_run, on_message, run_id):
                reminded.append(user_id)
                person = records[0].row
                if is_late([r.row for r in records]) and person.manager_id not in (None, user_id):
                    late_managers.add(person.manager_id)
        if not dry_run:
            _mark_reminded(session, [r for u in reminded for r in due[u]], now)
        if checkpoint is not None:
            checkpoint(report)
    if dry_run:
        report.digests = count_active(session, late_managers)
    elif run_id is not None:
        digests = send_digests(session, mail, run_id, now)
        report.digests += digests.sent
        for manager_id, email, reason in digests.failed:
            report.fail(ReminderFailure(manager_id, email, reason))
        if checkpoint is not None:
            checkpoint(report)
    return report


def _remind(
    session: Session,
    mail: MailSettings,
    records: list[DueRecord],
    now: datetime,
    report: ReminderReport,
    dry_run: bool,
    on_message: Callable[[ReminderMessage], object] | None,
    run_id: int | None,
) -> bool:
    rows = [r.row for r in records]
    person = rows[0]
    late = is_late(rows)
    told = late and person.manager_id is not None and person.manager_id != person.user_id
    try:
        message = compose(mail, person, rows, now, manager_told=told)
    except ValueError as exc:
        report.fail(
            ReminderFailure(
                person.user_id, one_line(person.email, EMAIL_MAX), f"unusable address: {exc}"
            )
        )
        return False
    meta = ReminderMessage(
        user_id=person.user_id,
        to=person.email,
        subject=str(message["Subject"]),
        course_ids=tuple(sorted(r.course_id for r in rows)),
        overdue=late,
    )
    if not dry_run:
        try:
            with session.begin_nested():
                # Claims today's reminder (or fails: another run has it), with its e-mail.
                session.execute(
                    insert(Reminder).values(
                        user_id=meta.user_id,
                        sent_on=now.date(),
                        sent_at=now,
                        courses=list(meta.course_ids),
                        manager_copied=False,
                        run_id=run_id,
                        overdue=late,
                    )
                )
                queue_mail(session, message, kind="reminder")
        except IntegrityError:
            report.already_reminded += 1
            return False
    report.add(meta)
    if on_message is not None:
        on_message(meta)
    return True


def _mark_reminded(session: Session, records: Sequence[DueRecord], now: datetime) -> None:
    """Store on each record the step reminded of and its deadline: the cadence moves on."""
    e = _enrollments.c
    by_step: dict[int, list[int]] = defaultdict(list)
    for record in records:
        by_step[record.step].append(record.enrollment_id)
    columns = {"completed_at": e.completed_at, "expires_at": e.expires_at, "due_at": e.due_at}
    for step, ids in by_step.items():
        session.execute(
            update(_enrollments)
            .where(e.id.in_(ids))
            .values(reminded_at=now, reminded_days_before=step, reminded_deadline=deadline(columns))
        )


__all__ = [
    "Counts",
    "MailSettings",
    "Preview",
    "ReminderFailure",
    "ReminderMessage",
    "ReminderReport",
    "count_due",
    "due_records",
    "preview",
    "send_reminders",
]
