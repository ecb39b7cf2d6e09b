"""Two-step sign-in (TOTP with recovery codes): enrolment, the code after the password with
one step of clock skew and no replay, recovery codes used once, the staff requirement, and
the administrator's reset; every step audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from helpers import csrf_token, login, post
from sqlalchemy import select

from app.db import utcnow
from app.models import AuditEvent, RecoveryCode, Role, TotpFactor, User
from app.people import two_factor as factors
from app.people.two_factor import CodeRefused, Sealer

KEY = re.compile(r'id="manual-key">([A-Z2-7]+)<')
CODE = re.compile(r"<li><code>([A-Z0-9-]{19})</code></li>")


def actions(db) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def enrol(client) -> tuple[str, list[str]]:
    """Set up two-step sign-in on the signed-in account: returns its secret and recovery
    codes, as the person reads them off the page."""
    assert post(client, "/account/two-factor/start").status_code == 303
    page = client.get("/account/two-factor")
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "<svg" in text and "QR code to scan" in text
    secret = KEY.search(text).group(1)
    done = post(client, "/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = CODE.findall(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def second_step(client, code: str):
    return post(client, "/login/second-step", {"code": code})


def test_enrol_then_sign_in_with_a_code(app, client, db, make_user):
    user = make_user(roles={Role.HR})
    login(client, user)
    secret, codes = enrol(client)
    assert client.get("/hr/").status_code == 200  # the enrolling session carries on
    stored = db.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))
    assert secret not in stored.sealed_secret  # sealed, not stored as it is
    for code in codes:
        assert code not in repr([r.code_hash for r in db.scalars(select(RecoveryCode))])

    other = app.test_client()
    response = login(other, user)
    assert response.status_code == 303 and response.location == "/login/second-step"
    assert other.get("/hr/").status_code == 303  # not signed in by the password alone
    wrong = second_step(other, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    # The code just used to enrol is refused (same step); wait for the next one, as a person
    # would: here, the code of the next step is within the skew window.
    next_code = pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))
    response = second_step(other, next_code)
    assert response.status_code == 303 and response.location == "/hr/"
    assert other.get("/hr/").status_code == 200
    assert {"user.two_factor_enrolled", "user.two_factor_failed", "user.two_factor_passed"} <= set(
        actions(db)
    )


def test_codes_within_one_step_are_accepted_and_none_twice(db, make_user):
    user = make_user()
    sealer = Sealer("test-secret-key")
    factors.start_enrolment(db, user, sealer)
    secret = factors.pending_enrolment(db, user, sealer, "Candor").secret
    now = utcnow()
    totp = pyotp.TOTP(secret)
    factors.confirm_enrolment(db, user, totp.at(now - timedelta(seconds=30)), sealer, now=now)
    db.commit()
    # Two steps behind: too old.
    with pytest.raises(CodeRefused):
        factors.verify_second_step(db, user, totp.at(now - timedelta(seconds=60)), sealer, now=now)
    # The step used to enrol cannot be used again.
    with pytest.raises(CodeRefused):
        factors.verify_second_step(db, user, totp.at(now - timedelta(seconds=30)), sealer, now=now)
    # The current step, once; then the next (clock skew ahead), once.
    factors.verify_second_step(db, user, totp.at(now), sealer, now=now)
    with pytest.raises(CodeRefused):
        factors.verify_second_step(db, user, totp.at(now), sealer, now=now)
    factors.verify_second_step(db, user, totp.at(now + timedelta(seconds=30)), sealer, now=now)
    # Two steps ahead: refused; and an earlier step after a later one: refused.
    with pytest.raises(CodeRefused):
        factors.verify_second_step(db, user, totp.at(now + timedelta(seconds=60)), sealer, now=now)
    later = now + timedelta(seconds=30)
    with pytest.raises(CodeRefused):
        factors.verify_second_step(db, user, totp.at(now), sealer, now=later)
    db.commit()
    assert db.scalar(select(TotpFactor.last_step)) == int(now.timestamp()) // 30 + 1


def test_a_recovery_code_signs_in_once(app, client, db, make_user):
    user = make_user(roles={Role.ADMIN})
    login(client, user)
    _, codes = enrol(client)
    first = app.test_client()
    login(first, user)
    response = second_step(first, codes[0].lower().replace("-", " "))  # as typed off paper
    assert response.status_code == 303
    again = app.test_client()
    login(again, user)
    assert second_step(again, codes[0]).status_code == 400
    assert second_step(again, codes[1]).status_code == 303
    assert actions(db).count("user.recovery_code_used") == 2
    page = first.get("/account/two-factor").get_data(as_text=True)
    assert "You have 8 unused recovery codes" in page


def test_codes_at_the_second_step_are_throttled_per_account(app, client, db, make_user):
    user = make_user()
    login(client, user)
    secret, _ = enrol(client)
    other = app.test_client()
    login(other, user)
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    answers = [second_step(other, wrong).status_code for _ in range(11)]
    assert answers == [400] * 10 + [429]


def test_the_second_step_expires(app, client, db, make_user, monkeypatch):
    user = make_user()
    login(client, user)
    secret, _ = enrol(client)
    other = app.test_client()
    login(other, user)
    monkeypatch.setattr("app.security.SECOND_STEP_SECONDS", -1)
    response = second_step(other, pyotp.TOTP(secret).now())
    assert response.status_code == 409
    assert "Sign in" in response.get_data(as_text=True)
    assert other.get("/account").status_code == 303


def test_staff_are_sent_to_enrol_when_an_admin_requires_it(app, client, db, make_user):
    admin = make_user(roles={Role.ADMIN})
    login(client, admin)
    assert post(client, "/admin/security", {"required": "1"}).status_code == 303
    assert "settings.two_factor_required" in actions(db)

    hr = make_user(roles={Role.HR})
    staff = app.test_client()
    response = login(staff, hr)
    assert response.status_code == 303 and response.location == "/account/two-factor"
    assert staff.get("/hr/").location == "/account/two-factor"  # nothing else until enrolled
    assert "requires two-step sign-in" in staff.get("/account/two-factor").get_data(as_text=True)
    enrol(staff)
    assert staff.get("/hr/").status_code == 200
    refused = post(staff, "/account/two-factor/remove", {"password": "correct horse battery"})
    assert refused.status_code == 409 and "requires two-step sign-in" in refused.get_data(
        as_text=True
    )

    learner = app.test_client()
    response = login(learner, make_user())  # not staff: not required
    assert response.status_code == 303 and response.location == "/dashboard"


def test_a_person_turns_it_off_with_their_password(app, client, db, make_user):
    user = make_user()
    login(client, user)
    enrol(client)
    wrong = post(client, "/account/two-factor/remove", {"password": "not it"})
    assert wrong.status_code == 400
    assert (
        post(
            client, "/account/two-factor/remove", {"password": "correct horse battery"}
        ).status_code
        == 303
    )
    assert login(app.test_client(), user).location == "/dashboard"  # the password alone again
    assert "user.two_factor_removed" in actions(db)


def test_another_admin_resets_a_lost_factor(app, client, db, make_user):
    hr = make_user(roles={Role.HR})
    staff = app.test_client()
    login(staff, hr)
    enrol(staff)
    admin = make_user(roles={Role.ADMIN})
    login(client, admin)
    page = client.get("/admin/security").get_data(as_text=True)
    assert hr.name in page and "Reset two-step sign-in" in page
    assert post(client, f"/admin/users/{hr.id}/two-factor/reset").status_code == 303
    assert staff.get("/hr/").status_code == 303  # their sessions ended
    assert login(app.test_client(), hr).location == "/hr/"  # the password alone again
    db.rollback()
    assert db.scalar(select(TotpFactor).where(TotpFactor.user_id == hr.id)) is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset"))
    assert (event.actor_id, event.subject_id) == (admin.id, str(hr.id))
    # Nobody resets their own: recovery codes, or another admin.
    enrol(client)
    assert post(client, f"/admin/users/{admin.id}/two-factor/reset").status_code == 409


def test_hr_cannot_reset_anyone(client, db, make_user):
    target = make_user()
    login(client, make_user(roles={Role.HR}))
    assert post(client, f"/admin/users/{target.id}/two-factor/reset").status_code == 403
    assert csrf_token(client, "/account")
    assert db.get(User, target.id) is not None
