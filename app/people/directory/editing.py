"""Keeping the directory by hand (the HR forms): one person created or changed, checked
exactly as an imported row is. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.fields import sentence, shown
from app.mail.smtp import MailSettings
from app.models import Role, User
from app.people.accounts import ERASED_ACCOUNT, add_account
from app.people.directory.checks import COLUMNS, check_person, privilege_problem, roles_text
from app.people.invitations import (
    VALID_DAYS,
    InvitationLink,
    create_invitation,
    invitation_url,
    queue_invitation_mail,
)
from app.training.assignments import apply_assignments_to


@dataclass(frozen=True)
class NewEmployee:
    """An account created by hand, and the invitation link to hand its holder."""

    user: User
    invitation: InvitationLink


class EmployeeInvalid(DomainError):
    """A hand-made change is refused; ``errors`` maps each form field to its message."""

    status = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(sentence(m) for m in self.errors.values()))


_FORM_FIELDS = frozenset(COLUMNS)


def _form_values(fields: Mapping[str, object]) -> dict[str, str]:
    unknown = set(fields) - _FORM_FIELDS
    if unknown:
        raise TypeError(f"unknown employee fields: {', '.join(sorted(unknown))}")
    values: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            values[key] = ""
        elif key == "roles" and isinstance(value, Iterable) and not isinstance(value, str):
            values[key] = ";".join(r.value if isinstance(r, Role) else str(r) for r in value)
        else:
            values[key] = str(value)
    return values


def _manager_for(
    session: Session, manager_email: str | None, user_id: int | None, errors: dict[str, str]
) -> int | None:
    if manager_email is None:
        return None
    manager = session.scalar(select(User).where(User.email == manager_email))
    if manager is None:
        errors["manager_email"] = f"the manager {shown(manager_email)} is not an existing account"
        return None
    if manager.id == user_id:
        errors["manager_email"] = "a person cannot be their own manager"
    return manager.id


def _taken(session: Session, column, value: str | None, user_id: int | None) -> bool:
    if value is None:
        return False
    holder = session.scalar(select(User.id).where(column == value))
    return holder is not None and holder != user_id


def create_employee(
    session: Session,
    actor: User | None,
    *,
    email: str,
    name: str,
    employee_id: str = "",
    department: str = "",
    manager_email: str = "",
    roles: str | Iterable[Role | str] = (),
    invite_base_url: str,
    mail: MailSettings | None = None,
    now: datetime | None = None,
    valid_days: int = VALID_DAYS,
) -> NewEmployee:
    """Create an account without a password, with an invitation link to set one (e-mailed to
    the person when ``mail`` is given)."""
    now = now or utcnow()
    values = _form_values(
        {
            "email": email,
            "name": name,
            "employee_id": employee_id,
            "department": department,
            "manager_email": manager_email,
            "roles": roles,
        }
    )
    fields, errors = check_person(values)
    if fields is None:
        raise EmployeeInvalid(errors)
    if _taken(session, User.email, fields.email, None):
        errors["email"] = f"the e-mail address {shown(fields.email)} already has an account"
    if _taken(session, User.employee_id, fields.employee_id, None):
        errors["employee_id"] = (
            f"the employee id {shown(fields.employee_id or '')} already belongs to another account"
        )
    manager_id = _manager_for(session, fields.manager_email, None, errors)
    roles_wanted = fields.roles or frozenset({Role.LEARNER})
    if (
        message := privilege_problem(
            actor, current=None, wanted=roles_wanted, changes=True, is_actor=False
        )
    ) is not None:
        errors["roles"] = message
    if errors:
        raise EmployeeInvalid(errors)
    user = User(
        email=fields.email,
        name=fields.name,
        employee_id=fields.employee_id,
        department=fields.department,
        manager_id=manager_id,
        password_hash=None,
    )
    add_account(session, user, roles_wanted, actor=actor, via="form")
    token = create_invitation(session, user, now=now, valid_days=valid_days, actor=actor)
    link = InvitationLink(
        user.id,
        user.email,
        invitation_url(invite_base_url, token),
        now + timedelta(days=valid_days),
        user.name,
    )
    if mail is not None:
        queue_invitation_mail(session, mail, link)
    apply_assignments_to(session, user, now)
    return NewEmployee(user, link)


def update_employee(
    session: Session,
    actor: User | None,
    user_id: int,
    *,
    now: datetime | None = None,
    **fields: object,
) -> User:
    """Change the given fields of an account, checked as an imported row would be."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    if user.erased_at is not None:
        raise DomainError(ERASED_ACCOUNT, status=409)
    manager = session.get(User, user.manager_id) if user.manager_id is not None else None
    current = {
        "email": user.email,
        "name": user.name,
        "employee_id": user.employee_id or "",
        "department": user.department or "",
        "manager_email": manager.email if manager is not None else "",
        "roles": roles_text(user.roles),
    }
    given = _form_values(fields)
    checked, errors = check_person({**current, **given})
    if checked is None:
        raise EmployeeInvalid(errors)
    if _taken(session, User.email, checked.email, user.id):
        errors["email"] = f"the e-mail address {shown(checked.email)} already has an account"
    if _taken(session, User.employee_id, checked.employee_id, user.id):
        errors["employee_id"] = (
            f"the employee id {shown(checked.employee_id or '')} already belongs to another account"
        )
    manager_id = _manager_for(session, checked.manager_email, user.id, errors)
    roles_wanted = (
        (checked.roles or frozenset({Role.LEARNER})) if "roles" in given else (user.roles)
    )
    new = {
        "email": checked.email,
        "name": checked.name,
        "employee_id": checked.employee_id,
        "department": checked.department,
        "manager_id": manager_id,
        "roles": roles_wanted,
    }
    old = {
        "email": user.email,
        "name": user.name,
        "employee_id": user.employee_id or None,
        "department": user.department or None,
        "manager_id": user.manager_id,
        "roles": user.roles,
    }
    changed = [key for key in new if new[key] != old[key]]
    if message := privilege_problem(
        actor,
        current=user.roles,
        wanted=roles_wanted,
        changes=bool(changed),
        is_actor=actor is not None and actor.id == user.id,
    ):
        errors["roles" if "role" in message else "account"] = message
    if errors:
        raise EmployeeInvalid(errors)
    if not changed:
        return user
    for key in changed:
        if key == "roles":
            user.roles = roles_wanted
        else:
            setattr(user, key, new[key])
    session.flush()
    record(session, "user.updated", actor=actor, subject=user, via="form", fields=changed)
    if "department" in changed:
        apply_assignments_to(session, user, now)
    return user
