"""E-mail through the job queue: a reminder run only queues (nothing waits on SMTP), the
commit hands the messages to a worker, a server that is down is retried on Huey's schedule,
and the reminder run itself is scheduled by Huey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import run_jobs
from smtp_server import free_port, start_server
from sqlalchemy import select, update

from app.models import Course, Enrollment, MailState, OutboxMessage

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def overdue(app, db, make_user, synced):
    """A learner whose course was due two days ago, and the app pointed at a free port."""
    learner = make_user(email="late@example.test", name="Late Learner")
    course = db.scalar(select(Course).where(Course.slug == "ai-in-the-contact-center"))
    now = datetime.now(UTC)
    db.add(
        Enrollment(
            user_id=learner.id,
            course_id=course.id,
            assigned_at=now - timedelta(days=10),
            due_at=now - timedelta(days=2),
        )
    )
    db.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    return learner


def states(db) -> list[MailState]:
    db.rollback()
    db.expire_all()
    return [m.state for m in db.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def run_scheduled(app) -> int:
    """Run the tasks Huey has scheduled for later (retries), as the consumer would then."""
    huey = app.extensions["candor.jobs"].huey
    due = huey.read_schedule(FAR_FUTURE.replace(tzinfo=None))
    for task in due:
        huey.execute(task, timestamp=FAR_FUTURE.replace(tzinfo=None))
    return len(due)


def test_the_command_queues_and_a_worker_delivers(app, db, overdue):
    controller, collector = start_server(port=app.config["SMTP_PORT"])
    try:
        result = app.test_cli_runner().invoke(args=["reminders", "send"])
        assert result.exit_code == 0, result.output
        assert "queued: late@example.test" in result.output and "Job workers send" in result.output
        assert collector.received == [] and states(db) == [MailState.PENDING]
        assert run_jobs(app) == 1  # the commit handed the outbox to the queue
        assert [r.rcpt_tos for r in collector.received] == [["late@example.test"]]
        assert states(db) == [MailState.SENT]
        assert run_jobs(app) == 0 and run_scheduled(app) == 0
    finally:
        controller.stop()


def test_a_server_down_is_retried_on_the_queues_schedule_and_sends_once(app, db, overdue):
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert run_jobs(app) == 1
    assert states(db) == [MailState.PENDING]  # deferred, not lost
    [scheduled] = app.extensions["candor.jobs"].huey.scheduled()
    assert scheduled.name.endswith("deliver_mail")
    # The back-off passes (30 s): the message is due again when the retry runs.
    db.execute(update(OutboxMessage).values(next_attempt_at=datetime.now(UTC)))
    db.commit()
    controller, collector = start_server(port=app.config["SMTP_PORT"])
    try:
        assert run_scheduled(app) == 1  # the retry Huey scheduled
        assert [r.rcpt_tos for r in collector.received] == [["late@example.test"]]
        assert states(db) == [MailState.SENT]
        with app.app_context():
            app.extensions["candor.jobs"].maintain()  # the safety net finds nothing to do
        assert run_jobs(app) == 0 and len(collector.received) == 1
    finally:
        controller.stop()


def test_maintenance_hands_over_mail_whose_hand_over_was_lost(app, db, overdue):
    app.test_cli_runner().invoke(args=["reminders", "send"])
    huey = app.extensions["candor.jobs"].huey
    huey.flush()  # as if the queue had lost the message
    controller, collector = start_server(port=app.config["SMTP_PORT"])
    try:
        with app.app_context():
            app.extensions["candor.jobs"].maintain()
        assert run_jobs(app) == 1 and len(collector.received) == 1
    finally:
        controller.stop()


def test_the_reminder_run_is_scheduled_by_the_queue(app, db, overdue):
    queue = app.extensions["candor.jobs"]
    task = queue._tasks["reminders"] if queue.huey else None
    weekday_8am = datetime(2026, 12, 7, 8, 0)  # a Monday, UTC
    # What the consumer's scheduler enqueues at that minute, and at the next one:
    due = sorted(t.name for t in queue.huey.read_periodic(weekday_8am))
    assert due == ["candor.maintain", "candor.reminders"]
    later = [t.name for t in queue.huey.read_periodic(weekday_8am + timedelta(minutes=1))]
    assert later == ["candor.maintain"]
    assert task.s().validate_datetime(weekday_8am)
    assert not task.s().validate_datetime(weekday_8am + timedelta(minutes=1))
    assert not task.s().validate_datetime(datetime(2026, 12, 6, 8, 0))  # a Sunday
    controller, collector = start_server(port=app.config["SMTP_PORT"])
    try:
        task.call_local()
        assert run_jobs(app) == 1 and len(collector.received) == 1
    finally:
        controller.stop()


def test_a_bad_reminder_schedule_is_refused_clearly(app):
    app.config["JOBS_REMINDERS_CRONTAB"] = "0 8 * *"
    with pytest.raises(RuntimeError, match="five fields"):
        app.extensions["candor.jobs"].huey  # noqa: B018


def test_an_empty_reminder_schedule_schedules_nothing(app):
    app.config["JOBS_REMINDERS_CRONTAB"] = ""
    queue = app.extensions["candor.jobs"]
    assert queue.huey and "reminders" not in queue._tasks


def test_delivered_mail_is_forgotten_after_the_retention_period(app, db):
    """A message holds its recipient's address and text: kept OUTBOX_KEEP_DAYS once done."""
    from app.mail.outbox import forget_old

    now = datetime.now(UTC)
    keep = timedelta(days=app.config["OUTBOX_KEEP_DAYS"])
    rows = {
        "sent long ago": (MailState.SENT, now - keep - timedelta(minutes=1)),
        "sent lately": (MailState.SENT, now - keep + timedelta(minutes=1)),
        "failed long ago": (MailState.FAILED, now - keep - timedelta(days=3)),
        "still waiting": (MailState.PENDING, now - keep - timedelta(days=3)),
    }
    for subject, (state, at) in rows.items():
        db.add(
            OutboxMessage(
                kind="test",
                sender="candor@example.test",
                recipients=["someone@example.test"],
                subject=subject,
                message=b"Subject: x\r\n\r\nbody",
                state=state,
                next_attempt_at=at,
                created_at=at,
                sent_at=at if state is MailState.SENT else None,
            )
        )
    db.commit()
    assert forget_old(db, now, keep) == 2
    db.commit()
    left = sorted(db.scalars(select(OutboxMessage.subject)))
    assert left == ["sent lately", "still waiting"]  # a waiting message is never dropped


def test_retention_deletes_expired_reset_links_and_old_mail_only(app, db, make_user):
    from app.models import PasswordReset
    from app.privacy.retention import enforce

    now = datetime.now(UTC)
    person = make_user()
    for hours, token in ((-2, "a" * 64), (2, "b" * 64)):
        db.add(
            PasswordReset(
                user_id=person.id, token_hash=token, expires_at=now + timedelta(hours=hours)
            )
        )
    db.commit()
    assert enforce(db, now, app.config) == {
        "delivered e-mails": 0,
        "password-reset links": 1,
        "leavers' identities": 0,
    }
    db.commit()
    assert db.scalars(select(PasswordReset.token_hash)).all() == ["b" * 64]
