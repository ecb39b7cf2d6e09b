"""Erasure that keeps the evidence honest: a person's identity replaced by a pseudonym, with no
way back, while their counts, completions, attempts, certificates and the ledger stay
verifiable (GDPR Art. 17, within what Art. 17(3) lets an organisation keep as evidence).
Callers own the transaction.

What changes, in one transaction:

- the account: name, e-mail and employee id become a random pseudonym ("Erased person
  7F3KQ2MX", ``erased-<random>@invalid``: the reserved ``.invalid`` domain never collides
  with a real address); the password hash, the single sign-on subject, the manager link (and
  the links of people they managed) go; the account is deactivated and every session ends;
  ``search_key`` follows the pseudonym (``models.user``). The pseudonym is drawn at random,
  never derived from the person, and nothing stored maps it back;
- what was kept to let them in: invitation and reset links, two-step sign-in secrets and
  recovery codes (deleted);
- e-mail that named them in the outbox (to their address, or mentioning their name), and every
  finished job's file (exports, packs, subject access copies may name them: expired now);
- their certificates: the name in the signed facts becomes the pseudonym, the stored PDF is
  dropped (the copy the person kept still verifies offline: it needs no database), and
  ``erased_at`` is set. The database lets only such an update through, once
  (``models.certificate``).

- what HR wrote about them: their name, e-mail, employee id (or a word of their name) in the
  reasons of audit events about them or their records, and in their certificates' revocation
  notes, become the pseudonym (the database lets only such an update through, once:
  ``models.audit``). Audit events otherwise hold ids, never names (``audit.events``).

What stays: department (for counts by department), roles, dates, enrollments, progress,
attempts, completions and the audit trail.

Certificates and audit events are chained (``audit.ledger``), so the change is recorded: the
erasure's audit event (``person.erased``: who, when, the reason, never the erased identity)
lists each row it rewrote with its hash before and after, and ``audit verify`` accepts exactly
those changes, and names any other.

What cannot be undone is also what cannot be looked up: the ledger keeps the hash of each row
as it was, and certificates keep the issuer's signature over their facts as issued, so
someone holding the database and guessing the right name for a certificate could confirm the
guess; nothing stored reads back to the name.
"""

from __future__ import annotations

import email
import functools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.audit import ledger
from app.audit.events import record
from app.certificates.codes import new_code
from app.certificates.facts import CertificateFacts
from app.certificates.keyring import published_keys
from app.certificates.service import issuer_of, signed_document, verify_document
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.fields import NOTE_MAX, fold, sentence, text_problem
from app.jobs.records import expire_results
from app.models import (
    AuditEvent,
    Certificate,
    Enrollment,
    Invitation,
    Job,
    JobState,
    OutboxMessage,
    PasswordReset,
    RecoveryCode,
    Role,
    TotpFactor,
    User,
    UserRole,
)
from app.models.user import STAFF_ROLES
from app.people.sessions import end_all_sessions

PSEUDONYM_PREFIX = "Erased person"
ERASED_DOMAIN = "invalid"  # RFC 2606: never a real address


@dataclass(frozen=True)
class Erased:
    user: User
    certificates: int  # certificates whose holder name was replaced
    messages: int  # outbox messages deleted


def is_erased(user: User) -> bool:
    """Whether the person was erased (their account never changes or signs in again)."""
    return user.erased_at is not None


def erasure_problem(actor: User | None, person: User) -> str | None:
    """Why ``actor`` may not erase ``person`` (None: they may); ``actor`` None is the command
    line, run by whoever runs the server."""
    if person.erased_at is not None:
        return "This person was already erased."
    if actor is not None and actor.id == person.id:
        return "You cannot erase yourself: ask another HR member or an administrator."
    if actor is not None and person.roles & STAFF_ROLES and Role.ADMIN not in actor.roles:
        return "Only an administrator can erase an administrator's or HR account."
    return None


def _last_admin(session: Session, person: User) -> bool:
    if Role.ADMIN not in person.roles:
        return False
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == Role.ADMIN,
            User.id != person.id,
            User.active.is_(True),
            User.erased_at.is_(None),
        )
    )
    return not others


def _reason_problem(reason: str, person: User) -> str | None:
    if problem := text_problem("reason", reason, NOTE_MAX, multiline=True):
        return sentence(problem)
    if _redactor(person, "")(reason) != reason:
        return (
            "The reason must not name the person (their name, e-mail or employee id): it is "
            "kept in the audit trail, which the erasure does not change."
        )
    return None


def erase_person(
    session: Session,
    actor: User | None,
    person_id: int,
    reason: str,
    *,
    via: str = "form",
    now: datetime | None = None,
) -> Erased:
    """Replace ``person_id``'s identity with a pseudonym everywhere Candor keeps it, end their
    access, and record why; refuse erasing yourself, the last administrator, or twice."""
    person = session.get(User, person_id)
    if person is None:
        raise NotFound("There is no such person.")
    if problem := erasure_problem(actor, person):
        status = 403 if "administrator" in problem else 409
        raise DomainError(problem, status=status)
    if _last_admin(session, person):
        raise DomainError(
            "This is the last active administrator: give another person the admin role first.",
            status=409,
        )
    reason = reason.strip()
    if problem := _reason_problem(reason, person):
        raise DomainError(problem)
    now = now or utcnow()
    old_name, old_email = person.name, person.email
    pseudonym = f"{PSEUDONYM_PREFIX} {new_code()[:8]}"

    messages = _forget_mail(session, old_name, old_email)
    redact = _redactor(person, pseudonym)
    rewrote, certificates = _erase_certificates(session, person, pseudonym, redact, now)
    rewrote += _redact_audit_trail(session, person, redact, now)
    _forget_account(session, person, pseudonym, now)
    _expire_files(session, now)
    record(
        session,
        ledger.REWRITES,
        actor=actor,
        subject=person,
        via=via,
        reason=reason,
        certificates=certificates,
        rewrote=rewrote,
    )
    return Erased(person, len(certificates), messages)


def _forget_account(session: Session, person: User, pseudonym: str, now: datetime) -> None:
    person.name = pseudonym
    person.email = f"erased-{secrets.token_hex(12)}@{ERASED_DOMAIN}"
    person.employee_id = None
    person.password_hash = None
    person.oidc_subject = None
    person.manager_id = None
    person.active = False
    person.deactivated_at = person.deactivated_at or now
    person.erased_at = now
    end_all_sessions(person)
    session.execute(update(User).where(User.manager_id == person.id).values(manager_id=None))
    for model in (Invitation, PasswordReset, TotpFactor, RecoveryCode):
        session.execute(delete(model).where(model.user_id == person.id))
    session.flush()


@functools.cache
def _letters_like() -> dict[str, str]:
    """For each letter, the Latin letters that fold to it ("e": "eèéêëēĕėęěEÈÉ..."): what a
    name written with or without its accents may hold in its place."""
    like: dict[str, set[str]] = {}
    for code in range(0x41, 0x250):
        letter = chr(code)
        base = fold(letter)
        if len(base) == 1 and base.isalpha():
            like.setdefault(base, {base}).add(letter)
    return {base: "".join(sorted(letters)) for base, letters in like.items()}


def _spelled_any_way(term: str) -> str:
    """A pattern for ``term`` with or without its accents ("Zoë" also finds "Zoe", "ZOE")."""
    like = _letters_like()
    return "".join(f"[{re.escape(like[c])}]" if c in like else re.escape(c) for c in fold(term))


def _redactor(person: User, pseudonym: str) -> Callable[[str], str]:
    """A function replacing, in a text HR wrote, what names the person: their e-mail, its
    local part, their employee id, their full name and each word of it (3 letters or more,
    whole words), whatever the case and with or without the name's accents."""
    terms = [person.email, person.email.split("@", 1)[0], person.employee_id or "", person.name]
    terms += [word for word in re.split(r"\W+", person.name) if len(word) >= 3]
    alternatives = sorted({t for t in terms if len(t) >= 3}, key=len, reverse=True)
    if not alternatives:
        return lambda text: text
    spellings = [f"{re.escape(term)}|{_spelled_any_way(term)}" for term in alternatives]
    pattern = re.compile(
        "|".join(rf"(?<!\w)(?:{spelled})(?!\w)" for spelled in spellings), re.IGNORECASE
    )
    return lambda text: pattern.sub(pseudonym, text)


def _redacted(value: object, redact: Callable[[str], str]) -> object:
    """``value`` (JSON: dicts, lists, strings) with every string passed through ``redact``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(item, redact) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, redact) for key, item in value.items()}
    return value


def _redact_audit_trail(
    session: Session, person: User, redact: Callable[[str], str], now: datetime
) -> list[dict]:
    """Replace what names the person in the details of the audit events by them or about them
    or their records; the ledger's rewrite items for those changed."""
    enrollments = select(cast(Enrollment.id, String)).where(Enrollment.user_id == person.id)
    certificates = select(cast(Certificate.id, String)).where(Certificate.user_id == person.id)
    about = or_(
        AuditEvent.actor_id == person.id,
        (AuditEvent.subject_type == "users") & (AuditEvent.subject_id == str(person.id)),
        (AuditEvent.subject_type == "enrollments") & AuditEvent.subject_id.in_(enrollments),
        (AuditEvent.subject_type == "certificates") & AuditEvent.subject_id.in_(certificates),
    )
    rewrote: list[dict] = []
    for event in session.scalars(
        select(AuditEvent).where(about, AuditEvent.redacted_at.is_(None)).order_by(AuditEvent.id)
    ):
        details = _redacted(event.details, redact)
        if details == event.details or not isinstance(details, dict):
            continue
        before = ledger.current_hash(session, "audit", event.id)
        event.details, event.redacted_at = details, now
        session.flush()
        if before is not None:
            rewrote.append(ledger.rewrite(session, "audit", event.id, before))
    return rewrote


def _erase_certificates(
    session: Session,
    person: User,
    pseudonym: str,
    redact: Callable[[str], str],
    now: datetime,
) -> tuple[list[dict], list[dict]]:
    """Replace the holder's name in each certificate (and drop its PDF); return the ledger's
    rewrite items, and per certificate whether its signature still held before the change."""
    keys = published_keys(session, issuer_of(session).signer)
    rewrote: list[dict] = []
    checked: list[dict] = []
    certificates = session.scalars(
        select(Certificate)
        .where(Certificate.user_id == person.id, Certificate.erased_at.is_(None))
        .order_by(Certificate.id)
    ).all()
    for certificate in certificates:
        before = ledger.current_hash(session, "certificate.issued", certificate.id)
        revoked_before = ledger.current_hash(session, "certificate.revoked", certificate.id)
        note = certificate.revocation_note
        if note is not None and redact(note) != note:
            certificate.revocation_note = redact(note)
        else:
            revoked_before = None
        try:
            facts = CertificateFacts.from_dict(certificate.facts)
            signature_valid = verify_document(
                signed_document(facts, certificate.signature, certificate.key_id), keys
            ).ok
        except ValueError:  # stored facts that are no certificate's: say so, erase anyway
            signature_valid = False
        certificate.facts = {**certificate.facts, "holder_name": pseudonym}
        certificate.pdf = b""
        certificate.erased_at = now
        session.flush()
        assert before is not None  # noqa: S101 (the row was just read)
        rewrote.append(ledger.rewrite(session, "certificate.issued", certificate.id, before))
        if revoked_before is not None:
            rewrote.append(
                ledger.rewrite(session, "certificate.revoked", certificate.id, revoked_before)
            )
        checked.append({"id": certificate.id, "signature_valid": signature_valid})
    return rewrote, checked


def _text_of(message: EmailMessage) -> str:
    parts = [str(message.get("Subject", ""))]
    for part in message.walk():
        if isinstance(part, EmailMessage) and part.get_content_maintype() == "text":
            try:
                parts.append(part.get_content())
            except (LookupError, ValueError):
                parts.append(str(part.get_payload()))
    return "\n".join(parts)


def _forget_mail(session: Session, name: str, address: str) -> int:
    """Delete every outbox message to ``address`` or naming the person (a manager's digest);
    the outbox keeps delivered mail for days only, so this reads a bounded table."""
    wanted_name, wanted_address = fold(name), fold(address)
    doomed: list[int] = []
    for message_id, recipients, raw in session.execute(
        select(OutboxMessage.id, OutboxMessage.recipients, OutboxMessage.message)
    ):
        if any(fold(str(r)) == wanted_address for r in recipients or []):
            doomed.append(message_id)
            continue
        parsed = email.message_from_bytes(bytes(raw), policy=default_policy)
        text = fold(_text_of(parsed) if isinstance(parsed, EmailMessage) else str(parsed))
        if wanted_address in text or (len(wanted_name) >= 3 and wanted_name in text):
            doomed.append(message_id)
    if doomed:
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(doomed)))
    return len(doomed)


def _expire_files(session: Session, now: datetime) -> None:
    """Expire every finished job's file now: exports, evidence packs and subject access copies
    built before the erasure may name the person."""
    session.execute(
        update(Job)
        .where(Job.state == JobState.DONE, (Job.expires_at.is_(None)) | (Job.expires_at > now))
        .values(expires_at=now)
    )
    expire_results(session, now)
