"""Reminder e-mails, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import func, select

from app.dates import expiry_of
from app.models import Completion, CourseVersion, Enrollment, Reminder, Role
from app.training import reminders as service
from app.training.assignments import assign
from app.training.reminders import MailSettings, send_reminders

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
FLAGSHIP = "ai-in-the-contact-center"
REFRESHER = "ai-data-refresher"
BASE = "https://candor.example"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Collector:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(
            envelope.original_content or envelope.content, policy=default_policy
        )
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def body(self, address: str) -> str:
        return self.to(address).message.get_content().replace("\r\n", "\n")

    def to(self, address: str) -> Received:
        [found] = [r for r in self.received if str(r.message["To"]).endswith(f"<{address}>")]
        return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(**options) -> tuple[Controller, Collector]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller, collector


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
    report = send_reminders(db, settings, now=NOW)
    db.commit()
    assert len(collector.received) == 2 and not report.failed
    assert {m.to for m in report.sent} == {"ann@example.test", "ben@example.test"}

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
    assert sorted(ben.rcpt_tos) == ["ben@example.test", "mia@example.test"]
    assert ben.message["Cc"] == "Mia Manager <mia@example.test>"
    assert ben.message["Subject"] == "Overdue training: 1 course to complete"
    body = collector.body("ben@example.test")
    assert "Overdue since 6 January 2027" in body and "your manager receives a copy" in body

    rows = reminders(db)
    assert [(r.user_id, r.sent_on, r.manager_copied) for r in rows] == [
        (scene["ann"].id, NOW.date(), False),
        (scene["ben"].id, NOW.date(), True),
    ]
    assert sorted(rows[0].courses) == sorted([courses[FLAGSHIP].id, courses[REFRESHER].id])


def test_at_most_one_reminder_a_day(db, smtp, scene):
    collector, settings = smtp
    send_reminders(db, settings, now=NOW)
    db.commit()
    again = send_reminders(db, settings, now=NOW + timedelta(hours=8))
    db.commit()
    assert len(collector.received) == 2 and again.sent == [] and again.already_reminded == 2
    tomorrow = send_reminders(db, settings, now=NOW + timedelta(days=1))
    db.commit()
    assert len(tomorrow.sent) == 2 and len(collector.received) == 4
    assert len(reminders(db)) == 4


def test_a_run_that_lost_the_race_for_the_day_sends_nothing(db, smtp, scene, monkeypatch):
    collector, settings = smtp
    send_reminders(db, settings, now=NOW)
    db.commit()
    # A second run that looked before the first one committed: the unique row stops it.
    monkeypatch.setattr(service, "_reminded_on", lambda session, day: set())
    late = send_reminders(db, settings, now=NOW)
    db.commit()
    assert late.sent == [] and late.already_reminded == 2 and len(collector.received) == 2
    assert len(reminders(db)) == 2


def test_a_dry_run_sends_and_records_nothing(db, smtp, scene):
    collector, settings = smtp
    report = send_reminders(db, settings, now=NOW, dry_run=True)
    db.commit()
    assert report.dry_run and {m.to for m in report.sent} == {
        "ann@example.test",
        "ben@example.test",
    }
    assert [m.cc for m in report.sent if m.overdue] == ["mia@example.test"]
    assert "Would send 2 reminder(s), 1 with the manager copied" in report.summary()
    assert collector.received == [] and reminders(db) == []


def test_dry_run_needs_no_server(db, scene):
    unreachable = MailSettings(host="127.0.0.1", port=free_port())
    assert len(send_reminders(db, unreachable, now=NOW, dry_run=True).sent) == 2


def test_names_and_addresses_cannot_inject_headers(db, smtp, make_user, hr, courses):
    collector, settings = smtp
    eve = make_user(name="Eve\r\nBcc: thief@evil.test\r\n\r\n<b>Hi</b>", email="eve@example.test")
    sly = make_user(name="Sly", email="sly@example.test\nBcc: thief@evil.test")
    long = make_user(name="L" * 200, email="long@example.test")
    due(db, hr, courses[FLAGSHIP], [eve, sly, long], days=2)
    report = send_reminders(db, settings, now=NOW)
    db.commit()
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


def test_one_refused_message_does_not_stop_the_others(db, smtp, scene):
    collector, settings = smtp
    collector.refuse.add("ann@example.test")
    report = send_reminders(db, settings, now=NOW)
    db.commit()
    [failure] = report.failed
    assert failure.to == "ann@example.test" and "550" in failure.reason
    assert [m.to for m in report.sent] == ["ben@example.test"]
    assert [r.user_id for r in reminders(db)] == [scene["ben"].id]  # nothing for the failure
    collector.refuse.clear()
    retry = send_reminders(db, settings, now=NOW + timedelta(hours=1))
    db.commit()
    assert [m.to for m in retry.sent] == ["ann@example.test"] and retry.already_reminded == 1


def test_an_unreachable_server_fails_every_message_and_records_nothing(db, scene):
    report = send_reminders(
        db, MailSettings(host="127.0.0.1", port=free_port(), timeout=5), now=NOW
    )
    db.commit()
    assert report.sent == [] and len(report.failed) == 2
    assert all("cannot connect" in f.reason for f in report.failed)
    assert reminders(db) == []


def test_starttls_that_the_server_does_not_offer_is_a_failure(db, smtp, scene):
    collector, settings = smtp
    from dataclasses import replace

    report = send_reminders(db, replace(settings, use_tls=True), now=NOW)
    assert report.sent == [] and len(report.failed) == 2 and collector.received == []
    assert reminders(db) == []


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
        wrong = send_reminders(
            db,
            MailSettings(
                host="127.0.0.1", port=controller.port, username="candor", password="nope"
            ),
            now=NOW,
        )
        assert wrong.sent == [] and len(wrong.failed) == 2 and reminders(db) == []
        right = send_reminders(db, settings, now=NOW)
        db.commit()
        assert len(right.sent) == 2 and len(collector.received) == 2
    finally:
        controller.stop()


def test_managers_are_copied_only_on_overdue_and_only_when_active(db, smtp, make_user, hr, courses):
    collector, settings = smtp
    gone = make_user(name="Old Boss", email="old@example.test", active=False)
    boss = make_user(name="Boss", email="boss@example.test")
    broken = make_user(name="Broken", email="broken@example.test\r\nBcc: x@evil.test")
    late = make_user(name="Late", email="late@example.test", manager_id=gone.id)
    soon = make_user(name="Soon", email="soon@example.test", manager_id=boss.id)
    odd = make_user(name="Odd", email="odd@example.test", manager_id=broken.id)
    due(db, hr, courses[FLAGSHIP], [late, odd], days=1, at=NOW - timedelta(days=3))
    due(db, hr, courses[FLAGSHIP], [soon], days=5)
    report = send_reminders(db, settings, now=NOW)
    assert collector.to("late@example.test").rcpt_tos == ["late@example.test"]
    assert collector.to("soon@example.test").rcpt_tos == ["soon@example.test"]
    assert collector.to("odd@example.test").rcpt_tos == ["odd@example.test"]
    assert report.failed == []


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
    send_reminders(db, settings, now=NOW)
    message = collector.to("rene@example.test").message
    assert message["Subject"] == "Training due soon: 1 course"
    assert "Renewal due (expires 20 January 2027)" in collector.body("rene@example.test")


def test_nothing_due_sends_nothing(db, smtp, make_user, hr, courses):
    collector, settings = smtp
    due(db, hr, courses[FLAGSHIP], [make_user()], days=90)
    report = send_reminders(db, settings, now=NOW)
    assert report.sent == [] and collector.received == []
    assert db.scalar(select(func.count()).select_from(Reminder)) == 0
