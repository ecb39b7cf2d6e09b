"""Invitations by e-mail, through the suite's SMTP server: HR sends a new one or revokes an
open one; an expired, replaced, revoked or used link says how to get a new one, and that way
works without HR."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import link_in_mail, login, post, run_jobs
from sqlalchemy import select, update

from app.db import utcnow
from app.models import AuditEvent, Invitation, Role, User

PASSWORD_CHOSEN = "my own good passphrase"  # noqa: S105 (a test password)


@pytest.fixture
def newcomer(db):
    """An account HR made, without a password yet."""
    user = User(email="new.starter@example.test", name="New Starter", employee_id="N-1")
    user.roles = {Role.LEARNER}
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def hr(client, make_user):
    user = make_user(roles={Role.HR})
    assert login(client, user).status_code == 303
    return user


def invite(app, client, person, mailbox) -> str:
    response = post(client, f"/hr/people/{person.id}/invitation")
    assert response.status_code == 303 and response.location == "/hr/not-activated"
    run_jobs(app)
    return link_in_mail(mailbox, person.email, "/invite/")


def choose_password(client, link: str):
    return post(client, link, {"new": PASSWORD_CHOSEN, "confirm": PASSWORD_CHOSEN})


def test_a_new_invitation_replaces_the_old_link(app, client, db, hr, newcomer, mailbox):
    first = invite(app, client, newcomer, mailbox)
    second = invite(app, client, newcomer, mailbox)
    assert first != second and len(mailbox.received) == 2
    replaced = app.test_client().get(first)
    assert replaced.status_code == 410
    page = replaced.get_data(as_text=True)
    assert "expired, or a newer one replaced it" in page
    assert 'action="/forgot-password"' in page
    assert choose_password(app.test_client(), second).status_code == 303
    assert login(app.test_client(), newcomer.email, PASSWORD_CHOSEN).status_code == 303


def test_hr_revokes_an_open_link(app, client, db, hr, newcomer, mailbox):
    link = invite(app, client, newcomer, mailbox)
    page = client.get("/hr/not-activated").get_data(as_text=True)
    assert "Revoke New Starter's open link" in page
    response = post(client, f"/hr/people/{newcomer.id}/invitation/revoke")
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "invitation links no longer work" in page
    assert "(expired or revoked)" in page and "Revoke New Starter" not in page
    assert app.test_client().get(link).status_code == 410
    assert choose_password(app.test_client(), link).status_code == 410
    db.rollback()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.invitation_revoked"))
    assert (event.actor_id, event.subject_id) == (hr.id, str(newcomer.id))


def test_an_expired_invitation_leads_to_a_new_link_without_hr(
    app, client, db, hr, newcomer, mailbox
):
    link = invite(app, client, newcomer, mailbox)
    db.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    person = app.test_client()
    expired = person.get(link)
    assert expired.status_code == 410
    assert "Ask for a new link with your work e-mail below" in expired.get_data(as_text=True)
    # The form on that page: a new link comes by e-mail, and sets the first password.
    response = post(person, "/forgot-password", {"email": newcomer.email})
    assert response.status_code == 303
    run_jobs(app)
    reset = link_in_mail(mailbox, newcomer.email, "/reset-password/")
    assert choose_password(person, reset).status_code == 303
    assert login(app.test_client(), newcomer.email, PASSWORD_CHOSEN).status_code == 303
    again = app.test_client().get(link)  # the old invitation: the password is set now
    assert again.status_code == 404 and "If you have set your password, sign in" in again.get_data(
        as_text=True
    )


def test_invitations_go_only_to_people_who_can_act_on_them(
    app, client, db, hr, newcomer, make_user, mailbox
):
    link = invite(app, client, newcomer, mailbox)
    db.execute(update(User).where(User.id == newcomer.id).values(active=False))
    db.commit()
    refused = app.test_client().get(link)
    assert refused.status_code == 403
    assert "deactivated" in refused.get_data(as_text=True)
    assert 'action="/forgot-password"' not in refused.get_data(as_text=True)
    assert post(client, f"/hr/people/{newcomer.id}/invitation").status_code == 403
    has_password = make_user()
    assert post(client, f"/hr/people/{has_password.id}/invitation").status_code == 409
    run_jobs(app)
    assert len(mailbox.received) == 1  # only the first, to the active account


def test_the_invitation_email_says_what_to_do(app, client, db, hr, newcomer, mailbox):
    invite(app, client, newcomer, mailbox)
    [mail] = mailbox.received
    assert str(mail.message["To"]) == "New Starter <new.starter@example.test>"
    body = mail.message.get_content()
    assert "Hello New Starter," in body and "The link works once, until" in body
    assert "/forgot-password" in body and "/login" in body
    assert mail.message["Auto-Submitted"] == "auto-generated"
