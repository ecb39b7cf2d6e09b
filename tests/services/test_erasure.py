"""Erasure that keeps the evidence honest: a person's identity becomes a pseudonym everywhere
Candor keeps it, while their records, their certificates and the ledger stay verifiable; the
database and `audit verify` still catch any other change. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import zipfile
from email.message import EmailMessage

import pytest
from helpers import PASSWORD, list_courses, read_in_turn, tamper
from sqlalchemy import exc, func, select, text

from app.audit.ledger import verify
from app.certificates.keyring import published_keys
from app.certificates.pdf_check import check_pdf
from app.certificates.service import certificate_pdf, issuer_of
from app.content.sync import sync_courses
from app.db import utcnow
from app.errors import DomainError
from app.evidence.packs import build_pack
from app.mail.outbox import queue_mail
from app.models import (
    AuditEvent,
    Certificate,
    Completion,
    OutboxMessage,
    PasswordReset,
    Role,
    User,
)
from app.people.accounts import authenticate, reactivate_account
from app.people.resets import create_reset
from app.privacy.erasure import erase_person
from app.progress.reading import current_version, find_course
from app.training.filters import RecordFilter

REFRESHER = "ai-data-refresher"
NAME, EMAIL, EMPLOYEE_ID = "Ana Silva", "ana.silva@example.test", "E-4711"


def _mail(to: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "candor@example.test"
    message["To"] = to
    message["Subject"] = "Training"
    message.set_content(body)
    return message


@pytest.fixture
def ana(db, make_user, refresher_without_quiz):
    """Ana, certified, with a manager, a report, an open reset link and mail in the outbox."""
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    boss = make_user(name="Mara Boss", email="mara@example.test")
    ana = make_user(
        name=NAME, email=EMAIL, employee_id=EMPLOYEE_ID, department="Support", manager_id=boss.id
    )
    make_user(name="Rui Report", email="rui@example.test", department="Support", manager_id=ana.id)
    read_in_turn(db, ana, current_version(db, ana, find_course(db, REFRESHER)).modules)
    create_reset(db, ana, now=utcnow())
    queue_mail(db, _mail(EMAIL, "Your course is due."), "reminder")
    queue_mail(db, _mail("mara@example.test", f"Late in your team: {NAME}."), "digest")
    queue_mail(db, _mail("rui@example.test", "Your course is due."), "reminder")
    db.commit()
    return ana


@pytest.fixture
def hr(make_user):
    return make_user(roles={Role.HR}, name="Hana Reyes", email="hana@example.test")


def keys_of(db):
    return published_keys(db, issuer_of(db).signer)


def _mentions(data: bytes | str) -> list[str]:
    text_ = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [part for part in (NAME, EMAIL, EMPLOYEE_ID, "ana.silva") if part in text_]


def test_the_identity_is_replaced_and_the_evidence_stays_verifiable(app, db, ana, hr):
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == ana.id))
    kept_pdf = certificate_pdf(db, certificate)  # the copy the person downloaded
    db.commit()  # ends this read: the PDF was kept in a transaction of its own
    completions = db.scalar(select(func.count()).select_from(Completion))
    generation = ana.session_generation

    erased = erase_person(db, hr, ana.id, "Left the company and asked to be forgotten.")
    db.commit()

    person = db.get(User, ana.id)
    assert person.name.startswith("Erased person ") and person.name == erased.user.name
    assert person.email.startswith("erased-") and person.email.endswith("@invalid")
    assert person.employee_id is None and person.password_hash is None
    assert person.manager_id is None and person.oidc_subject is None
    assert not person.active and person.erased_at is not None
    assert person.session_generation != generation
    assert _mentions(person.search_key) == []
    assert db.scalar(select(User.manager_id).where(User.email == "rui@example.test")) is None
    with pytest.raises(DomainError):
        authenticate(db, EMAIL, PASSWORD)
    db.rollback()  # the refused sign-in's audit event is not committed
    assert db.scalar(select(func.count()).select_from(PasswordReset)) == 0
    # Mail to her and mail naming her are gone; other people's mail stays.
    assert db.scalars(select(OutboxMessage.recipients)).all() == [["rui@example.test"]]
    assert erased.messages == 2

    db.refresh(certificate)
    assert certificate.facts["holder_name"] == person.name
    assert certificate.pdf == b"" and certificate.erased_at is not None
    assert db.scalar(select(func.count()).select_from(Completion)) == completions

    report = verify(db)
    assert report.problems == [] and report.rewritten == 1
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and result.output.startswith("INTACT: ")
    # The PDF she kept still checks offline: it needs no database.
    assert check_pdf(kept_pdf, keys_of(db)).status == "valid"

    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "person.erased"))
    assert event.actor_id == hr.id and event.subject_id == str(ana.id)
    assert event.details["reason"] == "Left the company and asked to be forgotten."
    assert event.details["certificates"] == [{"id": certificate.id, "signature_valid": True}]
    assert [item["kind"] for item in event.details["rewrote"]] == ["certificate.issued"]
    # No audit event holds her name, e-mail or employee id (they hold ids by rule).
    for details in db.scalars(select(AuditEvent.details)):
        assert _mentions(json.dumps(details, ensure_ascii=False)) == []


def test_a_later_edit_of_an_erased_certificate_is_still_named(db, ana, hr):
    erase_person(db, hr, ana.id, "Asked to be forgotten.")
    db.commit()
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == ana.id))
    facts = {**certificate.facts, "score": 100}
    tamper(
        db,
        "certificates",
        "UPDATE certificates SET facts = :facts WHERE id = :id",
        facts=json.dumps(facts),
        id=certificate.id,
    )
    db.rollback()
    problems = verify(db).problems
    assert problems and problems[0].startswith(f"certificates row {certificate.id} was changed")


def test_a_name_changed_without_an_erasure_is_named(db, ana):
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == ana.id))
    facts = {**certificate.facts, "holder_name": "Erased person FAKE"}
    tamper(
        db,
        "certificates",
        "UPDATE certificates SET facts = :facts, pdf = :pdf WHERE id = :id",
        facts=json.dumps(facts),
        pdf=b"",
        id=certificate.id,
    )
    db.rollback()
    problems = verify(db).problems
    assert problems and problems[0].startswith(f"certificates row {certificate.id} was changed")


def test_the_database_lets_only_an_erasure_change_a_certificate_and_only_once(db, ana, hr):
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == ana.id))
    update = text("UPDATE certificates SET facts = :facts WHERE id = :id")
    with pytest.raises(exc.DatabaseError, match="only by an erasure"):
        db.execute(update, {"facts": json.dumps({"holder_name": "x"}), "id": certificate.id})
    db.rollback()
    erase_person(db, hr, ana.id, "Asked to be forgotten.")
    db.commit()
    with pytest.raises(exc.DatabaseError, match="only by an erasure"):
        db.execute(update, {"facts": json.dumps({"holder_name": "x"}), "id": certificate.id})
    db.rollback()
    with pytest.raises(exc.DatabaseError, match="never change"):
        db.execute(
            text("UPDATE certificates SET signature = 'x' WHERE id = :id"), {"id": certificate.id}
        )
    db.rollback()


def test_an_evidence_pack_made_afterwards_shows_the_pseudonym_only(db, ana, hr):
    erased = erase_person(db, hr, ana.id, "Asked to be forgotten.")
    db.commit()
    buffer = io.BytesIO()
    build_pack(db, RecordFilter(department="Support", include_inactive=True), utcnow(), buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as pack:
        members = {name: pack.read(name) for name in pack.namelist()}
    assert any(name.endswith(".erased.txt") for name in members)
    assert not any(name.endswith(".pdf") for name in members if name.startswith("certificates/"))
    assert erased.user.name.encode() in members["records.csv"]
    for name, data in members.items():
        assert _mentions(data) == [], name


def test_refusals(db, ana, hr, make_user):
    with pytest.raises(DomainError, match="yourself"):
        erase_person(db, hr, hr.id, "Testing.")
    with pytest.raises(DomainError, match="reason is missing"):
        erase_person(db, hr, ana.id, "   ")
    for naming in (f"Erase {NAME}", f"request from {EMAIL}", f"ticket for {EMPLOYEE_ID}"):
        with pytest.raises(DomainError, match="must not name the person"):
            erase_person(db, hr, ana.id, naming)
    admin = make_user(roles={Role.ADMIN}, name="Ada Admin")
    with pytest.raises(DomainError, match="Only an administrator") as refused:
        erase_person(db, hr, admin.id, "Left.")
    assert refused.value.status == 403
    with pytest.raises(DomainError, match="last active administrator"):
        erase_person(db, None, admin.id, "Left.")
    erase_person(db, hr, ana.id, "Asked to be forgotten.")
    db.commit()
    with pytest.raises(DomainError, match="already erased"):
        erase_person(db, hr, ana.id, "Again.")
    with pytest.raises(DomainError, match="erased"):
        reactivate_account(db, admin, ana.id)


def test_the_command_erases_by_e_mail_or_id(app, db, ana, make_user):
    runner = app.test_cli_runner()
    other = make_user(name="Ben Okafor", email="ben@example.test")
    result = runner.invoke(args=["users", "erase", EMAIL, "--reason", "Asked to be forgotten."])
    assert result.exit_code == 0, result.output
    assert "Erased account" in result.output and NAME not in result.output
    result = runner.invoke(args=["users", "erase", str(other.id), "--reason", "Left."])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "erase", str(other.id), "--reason", "Left."])
    assert result.exit_code == 1 and "already erased" in result.output
    result = runner.invoke(args=["users", "erase", "nobody@example.test", "--reason", "Left."])
    assert result.exit_code == 1 and "No account" in result.output
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "person.erased").order_by(AuditEvent.id)
    )
    assert event.actor_id is None and event.details["via"] == "command"
    assert verify(db).problems == []


# -- retention: a leaver's identity goes RETENTION_LEAVER_YEARS years after they left -------


def test_retention_erases_leavers_after_the_configured_years(app, db, ana, make_user):
    from datetime import UTC, datetime, timedelta

    from app.dates import add_months
    from app.privacy.retention import enforce

    now = datetime(2033, 3, 1, 12, 0, tzinfo=UTC)  # the moment the run believes it is
    years = app.config["RETENTION_LEAVER_YEARS"]
    assert years == 6  # the default the transparency page and the README state
    cutoff = add_months(now, -12 * years)
    ana.active, ana.deactivated_at = False, cutoff - timedelta(days=1)
    recent = make_user(name="Rita Recent", email="rita@example.test")
    recent.active, recent.deactivated_at = False, cutoff + timedelta(days=1)
    make_user(name="Sami Staying", email="sami@example.test")  # active: stays
    admin = make_user(roles={Role.ADMIN}, name="Olle Oldadmin", email="olle@example.test")
    admin.active, admin.deactivated_at = False, cutoff - timedelta(days=400)  # the last admin
    db.commit()

    assert enforce(db, now, {**app.config, "RETENTION_LEAVER_YEARS": 0})["leavers' identities"] == 0
    forgotten = enforce(db, now, app.config)
    db.commit()
    assert forgotten["leavers' identities"] == 1
    names = set(db.scalars(select(User.name)))
    assert NAME not in names and {"Rita Recent", "Sami Staying", "Olle Oldadmin"} <= names
    assert db.get(User, ana.id).erased_at == now
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "person.erased"))
    assert event.actor_id is None and event.details["via"] == "retention"
    assert "RETENTION_LEAVER_YEARS" in event.details["reason"]
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == ana.id))
    assert certificate.facts["holder_name"] == db.get(User, ana.id).name
    report = verify(db)
    assert report.problems == [] and report.rewritten == 1

    # A later run finds nobody new; a year on, Rita's turn comes.
    assert enforce(db, now, app.config)["leavers' identities"] == 0
    later = enforce(db, add_months(now, 12), app.config)
    db.commit()
    assert later["leavers' identities"] == 1
    assert "Rita Recent" not in set(db.scalars(select(User.name)))
    assert verify(db).problems == []


def test_what_hr_wrote_about_the_person_is_redacted_and_explained(db, ana, hr):
    from app.audit.events import record
    from app.certificates.service import revoke_certificate
    from app.models import Enrollment

    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == ana.id))
    helped = record(
        db, "enrollment.due_date_extended", actor=hr, subject=enrollment, reason="Ana was ill"
    )
    other = record(
        db, "enrollment.due_date_extended", actor=hr, reason="Analysis of Silva-era data"
    )
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == ana.id))
    revoke_certificate(db, hr, certificate.id, "other", f"{NAME} ({EMAIL}) asked for it")
    db.commit()

    erased = erase_person(db, hr, ana.id, "Asked to be forgotten.")
    db.commit()
    pseudonym = erased.user.name
    db.refresh(helped)
    assert helped.details["reason"] == f"{pseudonym} was ill" and helped.redacted_at is not None
    db.refresh(other)  # not about her: untouched, and whole words only in any case
    assert other.details["reason"] == "Analysis of Silva-era data" and other.redacted_at is None
    db.refresh(certificate)
    assert certificate.revocation_note == f"{pseudonym} ({pseudonym}) asked for it"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "person.erased"))
    kinds = sorted(item["kind"] for item in event.details["rewrote"])
    assert kinds == ["audit", "certificate.issued", "certificate.revoked"]
    report = verify(db)
    assert report.problems == [] and report.rewritten == 3

    # The redaction is once: a later change of the same event is refused, and if forced, named.
    with pytest.raises(exc.DatabaseError, match="only by an erasure|are final"):
        db.execute(
            text("UPDATE audit_events SET details = :d WHERE id = :id"),
            {"d": json.dumps({"reason": "x"}), "id": helped.id},
        )
    db.rollback()
    tamper(
        db,
        "audit_events",
        "UPDATE audit_events SET details = :d WHERE id = :id",
        d=json.dumps({"reason": "changed later"}),
        id=helped.id,
    )
    db.rollback()
    problems = verify(db).problems
    assert problems and problems[0].startswith(f"audit_events row {helped.id} was changed")


@pytest.mark.parametrize(
    ("written", "redacted"),
    [
        ("Zoë Müller was ill", "P was ill"),
        ("Zoe Muller was ill", "P was ill"),  # typed without the accents
        ("ZOE MÜLLER asked", "P asked"),
        ("spoke to zoe", "spoke to P"),
        ("Zoeller and Mullerstrasse", "Zoeller and Mullerstrasse"),  # whole words only
    ],
)
def test_a_name_is_redacted_however_its_accents_were_typed(written, redacted):
    from app.privacy.erasure import _redactor

    person = User(name="Zoë Müller", email="zoe.muller@example.test", employee_id="E-1")
    assert _redactor(person, "P")(written) == redacted
