"""Accounts: creating users, checking passwords, signing out, deactivating and reactivating.
Callers own the transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit.events import record
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.fields import clean_name, email_problem, name_problem, normalise_email, sentence
from app.models import STAFF_ROLES, Role, User
from app.people.passwords import password_problem
from app.people.sessions import end_all_sessions

# Checked against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("candor-timing-equaliser", method="scrypt")


class InvalidCredentials(DomainError):
    status = 401

    def __init__(self) -> None:
        super().__init__("That e-mail and password do not match an active account.")


def check_password_policy(password: str, *, email: str, name: str) -> None:
    """Refuse passwords that are too short or too long (never truncated), common, or made
    from the account's own ``email`` or ``name`` (app.people.passwords)."""
    if (problem := password_problem(password, email=email, name=name)) is not None:
        raise DomainError(problem)


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session, *, email: str, name: str, roles, password: str | None, actor=None
) -> User:
    """Create an account; refuse a duplicate e-mail, an invalid address or name (the same
    rules as the HR form and the import), or an unacceptable password."""
    email, name = normalise_email(email), clean_name(name)
    if (problem := email_problem(email) or name_problem(name)) is not None:
        raise DomainError(sentence(problem))
    if find_user_by_email(session, email) is not None:
        raise DomainError(f"An account for {email} already exists.", status=409)
    user = User(email=email, name=name)
    if password is not None:
        check_password_policy(password, email=email, name=name)
        user.set_password(password)
    return add_account(session, user, {Role(r) for r in roles}, actor=actor)


def add_account(
    session: Session, user: User, roles: Iterable[Role], *, actor: User | None, **details: object
) -> User:
    """Save a new, checked account with its roles (learner when none) and audit it."""
    user.roles = frozenset(roles) or frozenset({Role.LEARNER})
    session.add(user)
    session.flush()
    record(
        session,
        "user.created",
        actor=actor,
        subject=user,
        roles=sorted(r.value for r in user.roles),
        **details,
    )
    return user


class PasswordSignInOff(DomainError):
    """The password is right, but the organisation signs this account in through its
    single sign-on only."""

    status = 403

    def __init__(self) -> None:
        super().__init__(
            "Your organisation signs you in with single sign-on: use the button "
            '"Sign in with your organisation account".'
        )


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    allowed: Callable[[User], bool] = lambda user: True,
) -> User:
    """The active user with this e-mail and password; the same refusal for every failure.
    ``allowed`` says whether the account may sign in with a password at all (said only once
    the password is right)."""
    user = find_user_by_email(session, email)
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        record(session, "user.login_failed", reason="unknown")
        raise InvalidCredentials()
    if not user.check_password(password) or not user.active:
        record(
            session,
            "user.login_failed",
            subject=user,
            reason="password" if user.active else "inactive",
        )
        raise InvalidCredentials()
    if not allowed(user):
        record(session, "user.login_failed", subject=user, reason="single sign-on only")
        raise PasswordSignInOff()
    record(session, "user.login", actor=user, subject=user)
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; every session of the user ends."""
    if not user.check_password(current):
        raise DomainError("The current password is not right.")
    check_password_policy(new, email=user.email, name=user.name)
    user.set_password(new)
    end_all_sessions(user)
    record(session, "user.password_changed", actor=user, subject=user)


def sign_out_everywhere(session: Session, user: User, *, action: str = "user.logout") -> None:
    end_all_sessions(user)
    record(session, action, actor=user, subject=user)


ERASED_ACCOUNT = "This person was erased: their account never changes or signs in again."


def _account_for(session: Session, actor: User, user_id: int, verb: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    if user.erased_at is not None:
        raise DomainError(ERASED_ACCOUNT, status=409)
    if user.roles & STAFF_ROLES and Role.ADMIN not in actor.roles:
        raise DomainError(
            f"Only an administrator can {verb} an administrator's or HR account.", status=403
        )
    return user


def deactivate_account(session: Session, actor: User, user_id: int) -> User:
    """Deactivate an account: it can no longer sign in, its sessions end, its records stay.
    Nobody deactivates their own account; only an administrator an administrator's."""
    user = _account_for(session, actor, user_id, "deactivate")
    if user.id == actor.id:
        raise DomainError("You cannot deactivate your own account.", status=409)
    if user.active:
        user.active = False
        user.deactivated_at = utcnow()
        end_all_sessions(user)
        record(session, "user.deactivated", actor=actor, subject=user)
    return user


def reactivate_account(session: Session, actor: User, user_id: int) -> User:
    """Let a deactivated account sign in again; only an administrator an administrator's."""
    user = _account_for(session, actor, user_id, "reactivate")
    if not user.active:
        user.active = True
        user.deactivated_at = None
        record(session, "user.reactivated", actor=actor, subject=user)
    return user


def set_roles(session: Session, actor: User, user_id: int, roles: Iterable[Role | str]) -> User:
    """Give an account exactly ``roles``, by the one rule of who may give which role
    (``people.directory.checks.privilege_problem``); audited with the roles before and after."""
    from app.people.directory.checks import privilege_problem

    user = _account_for(session, actor, user_id, "change the roles of")
    try:
        wanted = frozenset(Role(r) for r in roles)
    except ValueError:
        raise DomainError(f"Choose roles among {', '.join(r.value for r in Role)}.") from None
    before = user.roles
    problem = privilege_problem(
        actor, current=before, wanted=wanted, changes=wanted != before, is_actor=user.id == actor.id
    )
    if problem:
        raise DomainError(sentence(problem), status=403)
    if wanted != before:
        user.roles = wanted
        session.flush()
        record(
            session,
            "user.roles_changed",
            actor=actor,
            subject=user,
            before=sorted(r.value for r in before),
            after=sorted(r.value for r in wanted),
        )
    return user
