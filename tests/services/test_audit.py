"""The audit trail is append-only in the database itself (an erasure's one redaction aside)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, exc, select, text, update

from app.audit.events import record
from app.models import AuditEvent, User


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


def test_an_event_is_written_with_the_next_flush_and_needs_its_subject_written(db, make_user):
    actor = make_user()
    unwritten = User(email="new@example.test", name="Not Yet Written")
    with pytest.raises(ValueError, match="not written yet"):
        record(db, "test.too_early", actor=actor, subject=unwritten)
    event = record(db, "test.event", actor=actor, subject=actor)
    assert event.id is None  # pending: the request's events go in together
    db.commit()
    assert db.scalar(select(AuditEvent.subject_id).where(AuditEvent.id == event.id)) == str(
        actor.id
    )
