"""The outbox: queue a message in the caller's transaction; deliver what is due, each message
at most once.

``queue_mail``: callers own the transaction. ``deliver_due`` is a delivery loop and commits
as it goes, through its own session, like the job runner: claim one message (a conditional
update, ``pending`` -> ``sending``, so two workers never take the same one), commit, hand it to
the SMTP server, mark it ``sent``, commit. A retry only ever picks up ``pending`` messages, so
a message the server accepted is never sent again. A worker that dies between the server's
"250" and the mark leaves the message ``sending``; ``fail_stale_sending`` fails it then, with
a message saying so, rather than risk sending it twice.

Back-off: a server that cannot be reached, or answers 4xx, defers the message by
``retry_base`` x 2^(attempts-1) (capped at ``retry_cap``) and ends the batch (the server is in
trouble; the others wait their turn); after ``max_attempts`` the message fails. A 5xx refusal
fails the message at once and the batch goes on.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses, parseaddr

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db import rowcount, utcnow
from app.fields import one_line
from app.mail.smtp import MailSettings, SmtpConnection, Unavailable, is_permanent, reason
from app.models import MailState, OutboxMessage
from app.models.mail import MAIL_ERROR_MAX, SUBJECT_MAX

QUEUED_FLAG = "candor.mail_queued"  # in Session.info: this transaction queued mail
WORKER_DIED = (
    "The worker sending this message stopped before the server's answer was recorded; it is "
    "not sent again, so that it is never sent twice."
)


def queue_mail(session: Session, message: EmailMessage, kind: str) -> None:
    """Put ``message`` in the outbox; it is sent after the caller commits. Raises ValueError
    for a message without a sender or recipients."""
    _, sender = parseaddr(str(message.get("From", "")))
    recipients = [
        address
        for _, address in getaddresses(
            [str(v) for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]
        )
        if address
    ]
    if not sender or not recipients:
        raise ValueError("a message needs a From address and at least one recipient")
    del message["Bcc"]  # the envelope carries them; the header must not
    # Core, not an ORM object: a run queueing thousands of messages keeps none in memory.
    session.execute(
        insert(OutboxMessage).values(
            kind=kind,
            sender=sender,
            recipients=recipients,
            subject=one_line(str(message.get("Subject", "")), SUBJECT_MAX),
            message=message.as_bytes(policy=SMTP),
            state=MailState.PENDING,
            next_attempt_at=utcnow(),
        )
    )
    session.info[QUEUED_FLAG] = True


@dataclass
class Delivery:
    """What one delivery batch did, and when the next one should run (None: nothing waits)."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    retry_at: datetime | None = None


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(cap, base * 2 ** max(attempts - 1, 0))


def deliver_due(
    make_session: sessionmaker[Session],
    mail: MailSettings,
    *,
    clock: Callable[[], datetime] = utcnow,
    retry_base: timedelta = timedelta(seconds=30),
    retry_cap: timedelta = timedelta(hours=1),
    max_attempts: int = 10,
) -> Delivery:
    """Send every message that is due, over one connection; commits after each message."""
    report = Delivery()
    smtp = SmtpConnection(mail)
    try:
        with make_session() as session:
            while (claimed := _claim_next(session, clock())) is not None:
                message_id, sender, recipients, data, attempts = claimed
                try:
                    smtp.send(sender, recipients, data)
                except (Unavailable, smtplib.SMTPException, OSError) as exc:
                    now = clock()
                    if is_permanent(exc) or attempts >= max_attempts:
                        why = reason(exc)
                        if not is_permanent(exc):
                            why = f"gave up after {attempts} attempts: {why}"
                        _finish(session, message_id, MailState.FAILED, error=why)
                        report.failed += 1
                        continue
                    retry_at = now + backoff(attempts, retry_base, retry_cap)
                    _finish(
                        session,
                        message_id,
                        MailState.PENDING,
                        error=reason(exc),
                        next_attempt_at=retry_at,
                    )
                    report.deferred += 1
                    report.retry_at = retry_at
                    break  # the server is in trouble: the others wait for the next batch
                else:
                    # Not conditional on "sending": a message marked dead meanwhile was sent.
                    _finish(session, message_id, MailState.SENT, sent_at=clock(), error=None)
                    report.sent += 1
            if report.retry_at is None:
                report.retry_at = session.scalar(
                    select(func.min(OutboxMessage.next_attempt_at)).where(
                        OutboxMessage.state == MailState.PENDING
                    )
                )
            session.rollback()
    finally:
        smtp.close()
    return report


def _claim_next(session: Session, now: datetime) -> tuple | None:
    while True:
        message_id = session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.state == MailState.PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if message_id is None:
            session.rollback()
            return None
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == MailState.PENDING)
            .values(state=MailState.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        )
        if not rowcount(claimed):
            session.rollback()  # another worker took it first
            continue
        row = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.sender,
                OutboxMessage.recipients,
                OutboxMessage.message,
                OutboxMessage.attempts,
            ).where(OutboxMessage.id == message_id)
        ).one()
        session.commit()  # the claim holds before anything is sent
        return tuple(row)


def _finish(session: Session, message_id: int, state: MailState, **values: object) -> None:
    if isinstance(values.get("error"), str):
        values["error"] = str(values["error"])[:MAIL_ERROR_MAX]
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(state=state, **values)
    )
    session.commit()


def fail_stale_sending(session: Session, now: datetime, stale_after: timedelta) -> int:
    """Fail messages claimed longer ago than ``stale_after`` (their worker died); how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.state == MailState.SENDING,
            OutboxMessage.claimed_at < now - stale_after,
        )
        .values(state=MailState.FAILED, error=WORKER_DIED)
    )
    session.flush()
    return rowcount(result)


def forget_old(session: Session, now: datetime, keep: timedelta) -> int:
    """Delete messages delivered or failed more than ``keep`` ago (retention: a message holds
    its recipient's address and its text); how many."""
    finished = func.coalesce(
        OutboxMessage.sent_at, OutboxMessage.claimed_at, OutboxMessage.created_at
    )
    result = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.state.in_((MailState.SENT, MailState.FAILED)), finished < now - keep
        )
    )
    return rowcount(result)


def has_due(session: Session, now: datetime) -> bool:
    """True when some message waits for an attempt that is due."""
    return (
        session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.state == MailState.PENDING, OutboxMessage.next_attempt_at <= now)
            .limit(1)
        )
        is not None
    )
