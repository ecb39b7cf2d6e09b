"""The audit trail: append-only, enforced by the database itself.

Triggers refuse UPDATE and DELETE on ``audit_events`` (SQLite and PostgreSQL), so history
cannot be rewritten through the app or a stray SQL session without dropping them first. One
update passes, once per event: an erasure (``privacy.erasure``) replacing an erased person's
name where HR wrote it into a reason, setting ``redacted_at``; the ledger explains it by the
erasure's own chained event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, guard_updates, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    # Ids and facts, not names: the trail must not become a second copy of personal data.
    details: Mapped[dict] = mapped_column(default=dict)
    # When an erasure replaced the erased person's name in ``details`` (None: never).
    redacted_at: Mapped[datetime | None]


AUDIT_FROZEN = ["id", "occurred_at", "actor_id", "action", "subject_type", "subject_id"]
REDACTING = "OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL"
guard_updates(
    AuditEvent.__table__,
    "audit events",
    AUDIT_FROZEN,
    "1 = 1",
    ["details", "redacted_at"],
    REDACTING,
)
