"""Reminder e-mails: queued in the outbox by the run, then delivered by the outbox's delivery
loop to a real SMTP server (aiosmtpd) on 127.0.0.1: exactly once, with retries while the
server is down or answers "try later"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from smtp_server import free_port, start_server
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from app.dates import expiry_of
from app.mail.outbox import WORKER_DIED, deliver_due, fail_stale_sending
from app.models import (
    Completion,
    CourseVersion,
    Enrollment,
    MailState,
    OutboxMessage,
    Reminder,
    ReminderDigest,
    Role,
    RunTrigger,
)
from app.training import reminders as service
from app.training.assignments import assign
from app.training.reminder_runs import start_run
from app.training.reminders import MailSettings, ReminderReport, send_reminders

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
FLAGSHIP = "ai-in-the-contact-center"
REFRESHER = "ai-data-refresher"
BASE = "https://candor.example"


@pytest.fixture
def smtp():
    """A running SMTP server: yields (collector, settings pointing at it)."""
    controller, collector = start_server()
    settings = MailSettings(
        host="127.0.0.1",
        port=controller.port,
        use_tls=False,
        sender="Candor <training@candor.example>",
        base_url=BASE + "/",
        organisation="Acme Contact Centres",
        timeout=10,
    )
    yield collector, settings
    controller.stop()


@pytest.fixture
def hr(make_user):
    return make_user(roles={Role.HR}, name="Harriet HR", email="hr@example.test")


@dataclass
class Run:
    report: ReminderReport
    sent: list  # the messages the run queued (ReminderMessage), as on_message heard them


def run(db, settings, now=NOW, **options) -> Run:
    """A reminder run, committed: its messages are in the outbox, none sent yet."""
    sent: list = []
    report = send_reminders(db, settings, now=now, on_message=sent.append, **options)
    db.commit()
    return Run(report, sent)


def deliver(db, settings, now=NOW):
    """One delivery batch at ``now``, as a worker runs it."""
    return deliver_due(sessionmaker(db.get_bind()), settings, clock=lambda: now)


def remind(db, settings, now=NOW, **options) -> Run:
    """A reminder run, then the delivery of what it queued."""
    result = run(db, settings, now, **options)
    deliver(db, settings, now)
    return result


def outbox(db) -> list[OutboxMessage]:
    db.rollback()  # see what the delivery loop committed through its own session
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def reminders(db) -> list[Reminder]:
    db.expire_all()
    return list(db.scalars(select(Reminder).order_by(Reminder.user_id)))


def due(db, hr, course, people, *, days: int, at: datetime = NOW):
    assign(db, hr, course, "people", user_ids=[p.id for p in people], due_days=days, now=at)
    db.commit()


def title(db, course) -> str:
    return db.scalar(select(CourseVersion.title).where(CourseVersion.course_id == course.id))


@pytest.fixture
def scene(db, make_user, hr, courses):
    """Ann has two courses due soon; Ben (managed by Mia) one overdue; Cat nothing pressing."""
    mia = make_user(name="Mia Manager", email="mia@example.test")
    ann = make_user(name="Ann Agent", email="ann@example.test", manager_id=mia.id)
    ben = make_user(name="Ben Agent", email="ben@example.test", manager_id=mia.id)
    cat = make_user(name="Cat Agent", email="cat@example.test")
    due(db, hr, courses[FLAGSHIP], [ann], days=7)
    due(db, hr, courses[REFRESHER], [ann], days=3)
    due(db, hr, courses[FLAGSHIP], [ben], days=1, at=NOW - timedelta(days=5))
    due(db, hr, courses[REFRESHER], [cat], days=60)
    return {"mia": mia, "ann": ann, "ben": ben, "cat": cat}


def test_each_person_gets_one_email_listing_what_is_due(db, smtp, scene, courses):
    collector, settings = smtp
    result = run(db, settings)
    assert collector.received == []  # the run only queues: nothing waits on the server
    assert len(outbox(db)) == 2 and all(m.state is MailState.PENDING for m in outbox(db))
    delivery = deliver(db, settings)
    assert (delivery.sent, delivery.deferred, delivery.failed) == (2, 0, 0)
    assert len(collector.received) == 2 and not result.report.failed
    assert {m.to for m in result.sent} == {"ann@example.test", "ben@example.test"}

    ann = collector.to("ann@example.test")
    assert ann.rcpt_tos == ["ann@example.test"] and ann.mail_from == "training@candor.example"
    assert ann.message["Subject"] == "Training due soon: 2 courses"
    assert ann.message["To"] == "Ann Agent <ann@example.test>" and ann.message["Cc"] is None
    assert ann.message["Auto-Submitted"] == "auto-generated"
    body = collector.body("ann@example.test")
    assert body.startswith("Hello Ann Agent,")
    assert title(db, courses[FLAGSHIP]) in body and title(db, courses[REFRESHER]) in body
    assert f"{BASE}/courses/{FLAGSHIP}\n" in body and f"{BASE}/courses/{REFRESHER}\n" in body
    assert "Due by 13 January 2027" in body and "Due by 17 January 2027" in body
    assert body.index(REFRESHER) < body.index(FLAGSHIP)  # the sooner one first
    assert "manager" not in body and "Acme Contact Centres" in body

    ben = collector.to("ben@example.test")
    assert ben.rcpt_tos == ["ben@example.test"] and ben.message["Cc"] is None
    assert ben.message["Subject"] == "Overdue training: 1 course to complete"
    body = collector.body("ben@example.test")
    assert "Overdue since 6 January 2027" in body
    assert "your manager is told in their summary" in body

    rows = reminders(db)
    assert [(r.user_id, r.sent_on, r.overdue) for r in rows] == [
        (scene["ann"].id, NOW.date(), False),
        (scene["ben"].id, NOW.date(), True),
    ]
    assert sorted(rows[0].courses) == sorted([courses[FLAGSHIP].id, courses[REFRESHER].id])
    assert all(m.state is MailState.SENT and m.kind == "reminder" for m in outbox(db))
    assert deliver(db, settings).sent == 0 and len(collector.received) == 2  # sent once


def test_each_step_of_the_cadence_is_reminded_once(db, smtp, scene):
    """Default cadence: 7 and 1 days before, then the first day late and every 7 days."""
    collector, settings = smtp
    remind(db, settings)  # Ann: both courses (7 days before, caught up); Ben: late
    again = remind(db, settings, now=NOW + timedelta(hours=8))
    assert again.sent == [] and len(collector.received) == 2
    assert remind(db, settings, now=NOW + timedelta(days=1)).sent == []  # no step reached
    # 12 January: the refresher is due on the 13th (1 day before); the flagship waits.
    twelfth = remind(db, settings, now=NOW + timedelta(days=2))
    assert [(m.to, len(m.course_ids)) for m in twelfth.sent] == [("ann@example.test", 1)]
    # 17 January: Ben was last reminded 7 days ago; Ann's flagship is due that day.
    week = remind(db, settings, now=NOW + timedelta(days=7))
    assert sorted(m.to for m in week.sent) == ["ann@example.test", "ben@example.test"]
    assert len(reminders(db)) == 5 and len(collector.received) == 5


def test_a_run_that_lost_the_race_for_the_day_queues_nothing(db, smtp, scene, monkeypatch):
    """Two runs at once: the one that inserts a person's reminder row first wins."""
    collector, settings = smtp
    found = service._records_of

    def raced(session, people, *args):
        records = found(session, people, *args)
        for user_id in records:  # another run claims them first
            session.add(Reminder(user_id=user_id, sent_on=NOW.date(), sent_at=NOW, courses=[]))
        session.flush()
        return records

    monkeypatch.setattr(service, "_records_of", raced)
    late = remind(db, settings)
    assert late.sent == [] and late.report.already_reminded == 2 and collector.received == []
    assert outbox(db) == []


def test_a_dry_run_queues_and_records_nothing(db, smtp, scene):
    collector, settings = smtp
    result = run(db, settings, dry_run=True)
    assert result.report.dry_run and {m.to for m in result.sent} == {
        "ann@example.test",
        "ben@example.test",
    }
    assert [m.to for m in result.sent if m.overdue] == ["ben@example.test"]
    summary = result.report.summary()
    assert "Would send 2 reminder(s) naming 3 course(s) and 1 manager digest(s)" in summary
    assert collector.received == [] and reminders(db) == [] and outbox(db) == []


def test_a_run_walks_people_in_batches(db, smtp, scene, monkeypatch):
    collector, settings = smtp
    monkeypatch.setattr(service, "PEOPLE_PER_BATCH", 1)
    result = remind(db, settings)
    assert sorted(m.to for m in result.sent) == ["ann@example.test", "ben@example.test"]
    assert len(collector.received) == 2


def test_names_and_addresses_cannot_inject_headers(db, smtp, make_user, hr, courses):
    collector, settings = smtp
    eve = make_user(name="Eve\r\nBcc: thief@evil.test\r\n\r\n<b>Hi</b>", email="eve@example.test")
    sly = make_user(name="Sly", email="sly@example.test\nBcc: thief@evil.test")
    long = make_user(name="L" * 200, email="long@example.test")
    due(db, hr, courses[FLAGSHIP], [eve, sly, long], days=2)
    report = remind(db, settings).report
    assert len(collector.received) == 2
    assert all("thief@evil.test" not in r.rcpt_tos for r in collector.received)
    message = collector.to("eve@example.test").message
    assert message["Bcc"] is None and "thief" not in str(message["To"]).split("<")[-1]
    assert "\n" not in message["To"] and "\r" not in message["To"]
    body = collector.body("eve@example.test")
    assert body.startswith("Hello Eve Bcc: thief@evil.test <b>Hi</b>,\n")  # text, not HTML
    long_name = collector.body("long@example.test").splitlines()[0]
    assert len(long_name) < 120 and long_name.endswith("…,")
    [failure] = report.failed
    assert failure.user_id == sly.id and "unusable address" in failure.reason
    assert "\n" not in failure.to
    assert {r.user_id for r in reminders(db)} == {eve.id, long.id}


def test_a_refused_recipient_fails_that_message_only_and_is_not_retried(db, smtp, scene):
    collector, settings = smtp
    collector.refuse.add("ann@example.test")
    run(db, settings)
    delivery = deliver(db, settings)
    assert (delivery.sent, delivery.failed, delivery.deferred) == (1, 1, 0)
    [ben] = collector.received
    assert ben.rcpt_tos == ["ben@example.test"]
    refused = [m for m in outbox(db) if m.recipients == ["ann@example.test"]]
    assert [(m.state, m.error) for m in refused] == [
        (MailState.FAILED, "recipient refused by the server (550)")
    ]
    collector.refuse.clear()
    assert deliver(db, settings, NOW + timedelta(hours=2)).sent == 0
    assert len(collector.received) == 1


def test_a_server_that_is_down_then_back_gets_every_message_exactly_once(db, scene):
    """The SMTP server is down: every attempt is deferred with back-off and nothing is lost;
    it comes back on the same port and every message arrives once."""
    port = free_port()
    settings = MailSettings(host="127.0.0.1", port=port, timeout=5, sender="t@candor.example")
    run(db, settings)
    first = deliver(db, settings)
    assert (first.sent, first.deferred, first.failed) == (0, 1, 0)  # the batch stops at once
    assert first.retry_at == NOW + timedelta(seconds=30)
    [deferred] = [m for m in outbox(db) if m.attempts == 1]
    assert deferred.state is MailState.PENDING and "cannot connect" in deferred.error
    second = deliver(db, settings, NOW + timedelta(seconds=1))  # the other one, still down
    assert second.deferred == 1 and second.retry_at == NOW + timedelta(seconds=31)
    assert deliver(db, settings, NOW + timedelta(seconds=2)).deferred == 0  # nothing due yet

    third = deliver(db, settings, NOW + timedelta(seconds=40))  # down again: twice as long
    assert third.deferred == 1 and third.retry_at == NOW + timedelta(seconds=100)
    controller, collector = start_server(port=port)
    try:
        back = deliver(db, settings, NOW + timedelta(minutes=5))
        assert (back.sent, back.deferred, back.failed) == (2, 0, 0)
        assert sorted(r.rcpt_tos[0] for r in collector.received) == [
            "ann@example.test",
            "ben@example.test",
        ]
        assert deliver(db, settings, NOW + timedelta(hours=5)).sent == 0
        assert len(collector.received) == 2
    finally:
        controller.stop()
    assert [m.state for m in outbox(db)] == [MailState.SENT, MailState.SENT]


def test_a_server_that_says_try_later_then_accepts_gets_each_message_once(db, smtp, scene):
    collector, settings = smtp
    collector.busy = True
    run(db, settings)
    delivery = deliver(db, settings)
    assert delivery.deferred == 1 and collector.received == []
    assert "451" in [m for m in outbox(db) if m.attempts == 1][0].error
    collector.busy = False
    later = deliver(db, settings, NOW + timedelta(minutes=1))
    assert later.sent == 2 and len(collector.received) == 2
    assert deliver(db, settings, NOW + timedelta(hours=1)).sent == 0
    assert len(collector.received) == 2


def test_a_message_is_failed_after_its_last_attempt(db, scene):
    settings = MailSettings(host="127.0.0.1", port=free_port(), timeout=5)
    run(db, settings)
    make = sessionmaker(db.get_bind())
    for minutes in range(0, 200, 10):
        at = NOW + timedelta(minutes=minutes)
        deliver_due(make, settings, clock=lambda at=at: at, max_attempts=3)
    states = {(m.state, m.attempts) for m in outbox(db)}
    assert states == {(MailState.FAILED, 3)}
    assert all(m.error.startswith("gave up after 3 attempts: cannot connect") for m in outbox(db))


def test_a_worker_that_died_mid_send_never_sends_the_message_again(db, smtp, scene):
    collector, settings = smtp
    run(db, settings)
    [first, second] = outbox(db)
    first.state, first.claimed_at, first.attempts = MailState.SENDING, NOW, 1
    db.commit()  # as a worker leaves it when killed between the server's 250 and the mark
    assert fail_stale_sending(db, NOW + timedelta(minutes=1), timedelta(minutes=2)) == 0
    assert fail_stale_sending(db, NOW + timedelta(minutes=3), timedelta(minutes=2)) == 1
    db.commit()
    deliver(db, settings, NOW + timedelta(minutes=3))
    assert [r.rcpt_tos for r in collector.received] == [second.recipients]
    assert outbox(db)[0].state is MailState.FAILED and outbox(db)[0].error == WORKER_DIED


def test_starttls_that_the_server_does_not_offer_is_deferred(db, smtp, scene):
    collector, settings = smtp
    from dataclasses import replace

    run(db, settings)
    delivery = deliver(db, replace(settings, use_tls=True))
    assert delivery.sent == 0 and delivery.deferred == 1 and collector.received == []
    assert "STARTTLS" in " ".join(m.error or "" for m in outbox(db))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_it_signs_in_when_given_credentials(db, scene):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"candor"
            and auth_data.password == b"s3cret"
        )
        return AuthResult(success=ok, handled=False)

    controller, collector = start_server(
        authenticator=authenticator, auth_required=True, auth_require_tls=False
    )
    try:
        settings = MailSettings(
            host="127.0.0.1",
            port=controller.port,
            username="candor",
            password="s3cret",
            sender="training@candor.example",
        )
        assert "s3cret" not in repr(settings)
        run(db, settings)
        wrong = deliver(
            db,
            MailSettings(
                host="127.0.0.1", port=controller.port, username="candor", password="nope"
            ),
        )
        assert wrong.sent == 0 and wrong.deferred == 1 and collector.received == []
        right = deliver(db, settings, NOW + timedelta(minutes=5))
        assert right.sent == 2 and len(collector.received) == 2
    finally:
        controller.stop()


def sent_run(db, settings, now=NOW) -> Run:
    """A recorded run (as the command starts one), with its managers' digests, delivered."""
    run_row = start_run(db, RunTrigger.COMMAND, now=now)
    db.commit()
    result = run(db, settings, now, run_id=run_row.id)
    deliver(db, settings, now)
    return result


def test_each_manager_gets_one_digest_listing_their_late_reports(db, smtp, make_user, hr, courses):
    collector, settings = smtp
    boss = make_user(name="Boss Person", email="boss@example.test")
    late = [
        make_user(name=n, email=f"{i.lower()}@example.test", manager_id=boss.id, employee_id=i)
        for n, i in (("Zoë", "E-2"), ("Ígor", "E-1"))
    ]
    soon = make_user(name="Soon", email="soon@example.test", manager_id=boss.id)
    due(db, hr, courses[FLAGSHIP], late, days=1, at=NOW - timedelta(days=3))
    due(db, hr, courses[REFRESHER], late[:1], days=1, at=NOW - timedelta(days=9))
    due(db, hr, courses[FLAGSHIP], [soon], days=5)
    result = sent_run(db, settings)
    assert result.report.digests == 1 and result.report.queued == 3
    digest = collector.to("boss@example.test")
    assert digest.rcpt_tos == ["boss@example.test"]
    assert digest.message["Subject"] == "Your team: 2 people with overdue training"
    body = collector.body("boss@example.test")
    assert body.index("Ígor (E-1)") < body.index("Zoë (E-2)")  # the language's order
    assert "Overdue since 8 January 2027" in body and "Overdue since 2 January 2027" in body
    assert "Soon" not in body and f"{BASE}/team" in body
    [row] = db.scalars(select(ReminderDigest))
    assert (row.manager_id, row.reports) == (boss.id, 2)
    assert [m.kind for m in outbox(db)].count("digest") == 1
    # The next day nobody is reminded (the cadence waits a week), so no digest either.
    assert sent_run(db, settings, NOW + timedelta(days=1)).report.digests == 0


def test_digests_go_only_to_active_managers_with_usable_addresses(db, smtp, make_user, hr, courses):
    collector, settings = smtp
    gone = make_user(name="Old Boss", email="old@example.test", active=False)
    broken = make_user(name="Broken", email="broken@example.test\r\nBcc: x@evil.test")
    own = make_user(name="Own Boss", email="own@example.test")
    own.manager_id = own.id
    db.commit()
    people = [
        make_user(name="Late", email="late@example.test", manager_id=gone.id),
        make_user(name="Odd", email="odd@example.test", manager_id=broken.id),
    ]
    due(db, hr, courses[FLAGSHIP], [*people, own], days=1, at=NOW - timedelta(days=3))
    result = sent_run(db, settings)
    assert result.report.digests == 0 and result.report.queued == 3
    assert [f.user_id for f in result.report.failed] == [broken.id]
    assert sorted(r.rcpt_tos[0] for r in collector.received) == [
        "late@example.test",
        "odd@example.test",
        "own@example.test",
    ]


def test_a_renewal_coming_up_is_reminded_with_the_expiry_date(db, smtp, make_user, courses):
    collector, settings = smtp
    person = make_user(name="Rene", email="rene@example.test")
    course = courses[REFRESHER]
    version = db.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id))
    completed = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)  # valid until 20 January 2027
    enrollment = Enrollment(
        user_id=person.id,
        course_id=course.id,
        version_id=version.id,
        started_at=completed,
        completed_at=completed,
        expires_at=expiry_of(completed, version.recertify_months),
    )
    db.add(enrollment)
    db.flush()
    db.add(
        Completion(
            user_id=person.id,
            course_id=course.id,
            version_id=version.id,
            enrollment_id=enrollment.id,
            cycle=1,
            completed_at=completed,
        )
    )
    db.commit()
    assert remind(db, settings).sent == []  # 10 days before: no step of the cadence yet
    remind(db, settings, now=NOW + timedelta(days=3))  # 7 days before the expiry
    message = collector.to("rene@example.test").message
    assert message["Subject"] == "Training due soon: 1 course"
    assert "Renewal due (expires 20 January 2027)" in collector.body("rene@example.test")


def test_nothing_due_sends_nothing(db, smtp, make_user, hr, courses):
    collector, settings = smtp
    due(db, hr, courses[FLAGSHIP], [make_user()], days=90)
    result = remind(db, settings)
    assert result.sent == [] and collector.received == [] and outbox(db) == []
    assert db.scalar(select(func.count()).select_from(Reminder)) == 0


# Python's header folding once dropped the quotes of a long display name, so mail clients read
# "Zed <attacker@evil.example>" as a second recipient of the reminder (issue 15).
FORGED_NAMES = [
    "Zed <attacker@evil.example>, Padding " + "x" * width for width in (20, 40, 60, 75, 90)
] + ['"Zed" <attacker@evil.example>;, ' + "y" * 70, "Zed (a) <attacker@evil.example>"]


@pytest.mark.parametrize("name", FORGED_NAMES)
def test_a_display_name_never_becomes_a_second_recipient(db, smtp, make_user, hr, courses, name):
    collector, settings = smtp
    manager = make_user(name=name, email="boss@example.test")
    person = make_user(name=name, email="zed@example.test", manager_id=manager.id)
    due(db, hr, courses[FLAGSHIP], [person], days=2, at=NOW - timedelta(days=10))  # overdue
    sent_run(db, settings)
    for address in ("zed@example.test", "boss@example.test"):  # the reminder, the digest
        received = collector.to(address)
        raw = received.message.as_bytes()
        message = message_from_bytes(raw, policy=default_policy)
        assert [a.addr_spec for a in message["To"].addresses] == [address]
        assert message["Cc"] is None
        sender = settings.sender.split("<")[1][:-1]
        assert [a.addr_spec for a in message["From"].addresses] == [sender]
        assert b"attacker@evil.example" not in raw.split(b"\n\n")[0].replace(b"\n ", b" ")
        assert received.rcpt_tos == [address]


def test_someone_who_never_signed_in_gets_no_reminder(db, smtp, make_user, courses):
    """They cannot act on it: HR's "Never signed in" page gives them an invitation instead."""
    _, settings = smtp
    hr = make_user(roles={Role.HR})
    ready = make_user(name="Rea Dy", email="ready@example.test")
    waiting = make_user(name="Wai Ting", email="waiting@example.test")
    waiting.password_hash = None
    db.commit()
    assign(
        db, hr, courses[FLAGSHIP], "people", user_ids=[ready.id, waiting.id], due_days=3, now=NOW
    )
    db.commit()
    seen = []
    report = send_reminders(db, settings, now=NOW, on_message=seen.append)
    assert [m.to for m in seen] == ["ready@example.test"] and report.queued == 1
    assert report.not_activated == 1
    assert "1 never signed in: no reminder (send them an invitation)." in report.summary()


def test_each_run_is_on_the_audit_trail_with_its_counts(db, smtp, scene):
    from app.models import AuditEvent
    from app.training.reminder_runs import perform_run

    _, settings = smtp
    run_row = start_run(db, RunTrigger.COMMAND, now=NOW)
    db.commit()
    perform_run(db, run_row.id, settings, now=NOW, commit=db.commit)
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "reminders.sent"))
    assert event.actor_id is None and event.subject_id == str(run_row.id)
    assert event.details["trigger"] == "command"
    assert (event.details["reminders"], event.details["courses"], event.details["digests"]) == (
        2,
        3,
        1,
    )
    db.expire_all()
    assert (run_row.state.value, run_row.reminders, run_row.digests) == ("done", 2, 1)
