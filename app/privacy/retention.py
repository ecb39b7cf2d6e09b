"""Retention: what is deleted once it is no longer needed, run by the workers' ``maintain``
every minute (safe to run from several workers at once). The privacy registry says the same
periods in words; ``tests/unit/test_privacy_registry.py`` keeps the two in step."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.db import rowcount
from app.mail.outbox import forget_old
from app.models import PasswordReset


def enforce(session: Session, now: datetime, config: Mapping[str, object]) -> dict[str, int]:
    """Delete what has outlived its purpose; how many rows of each kind. Callers commit."""
    keep_mail = timedelta(days=int(str(config["OUTBOX_KEEP_DAYS"])))
    return {
        "delivered e-mails": forget_old(session, now, keep_mail),
        # A used or expired reset link opens nothing; its row only says one was asked for.
        "password-reset links": rowcount(
            session.execute(delete(PasswordReset).where(PasswordReset.expires_at < now))
        ),
    }
