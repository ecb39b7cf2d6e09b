"""The audit trail is append-only in the database itself (an erasure's one redaction aside)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, exc, text, update

from app.audit.events import record
from app.models import AuditEvent


def test_events_can_be_added_but_never_changed_or_removed(db, make_user):
    actor = make_user()
    event = record(db, "user.deactivated", actor=actor, subject=actor, reason="left")
    db.commit()
    assert (event.actor_id, event.subject_type, event.subject_id) == (
        actor.id,
        "users",
        str(actor.id),
    )
    with pytest.raises(exc.DatabaseError, match="never change|are final"):
        db.execute(update(AuditEvent).values(action="user.created"))
    db.rollback()
    with pytest.raises(exc.DatabaseError, match="only by an erasure|are final"):
        db.execute(update(AuditEvent).values(details={"reason": "rewritten"}))
    db.rollback()
    with pytest.raises(exc.DatabaseError, match="never deleted"):
        db.execute(delete(AuditEvent))
    db.rollback()
    assert db.execute(text("SELECT action FROM audit_events")).scalars().all() == [
        "user.deactivated"
    ]
