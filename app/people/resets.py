"""Password resets by e-mail: a single-use, expiring link, of which only a hash is stored.

Asking for a reset never tells whether the address has an account: the request (a view) only
hands the address to the job queue, the same way for every address, and ``send_reset`` runs
in a worker, where the look-up and the e-mail (or nothing, for an unknown address) happen
out of sight of the asker's clock. An active account without a password yet (invited, never
activated) gets the same link: it sets the first password, as an invitation would. Choosing
the new password ends every session of the account and stops every other open link.
Callers own the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import utcnow
from app.errors import DomainError
from app.mail.messages import text_message
from app.mail.outbox import queue_mail
from app.mail.smtp import MailSettings
from app.models import PasswordReset, User
from app.people.accounts import check_password_policy, find_user_by_email
from app.people.invitations import set_chosen_password
from app.people.tokens import claim_link, find_link, new_token, token_hash

VALID_MINUTES = 60


class ResetLinkInvalid(DomainError):
    """The link is unknown or has been used (one answer for both)."""

    status = 404

    def __init__(self) -> None:
        super().__init__(
            "This password reset link is not valid, or it has already been used. "
            "Ask for a new one below."
        )


class ResetLinkExpired(DomainError):
    status = 410

    def __init__(self) -> None:
        super().__init__(
            "This password reset link has expired, or a password was set through another link "
            "since. If you need a new one, ask for it below."
        )


def reset_url(base_url: str, token: str) -> str:
    """The link a person opens to choose a new password: ``<base_url>/reset-password/<token>``."""
    return f"{base_url.rstrip('/')}/reset-password/{token}"


def may_reset(user: User | None) -> bool:
    """True when ``user`` may be sent a reset link: an active account."""
    return user is not None and user.active


def create_reset(
    session: Session, user: User, *, now: datetime, valid_minutes: int = VALID_MINUTES
) -> tuple[str, PasswordReset]:
    """A new reset link for ``user``: the token (for the e-mail only) and its stored row."""
    token = new_token()
    reset = PasswordReset(
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(minutes=valid_minutes),
    )
    session.add(reset)
    session.flush()
    return token, reset


def send_reset(
    session: Session,
    email: str,
    mail: MailSettings,
    *,
    valid_minutes: int = VALID_MINUTES,
    now: datetime | None = None,
) -> bool:
    """E-mail a reset link to the account of ``email`` if there is an active one; True if
    a link was queued. Runs in a worker: what it finds is never shown to the asker."""
    now = now or utcnow()
    user = find_user_by_email(session, email)
    if user is None or not may_reset(user):
        return False
    token, reset = create_reset(session, user, now=now, valid_minutes=valid_minutes)
    message = text_message(
        mail,
        to_name=user.name,
        to_email=user.email,
        subject=f"Reset your password for {mail.organisation}",
        template="password_reset.txt",
        now=now,
        url=reset_url(mail.base_url, token),
        expires_at=reset.expires_at,
    )
    queue_mail(session, message, kind="password_reset")
    record(session, "user.password_reset_sent", subject=user, reset_id=reset.id)
    return True


def find_reset(session: Session, token: str, now: datetime | None = None) -> PasswordReset:
    """The open reset for ``token``; raises if it is unknown, used, expired or inactive."""
    now = now or utcnow()
    reset = find_link(session, PasswordReset, token)
    if not isinstance(reset, PasswordReset) or reset.used_at is not None:
        raise ResetLinkInvalid()
    if reset.expires_at <= now:
        raise ResetLinkExpired()
    if not may_reset(session.get(User, reset.user_id)):
        raise ResetLinkInvalid()
    return reset


def reset_password(
    session: Session, token: str, password: str, *, now: datetime | None = None
) -> User:
    """Choose a new password through a reset link, once; every session of the account ends."""
    now = now or utcnow()
    reset = find_reset(session, token, now)
    user = session.get(User, reset.user_id)
    if user is None:
        raise ResetLinkInvalid()
    check_password_policy(password, email=user.email, name=user.name)  # keeps the link
    if not claim_link(session, PasswordReset, reset.id, now):
        raise ResetLinkInvalid()
    set_chosen_password(session, user, password, now)
    record(session, "user.password_reset", actor=user, subject=user, reset_id=reset.id)
    return user
