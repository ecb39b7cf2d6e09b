"""Reminder runs on record: starting one (HR's button, the command, the schedule), running it
with its progress kept, and the history HR reads.

A run from the browser is queued (``queue_run``) and a worker runs it; the command and the
schedule start theirs at once. ``perform_run`` commits as it goes, like the job runner: after
each batch of people (the counts so far and a heartbeat), then at the end with the audit event
``reminders.sent`` (its counts, who or what started it). ``recover_stale_runs``, which the
workers' maintenance calls every minute, fails a run whose worker died (no heartbeat for
``stale_after``) and names the queued runs no worker claimed (their message lost) to hand out
again. No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import NAME_COLLATION, rowcount, utcnow
from app.errors import DomainError, NotFound
from app.mail.smtp import MailSettings
from app.models import Reminder, ReminderDigest, ReminderRun, RunState, RunTrigger, User
from app.models.reminder import RUN_ERROR_MAX
from app.training.cadence import Cadence, read_cadence
from app.training.reminders import ReminderMessage, ReminderReport, send_reminders

RUNS_PER_PAGE = 20
PEOPLE_PER_PAGE = 50
UNDER_WAY = (RunState.QUEUED, RunState.RUNNING)
WORKER_DIED = "The worker running it stopped; what it queued before stopping is sent."


def start_run(
    session: Session,
    trigger: RunTrigger,
    actor: User | None = None,
    now: datetime | None = None,
) -> ReminderRun:
    """Record a run, queued for a worker (from the browser) or running now (the command and
    the schedule), with the cadence in force."""
    now = now or utcnow()
    cadence = read_cadence(session)
    queued = trigger is RunTrigger.BROWSER
    run = ReminderRun(
        trigger=trigger,
        started_by_id=actor.id if actor is not None else None,
        state=RunState.QUEUED if queued else RunState.RUNNING,
        created_at=now,
        started_at=None if queued else now,
        heartbeat_at=now,
        days_before=list(cadence.days_before),
        overdue_every_days=cadence.overdue_every_days,
    )
    session.add(run)
    session.flush()
    return run


def queue_run(session: Session, actor: User, now: datetime | None = None) -> ReminderRun:
    """HR's "Send now": a run for a worker, refused while another one is under way."""
    busy = session.scalar(
        select(ReminderRun).where(ReminderRun.state.in_(UNDER_WAY)).order_by(ReminderRun.id)
    )
    if busy is not None:
        raise DomainError(
            f"A reminder run is already under way (run {busy.id}); wait for it to finish.",
            status=409,
        )
    return start_run(session, RunTrigger.BROWSER, actor, now)


def claim_run(session: Session, run_id: int, now: datetime | None = None) -> bool:
    """Move a queued run to running (a conditional update: one worker only)."""
    now = now or utcnow()
    claimed = rowcount(
        session.execute(
            update(ReminderRun)
            .where(ReminderRun.id == run_id, ReminderRun.state == RunState.QUEUED)
            .values(state=RunState.RUNNING, started_at=now, heartbeat_at=now)
        )
    )
    return claimed == 1


def perform_run(
    session: Session,
    run_id: int,
    mail: MailSettings,
    now: datetime | None = None,
    commit: Callable[[], object] | None = None,
    on_message: Callable[[ReminderMessage], object] | None = None,
) -> ReminderReport:
    """Run reminders for run ``run_id`` (already running), with the cadence it recorded;
    ``commit`` is called after each batch and at the end."""
    now = now or utcnow()
    run = session.get(ReminderRun, run_id)
    if run is None or run.state is not RunState.RUNNING:
        raise NotFound("There is no such reminder run under way.")
    cadence = Cadence(tuple(run.days_before), run.overdue_every_days)
    started_by = run.started_by

    def checkpoint(report: ReminderReport) -> None:
        _store_counts(session, run_id, report, utcnow())
        if commit is not None:
            commit()

    report = send_reminders(
        session,
        mail,
        now=now,
        on_message=on_message,
        cadence=cadence,
        run_id=run_id,
        checkpoint=checkpoint,
    )
    _store_counts(session, run_id, report, utcnow(), finished=True)
    run = session.get(ReminderRun, run_id)
    record(
        session,
        "reminders.sent",
        actor=started_by,
        subject=run,
        trigger=run.trigger.value if run is not None else None,
        reminders=report.queued,
        courses=report.courses,
        digests=report.digests,
        failed=report.failed_count,
        already_reminded=report.already_reminded,
        not_activated=report.not_activated,
    )
    if commit is not None:
        commit()
    return report


def _store_counts(
    session: Session, run_id: int, report: ReminderReport, now: datetime, finished: bool = False
) -> None:
    values: dict[str, Any] = {
        "reminders": report.queued,
        "courses": report.courses,
        "digests": report.digests,
        "failed": report.failed_count,
        "already_reminded": report.already_reminded,
        "not_activated": report.not_activated,
        "heartbeat_at": now,
    }
    if finished:
        values |= {"state": RunState.DONE, "finished_at": now}
    session.execute(update(ReminderRun).where(ReminderRun.id == run_id).values(**values))
    session.expire_all()


def run_to_end(
    session: Session,
    run_id: int,
    mail: MailSettings,
    on_message: Callable[[ReminderMessage], object] | None = None,
) -> ReminderReport:
    """Perform a running run, committing as it goes; on an error, roll the unfinished batch
    back, mark the run failed and re-raise (what earlier batches queued is kept and sent)."""
    try:
        return perform_run(session, run_id, mail, commit=session.commit, on_message=on_message)
    except Exception:
        session.rollback()
        fail_run(session, run_id, "The run stopped on an error; the workers' log says why.")
        session.commit()
        raise


def fail_run(session: Session, run_id: int, error: str, now: datetime | None = None) -> None:
    """Mark a run failed, saying why (after the caller rolled back its unfinished batch)."""
    session.execute(
        update(ReminderRun)
        .where(ReminderRun.id == run_id, ReminderRun.state.in_(UNDER_WAY))
        .values(state=RunState.FAILED, finished_at=now or utcnow(), error=error[:RUN_ERROR_MAX])
    )


@dataclass(frozen=True)
class RunRecovery:
    failed: int  # running runs whose worker stopped
    lost: tuple[int, ...]  # queued runs no worker has claimed: to be handed out again


def recover_stale_runs(session: Session, now: datetime, stale_after: timedelta) -> RunRecovery:
    """Fail the runs whose worker stopped (running, with no heartbeat for ``stale_after``) and
    name the queued runs no worker claimed within ``stale_after`` (their message was lost, say
    a queue restarted): the caller hands them out again, which is harmless if the first message
    is only late, as one worker alone can claim a run (``claim_run``)."""
    cutoff = now - stale_after
    failed = rowcount(
        session.execute(
            update(ReminderRun)
            .where(ReminderRun.state == RunState.RUNNING, ReminderRun.heartbeat_at < cutoff)
            .values(state=RunState.FAILED, finished_at=now, error=WORKER_DIED)
        )
    )
    lost = session.scalars(
        select(ReminderRun.id).where(
            ReminderRun.state == RunState.QUEUED, ReminderRun.created_at < cutoff
        )
    ).all()
    return RunRecovery(failed, tuple(lost))


# --- the history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPage:
    runs: list[tuple[ReminderRun, str | None]]  # with who started it (None: not a person)
    total: int
    page: int
    page_size: int = RUNS_PER_PAGE


def list_runs(session: Session, page: int = 1, page_size: int = RUNS_PER_PAGE) -> RunPage:
    """Reminder runs, newest first, a page at a time."""
    page = max(page, 1)
    total = int(session.scalar(select(func.count()).select_from(ReminderRun)) or 0)
    rows = session.execute(
        select(ReminderRun, User.name)
        .outerjoin(User, User.id == ReminderRun.started_by_id)
        .order_by(ReminderRun.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return RunPage([(run, name) for run, name in rows], total, page, page_size)


@dataclass(frozen=True)
class RunPeople:
    """Whom one run reminded (a page of them) and which managers got a digest."""

    reminded: list[tuple[Reminder, User]]
    total: int
    digests: list[tuple[ReminderDigest, User]]
    page: int
    page_size: int = PEOPLE_PER_PAGE


def run_people(
    session: Session, run_id: int, page: int = 1, page_size: int = PEOPLE_PER_PAGE
) -> RunPeople:
    """The people run ``run_id`` reminded, by name, a page at a time, and its digests."""
    page = max(page, 1)
    total = int(session.scalar(select(func.count()).where(Reminder.run_id == run_id)) or 0)
    reminded = session.execute(
        select(Reminder, User)
        .join(User, User.id == Reminder.user_id)
        .where(Reminder.run_id == run_id)
        .order_by(User.name.collate(NAME_COLLATION), User.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    digests = session.execute(
        select(ReminderDigest, User)
        .join(User, User.id == ReminderDigest.manager_id)
        .where(ReminderDigest.run_id == run_id)
        .order_by(User.name.collate(NAME_COLLATION), User.id)
        .limit(500)
    ).all()
    return RunPeople(
        [(r, u) for r, u in reminded], total, [(d, u) for d, u in digests], page, page_size
    )
