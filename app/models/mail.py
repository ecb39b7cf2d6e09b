"""The outbox: every e-mail Candor sends is first a row here, then sent by a worker."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.fields import EMAIL_MAX
from app.models.user import _enum_values

MAIL_KIND_MAX = 40
SUBJECT_MAX = 200
MAIL_ERROR_MAX = 500


class MailState(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker, which is handing it to the SMTP server
    SENT = "sent"
    FAILED = "failed"  # refused for good, out of attempts, or its worker died mid-send


class OutboxMessage(Base):
    """One e-mail: its bytes as sent, its envelope, and how its delivery went."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(MAIL_KIND_MAX))  # reminder, invitation, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sender: Mapped[str] = mapped_column(String(EMAIL_MAX))
    recipients: Mapped[list] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    message: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[MailState] = mapped_column(
        Enum(
            MailState,
            values_callable=_enum_values,
            native_enum=False,
            length=16,
            validate_strings=True,
        ),
        default=MailState.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(MAIL_ERROR_MAX))
