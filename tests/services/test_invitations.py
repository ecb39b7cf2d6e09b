"""Invitations: single-use, expiring links that set a new account's first password."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.errors import DomainError
from app.models import AuditEvent, Invitation, User
from app.people.accounts import authenticate
from app.people.invitations import (
    InvitationExpired,
    InvitationForInactiveAccount,
    InvitationInvalid,
    create_invitation,
    find_invitation,
    invitation_url,
    redeem_invitation,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NEW_PASSWORD = "a long new passphrase"


@pytest.fixture
def newcomer(db):
    """A saved account without a password, as an import or the HR form makes it."""
    user = User(email="new@example.com", name="New Person")
    user.roles = {"learner"}
    db.add(user)
    db.commit()
    return user


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_only_the_hash_of_the_token_is_stored(db, newcomer):
    token = create_invitation(db, newcomer, now=NOW)
    db.commit()
    invitation = db.scalar(select(Invitation))
    assert len(token) >= 43 and token not in repr(invitation.__dict__)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (invitation.created_at, invitation.expires_at, invitation.used_at) == (
        NOW,
        NOW + timedelta(days=7),
        None,
    )
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.invited"))
    assert token not in str(event.details)
    assert invitation_url("https://candor.example/", token) == (
        f"https://candor.example/invite/{token}"
    )


def test_redeeming_sets_the_password_once(db, newcomer):
    token = create_invitation(db, newcomer, now=NOW)
    db.commit()
    assert find_invitation(db, token, now=NOW + timedelta(hours=1)).user_id == newcomer.id
    generation = newcomer.session_generation
    user = redeem_invitation(db, token, NEW_PASSWORD, now=NOW + timedelta(hours=1))
    db.commit()
    assert user.id == newcomer.id and user.check_password(NEW_PASSWORD)
    assert user.session_generation != generation
    assert db.scalar(select(Invitation.used_at)) == NOW + timedelta(hours=1)
    assert authenticate(db, "new@example.com", NEW_PASSWORD).id == newcomer.id
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.invitation_redeemed"))
    assert (event.actor_id, event.subject_id) == (newcomer.id, str(newcomer.id))

    with pytest.raises(InvitationInvalid) as used:
        redeem_invitation(db, token, "another long password", now=NOW + timedelta(hours=2))
    with pytest.raises(InvitationInvalid) as unknown:
        redeem_invitation(db, "x" * 43, "another long password")
    assert used.value.message == unknown.value.message  # a used link reveals nothing
    with pytest.raises(InvitationInvalid):
        find_invitation(db, token)
    db.refresh(user)
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "token", ["", "short", "a" * 200, "../../etc/passwd" + "a" * 30, "é" * 43, None]
)
def test_malformed_tokens_are_refused_without_a_lookup(db, token):
    with pytest.raises(InvitationInvalid):
        find_invitation(db, token)  # type: ignore[arg-type]


def test_an_expired_link_is_refused(db, newcomer):
    token = create_invitation(db, newcomer, now=NOW, valid_days=2)
    db.commit()
    later = NOW + timedelta(days=2)
    with pytest.raises(InvitationExpired):
        find_invitation(db, token, now=later)
    with pytest.raises(InvitationExpired):
        redeem_invitation(db, token, NEW_PASSWORD, now=later)
    assert redeem_invitation(db, token, NEW_PASSWORD, now=later - timedelta(seconds=1))


def test_a_newer_link_replaces_older_unused_ones(db, newcomer):
    first = create_invitation(db, newcomer, now=NOW)
    second = create_invitation(db, newcomer, now=NOW + timedelta(hours=1))
    db.commit()
    with pytest.raises(InvitationExpired):
        redeem_invitation(db, first, NEW_PASSWORD, now=NOW + timedelta(hours=2))
    assert redeem_invitation(db, second, NEW_PASSWORD, now=NOW + timedelta(hours=2))
    assert count(db, Invitation) == 2


def test_the_password_policy_applies_and_a_refusal_keeps_the_link(db, newcomer):
    token = create_invitation(db, newcomer, now=NOW)
    db.commit()
    with pytest.raises(DomainError, match="at least 8"):
        redeem_invitation(db, token, "short", now=NOW)
    with pytest.raises(DomainError, match="at most 128"):
        redeem_invitation(db, token, "x" * 129, now=NOW)
    assert db.scalar(select(Invitation.used_at)) is None
    assert redeem_invitation(db, token, NEW_PASSWORD, now=NOW).check_password(NEW_PASSWORD)


def test_a_deactivated_account_cannot_use_or_get_a_link(db, newcomer):
    token = create_invitation(db, newcomer, now=NOW)
    newcomer.active = False
    db.commit()
    with pytest.raises(InvitationForInactiveAccount):
        find_invitation(db, token, now=NOW)
    with pytest.raises(InvitationForInactiveAccount):
        redeem_invitation(db, token, NEW_PASSWORD, now=NOW)
    with pytest.raises(InvitationForInactiveAccount):
        create_invitation(db, newcomer, now=NOW)
    assert newcomer.password_hash is None


def test_an_account_with_a_password_gets_no_link(db, make_user):
    with pytest.raises(DomainError, match="already has a password"):
        create_invitation(db, make_user())


def test_a_link_stops_working_once_a_password_is_set_another_way(db, newcomer):
    token = create_invitation(db, newcomer, now=NOW)
    newcomer.set_password("set by the command line")
    db.commit()
    with pytest.raises(InvitationInvalid):
        redeem_invitation(db, token, NEW_PASSWORD, now=NOW)


def test_two_redemptions_at_once_give_one_password(app, db, newcomer):
    """Threads with their own sessions (on PostgreSQL this is a real race)."""
    token = create_invitation(db, newcomer)
    db.commit()
    passwords = [f"concurrent password {i}" for i in range(4)]
    barrier = threading.Barrier(len(passwords))
    won, errors = [], []

    def redeem(password):
        with app.extensions["candor.sessionmaker"]() as session:
            find_invitation(session, token)
            barrier.wait()
            try:
                redeem_invitation(session, token, password)
                session.commit()
                won.append(password)
            except Exception as error:  # noqa: BLE001 (collected and asserted below)
                session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=redeem, args=(p,)) for p in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1, (won, errors)
    assert all(isinstance(e, InvitationInvalid) or "locked" in str(e) for e in errors), errors
    db.expire_all()
    assert db.get(User, newcomer.id).check_password(won[0])
    assert count(db, AuditEvent, AuditEvent.action == "user.invitation_redeemed") == 1
