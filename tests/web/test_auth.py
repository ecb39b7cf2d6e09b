"""Signing in, safe redirects after sign-in, the password policy, and the audit of sign-ins."""

from __future__ import annotations

import html
import logging
import re

import pytest
from helpers import PASSWORD, PASSWORD_METHOD, assert_sent_to_login, csrf_token, login, post
from sqlalchemy import select

from app.models import AuditEvent, Role

ERROR_SUMMARY = re.compile(r'<div class="error-summary"[^>]*>(.*?)</div>', re.S)
FIELD_ERROR = re.compile(r'<p class="error" id="(?P<field>[\w-]+)-error">(?P<text>.*?)</p>', re.S)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def shown_errors(response) -> str:
    """The text of the page's error summary ("There is a problem ..."), or "" if none."""
    match = ERROR_SUMMARY.search(response.get_data(as_text=True))
    return _text(match.group(1)) if match else ""


def field_error(response, field: str) -> str:
    """The error shown next to one form field, or "" if none."""
    for match in FIELD_ERROR.finditer(response.get_data(as_text=True)):
        if match["field"] == field:
            return _text(match["text"])
    return ""


def is_signed_in(client) -> bool:
    """True if the account page opens, False if it sends the client to sign in (nothing else
    passes)."""
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert_sent_to_login(response, "/account")
    return False


def login_with_next(client, user, target: str):
    """Sign in from /login?next=target, posting the hidden field the page carries."""
    page = client.get("/login", query_string={"next": target})
    assert page.status_code == 200
    return client.post(
        "/login",
        query_string={"next": target},
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_token(client),
        },
    )


# --- signing in -------------------------------------------------------------------------------


def test_learner_lands_on_the_dashboard(client, make_user):
    user = make_user(roles={Role.LEARNER})
    response = login(client, user)
    assert response.status_code == 303
    assert response.location == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_hr_lands_on_their_dashboard_and_trainers_in_the_studio(app, client, make_user):
    response = login(client, make_user(roles={Role.HR}))
    assert response.status_code == 303
    assert response.location == "/hr/"
    assert client.get("/hr/").status_code == 200
    trainer = app.test_client()
    assert login(trainer, make_user(roles={Role.TRAINER})).location == "/author/courses"


def test_wrong_password_and_unknown_email_get_the_same_answer(client, make_user):
    user = make_user()
    wrong_password = login(client, user, "not the right password")
    unknown_email = login(client, "nobody-here@example.test", "not the right password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert shown_errors(wrong_password) == shown_errors(unknown_email) != ""
    assert not is_signed_in(client)


def test_a_refused_sign_in_says_so_once(client, make_user):
    refused = login(client, make_user(), "not the right password")
    page = refused.get_data(as_text=True)
    assert page.count("do not match an active account") == 1
    assert "do not match an active account" in shown_errors(refused)
    assert field_error(refused, "password") == field_error(refused, "email") == ""


def test_inactive_user_is_refused_like_a_wrong_password(client, make_user):
    active = make_user()
    inactive = make_user(active=False)
    refused = login(client, inactive)  # the right password
    wrong = login(client, active, "not the right password")
    assert refused.status_code == wrong.status_code == 401
    assert shown_errors(refused) == shown_errors(wrong) != ""
    assert not is_signed_in(client)


def test_email_is_case_insensitive(client, make_user):
    user = make_user(email="mixed.case@example.test")
    response = login(client, "  Mixed.CASE@Example.TEST ")
    assert response.status_code == 303
    assert user.email in client.get("/account").get_data(as_text=True)


def test_login_without_csrf_token_is_refused_and_signs_nobody_in(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert client.get_cookie("candor") is None  # no session was started
    assert_sent_to_login(client.get("/dashboard"), "/dashboard")
    assert not is_signed_in(client)


def test_sign_in_starts_a_fresh_session(app, client, make_user):
    user = make_user()
    client.get("/login")
    before = client.get_cookie("candor").value
    assert login(client, user).status_code == 303
    after = client.get_cookie("candor").value
    assert after != before
    # Someone who planted or saw the pre-login cookie is not signed in by the victim's login.
    planted = app.test_client()
    planted.set_cookie("candor", before)
    assert_sent_to_login(planted.get("/dashboard"), "/dashboard")
    assert client.get("/dashboard").status_code == 200


# --- where sign-in leads ---------------------------------------------------------------------


def test_next_to_one_of_our_pages_is_honoured(client, make_user):
    user = make_user()
    response = login_with_next(client, user, "/courses/x")
    assert response.status_code == 303
    assert response.location == "/courses/x"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil",
        "//a]b",
        "javascript:alert(1)",
        "/" + "a" * 5000,
        "/no/such/page",
        "/logout",
        "/%2F%2Fevil.example",
        "/\r\nLocation: https://evil.example/",
        " //evil.example",
    ],
    ids=[
        "scheme-relative",
        "absolute",
        "backslash",
        "bad-netloc",
        "javascript",
        "very-long",
        "not-a-route",
        "post-only",
        "encoded-slashes",
        "header-injection",
        "leading-space",
    ],
)
def test_unsafe_next_falls_back_to_the_home_page(client, make_user, target):
    user = make_user()
    response = login_with_next(client, user, target)
    assert response.status_code == 303
    assert response.location == "/dashboard"


def test_login_page_with_a_malformed_next_still_renders(client):
    for target in ("//a]b", "http://[::1", "/" + "%" * 3000, "\x00"):
        assert client.get("/login", query_string={"next": target}).status_code == 200


# --- password policy -------------------------------------------------------------------------


def change_password(client, current: str, new: str, confirm: str | None = None):
    return post(
        client,
        "/account/password",
        {"current": current, "new": new, "confirm": new if confirm is None else confirm},
    )


def test_the_app_hashes_passwords_at_full_cost(db, make_user):
    """Test users share a cheaper hash (helpers.PASSWORD_METHOD); every password the app
    sets itself is scrypt at werkzeug's full cost or more, and still verifies."""
    user = make_user()
    assert user.password_hash.startswith(f"{PASSWORD_METHOD}$")  # made by the tests
    user.set_password("a brand new passphrase")
    method, salt, _ = user.password_hash.split("$")
    name, n, *_ = method.split(":")
    assert name == "scrypt" and int(n) >= 2**15, method
    assert len(salt) >= 16
    assert user.check_password("a brand new passphrase") and not user.check_password(PASSWORD)


def test_password_change_needs_the_current_password(client, signed_in, app):
    user = signed_in()
    response = change_password(client, "not my password", "a brand new passphrase")
    assert response.status_code == 400
    assert "current password" in field_error(response, "current").lower()
    assert is_signed_in(client)  # nothing happened: still signed in
    assert login(app.test_client(), user, "a brand new passphrase").status_code == 401
    assert login(app.test_client(), user).status_code == 303


def test_password_change_works_and_the_old_password_stops_working(client, signed_in, app):
    user = signed_in()
    response = change_password(client, PASSWORD, "a brand new passphrase")
    assert response.status_code == 303
    assert response.location == "/login"
    assert login(app.test_client(), user).status_code == 401
    assert login(app.test_client(), user, "a brand new passphrase").status_code == 303


# Signing in with the refused password: a wrong password (401), or a form error for one
# longer than any password can be (400).
@pytest.mark.parametrize(
    ("new", "limit", "sign_in"),
    [("seven77", "8", 401), ("x" * 129, "128", 400)],
    ids=["too-short", "too-long"],
)
def test_password_length_is_enforced_with_a_message(client, signed_in, app, new, limit, sign_in):
    user = signed_in()
    response = change_password(client, PASSWORD, new)
    assert response.status_code == 400
    message = field_error(response, "new")
    assert re.search(rf"\b{limit}\b", message), message
    assert message in shown_errors(response)
    assert login(app.test_client(), user, new).status_code == sign_in  # not set
    assert login(app.test_client(), user).status_code == 303


def test_long_password_is_not_truncated(client, signed_in, app):
    user = signed_in()
    long_password = "".join(f"{n:02d}words" for n in range(15))[:100]
    assert len(long_password) == 100
    assert change_password(client, PASSWORD, long_password).status_code == 303
    assert login(app.test_client(), user, long_password).status_code == 303
    same_first_72 = long_password[:72] + "Z" * 28
    assert login(app.test_client(), user, same_first_72).status_code == 401
    assert login(app.test_client(), user, long_password[:72]).status_code == 401


# --- audit -----------------------------------------------------------------------------------


def audit_rows(db) -> list[AuditEvent]:
    db.rollback()  # read what the app committed, not an old snapshot
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_successful_login_is_audited_without_the_password(client, db, make_user):
    user = make_user()
    assert login(client, user).status_code == 303
    events = [e for e in audit_rows(db) if e.action == "user.login"]
    assert len(events) == 1
    assert events[0].actor_id == user.id
    assert events[0].subject_type == "users"
    assert events[0].subject_id == str(user.id)
    assert PASSWORD not in repr(events[0].details)


def test_failed_logins_are_audited_without_the_password(client, db, make_user):
    user = make_user()
    wrong = "Zebra-Wrong-Guess-481"
    typo = "Typo-Guess-for-Nobody-927"
    assert login(client, user, wrong).status_code == 401
    assert login(client, "nobody-here@example.test", typo).status_code == 401
    failed = [e for e in audit_rows(db) if e.action == "user.login_failed"]
    assert len(failed) == 2
    assert failed[0].subject_id == str(user.id)
    assert failed[0].actor_id is None
    for event in failed:
        stored = repr((event.details, event.subject_id, event.subject_type))
        assert wrong not in stored and typo not in stored


def test_sign_in_never_logs_the_password(client, make_user, caplog):
    user = make_user()
    wrong = "Zebra-Wrong-Guess-481"
    with caplog.at_level(logging.DEBUG):
        login(client, user, wrong)
        login(client, user)
        client.get("/login", query_string={"next": "//a]b"})
    assert wrong not in caplog.text
    assert PASSWORD not in caplog.text


def test_a_person_sees_what_candor_keeps_about_them(client, make_user):
    from helpers import login

    login(client, make_user())
    account = client.get("/account").get_data(as_text=True)
    assert "/account/privacy" in account
    page = client.get("/account/privacy").get_data(as_text=True)
    assert "What Candor keeps about you" in page
    assert "Your e-mail address" in page and "To sign you in" in page
    assert "Until delivered, then 30 days" in page  # OUTBOX_KEEP_DAYS, as a number
    assert "6 years after you leave" in page  # RETENTION_LEAVER_YEARS
    assert "RETENTION_LEAVER_YEARS" not in page
    assert "HR and admins" in page
