"""Recording audit events. Callers own the transaction.

Details hold ids and facts, never names or secrets: the trail must not become a second copy
of personal data, and it must never hold a password or a token.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from app.models import AuditEvent, User


class Subject(Protocol):
    """Any row an event can be about: its table and id are recorded, nothing else."""

    __tablename__: str

    @property
    def id(self) -> int: ...


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    subject: Subject | None = None,
    **details,
) -> AuditEvent:
    """Append an event: who did ``action`` to which subject, with the given details. It is
    written with the session's next flush (the commit's, at the latest), so the events of a
    request go in together; ``subject`` must have been written already (it has its id)."""
    if subject is not None and subject.id is None:
        raise ValueError(f"the subject of {action!r} is not written yet: flush it first")
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        subject_type=subject.__tablename__ if subject is not None else None,
        subject_id=str(subject.id) if subject is not None else None,
        details=details,
    )
    session.add(event)
    return event
