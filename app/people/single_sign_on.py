"""Single sign-on with OpenID Connect: which Candor account a provider's sign-in opens, and
whom password sign-in is turned off for. The protocol itself (discovery, the authorisation
code flow with PKCE, state and nonce, the ID token's signature, issuer, audience and expiry)
is Authlib's, in ``auth/sso_pages.py``; this module gets the checked claims.

An account is found, in this order, by the provider's subject already linked to it, by the
configured employee-id claim, or by an e-mail address the provider says it has verified; the
first sign-in links the subject to the account, so a later change of address at the
provider still opens the same account. Creating accounts on first sign-in is a setting, off
by default. An organisation may turn password sign-in off for the accounts single sign-on
covers (those linked to the provider). No Flask here; callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.errors import DomainError
from app.fields import EMPLOYEE_ID_MAX, clean_name, email_problem, name_problem, normalise_email
from app.models import Role, User
from app.models.user import OIDC_SUBJECT_MAX
from app.people.accounts import add_account, find_user_by_email


@dataclass(frozen=True)
class SsoSettings:
    """The ``OIDC_*`` settings that decide which account a sign-in opens."""

    issuer: str
    employee_id_claim: str | None = None
    create_accounts: bool = False
    password_login: bool = True


def sso_settings(config: Mapping[str, Any]) -> SsoSettings | None:
    """The single sign-on settings of an app's configuration, or None when it has none."""
    if not config.get("OIDC_ISSUER"):
        return None
    return SsoSettings(
        issuer=config["OIDC_ISSUER"],
        employee_id_claim=config["OIDC_EMPLOYEE_ID_CLAIM"] or None,
        create_accounts=bool(config["OIDC_CREATE_ACCOUNTS"]),
        password_login=bool(config["OIDC_PASSWORD_LOGIN"]),
    )


class NoAccount(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "Your organisation account is not linked to a Candor account, and none matches "
            "it. Ask your HR team to add you to Candor with your work e-mail address."
        )


class AccountInactive(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "Your Candor account is deactivated. Ask your HR team if you think this is a mistake."
        )


def subject_of(settings: SsoSettings, claims: Mapping[str, Any]) -> str:
    """The provider's stable id for the person: its issuer and ``sub``, bounded."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise DomainError("The sign-in service sent no subject; try again.", status=400)
    subject = f"{settings.issuer.rstrip('/')}#{sub}"
    if len(subject) > OIDC_SUBJECT_MAX:
        raise DomainError("The sign-in service sent an id Candor cannot keep.", status=400)
    return subject


def _verified_email(claims: Mapping[str, Any]) -> str | None:
    email = claims.get("email")
    # A JSON true; some providers send the string "true".
    if claims.get("email_verified") not in (True, "true") or not isinstance(email, str):
        return None
    email = normalise_email(email)
    return None if email_problem(email) else email


def find_sso_account(session: Session, settings: SsoSettings, claims: Mapping[str, Any]) -> User:
    """The account the provider's checked ``claims`` open (linking it on first use, or
    creating it when the settings say so); raises NoAccount or AccountInactive."""
    subject = subject_of(settings, claims)
    user = session.scalar(select(User).where(User.oidc_subject == subject))
    via = "subject"
    if user is None and settings.employee_id_claim:
        employee_id = claims.get(settings.employee_id_claim)
        if isinstance(employee_id, str) and 0 < len(employee_id) <= EMPLOYEE_ID_MAX:
            user = session.scalar(select(User).where(User.employee_id == employee_id))
            via = "employee id"
    email = _verified_email(claims)
    if user is None and email is not None:
        user = find_user_by_email(session, email)
        via = "e-mail"
    if user is None:
        if not (settings.create_accounts and email is not None):
            record(session, "user.sso_refused", reason="no account")
            raise NoAccount()
        user = _create(session, claims, email)
        via = "created"
    if not user.active:
        record(session, "user.sso_refused", subject=user, reason="inactive")
        raise AccountInactive()
    if user.oidc_subject is None:
        user.oidc_subject = subject
    elif user.oidc_subject != subject:
        # Linked to another identity at the provider: a matching e-mail is not enough.
        record(session, "user.sso_refused", subject=user, reason="linked to another subject")
        raise NoAccount()
    session.flush()
    record(session, "user.login", actor=user, subject=user, method="sso", found_by=via)
    return user


def _create(session: Session, claims: Mapping[str, Any], email: str) -> User:
    given = claims.get("name")
    name = clean_name(given) if isinstance(given, str) else ""
    if not name or name_problem(name):
        name = email.split("@")[0]
    user = User(email=email, name=name, password_hash=None)
    return add_account(session, user, {Role.LEARNER}, actor=None, via="sso")


def password_sign_in_allowed(user: User, settings: SsoSettings | None) -> bool:
    """False when the organisation turned password sign-in off for accounts single sign-on
    covers, and ``user`` is one (linked to the provider)."""
    return settings is None or settings.password_login or user.oidc_subject is None
