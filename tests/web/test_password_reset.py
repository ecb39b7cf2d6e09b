"""Password reset by e-mail, through the suite's SMTP server: the same answer and the same
work whether or not the address has an account, throttled per address and per account, a
single-use expiring link stored as a hash, every session ended on reset."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from helpers import PASSWORD, csrf_token, link_in_mail, login, post, run_jobs
from sqlalchemy import select, update

from app.db import utcnow
from app.models import AuditEvent, OutboxMessage, PasswordReset, Role, User

NEW_PASSWORD = "a brand new passphrase"  # noqa: S105 (a test password)


def ask_reset(client, email: str):
    return post(client, "/forgot-password", {"email": email})


def queued(app) -> int:
    """Tasks waiting on the job queue (not run yet)."""
    return app.extensions["candor.jobs"].huey.pending_count()


def rows(db, model) -> list:
    db.rollback()  # see what the app committed
    return list(db.scalars(select(model)))


def set_password(client, link: str, password: str = NEW_PASSWORD):
    return post(client, link, {"new": password, "confirm": password})


def test_a_forgotten_password_is_reset_from_the_email(app, client, db, make_user, mailbox):
    user = make_user(email="lena@example.test", name="Lena Learner")
    signed_in_elsewhere = app.test_client()
    assert login(signed_in_elsewhere, user).status_code == 303

    page = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page and "Ask your HR team or administrator" not in page
    assert client.get("/forgot-password").status_code == 200
    response = ask_reset(client, "  Lena@Example.test ")
    assert response.status_code == 303 and response.location == "/forgot-password/sent"
    assert "Check your e-mail" in client.get(response.location).get_data(as_text=True)

    assert mailbox.received == [] and rows(db, OutboxMessage) == []  # the request sent nothing
    run_jobs(app)  # the worker finds the account, queues the mail, and sends it
    [mail] = mailbox.received
    assert mail.rcpt_tos == ["lena@example.test"]
    assert mail.message["Subject"] == "Reset your password for Candor"
    link = link_in_mail(mailbox, "lena@example.test", "/reset-password/")
    token = link.rsplit("/", 1)[1]
    [stored] = rows(db, PasswordReset)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert stored.expires_at - stored.created_at == timedelta(minutes=60)

    person = app.test_client()
    form = person.get(link)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    assert "Choose a new password" in form.get_data(as_text=True)
    response = set_password(person, link)
    assert response.status_code == 303 and response.location == "/login"

    # Every session of the account has ended; the new password works, the old one not.
    assert signed_in_elsewhere.get("/account").status_code == 303
    assert login(app.test_client(), user, PASSWORD).status_code == 401
    assert login(app.test_client(), user, NEW_PASSWORD).status_code == 303
    db.rollback()
    actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert "user.password_reset_sent" in actions and "user.password_reset" in actions
    for event in db.scalars(select(AuditEvent)):
        assert token not in repr(event.details) and NEW_PASSWORD not in repr(event.details)


def test_a_used_link_is_refused_and_says_how_to_get_a_new_one(app, client, db, make_user, mailbox):
    make_user(email="lena@example.test")
    ask_reset(client, "lena@example.test")
    ask_reset(client, "lena@example.test")  # two links: using either ends both
    run_jobs(app)
    first, second = (
        m.group(1)
        for m in re.finditer(
            r"(/reset-password/[\w-]+)", "".join(r.message.get_content() for r in mailbox.received)
        )
    )
    assert set_password(app.test_client(), second).status_code == 303
    for link, status, reason in [
        (second, 404, "not valid, or it has already been used"),  # used
        (first, 410, "a password was set through another link"),  # closed by the other
    ]:
        again = app.test_client().get(link)
        assert again.status_code == status
        page = again.get_data(as_text=True)
        assert reason in page
        assert 'action="/forgot-password"' in page  # the way to a new link, on the page
        assert set_password(app.test_client(), link, "another good one!").status_code == status
    assert login(app.test_client(), "lena@example.test", NEW_PASSWORD).status_code == 303


def test_an_expired_link_is_refused(app, client, db, make_user, mailbox):
    make_user(email="lena@example.test")
    ask_reset(client, "lena@example.test")
    run_jobs(app)
    link = link_in_mail(mailbox, "lena@example.test", "/reset-password/")
    db.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    expired = app.test_client().get(link)
    assert expired.status_code == 410
    assert "has expired" in expired.get_data(as_text=True)
    assert set_password(app.test_client(), link).status_code == 410
    assert login(app.test_client(), "lena@example.test", NEW_PASSWORD).status_code == 401


def test_unknown_and_known_addresses_get_the_same_answer_and_work(app, db, make_user, mailbox):
    make_user(email="known@example.test")
    make_user(email="gone@example.test", active=False)
    answers = []
    for email in ("known@example.test", "nobody@example.test", "gone@example.test"):
        client = app.test_client()
        csrf_token(client, "/forgot-password")
        before = queued(app)
        response = ask_reset(client, email)
        followed = client.get(response.location)
        answers.append(
            (
                response.status_code,
                response.location,
                followed.get_data(as_text=True),
                queued(app) - before,  # the request's only work: one task for a worker
                len(rows(db, OutboxMessage)),  # and nothing written in the request
                len(rows(db, PasswordReset)),
            )
        )
    assert (
        answers[0]
        == answers[1]
        == answers[2]
        == (303, "/forgot-password/sent", answers[0][2], 1, 0, 0)
    )
    run_jobs(app)
    assert [r.rcpt_tos for r in mailbox.received] == [["known@example.test"]]


def test_reset_requests_are_throttled_per_account_without_telling(app, db, make_user, mailbox):
    make_user(email="lena@example.test")
    client = app.test_client()
    for _ in range(5):
        response = ask_reset(client, "lena@example.test")
        assert response.status_code == 303 and response.location == "/forgot-password/sent"
    run_jobs(app)
    assert len(mailbox.received) == 3  # RESET_LIMIT_PER_ACCOUNT: 3 per hour


def test_reset_requests_are_throttled_per_address(app, make_user, mailbox):
    client = app.test_client()
    answers = [ask_reset(client, f"person{n}@example.test").status_code for n in range(11)]
    assert answers == [303] * 10 + [429]  # RESET_LIMIT_PER_ADDRESS: 10 per 15 minutes
    assert queued(app) == 10


def test_a_refused_password_keeps_the_link(app, client, db, make_user, mailbox):
    make_user(email="lena@example.test", name="Lena Learner")
    ask_reset(client, "lena@example.test")
    run_jobs(app)
    link = link_in_mail(mailbox, "lena@example.test", "/reset-password/")
    person = app.test_client()
    for bad, reason in [
        ("short", "between 8 and 128 characters"),
        ("password123", "one of the most common passwords"),
        ("lena@example.test", "your own name or e-mail address"),
    ]:
        response = set_password(person, link, bad)
        assert response.status_code == 400
        assert reason in response.get_data(as_text=True), bad
    mismatch = post(person, link, {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400
    assert set_password(person, link).status_code == 303


def test_someone_never_signed_in_sets_a_first_password_through_a_reset(app, client, db, mailbox):
    from app.people.invitations import create_invitation

    newcomer = User(email="new@example.test", name="New Starter")
    newcomer.roles = {Role.LEARNER}
    db.add(newcomer)
    invitation = create_invitation(db, newcomer)
    db.commit()
    ask_reset(client, "new@example.test")
    run_jobs(app)
    link = link_in_mail(mailbox, "new@example.test", "/reset-password/")
    assert set_password(app.test_client(), link).status_code == 303
    assert login(app.test_client(), "new@example.test", NEW_PASSWORD).status_code == 303
    # The older invitation link stops: the password is set.
    assert app.test_client().get(f"/invite/{invitation}").status_code == 404


@pytest.mark.parametrize("token", ["short", "x" * 43, "../../etc/passwd", "%00" * 20])
def test_made_up_links_are_refused_like_used_ones(client, token):
    response = client.get(f"/reset-password/{token}")
    assert response.status_code == 404
