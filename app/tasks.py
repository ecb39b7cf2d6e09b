"""The job queue: Huey, on a SQLite file by default and on Redis in production.

This module sits beside the views and the CLI: a task is an entry point like a request. It
opens the app's database session, calls one domain service, and commits; the work itself is
in the domain packages (``app/jobs/runner.py`` for jobs with progress and a file).

- ``CANDOR_JOBS_URL`` unset: ``SqliteHuey`` on ``instance/jobs.sqlite3``. No server to run;
  ``make run`` starts one worker process beside the web server.
- ``CANDOR_JOBS_URL=redis://host:6379/0``: ``RedisHuey``. Any number of workers
  (``flask --app app jobs worker``) on any number of machines share the queue.

The Huey instance is built on first use (the instance folder and the configuration are
final by then) and kept in ``app.extensions["candor.jobs"]``. Tasks carry ids only (a
password reset: the address typed); the ``jobs`` table, not the queue, is the record of what
was asked for and how it went, so a message lost with a dead worker costs nothing:
``maintain`` (every minute, scheduled by Huey) queues again, or fails, what a dead worker left
behind, and deletes expired files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.certificates.service import (
    PDFS_TO_RENDER,
    certificate_pdf,
    pdf_is_missing,
    waiting_for_pdf,
)
from app.db import utcnow
from app.jobs import records, runner
from app.mail import outbox
from app.mail.smtp import mail_settings
from app.models import Certificate, RunTrigger
from app.privacy import retention
from app.training.reminder_runs import claim_run, recover_stale_runs, run_to_end, start_run

log = logging.getLogger(__name__)


def _handlers() -> Mapping[str, runner.Handler]:
    from app.evidence.jobs import EVIDENCE_HANDLERS
    from app.exports.jobs import EXPORT_HANDLERS
    from app.privacy.subject_access import KIND, run_subject_access

    return {**EXPORT_HANDLERS, **EVIDENCE_HANDLERS, KIND: run_subject_access}


class JobQueue:
    """The app's queue: ``enqueue_job(id)`` after the job's row is committed."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._huey: Huey | None = None
        self._tasks: dict[str, Any] = {}

    @property
    def huey(self) -> Huey:
        if self._huey is None:
            self._huey = _build_huey(self.app)
            self._register(self._huey)
        return self._huey

    def describe(self) -> str:
        """Where the queue lives, without any password in its URL."""
        url = self.app.config["JOBS_URL"]
        if not url:
            return f"SQLite {Path(self.app.instance_path) / 'jobs.sqlite3'}"
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"

    def enqueue_job(self, job_id: int) -> None:
        """Hand job ``job_id`` to a worker (its row must be committed first)."""
        self.huey  # noqa: B018 (builds the queue and its tasks on first use)
        self._tasks["run_job"](job_id)

    def _in_app(self, function: Callable[..., Any]) -> Callable[..., Any]:
        app = self.app

        def task(*args: Any) -> Any:
            with app.app_context():
                return function(*args)

        task.__name__ = function.__name__
        return task

    def enqueue_reminder_run(self, run_id: int) -> None:
        """Hand reminder run ``run_id`` (queued and committed) to a worker."""
        self.huey  # noqa: B018 (builds the queue and its tasks on first use)
        self._tasks["reminder_run"](run_id)

    def kick_delivery(self) -> None:
        """Have a worker send the outbox's due messages (after a commit that queued mail)."""
        self.huey  # noqa: B018 (builds the queue and its tasks on first use)
        self._tasks["deliver_mail"]()

    def render_certificate_pdf(self, certificate_id: int) -> None:
        """Have a worker render and keep certificate ``certificate_id``'s PDF (committed)."""
        self.huey  # noqa: B018 (builds the queue and its tasks on first use)
        self._tasks["certificate_pdf"](certificate_id)

    def send_password_reset(self, email: str) -> None:
        """Have a worker e-mail a reset link if ``email`` has an active account. The request
        that asks does only this, the same for every address: whether the address is known
        is decided here, out of sight of the asker's clock."""
        self.huey  # noqa: B018 (builds the queue and its tasks on first use)
        self._tasks["password_reset"](email)

    def _register(self, huey: Huey) -> None:
        self._tasks["password_reset"] = huey.task(name="candor.password_reset")(
            self._in_app(_send_password_reset)
        )
        self._tasks["run_job"] = huey.task(name="candor.run_job")(self._in_app(_run_job))
        self._tasks["certificate_pdf"] = huey.task(name="candor.certificate_pdf")(
            self._in_app(render_certificate_pdf)
        )
        self._tasks["deliver_mail"] = huey.task(name="candor.deliver_mail")(
            self._in_app(self.deliver_mail)
        )
        self._tasks["reminder_run"] = huey.task(name="candor.reminder_run")(
            self._in_app(_reminder_run)
        )
        self._tasks["maintain"] = huey.periodic_task(crontab(minute="*"), name="candor.maintain")(
            self._in_app(self.maintain)
        )
        schedule = str(self.app.config["JOBS_REMINDERS_CRONTAB"] or "").split()
        if schedule:
            minute, hour, day, month, weekday = _crontab_fields(schedule)
            self._tasks["reminders"] = huey.periodic_task(
                crontab(minute, hour, day, month, weekday), name="candor.reminders"
            )(self._in_app(_send_reminders))

    def deliver_mail(self) -> outbox.Delivery:
        """Send what the outbox has due; if some must wait (server down), come back then."""
        config = current_app.config
        report = outbox.deliver_due(
            current_app.extensions["candor.sessionmaker"],
            mail_settings(config),
            retry_base=timedelta(seconds=float(config["JOBS_MAIL_RETRY_SECONDS"])),
            max_attempts=int(config["JOBS_MAIL_MAX_ATTEMPTS"]),
        )
        if report.retry_at is not None:
            # Huey's own schedule brings the retry back; maintain is the safety net.
            self._tasks["deliver_mail"].schedule(eta=report.retry_at)
        if report.sent or report.deferred or report.failed:
            log.info(
                "mail: %d sent, %d deferred, %d failed", report.sent, report.deferred, report.failed
            )
        return report

    def maintain(self) -> None:
        """Queue again (or fail) jobs whose worker died, and delete expired files; in the app
        context. Huey runs it every minute; it is safe to run from several workers at once."""
        config = current_app.config
        make_session = current_app.extensions["candor.sessionmaker"]
        with make_session() as session:
            recovery = records.recover_stale(
                session,
                utcnow(),
                stale_after=timedelta(seconds=int(config["JOBS_STALE_SECONDS"])),
                max_attempts=int(config["JOBS_MAX_ATTEMPTS"]),
            )
            expired = records.expire_results(session, utcnow())
            dead_mail = outbox.fail_stale_sending(
                session, utcnow(), timedelta(seconds=int(config["JOBS_STALE_SECONDS"]))
            )
            mail_due = outbox.has_due(session, utcnow())
            runs = recover_stale_runs(
                session, utcnow(), timedelta(seconds=int(config["JOBS_STALE_SECONDS"]))
            )
            forgotten = retention.enforce(session, utcnow(), config)
            pdfs_waiting = waiting_for_pdf(
                session, utcnow() - timedelta(seconds=int(config["JOBS_STALE_SECONDS"]))
            )
            session.commit()
        for job_id in recovery.requeued:
            self._tasks["run_job"](job_id)
        if mail_due:
            self._tasks["deliver_mail"]()
        for certificate_id in pdfs_waiting:
            self._tasks["certificate_pdf"](certificate_id)
        if pdfs_waiting:
            log.warning("certificates: %d PDF(s) queued again", len(pdfs_waiting))
        for run_id in runs.lost:
            self._tasks["reminder_run"](run_id)
        if runs.failed:
            log.warning("reminders: %d run(s) failed: their worker stopped", runs.failed)
        if runs.lost:
            log.warning("reminders: %d queued run(s) handed out again", len(runs.lost))
        if dead_mail:
            log.warning("mail: %d message(s) failed: their worker died mid-send", dead_mail)
        if any(forgotten.values()):
            log.info("retention: deleted %s", ", ".join(f"{n} {k}" for k, n in forgotten.items()))
        if recovery.requeued or recovery.failed or expired:
            log.info(
                "jobs: %d queued again, %d failed (worker gone), %d files expired",
                len(recovery.requeued),
                len(recovery.failed),
                expired,
            )


def _crontab_fields(fields: list[str]) -> list[str]:
    if len(fields) != 5:
        raise RuntimeError(
            "CANDOR_JOBS_REMINDERS_CRONTAB needs five fields (minute hour day month weekday), "
            f"not {len(fields)}."
        )
    return fields


def _send_reminders() -> None:
    """The scheduled run: recorded as started by the schedule, run to the end here."""
    make_session = current_app.extensions["candor.sessionmaker"]
    with make_session() as session:
        run = start_run(session, RunTrigger.SCHEDULE)
        session.commit()  # on record before it starts: HR sees it under way
        report = run_to_end(session, run.id, mail_settings(current_app.config))
    log.info("reminders: %s", report.summary())


def _reminder_run(run_id: int) -> None:
    """HR's "Send now": claim the queued run (once), then run it to the end."""
    make_session = current_app.extensions["candor.sessionmaker"]
    with make_session() as session:
        if not claim_run(session, run_id):
            return  # another worker has it, or it is over
        session.commit()
        report = run_to_end(session, run_id, mail_settings(current_app.config))
    log.info("reminders (run %d): %s", run_id, report.summary())


def _send_password_reset(email: str) -> None:
    from app.people.resets import send_reset
    from app.people.single_sign_on import password_sign_in_allowed, sso_settings

    config = current_app.config
    sso = sso_settings(config)
    with current_app.extensions["candor.sessionmaker"]() as session:
        send_reset(
            session,
            email,
            mail_settings(config),
            valid_minutes=int(config["PASSWORD_RESET_MINUTES"]),
            allowed=lambda user: password_sign_in_allowed(user, sso),
        )
        session.commit()  # the outbox's commit hook hands the message to delivery


def render_certificate_pdf(certificate_id: int) -> bool:
    """The job after a pass: render certificate ``certificate_id``'s PDF and keep it, unless
    a download (or another worker) did first; whether it was rendered here. In the app context."""
    with current_app.extensions["candor.sessionmaker"]() as session:
        if not pdf_is_missing(session, certificate_id):
            return False
        certificate_pdf(session, session.get_one(Certificate, certificate_id))
    return True


def _run_job(job_id: int) -> str | None:
    config = current_app.config
    state = runner.run_job(
        current_app.extensions["candor.sessionmaker"],
        job_id,
        _handlers(),
        keep_for=timedelta(hours=float(config["JOBS_RESULT_HOURS"])),
    )
    return state.value if state is not None else None


def run_in_the_background() -> str:
    """Have this process, and every thread it starts from now on, run only on CPU time that
    nothing else on the machine wants: Linux's SCHED_IDLE policy, else the highest nice. A
    worker beside the web server then never slows a page or a submission: a certificate's PDF
    took a tenth of a second of CPU from the learners submitting as it rendered. What it got,
    in words."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return "idle CPU priority"
    except (AttributeError, OSError):  # not Linux, or not allowed here
        pass
    try:
        return f"nice {os.nice(19 - os.nice(0))}"
    except OSError:
        return "normal CPU priority (it could not be lowered)"


def _build_huey(app: Flask) -> Huey:
    url = app.config["JOBS_URL"]
    name = app.config["JOBS_QUEUE_NAME"]
    if not url:
        folder = Path(app.instance_path)
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / 'jobs.sqlite3'}"
    # Results are not kept by Huey: the jobs table is the record.
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        # No fsync per message: a pass queues its certificate's PDF inside the request, and
        # an fsync there cost the passing learner more than everything else (benchmarks/
        # submission.py). What a message asks for is on record in the database (jobs,
        # outbox, reminder runs, certificates without a PDF), and maintain hands it out
        # again, so a message lost with the machine costs nothing but a password reset,
        # asked for again.
        return SqliteHuey(name, filename=url.removeprefix("sqlite:///"), results=False, fsync=False)
    raise RuntimeError(
        "CANDOR_JOBS_URL must be sqlite:///PATH or redis://HOST:PORT/DB (see README.md)."
    )


def init_app(app: Flask) -> None:
    """Give the app its job queue (built on first use), and have every commit that queued
    mail, or issued certificates, hand them to a worker."""
    queue = JobQueue(app)
    app.extensions["candor.jobs"] = queue

    def after_commit(session: Session) -> None:
        if session.info.pop(outbox.QUEUED_FLAG, False):
            try:
                queue.kick_delivery()
            except Exception:  # the queue is down: maintain sends it within a minute
                log.exception("could not hand queued mail to the job queue")
        for certificate_id in sorted(session.info.pop(PDFS_TO_RENDER, ())):
            try:
                queue.render_certificate_pdf(certificate_id)
            except Exception:  # the queue is down: a download renders it, or maintain queues it
                log.exception(
                    "could not hand certificate %s's PDF to the job queue", certificate_id
                )

    def after_rollback(session: Session) -> None:
        session.info.pop(PDFS_TO_RENDER, None)  # those certificates were never issued

    make_session = app.extensions["candor.sessionmaker"]
    event.listen(make_session, "after_commit", after_commit)
    event.listen(make_session, "after_rollback", after_rollback)
    # A flag left by a transaction that rolled back only makes one delivery run find nothing.


def get_queue() -> JobQueue:
    """The current app's job queue."""
    return current_app.extensions["candor.jobs"]
