"""The lock-out attack (issue 15): one address, or one account's unknown browsers, spending the
sign-in budgets must not lock anyone out of a browser they have signed in from; attempts made
at the same moment are counted exactly; proxies are believed only as configured."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from helpers import PASSWORD, csrf_token, login

WRONG = "not the right password"  # noqa: S105 (a deliberately wrong guess)
NAT = "198.51.100.7"  # a contact centre's one public address, or the TLS proxy's


def browser_at(app, address: str = NAT):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def attempt(client, email: str, password: str = WRONG, **kwargs):
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        **kwargs,
    )


def signed_in_before(app, user, address: str = NAT):
    """A browser that has signed in as ``user`` and signed out again (its device cookie stays)."""
    browser = browser_at(app, address)
    assert login(browser, user).status_code == 303
    browser.delete_cookie("candor")
    return browser


def test_one_address_spending_its_budget_locks_out_no_known_browser(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ADDRESS="5 per minute")
    users = [make_user() for _ in range(3)]
    browsers = [signed_in_before(throttled, user) for user in users]  # all behind one NAT
    attacker = browser_at(throttled)
    statuses = [attempt(attacker, f"random{n}@example.test").status_code for n in range(30)]
    assert statuses.count(429) >= 25  # the address is throttled...
    for browser, user in zip(browsers, users, strict=True):  # ...its known browsers are not
        assert login(browser, user).status_code == 303


def test_a_shared_pc_remembers_every_account_signed_in_on_it(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
    agents = [make_user() for _ in range(4)]
    shared = browser_at(throttled)
    for agent in agents:
        assert login(shared, agent).status_code == 303
        shared.delete_cookie("candor")
    attacker = browser_at(throttled, "203.0.113.9")
    for agent in agents:
        for _ in range(4):
            attempt(attacker, agent.email)
        assert attempt(attacker, agent.email, PASSWORD).status_code == 429
    for agent in agents:  # the first one too, though three signed in after it
        assert login(shared, agent).status_code == 303
        shared.delete_cookie("candor")


def test_concurrent_attempts_are_counted_exactly(build_app, make_user):
    throttled = build_app(LOGIN_LIMIT_PER_ACCOUNT="10 per minute")
    victim = make_user()
    browsers = [browser_at(throttled, f"203.0.113.{n}") for n in range(40)]
    tokens = [csrf_token(browser) for browser in browsers]
    start = threading.Barrier(len(browsers))
    statuses: list[int] = []

    def guess(browser, token):
        start.wait()
        response = browser.post(
            "/login", data={"email": victim.email, "password": WRONG, "csrf_token": token}
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(browsers, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 10 + [429] * 30


def test_forwarded_addresses_are_ignored_unless_proxies_are_configured(build_app, make_user):
    direct = build_app(LOGIN_LIMIT_PER_ADDRESS="3 per minute")
    attacker = browser_at(direct, "203.0.113.9")
    statuses = [
        attempt(
            attacker, f"guess{n}@example.test", headers={"X-Forwarded-For": f"10.0.0.{n}"}
        ).status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]  # a made-up X-Forwarded-For changes nothing


def test_behind_a_proxy_each_client_has_its_own_address_budget(build_app, make_user):
    proxied = build_app(LOGIN_LIMIT_PER_ADDRESS="3 per minute", PROXY_HOPS=1)
    proxy = browser_at(proxied, "127.0.0.1")
    for n in range(3):
        assert attempt(proxy, f"a{n}@example.test", headers={"X-Forwarded-For": "203.0.113.9"})
    refused = attempt(proxy, "a9@example.test", headers={"X-Forwarded-For": "203.0.113.9"})
    assert refused.status_code == 429
    # Another client behind the same proxy is not slowed down; a client that adds its own
    # X-Forwarded-For in front of the proxy's cannot pick its address either.
    other = attempt(proxy, "b@example.test", headers={"X-Forwarded-For": "198.51.100.20"})
    assert other.status_code == 401
    forged = attempt(
        proxy, "a10@example.test", headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.9"}
    )
    assert forged.status_code == 429


def test_hsts_and_the_device_cookie_follow_the_configured_scheme(build_app, make_user):
    # Behind a TLS proxy that does not say X-Forwarded-Proto, requests look like plain HTTP.
    secure = build_app(BASE_URL="https://training.example")
    user = make_user()
    browser = secure.test_client()
    response = login(browser, user)
    assert response.status_code == 303
    device = next(h for h in response.headers.getlist("Set-Cookie") if "candor_device=" in h)
    assert "Secure" in device
    assert "max-age" in browser.get("/login").headers.get("Strict-Transport-Security", "")
    plain = build_app(BASE_URL="http://127.0.0.1:5000")
    assert "Strict-Transport-Security" not in plain.test_client().get("/login").headers


@pytest.mark.parametrize(("hours", "seconds"), [(0.5, 1800), (2, 7200)])
def test_idle_hours_may_be_fractions(build_app, hours, seconds):
    built = build_app(SESSION_IDLE_HOURS=hours)
    assert built.permanent_session_lifetime == timedelta(seconds=seconds)


@pytest.mark.parametrize("hours", [0, -1, "2", None])
def test_idle_hours_that_mean_nothing_are_refused(build_app, hours):
    with pytest.raises(RuntimeError, match="CANDOR_SESSION_IDLE_HOURS must be a positive"):
        build_app(SESSION_IDLE_HOURS=hours)


def test_hsts_follows_the_scheme_the_trusted_proxy_says(build_app):
    behind = build_app(BASE_URL="http://127.0.0.1:5000", PROXY_HOPS=1).test_client()
    told = behind.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert told.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in behind.get("/login").headers
