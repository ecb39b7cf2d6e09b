"""Races on the single-use things of accounts (SECURITY.md "Races", on SQLite and PostgreSQL,
threads with their own sessions): one code from the authenticator app signs in once, one
recovery code once, one reset link sets one password."""

from __future__ import annotations

import threading

import pyotp
import pytest
from helpers import run_together

from app.db import utcnow
from app.models import User
from app.people import two_factor as factors
from app.people.resets import create_reset, reset_password

SEALER = factors.Sealer("test-secret-key")


@pytest.fixture
def enrolled(db, make_user):
    user = make_user()
    factors.start_enrolment(db, user, SEALER)
    secret = factors.pending_enrolment(db, user, SEALER, "Candor").secret
    codes = factors.confirm_enrolment(db, user, pyotp.TOTP(secret).now(), SEALER)
    db.commit()
    return user, pyotp.TOTP(secret), codes


def test_one_app_code_at_once_signs_in_once(app, enrolled):
    user, totp, _ = enrolled
    from datetime import timedelta

    code = totp.at(utcnow() + timedelta(seconds=30))  # the next step: not used yet

    def verify(session):
        factors.verify_second_step(session, session.get(User, user.id), code, SEALER)
        return True

    results, errors = run_together(app, verify, n=6)
    assert len(results) == 1, errors
    assert all(isinstance(e, factors.CodeRefused) for e in errors)


def test_one_recovery_code_at_once_signs_in_once(app, enrolled):
    user, _, codes = enrolled

    def verify(session):
        factors.verify_second_step(session, session.get(User, user.id), codes[0], SEALER)
        return True

    results, errors = run_together(app, verify, n=6)
    assert len(results) == 1, errors
    assert all(isinstance(e, factors.CodeRefused) for e in errors)


def test_one_reset_link_at_once_sets_one_password(app, db, make_user):
    user = make_user()
    token, _ = create_reset(db, user, now=utcnow())
    db.commit()
    passwords = iter(f"racing passphrase number {n}" for n in range(6))
    lock = threading.Lock()

    def use(session):
        with lock:
            chosen = next(passwords)
        reset_password(session, token, chosen)
        return chosen

    results, errors = run_together(app, use, n=6)
    assert len(results) == 1, errors
    db.expire_all()
    assert db.get(User, user.id).check_password(results[0])
