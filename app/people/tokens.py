"""Single-use, expiring links (invitations and password resets): one rule for both.

A token is 32 random bytes in URL-safe base64; only its SHA-256 is stored, so a copy of the
database opens no account. A token is looked up by its hash (what the database compares is
unrelated to the token's characters) and claimed by a conditional UPDATE: of two uses at once,
one claims the row and the other changes nothing. Callers own the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import rowcount
from app.models import Invitation, PasswordReset

TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters; anything else is not ours and is refused unseen.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")

LinkRow = Invitation | PasswordReset
LinkModel = type[Invitation] | type[PasswordReset]


def new_token() -> str:
    """A fresh random token (never stored, never logged)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def find_link(session: Session, model: LinkModel, token: object) -> LinkRow | None:
    """The row of ``model`` stored for ``token`` (used or not, expired or not), or None."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        return None
    wanted = token_hash(token)
    row = cast(LinkRow | None, session.scalar(select(model).where(model.token_hash == wanted)))
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    return row


def claim_link(session: Session, model: LinkModel, row_id: int, now: datetime) -> bool:
    """Mark the link used if it is still open; False if it was used or expired meanwhile."""
    claimed = session.execute(
        update(model)
        .where(model.id == row_id, model.used_at.is_(None), model.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(claimed) == 1


def close_open_links(
    session: Session, model: LinkModel, user_ids: Iterable[int], now: datetime
) -> None:
    """Expire every open link of ``model`` for these accounts (kept on record, never deleted)."""
    session.execute(
        update(model)
        .where(
            model.user_id.in_(list(user_ids)),
            model.used_at.is_(None),
            model.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
