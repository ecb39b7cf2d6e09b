"""What a person's directory values must be, however they arrive (CSV row, HR form, CLI).

The value rules themselves live in :mod:`app.fields`; this module combines them for one
person and adds the directory's own: the columns, roles and who may give which role.
Messages are lower case without a full stop, to follow ``file:line:`` or a field label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from app.fields import (
    clean_name,
    department_problem,
    email_problem,
    employee_id_problem,
    name_problem,
    normalise_email,
    shown,
)
from app.models import STAFF_ROLES, Role, User

COLUMNS = ("email", "name", "employee_id", "department", "manager_email", "roles")
# Roles inside one cell: the delimiter of the file may be a comma or a semicolon, so a cell
# may use either of the others (quoted, a cell may use the delimiter too).
_ROLE_SEPARATORS = re.compile(r"[;|,]")
_ROLES = {role.value: role for role in Role}


@dataclass(frozen=True)
class PersonValues:
    """One person's checked values; ``None`` for an empty optional field (roles: not given)."""

    email: str
    name: str
    employee_id: str | None
    department: str | None
    manager_email: str | None
    roles: frozenset[Role] | None


@lru_cache(maxsize=256)
def parse_roles(value: str) -> tuple[frozenset[Role] | None, str | None]:
    """The roles named in a cell (None if it is empty), or the message for an unknown one."""
    names = [part.strip().lower() for part in _ROLE_SEPARATORS.split(value)]
    names = [name for name in names if name]
    if not names:
        return None, None
    unknown = [name for name in names if name not in _ROLES]
    if unknown:
        return None, (
            f"unknown role {shown(unknown[0])} (roles are learner, trainer, hr and "
            "admin, separated by ; or |)"
        )
    return frozenset(_ROLES[name] for name in names), None


def roles_text(roles: Iterable[Role]) -> str:
    """Roles as one cell, e.g. "hr;learner"."""
    return ";".join(sorted(r.value for r in roles))


def check_person(values: Mapping[str, str]) -> tuple[PersonValues | None, dict[str, str]]:
    """Clean and check one person's values; the errors are keyed by column."""
    errors: dict[str, str] = {}
    email = normalise_email(values.get("email", ""))
    if (message := email_problem(email)) is not None:
        errors["email"] = message
    name = clean_name(values.get("name", ""))
    if (message := name_problem(name)) is not None:
        errors["name"] = message
    employee_id = values.get("employee_id", "").strip() or None
    if employee_id is not None and (message := employee_id_problem(employee_id)):
        errors["employee_id"] = message
    department = values.get("department", "").strip() or None
    if department is not None and (message := department_problem(department)):
        errors["department"] = message
    manager_email = normalise_email(values.get("manager_email", "")) or None
    if manager_email is not None:
        if manager_email == email:
            errors["manager_email"] = "a person cannot be their own manager"
        elif (message := email_problem(manager_email, "manager's e-mail address")) is not None:
            errors["manager_email"] = message
    roles, message = parse_roles(values.get("roles", ""))
    if message is not None:
        errors["roles"] = message
    if errors:
        return None, errors
    return PersonValues(email, name, employee_id, department, manager_email, roles), errors


def privilege_problem(
    actor: User | None,
    *,
    current: frozenset[Role] | None,
    wanted: frozenset[Role] | None,
    changes: bool,
    is_actor: bool,
) -> str | None:
    """Why ``actor`` may not make this change, or None. ``current`` is None for a new account."""
    if actor is None:  # the command line: whoever runs it owns the installation
        return None
    if Role.ADMIN not in actor.roles:
        if current is not None and Role.ADMIN in current and changes:
            return "only an administrator can change an administrator's account"
        if current is not None and current & STAFF_ROLES and changes and not is_actor:
            return "only an administrator can change another HR account"
        granted = (wanted or frozenset()) & STAFF_ROLES - (current or frozenset())
        if granted:
            role = Role.ADMIN if Role.ADMIN in granted else min(granted)
            return f"only an administrator can give the {role.value} role"
    elif (
        is_actor
        and current is not None
        and Role.ADMIN in current
        and wanted is not None
        and Role.ADMIN not in wanted
    ):
        return "you cannot remove your own admin role"
    return None
