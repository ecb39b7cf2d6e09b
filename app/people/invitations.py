"""Invitations: single-use, expiring links that let a new account set its first password.

Only the SHA-256 of a token is stored; the token itself exists only in the link handed to the
person. A link that is unknown and one already used get the same answer, so old links (from a
browser history, a forwarded e-mail) reveal nothing; an expired or replaced link, or one for a
deactivated account, says so, since only the person it was sent to can hold it. Callers own the
transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import rowcount, utcnow
from app.errors import DomainError
from app.models import Invitation, User
from app.people.accounts import check_password_policy
from app.people.sessions import end_all_sessions

VALID_DAYS = 7
TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters; anything else is not ours and is refused unseen.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")


class InvitationInvalid(DomainError):
    """The link is unknown or has been used (one answer for both)."""

    status = 404

    def __init__(self) -> None:
        super().__init__(
            "This invitation link is not valid, or it has already been used. "
            "If you have set your password, sign in; otherwise ask your HR team "
            "for a new link."
        )


class InvitationExpired(DomainError):
    """The link is past its expiry, or a newer link replaced it."""

    status = 410

    def __init__(self) -> None:
        super().__init__(
            "This invitation link has expired or was replaced by a newer one. "
            "Ask your HR team for a new link."
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
    """A link to hand to a new account holder; ``url`` carries the raw token, never log it."""

    user_id: int
    email: str
    url: str = field(repr=False)
    expires_at: datetime


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def invitation_url(base_url: str, token: str) -> str:
    """The link a person opens to set their password: ``<base_url>/invite/<token>``."""
    return f"{base_url.rstrip('/')}/invite/{token}"


def invitation_values(
    user_id: int, *, now: datetime, valid_days: int = VALID_DAYS
) -> tuple[str, dict[str, Any]]:
    """A fresh token and the column values of its invitation (for bulk inserts)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
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
            "This account already has a password; invitations are only for setting a first one.",
            status=409,
        )
    if valid_days < 1:
        raise DomainError("An invitation must be valid for at least a day.")
    session.flush()  # the user needs its id
    _replace_open_invitations(session, [user.id], now)
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


def _replace_open_invitations(session: Session, user_ids: list[int], now: datetime) -> None:
    # Expiring (not deleting) keeps the record of what was sent, and the claim in
    # redeem_invitation checks expires_at, so a replaced link cannot be redeemed in a race.
    session.execute(
        update(Invitation)
        .where(
            Invitation.user_id.in_(user_ids),
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def find_invitation(session: Session, token: str, now: datetime | None = None) -> Invitation:
    """The open invitation for ``token``; raises if it is unknown, used, expired or inactive."""
    now = now or utcnow()
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        raise InvitationInvalid()
    wanted = token_hash(token)
    # Looked up by its hash: what the database compares is unrelated to the token's characters.
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == wanted))
    if invitation is None or not hmac.compare_digest(invitation.token_hash, wanted):
        raise InvitationInvalid()
    if invitation.used_at is not None:
        raise InvitationInvalid()
    if invitation.expires_at <= now:
        raise InvitationExpired()
    user = session.get(User, invitation.user_id)
    if user is None:
        raise InvitationInvalid()
    if not user.active:
        raise InvitationForInactiveAccount()
    if user.password_hash is not None:
        raise InvitationInvalid()
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
    # The conditional UPDATE is the guard: of two redemptions at once, one claims the row and
    # the other changes nothing and is refused.
    claimed = rowcount(
        session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.used_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        raise InvitationInvalid()
    session.refresh(invitation)
    user = session.get(User, invitation.user_id)
    if user is None:
        raise InvitationInvalid()
    user.set_password(password)
    end_all_sessions(user)
    session.flush()
    record(
        session, "user.invitation_redeemed", actor=user, subject=user, invitation_id=invitation.id
    )
    return user
