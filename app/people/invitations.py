"""Invitations: single-use, expiring links, e-mailed, that let a new account set its first
password.

Only the SHA-256 of a token is stored (``people.tokens``); the token itself exists only in
the e-mail sent to the person. A link that is unknown and one already used get the same
answer, so old links (from a browser history, a forwarded e-mail) reveal nothing; an expired,
replaced or revoked link, or one for a deactivated account, says so, since only the person it
was sent to can hold it. Invitations go only to accounts that can act on them: active, with
no password yet. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import utcnow
from app.errors import DomainError
from app.mail.messages import text_message
from app.mail.outbox import queue_mail
from app.mail.smtp import MailSettings
from app.models import Invitation, PasswordReset, User
from app.people.accounts import ERASED_ACCOUNT, check_password_policy
from app.people.sessions import end_all_sessions
from app.people.tokens import claim_link, close_open_links, find_link, new_token, token_hash

__all__ = [
    "VALID_DAYS",
    "InvitationExpired",
    "InvitationForInactiveAccount",
    "InvitationInvalid",
    "InvitationLink",
    "create_invitation",
    "find_invitation",
    "invitation_url",
    "invitation_values",
    "queue_invitation_mail",
    "redeem_invitation",
    "revoke_invitations",
    "send_invitation",
    "token_hash",
]

VALID_DAYS = 7


class InvitationInvalid(DomainError):
    """The link is unknown or has been used (one answer for both)."""

    status = 404

    def __init__(self) -> None:
        super().__init__(
            "This invitation link is not valid, or it has already been used. If you have set "
            "your password, sign in; if you have forgotten it, ask for a new one with your "
            "work e-mail."
        )


class InvitationExpired(DomainError):
    """The link is past its expiry, or a newer link replaced it, or HR revoked it."""

    status = 410

    def __init__(self) -> None:
        super().__init__(
            "This invitation link has expired, or a newer one replaced it. Ask for a new link "
            "with your work e-mail below, or ask your HR team to send you a new invitation."
        )


class InvitationForInactiveAccount(DomainError):
    """The account the link was made for has been deactivated."""

    status = 403

    def __init__(self) -> None:
        super().__init__(
            "The account this invitation is for has been deactivated. Ask your "
            "HR team if you think this is a mistake."
        )


@dataclass(frozen=True)
class InvitationLink:
    """A link for a new account holder; ``url`` carries the raw token, never log it."""

    user_id: int
    email: str
    url: str = field(repr=False)
    expires_at: datetime
    name: str = ""


def invitation_url(base_url: str, token: str) -> str:
    """The link a person opens to set their password: ``<base_url>/invite/<token>``."""
    return f"{base_url.rstrip('/')}/invite/{token}"


def invitation_values(
    user_id: int, *, now: datetime, valid_days: int = VALID_DAYS
) -> tuple[str, dict[str, Any]]:
    """A fresh token and the column values of its invitation (for bulk inserts)."""
    token = new_token()
    return token, {
        "user_id": user_id,
        "token_hash": token_hash(token),
        "created_at": now,
        "expires_at": now + timedelta(days=valid_days),
    }


def create_invitation(
    session: Session,
    user: User,
    *,
    now: datetime | None = None,
    valid_days: int = VALID_DAYS,
    actor: User | None = None,
) -> str:
    """Invite ``user`` to set a first password, replacing older links; returns the token."""
    now = now or utcnow()
    if user.active is False:
        raise InvitationForInactiveAccount()
    if user.password_hash is not None:
        # An invitation on an account with a password would be a way to take it over.
        raise DomainError(
            "This account already has a password; invitations are only for setting a first "
            "one. If they have forgotten it, they can ask for a new one on the sign-in page.",
            status=409,
        )
    if valid_days < 1:
        raise DomainError("An invitation must be valid for at least a day.")
    session.flush()  # the user needs its id
    # Expiring (not deleting) keeps the record of what was sent, and the claim checks
    # expires_at, so a replaced link cannot be redeemed in a race.
    close_open_links(session, Invitation, [user.id], now)
    token, values = invitation_values(user.id, now=now, valid_days=valid_days)
    invitation = Invitation(**values)
    session.add(invitation)
    session.flush()
    record(
        session,
        "user.invited",
        actor=actor,
        subject=user,
        invitation_id=invitation.id,
        expires_at=invitation.expires_at.isoformat(),
    )
    return token


def queue_invitation_mail(session: Session, mail: MailSettings, link: InvitationLink) -> None:
    """Put the e-mail carrying ``link`` in the outbox (sent after the caller commits)."""
    message = text_message(
        mail,
        to_name=link.name,
        to_email=link.email,
        subject=f"Your {mail.organisation} training account: set your password",
        template="invitation.txt",
        url=link.url,
        expires_at=link.expires_at,
    )
    queue_mail(session, message, kind="invitation")


def send_invitation(
    session: Session,
    user: User,
    mail: MailSettings,
    *,
    actor: User | None,
    now: datetime | None = None,
    valid_days: int = VALID_DAYS,
) -> InvitationLink:
    """Invite ``user`` by e-mail (older links stop working); returns the link sent."""
    if user.erased_at is not None:
        raise DomainError(ERASED_ACCOUNT, status=409)
    now = now or utcnow()
    token = create_invitation(session, user, now=now, valid_days=valid_days, actor=actor)
    link = InvitationLink(
        user.id,
        user.email,
        invitation_url(mail.base_url, token),
        now + timedelta(days=valid_days),
        user.name,
    )
    queue_invitation_mail(session, mail, link)
    return link


def revoke_invitations(
    session: Session, user: User, *, actor: User | None, now: datetime | None = None
) -> None:
    """Stop every open invitation link of ``user`` (kept on record; audited)."""
    close_open_links(session, Invitation, [user.id], now or utcnow())
    record(session, "user.invitation_revoked", actor=actor, subject=user)


def find_invitation(session: Session, token: str, now: datetime | None = None) -> Invitation:
    """The open invitation for ``token``; raises if it is unknown, used, expired or inactive."""
    now = now or utcnow()
    invitation = find_link(session, Invitation, token)
    if not isinstance(invitation, Invitation) or invitation.used_at is not None:
        raise InvitationInvalid()
    user = session.get(User, invitation.user_id)
    if user is None or user.password_hash is not None:
        raise InvitationInvalid()  # "used": the password is set (by this link or another)
    if not user.active:
        raise InvitationForInactiveAccount()
    if invitation.expires_at <= now:
        raise InvitationExpired()
    return invitation


def redeem_invitation(
    session: Session, token: str, password: str, *, now: datetime | None = None
) -> User:
    """Set the first password through an invitation, once; returns the account."""
    now = now or utcnow()
    invitation = find_invitation(session, token, now)
    invited = session.get(User, invitation.user_id)
    if invited is None:
        raise InvitationInvalid()
    # Before the claim, so a refused password keeps the link.
    check_password_policy(password, email=invited.email, name=invited.name)
    if not claim_link(session, Invitation, invitation.id, now):
        raise InvitationInvalid()
    session.refresh(invitation)
    user = session.get(User, invitation.user_id)
    if user is None:
        raise InvitationInvalid()
    set_chosen_password(session, user, password, now)
    record(
        session, "user.invitation_redeemed", actor=user, subject=user, invitation_id=invitation.id
    )
    return user


def set_chosen_password(session: Session, user: User, password: str, now: datetime) -> None:
    """Set a password chosen through a link: every session ends, and every other open link
    of the account (invitation or reset) stops working."""
    user.set_password(password)
    end_all_sessions(user)
    _close_all_links(session, [user.id], now)
    session.flush()


def _close_all_links(session: Session, user_ids: Iterable[int], now: datetime) -> None:
    ids = list(user_ids)
    for model in (Invitation, PasswordReset):
        close_open_links(session, model, ids, now)
