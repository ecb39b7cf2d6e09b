"""The audit trail: append-only, enforced by the database itself.

Triggers refuse UPDATE and DELETE on ``audit_events`` (SQLite and PostgreSQL), so history
cannot be rewritten through the app or a stray SQL session without dropping them first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, make_append_only, utcnow


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


make_append_only(AuditEvent.__table__, "audit events")
