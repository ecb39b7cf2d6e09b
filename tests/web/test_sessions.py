"""Sessions end when they should (SECURITY.md finding 1), carry deliberate cookie flags, and
sign-in is throttled without letting an attacker lock the real user out."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import helpers
from helpers import CSRF_INPUT, PASSWORD, csrf_token, login, post
from itsdangerous.timed import TimestampSigner

from app.models import Role

PAGE = "/dashboard"


def assert_sent_to_login(response, path: str = PAGE) -> None:
    """The request for ``path`` (here, nearly always PAGE) was sent to sign in."""
    helpers.assert_sent_to_login(response, path)


def session_cookie(client, name: str = "candor") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def replay(app, value: str, name: str = "candor"):
    """A fresh browser that presents a copied session cookie."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def set_cookie_header(response, name: str) -> dict[str, str | bool]:
    """The attributes of the Set-Cookie header for ``name`` (lower-case keys)."""
    for header in response.headers.getlist("Set-Cookie"):
        key, _, _ = header.partition("=")
        if key == name:
            attributes: dict[str, str | bool] = {}
            for part in header.split(";")[1:]:
                attr, sep, value = part.strip().partition("=")
                attributes[attr.lower()] = value if sep else True
            return attributes
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


# --- replaying a copied cookie ---------------------------------------------------------------


def test_copied_cookie_is_worthless_after_logout(app, client, signed_in):
    signed_in()
    copied = session_cookie(client)
    assert replay(app, copied).get(PAGE).status_code == 200  # the copy works while signed in

    response = post(client, "/logout")
    assert response.status_code == 303
    assert response.location == "/login"
    assert_sent_to_login(client.get(PAGE))
    assert_sent_to_login(replay(app, copied).get(PAGE))


def test_copied_cookie_is_worthless_after_password_change(app, client, signed_in):
    signed_in()
    copied = session_cookie(client)
    response = post(
        client,
        "/account/password",
        {
            "current": PASSWORD,
            "new": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 303
    assert_sent_to_login(replay(app, copied).get(PAGE))
    assert_sent_to_login(client.get(PAGE))


def test_sessions_end_when_an_admin_deactivates_the_user(app, client, signed_in, make_user):
    user = signed_in()
    copied = session_cookie(client)
    admin_browser = app.test_client()
    assert login(admin_browser, make_user(roles={Role.ADMIN})).status_code == 303
    assert post(admin_browser, f"/admin/users/{user.id}/deactivate").status_code == 303

    assert_sent_to_login(client.get(PAGE))
    assert_sent_to_login(replay(app, copied).get(PAGE))


def test_sessions_stay_ended_after_reactivation(app, client, signed_in, make_user):
    user = signed_in()
    copied = session_cookie(client)
    admin_browser = app.test_client()
    assert login(admin_browser, make_user(roles={Role.ADMIN})).status_code == 303
    assert post(admin_browser, f"/admin/users/{user.id}/deactivate").status_code == 303
    assert post(admin_browser, f"/admin/users/{user.id}/reactivate").status_code == 303

    assert_sent_to_login(replay(app, copied).get(PAGE))


def test_sign_out_everywhere_ends_every_session(app, client, signed_in):
    user = signed_in()
    copied = session_cookie(client)
    laptop = app.test_client()
    assert login(laptop, user).status_code == 303
    assert laptop.get(PAGE).status_code == 200

    response = post(client, "/account/sign-out-everywhere")
    assert response.status_code == 303
    assert response.location == "/login"
    assert_sent_to_login(client.get(PAGE))
    assert_sent_to_login(laptop.get(PAGE))
    assert_sent_to_login(replay(app, copied).get(PAGE))
    # ...and signing in again still works.
    assert login(app.test_client(), user).status_code == 303


def test_logout_in_one_browser_ends_the_others_too(app, client, signed_in):
    user = signed_in()
    phone = app.test_client()
    assert login(phone, user).status_code == 303
    assert post(client, "/logout").status_code == 303
    assert_sent_to_login(phone.get(PAGE))


# --- session lifetime ------------------------------------------------------------------------


def test_session_older_than_the_maximum_is_refused(app, client, signed_in):
    signed_in()
    limit = app.config["SESSION_MAX_HOURS"] * 3600
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - limit + 120
    assert client.get(PAGE).status_code == 200  # just inside the limit, still signed in
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - limit - 120
    assert_sent_to_login(client.get(PAGE))


def test_maximum_session_age_follows_the_configuration(app, client, signed_in):
    signed_in()
    app.config["SESSION_MAX_HOURS"] = 1
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - 3600 - 120
    assert_sent_to_login(client.get(PAGE))


def test_idle_session_expires(app, client, signed_in, monkeypatch):
    signed_in()
    idle = app.config["SESSION_IDLE_HOURS"] * 3600
    real = time.time

    monkeypatch.setattr(time, "time", lambda: real() + idle - 120)
    assert client.get(PAGE).status_code == 200  # activity inside the idle window keeps it
    monkeypatch.setattr(time, "time", lambda: real() + 2 * idle)
    assert_sent_to_login(client.get(PAGE))


def test_a_cookie_already_accepted_still_expires(app, client, signed_in, monkeypatch):
    """Each cookie's signature is checked once per process; its age, on every request."""
    signed_in()
    client.get(PAGE)  # the first page after sign-in may sign it again
    cookie = session_cookie(client)
    for _ in range(2):
        assert replay(app, cookie).get(PAGE).status_code == 200
    idle = app.config["SESSION_IDLE_HOURS"] * 3600
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + idle + 5)
    assert_sent_to_login(replay(app, cookie).get(PAGE))
    monkeypatch.setattr(time, "time", lambda: real() - 120)  # a clock set back: "from later"
    assert_sent_to_login(replay(app, cookie).get(PAGE))


def test_a_cookie_changed_after_it_was_accepted_is_refused(app, client, signed_in):
    signed_in()
    cookie = session_cookie(client)
    assert replay(app, cookie).get(PAGE).status_code == 200
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    assert_sent_to_login(replay(app, forged).get(PAGE))
    assert replay(app, cookie).get(PAGE).status_code == 200


def test_each_request_changes_its_own_copy_of_the_session(app, client, signed_in):
    """Session data read from a cookie is shared by the requests presenting it: a message
    flashed (appended in place) in one must not appear in another."""
    signed_in()
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Shown once.")]
    cookie = session_cookie(client)
    interface = app.session_interface
    with app.test_request_context(headers={"Cookie": f"candor={cookie}"}) as context:
        first = interface.open_session(app, context.request)
        first["_flashes"].append(("info", "Added by another request."))
        first["signed_in_at"] = 0
        again = interface.open_session(app, context.request)
    assert again["_flashes"] == [("info", "Shown once.")]
    assert again["signed_in_at"] != 0
    # Replaying the cookie shows its message every time, as the cookie still carries it.
    for _ in range(2):
        page = replay(app, cookie).get(PAGE).get_data(as_text=True)
        assert page.count("Shown once.") == 1
        assert "Added by another request." not in page


# --- cookie flags ----------------------------------------------------------------------------


def test_session_cookie_flags(app, client, make_user):
    response = login(client, make_user())
    assert response.status_code == 303
    flags = set_cookie_header(response, "candor")
    assert flags.get("httponly") is True
    assert str(flags.get("samesite")).lower() == "lax"
    assert flags.get("path") == "/"
    # A deliberate lifetime: the idle limit, not Flask's 31 days.
    expires = parsedate_to_datetime(str(flags["expires"]))
    idle = timedelta(hours=app.config["SESSION_IDLE_HOURS"])
    assert expires <= datetime.now(UTC) + idle + timedelta(minutes=1)
    # No long-lived remember-me cookie is ever handed out.
    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))


def test_https_deployment_uses_a_host_only_secure_cookie(build_app, make_user):
    secure_app = build_app(BASE_URL="https://training.example")
    browser = secure_app.test_client()
    user = make_user()
    base = "https://localhost"
    page = browser.get("/login", base_url=base).get_data(as_text=True)
    token = CSRF_INPUT.search(page).group(1)
    response = browser.post(
        "/login",
        base_url=base,
        headers={"Referer": f"{base}/login"},
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    names = [h.partition("=")[0] for h in response.headers.getlist("Set-Cookie")]
    assert "candor" not in names
    flags = set_cookie_header(response, "__Host-candor")
    assert flags.get("secure") is True
    assert flags.get("path") == "/"
    assert "domain" not in flags
    assert flags.get("httponly") is True
    assert str(flags.get("samesite")).lower() == "lax"
    assert set_cookie_header(response, "candor_device").get("secure") is True
    assert browser.get(PAGE, base_url=base).status_code == 200
    assert "max-age" in response.headers.get("Strict-Transport-Security", "")


# --- brute force -----------------------------------------------------------------------------


WRONG_PASSWORD = "not the right password"  # noqa: S105 (a deliberately wrong guess)


def attempt(client, email: str, password: str = WRONG_PASSWORD):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def browser_at(app, address: str):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def test_account_is_throttled_for_unknown_browsers(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
    victim = make_user()
    attacker = browser_at(throttled, "203.0.113.9")
    for _ in range(3):
        assert attempt(attacker, victim.email).status_code == 401
    refused = attempt(attacker, victim.email)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    # Even the right password is refused to an unknown browser once the budget is spent.
    assert attempt(attacker, victim.email, PASSWORD).status_code == 429
    assert_sent_to_login(attacker.get(PAGE))


def test_known_browser_is_not_locked_out_by_an_attacker(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
    victim = make_user()
    own_browser = browser_at(throttled, "198.51.100.7")
    assert login(own_browser, victim).status_code == 303
    assert own_browser.get_cookie("candor_device") is not None
    own_browser.delete_cookie("candor")  # the session has ended; the browser is remembered

    attacker = browser_at(throttled, "203.0.113.9")
    for _ in range(4):
        attempt(attacker, victim.email)
    assert attempt(attacker, victim.email).status_code == 429

    response = login(own_browser, victim)
    assert response.status_code == 303
    assert own_browser.get(PAGE).status_code == 200


def test_changing_the_case_of_the_email_does_not_reset_the_budget(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
    victim = make_user(email="victim@example.test")
    attacker = browser_at(throttled, "203.0.113.9")
    for spelling in ("victim@example.test", "VICTIM@example.test", " Victim@Example.Test "):
        assert attempt(attacker, spelling).status_code == 401
    assert attempt(attacker, "victim@EXAMPLE.test").status_code == 429
    assert attempt(attacker, victim.email, PASSWORD).status_code == 429


def test_a_device_cookie_for_another_account_does_not_lift_the_throttle(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
    victim = make_user()
    attacker_account = make_user()
    attacker = browser_at(throttled, "203.0.113.9")
    assert login(attacker, attacker_account).status_code == 303  # gets its own device cookie
    attacker.delete_cookie("candor")
    for _ in range(3):
        assert attempt(attacker, victim.email).status_code == 401
    assert attempt(attacker, victim.email).status_code == 429


def test_address_is_throttled(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ADDRESS="3 per minute")
    user = make_user()
    attacker = browser_at(throttled, "203.0.113.9")
    for number in range(3):
        assert attempt(attacker, f"guess{number}@example.test").status_code == 401
    refused = attempt(attacker, "guess9@example.test")
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    # Only that address is slowed down.
    assert login(browser_at(throttled, "198.51.100.7"), user).status_code == 303


def test_successful_logins_do_not_use_up_the_budget(build_app, make_user):
    throttled = build_app(
        LOGIN_LIMIT_PER_ADDRESS="3 per minute", LOGIN_LIMIT_PER_ACCOUNT="3 per minute"
    )
    user = make_user()
    for _ in range(5):
        browser = browser_at(throttled, "198.51.100.7")  # unknown browser, same address
        assert login(browser, user).status_code == 303
    late = browser_at(throttled, "198.51.100.7")
    assert attempt(late, user.email).status_code == 401  # failures still have their budget
    assert login(late, user).status_code == 303


def test_cookie_signed_with_another_key_is_refused(app, build_app, make_user):
    user = make_user()
    elsewhere = build_app(SECRET_KEY="some-other-deployments-key")
    browser = elsewhere.test_client()
    assert login(browser, user).status_code == 303
    assert browser.get(PAGE).status_code == 200  # valid where it was issued
    assert_sent_to_login(replay(app, session_cookie(browser)).get(PAGE))


def test_the_cookie_is_signed_again_only_when_due(app, client, signed_in, monkeypatch):
    """Not every response re-signs the session cookie (a cost on every page): a signed-in
    page sets it again once it is five minutes old, which keeps the idle timeout."""
    import app.security as security

    signed_in()
    client.get(PAGE)  # the first page after sign-in may refresh it
    assert "Set-Cookie" not in client.get(PAGE).headers
    later = time.time() + 301
    monkeypatch.setattr(security.time, "time", lambda: later)
    assert set_cookie_header(client.get(PAGE), "candor")
    assert "Set-Cookie" not in client.get(PAGE).headers


# --- the CSRF token of a session -------------------------------------------------------------


def test_a_session_keeps_one_csrf_token_that_every_form_accepts(client, signed_in, monkeypatch):
    signed_in()
    first = csrf_token(client, PAGE)  # the first page after signing in gives it its secret
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 5)
    assert csrf_token(client, "/account") == first  # signed once, not on every page
    response = client.post("/logout", data={"csrf_token": first})
    assert response.status_code == 303
    assert_sent_to_login(client.get(PAGE))


def test_a_new_session_gets_a_token_of_its_own(app, client, signed_in):
    user = signed_in()
    before = csrf_token(client, PAGE)
    other = app.test_client()
    assert login(other, user).status_code == 303
    assert csrf_token(other, PAGE) != before
    # The old session's token is no good in the new one.
    assert other.post("/logout", data={"csrf_token": before}).status_code == 400


def test_with_a_time_limit_each_page_signs_a_token_that_expires(
    app, client, signed_in, monkeypatch
):
    # Candor's configuration sets none (app/config.py); were one set, no token is kept.
    app.config["WTF_CSRF_TIME_LIMIT"] = 60
    signed_in()
    token = csrf_token(client, PAGE)
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 61)
    assert csrf_token(client, PAGE) != token  # signed again, a minute later
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400


def test_the_tokens_kept_are_bounded_and_a_forgotten_one_still_works(app, make_user, monkeypatch):
    import app.session_cookies as session_cookies

    monkeypatch.setattr(session_cookies, "CSRF_TOKENS_KEPT", 2)
    browsers = [app.test_client() for _ in range(3)]
    tokens = []
    for browser in browsers:
        assert login(browser, make_user()).status_code == 303
        tokens.append(csrf_token(browser, PAGE))
    kept = app.extensions[session_cookies.CSRF_TOKENS]
    assert len(kept) == 2 and tokens[0] not in kept.values()  # the oldest is forgotten
    assert csrf_token(browsers[0], PAGE)  # signed again when its session needs it
    assert len(kept) == 2
    assert browsers[0].post("/logout", data={"csrf_token": tokens[0]}).status_code == 303
