"""Signing in through the organisation's OpenID provider (``CANDOR_OIDC_*``).

Authlib does the protocol: discovery, the authorisation code flow with PKCE (S256), a state
bound to this browser's session and a nonce bound to the ID token, and the ID token's
checks (signature against the provider's published keys, issuer, audience, expiry, nonce).
Anything it refuses, and a callback without an ID token, is a refusal page; the account the
checked claims open is ``people.single_sign_on``'s rule. Signing out of Candor ends the
Candor session (``auth.logout``), as for a password sign-in.
"""

from __future__ import annotations

from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, current_app, render_template, request, session
from joserfc.errors import JoseError

from app.audit.events import record
from app.auth.views import bp, complete_sign_in
from app.db import get_session, writes
from app.errors import DomainError
from app.people.single_sign_on import find_sso_account, sso_settings
from app.security import public

EXTENSION = "candor.sso"
NEXT = "sso_next"
# What a tampered, replayed or failed callback raises inside Authlib (state, token request,
# ID token checks), or while reaching the provider.
REFUSED = (AuthlibBaseError, JoseError, requests.RequestException, KeyError, ValueError)


def init_app(app: Flask) -> None:
    """Register the provider's client when single sign-on is configured."""
    if not app.config["OIDC_ISSUER"]:
        return
    oauth = OAuth(app)
    client = oauth.register(
        name="candor_sso",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=(
            f"{app.config['OIDC_ISSUER'].rstrip('/')}/.well-known/openid-configuration"
        ),
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "timeout": 10,
        },
    )
    app.extensions[EXTENSION] = client


def _client() -> Any:
    client = current_app.extensions.get(EXTENSION)
    if client is None:
        abort(404)
    return client


def _refused(message: str, status: int = 400):
    return render_template("auth/sso_refused.html", message=message), status


@bp.post("/login/sso")
@public
def sso_start():
    client = _client()
    next_target = request.form.get("next", "")[:2000]
    redirect_uri = f"{current_app.config['BASE_URL'].rstrip('/')}/login/sso/callback"
    try:
        response = client.authorize_redirect(redirect_uri)
    except REFUSED:
        current_app.logger.warning("single sign-on: the provider cannot be reached")
        return _refused("The sign-in service cannot be reached. Try again in a moment.", 503)
    session[NEXT] = next_target
    return response


# The provider sends the browser back with a GET (OpenID Connect's authorisation code flow);
# the state, bound to this browser's session and used once, does what a CSRF token does for a
# form. So this GET signs someone in and commits, like POST /login.
@bp.get("/login/sso/callback")
@public
@writes  # links the identity, or makes the account, on first use
def sso_callback():
    client = _client()
    db = get_session()
    try:
        token = client.authorize_access_token()
    except REFUSED as error:
        record(db, "user.sso_failed", reason=type(error).__name__)
        db.commit()  # nosemgrep: candor-get-route-commits (see above)
        return _refused(
            "Signing in through your organisation did not work (the answer was expired, "
            "altered or meant for another sign-in). Start again from the sign-in page."
        )
    claims = token.get("userinfo")
    if not claims:
        return _refused("The sign-in service sent no ID token. Start again.")
    settings = sso_settings(current_app.config)
    assert settings is not None  # noqa: S101 (a client exists only when configured)
    try:
        user = find_sso_account(db, settings, dict(claims))
    except DomainError as error:
        db.commit()  # nosemgrep: candor-get-route-commits (keeps the refusal's audit record)
        return _refused(error.message, error.status)
    db.commit()  # nosemgrep: candor-get-route-commits (see above)
    # The provider answers for how the person proved who they are (its own second factor):
    # Candor's two-step sign-in is for its passwords.
    return complete_sign_in(user, session.pop(NEXT, ""), by_provider=True)
