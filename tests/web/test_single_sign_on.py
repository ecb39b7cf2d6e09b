"""Single sign-on against a real OpenID provider (npm ``oidc-provider``, started here): the
authorisation code flow with PKCE, state and nonce; the account found by a verified e-mail or
the employee-id claim (created only when the setting says so); password sign-in off for the
accounts it covers; sign-out ending the Candor session; and a callback tampered with (state,
nonce, signature, audience, issuer, expiry) refused."""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import PASSWORD, login, post
from joserfc import jwt
from joserfc.jwk import RSAKey
from oidc_provider import CLIENT_ID, CLIENT_SECRET, missing, sign_in_at_provider, start_provider
from sqlalchemy import select

from app import create_app
from app.models import AuditEvent, Role, User

CALLBACK = "http://127.0.0.1:5000/login/sso/callback"  # BASE_URL's, as the test client uses
ACCOUNTS = {
    "alice-sub": {"email": "alice@example.test", "email_verified": True, "name": "Alice A"},
    "bob-sub": {"email": "bob@example.test", "email_verified": False, "name": "Bob B"},
    "carol-sub": {
        "email": "carol@elsewhere.test",
        "email_verified": True,
        "name": "Carol C",
        "employee_id": "E-7",
    },
    "newbie-sub": {"email": "newbie@example.test", "email_verified": True, "name": "New Bie"},
    "mallory-sub": {"email": "alice@example.test", "email_verified": True, "name": "Mallory"},
}


@pytest.fixture(scope="module")
def provider():
    reason = missing()
    if reason:
        if os.environ.get("CANDOR_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the OpenID provider cannot run: {reason}", pytrace=False)
        pytest.skip(f"the OpenID provider cannot run: {reason}")
    running = start_provider([CALLBACK], ACCOUNTS)
    yield running
    running.stop()


@pytest.fixture
def sso_app(build_app, provider):
    """Factory: an app on the test's database whose single sign-on is ``provider``."""

    def build(**overrides):
        return build_app(
            OIDC_ISSUER=provider.issuer,
            OIDC_CLIENT_ID=CLIENT_ID,
            OIDC_CLIENT_SECRET=CLIENT_SECRET,
            OIDC_SCOPES="openid email profile employee",
            **overrides,
        )

    return build


def start(client) -> str:
    """Press "Sign in with your organisation account": the provider's authorisation URL."""
    response = post(client, "/login/sso")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


def back_from_provider(client, provider, sub: str, tamper=None):
    """Sign in at the provider as ``sub`` and bring the browser back to Candor's callback
    (``tamper`` may change the callback's query first)."""
    url = sign_in_at_provider(start(client), sub, provider.issuer)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if tamper:
        tamper(query)
    return client.get(parts.path, query_string=query)


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_the_authorisation_request_uses_pkce_state_and_nonce(sso_app):
    client = sso_app().test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with your organisation account" in page
    query = parse_qs(urlsplit(start(client)).query)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert query["redirect_uri"] == [CALLBACK]


def test_a_person_signs_in_by_their_verified_email(sso_app, db, make_user):
    alice = make_user(email="alice@example.test", name="Alice A")
    app = sso_app()
    client = app.test_client()
    response = back_from_provider(client, app_provider(app), "alice-sub")
    assert response.status_code == 303 and response.location == "/dashboard"
    assert signed_in(client)
    db.rollback()
    db.expire_all()
    assert db.scalar(select(User.oidc_subject).where(User.id == alice.id)).endswith("#alice-sub")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.login"))
    assert event.details["method"] == "sso" and event.details["found_by"] == "e-mail"
    # Another identity at the provider with the same address does not open the account.
    other = app.test_client()
    refused = back_from_provider(other, app_provider(app), "mallory-sub")
    assert refused.status_code == 403 and not signed_in(other)


def app_provider(app):
    """The provider the app is configured with (the module's fixture), for the helpers."""
    return _PROVIDERS[app.config["OIDC_ISSUER"]]


_PROVIDERS: dict = {}


@pytest.fixture(autouse=True)
def _known_provider(provider):
    _PROVIDERS[provider.issuer] = provider


def test_an_unverified_email_opens_nothing_but_the_employee_id_claim_does(sso_app, db, make_user):
    make_user(email="bob@example.test")
    make_user(email="carol@example.test", employee_id="E-7")
    app = sso_app()
    client = app.test_client()
    refused = back_from_provider(client, app_provider(app), "bob-sub")
    assert refused.status_code == 403
    assert "not linked to a Candor account" in refused.get_data(as_text=True)
    assert not signed_in(client)
    by_id = sso_app(OIDC_EMPLOYEE_ID_CLAIM="employee_id")
    client = by_id.test_client()
    assert back_from_provider(client, app_provider(by_id), "carol-sub").status_code == 303
    assert signed_in(client)


def test_accounts_are_created_on_first_sign_in_only_when_the_setting_says_so(sso_app, db):
    off = sso_app()
    client = off.test_client()
    assert back_from_provider(client, app_provider(off), "newbie-sub").status_code == 403
    db.rollback()
    assert db.scalar(select(User).where(User.email == "newbie@example.test")) is None
    on = sso_app(OIDC_CREATE_ACCOUNTS=True)
    client = on.test_client()
    assert back_from_provider(client, app_provider(on), "newbie-sub").status_code == 303
    db.rollback()
    created = db.scalar(select(User).where(User.email == "newbie@example.test"))
    assert created.name == "New Bie" and created.roles == {Role.LEARNER}
    assert created.password_hash is None


def test_signing_out_ends_the_candor_session(sso_app, make_user):
    make_user(email="alice@example.test")
    app = sso_app()
    client = app.test_client()
    back_from_provider(client, app_provider(app), "alice-sub")
    cookie = client.get_cookie("candor").value
    assert post(client, "/logout").status_code == 303
    replayed = app.test_client()
    replayed.set_cookie("candor", cookie)
    assert not signed_in(replayed)


def test_password_sign_in_can_be_turned_off_for_people_sso_covers(sso_app, db, make_user):
    make_user(email="alice@example.test")
    other = make_user(email="other@example.test")  # never used single sign-on
    app = sso_app(OIDC_PASSWORD_LOGIN=False)
    back_from_provider(app.test_client(), app_provider(app), "alice-sub")  # links the account
    refused = login(app.test_client(), "alice@example.test", PASSWORD)
    assert refused.status_code == 403
    assert "signs you in with single sign-on" in refused.get_data(as_text=True)
    wrong = login(app.test_client(), "alice@example.test", "not the password")
    assert wrong.status_code == 401  # a wrong password says nothing more
    assert login(app.test_client(), other, PASSWORD).status_code == 303


# --- a callback tampered with ------------------------------------------------------------------


def _forging(app, provider, monkeypatch, change, key: RSAKey | None = None):
    """Have the token response carry an ID token made from the real one with ``change``
    applied to its claims, signed with the provider's key (or ``key``)."""
    client = app.extensions["candor.sso"]
    real = client.fetch_access_token

    def fetch_access_token(**params):
        token = real(**params)
        claims = jwt.decode(token["id_token"], provider.key).claims
        change(claims)
        token["id_token"] = provider.forge(claims, key)
        return token

    monkeypatch.setattr(client, "fetch_access_token", fetch_access_token)


def assert_refused(response, client) -> None:
    assert response.status_code == 400, response.status_code
    assert "did not work" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_a_forged_token_with_the_right_claims_and_key_passes(sso_app, make_user, monkeypatch):
    """The control for the tests below: re-signing itself changes nothing."""
    make_user(email="alice@example.test")
    app = sso_app()
    _forging(app, app_provider(app), monkeypatch, lambda claims: None)
    client = app.test_client()
    assert back_from_provider(client, app_provider(app), "alice-sub").status_code == 303


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: c.update(aud="another-client"), id="audience"),
        pytest.param(lambda c: c.update(iss="http://127.0.0.1:1/evil"), id="issuer"),
        pytest.param(
            lambda c: c.update(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
            id="expired",
        ),
        pytest.param(lambda c: c.update(nonce="a-nonce-from-another-sign-in"), id="nonce"),
    ],
)
def test_a_token_with_a_wrong_claim_is_refused(sso_app, make_user, monkeypatch, change):
    make_user(email="alice@example.test")
    app = sso_app()
    _forging(app, app_provider(app), monkeypatch, change)
    client = app.test_client()
    assert_refused(back_from_provider(client, app_provider(app), "alice-sub"), client)


def test_a_token_signed_with_another_key_is_refused(sso_app, make_user, monkeypatch):
    make_user(email="alice@example.test")
    app = sso_app()
    stranger = RSAKey.generate_key(2048)
    _forging(app, app_provider(app), monkeypatch, lambda claims: None, key=stranger)
    client = app.test_client()
    assert_refused(back_from_provider(client, app_provider(app), "alice-sub"), client)


def test_a_bad_state_is_refused(sso_app, make_user):
    make_user(email="alice@example.test")
    app = sso_app()
    client = app.test_client()
    response = back_from_provider(
        client, app_provider(app), "alice-sub", tamper=lambda q: q.update(state="x" * 30)
    )
    assert_refused(response, client)


def test_a_callback_for_another_browser_is_refused(sso_app, make_user):
    """The code and state of a sign-in started in another browser (login CSRF)."""
    make_user(email="alice@example.test")
    app = sso_app()
    attacker, victim = app.test_client(), app.test_client()
    url = sign_in_at_provider(start(attacker), "alice-sub", app_provider(app).issuer)
    victim.get("/login")
    parts = urlsplit(url)
    assert_refused(victim.get(f"{parts.path}?{parts.query}"), victim)


def test_the_session_nonce_must_match_the_token(sso_app, make_user):
    make_user(email="alice@example.test")
    app = sso_app()
    client = app.test_client()
    url = sign_in_at_provider(start(client), "alice-sub", app_provider(app).issuer)
    with client.session_transaction() as session:
        for key, value in session.items():
            if key.startswith("_state_"):
                value["data"]["nonce"] = "not-the-nonce-sent"
                session[key] = value
    parts = urlsplit(url)
    assert_refused(client.get(f"{parts.path}?{parts.query}"), client)


def test_the_callback_without_sso_configured_is_not_found(client):
    assert client.get("/login/sso/callback").status_code == 404
    assert "organisation account" not in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"OIDC_ISSUER": "https://idp.example.test"}, "CANDOR_OIDC_CLIENT_ID"),
        (
            {
                "OIDC_ISSUER": "http://idp.example.test",
                "OIDC_CLIENT_ID": "c",
                "OIDC_CLIENT_SECRET": "s",
            },
            "https://",
        ),
        (
            {
                "OIDC_ISSUER": "https://idp.example.test",
                "OIDC_CLIENT_ID": "c",
                "OIDC_CLIENT_SECRET": "s",
                "OIDC_SCOPES": "email",
            },
            "openid",
        ),
    ],
)
def test_a_half_configured_single_sign_on_stops_the_app(settings, complaint):
    with pytest.raises(RuntimeError, match=complaint):
        create_app({"TESTING": True, "DATABASE_URL": "sqlite://", **settings})
