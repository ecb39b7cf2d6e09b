"""Planning an import: what a checked file would create, change and deactivate, as pure
data, computed without writing. A plan carries a fingerprint so that what is applied is
exactly what was shown."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.problems import Problem
from app.errors import DomainError
from app.fields import shown
from app.models import STAFF_ROLES, Role, User, UserRole
from app.people.directory.checks import privilege_problem, roles_text
from app.people.directory.reading import EmployeeFile, EmployeeRow, read_employee_csv


class Action(StrEnum):
    """What a row does to the accounts."""

    CREATE = "create"
    CHANGE = "change"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class FieldChange:
    """One field of an account as it is and as the file would make it (roles as a;b)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class RowPlan:
    """What a valid row would do: create an account, change one, or nothing."""

    line: int
    action: Action
    row: EmployeeRow
    user_id: int | None = None  # the matched account; None for a creation
    changes: tuple[FieldChange, ...] = ()
    inactive: bool = False  # matched a deactivated account (an import never reactivates)
    manager_user_id: int | None = None  # the manager, when an existing account
    manager_line: int | None = None  # the manager, when created by this import

    @property
    def account_id(self) -> int:
        """The matched account's id; only a row that creates an account has none."""
        if self.user_id is None:
            raise ValueError(f"line {self.line} creates an account: it has no id yet")
        return self.user_id

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(change.field for change in self.changes)


@dataclass(frozen=True)
class Deactivation:
    """An active account that is not in the file and would be deactivated."""

    user_id: int
    email: str
    name: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do; pure data, computed without writing."""

    file: EmployeeFile
    rows: tuple[RowPlan, ...]
    deactivations: tuple[Deactivation, ...]
    problems: tuple[Problem, ...]
    actor_id: int | None
    deactivate_missing: bool

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def creates(self) -> tuple[RowPlan, ...]:
        return tuple(r for r in self.rows if r.action is Action.CREATE)

    @property
    def changes(self) -> tuple[RowPlan, ...]:
        return tuple(r for r in self.rows if r.action is Action.CHANGE)

    @property
    def unchanged(self) -> tuple[RowPlan, ...]:
        return tuple(r for r in self.rows if r.action is Action.UNCHANGED)

    @property
    def has_changes(self) -> bool:
        return bool(self.creates or self.changes or self.deactivations)

    @property
    def still_inactive(self) -> tuple[RowPlan, ...]:
        """Rows that matched deactivated accounts: reactivate them by hand if they are back."""
        return tuple(r for r in self.rows if r.inactive)

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the whole plan: show it with a dry run, compare it before applying."""
        facts = {
            "actor": self.actor_id,
            "deactivate_missing": self.deactivate_missing,
            "rows": [
                [
                    r.line,
                    r.action.value,
                    r.user_id,
                    [[c.field, c.old, c.new] for c in r.changes],
                    r.row.email,
                    r.row.name,
                    r.row.employee_id,
                    r.row.department,
                    r.row.manager_email,
                    sorted(r.row.roles) if r.row.roles is not None else None,
                ]
                for r in self.rows
            ],
            "deactivations": [d.user_id for d in self.deactivations],
            "problems": [[p.line, p.message] for p in self.problems],
        }
        encoded = json.dumps(facts, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()

    def summary(self) -> str:
        """One line: how many accounts would be created, changed, deactivated and kept."""
        text = (
            f"{len(self.creates)} to create, {len(self.changes)} to change, "
            f"{len(self.deactivations)} to deactivate, {len(self.unchanged)} unchanged"
        )
        if self.problems:
            text += f"; {_plural(len(self.problems), 'problem')} to fix first"
        return text + "."


class PlanChanged(DomainError):
    """The accounts changed between the dry run and applying it."""

    status = 409

    def __init__(self) -> None:
        super().__init__(
            "The accounts changed since this import was checked; nothing was "
            "written. Check the file again and review the new plan."
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class _Person:
    id: int
    email: str
    name: str
    employee_id: str | None
    department: str | None
    manager_id: int | None
    active: bool
    roles: frozenset[Role]


def _load_people(session: Session) -> dict[int, _Person]:
    """Every account as plain data, in two queries whatever their number."""
    roles: dict[int, set[Role]] = {}
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role)):
        roles.setdefault(user_id, set()).add(role)
    rows = session.execute(
        select(
            User.id,
            User.email,
            User.name,
            User.employee_id,
            User.department,
            User.manager_id,
            User.active,
        )
    )
    return {
        row.id: _Person(
            row.id,
            row.email,
            row.name,
            row.employee_id or None,
            row.department or None,
            row.manager_id,
            row.active,
            frozenset(roles.get(row.id, ())),
        )
        for row in rows
    }


def plan_import(
    session: Session,
    employee_file: EmployeeFile,
    *,
    actor: User | None = None,
    deactivate_missing: bool = False,
) -> ImportPlan:
    """What importing the file would create, change and deactivate; writes nothing."""
    # Rows match an account by employee id, then by e-mail address. Every account is read
    # once, as plain values, in two queries whatever their number.
    source = employee_file.source
    people = _load_people(session)
    by_employee_id = {p.employee_id: p for p in people.values() if p.employee_id}
    by_email = {p.email.lower(): p for p in people.values()}
    problems = list(employee_file.problems)
    rows = employee_file.rows
    matched: dict[int, _Person] = {}  # line -> account
    claimed: dict[int, int] = {}  # account id -> line
    rejected: set[int] = set()

    def refuse(row: EmployeeRow, message: str) -> None:
        problems.append(Problem(source, row.line, message))
        rejected.add(row.line)

    for row in rows:
        if row.employee_id is not None and (person := by_employee_id.get(row.employee_id)):
            matched[row.line], claimed[person.id] = person, row.line
    for row in rows:
        person = by_email.get(row.email)
        if row.line in matched or person is None or person.id in claimed:
            continue
        if row.employee_id is not None and person.employee_id is not None:
            # Matching would merge two people's training records: a person decides.
            refuse(
                row,
                f"the e-mail address {shown(row.email)} belongs to the account with "
                f"employee id {shown(person.employee_id)}, but this row has employee "
                f"id {shown(row.employee_id)}; correct one of them by hand first",
            )
            continue
        matched[row.line], claimed[person.id] = person, row.line

    row_by_email = {row.email: row for row in rows}
    planned: list[RowPlan] = []
    for row in rows:
        if row.line in rejected:
            continue
        person = matched.get(row.line)
        owner = by_email.get(row.email)
        if (
            owner is not None
            and owner.id not in claimed
            and (person is None or owner.id != person.id)
        ):
            refuse(
                row,
                f"the e-mail address {shown(row.email)} already belongs to another "
                f"account (#{owner.id}) that is not in this file",
            )
        manager_user_id, manager_line, manager_known = None, None, True
        if row.manager_email is not None:
            manager_row = row_by_email.get(row.manager_email)
            holder = by_email.get(row.manager_email)
            if manager_row is not None:
                if (manager_person := matched.get(manager_row.line)) is not None:
                    manager_user_id = manager_person.id
                else:
                    manager_line = manager_row.line
            elif holder is not None and holder.id not in claimed:
                manager_user_id = holder.id
            elif row.manager_email in employee_file.mentioned_emails:
                manager_known = False  # the manager's own row is rejected: reported there
            elif holder is not None:
                refuse(
                    row,
                    f"the manager {shown(row.manager_email)} is given a new e-mail "
                    "address in this file: use the new one",
                )
            else:
                refuse(
                    row,
                    f"the manager {shown(row.manager_email)} is neither in the file "
                    "nor an existing account",
                )
            if person is not None and manager_user_id == person.id:
                refuse(row, "a person cannot be their own manager")
        if row.line in rejected or not manager_known:
            continue
        if person is None:
            if (
                message := privilege_problem(
                    actor, current=None, wanted=row.roles, changes=True, is_actor=False
                )
            ) is not None:
                refuse(row, message)
                continue
            planned.append(
                RowPlan(
                    row.line,
                    Action.CREATE,
                    row,
                    manager_user_id=manager_user_id,
                    manager_line=manager_line,
                )
            )
            continue
        changes = _changes(person, row, people, manager_user_id, manager_line)
        if (
            message := privilege_problem(
                actor,
                current=person.roles,
                wanted=row.roles,
                changes=bool(changes),
                is_actor=actor is not None and actor.id == person.id,
            )
        ) is not None:
            refuse(row, message)
            continue
        planned.append(
            RowPlan(
                row.line,
                Action.CHANGE if changes else Action.UNCHANGED,
                row,
                user_id=person.id,
                changes=changes,
                inactive=not person.active,
                manager_user_id=manager_user_id,
                manager_line=manager_line,
            )
        )

    deactivations: list[Deactivation] = []
    if deactivate_missing:
        actor_id = actor.id if actor is not None else None
        for person in sorted(people.values(), key=lambda p: p.id):
            if (
                person.active
                and person.id not in claimed
                and Role.ADMIN not in person.roles
                # HR accounts: only by an administrator (or the command line).
                and (not person.roles & STAFF_ROLES or actor is None or Role.ADMIN in actor.roles)
                and person.id != actor_id
                and person.email.lower() not in employee_file.mentioned_emails
                and person.employee_id not in employee_file.mentioned_employee_ids
            ):
                deactivations.append(Deactivation(person.id, person.email, person.name))
    return ImportPlan(
        employee_file,
        tuple(planned),
        tuple(deactivations),
        tuple(sorted(set(problems))),
        actor.id if actor is not None else None,
        deactivate_missing,
    )


def replan_import(
    session: Session,
    data: bytes,
    source: str,
    *,
    actor: User | None,
    deactivate_missing: bool,
    fingerprint: str,
) -> ImportPlan:
    """Plan a file again before applying it; PlanChanged unless the plan is the very one that
    was shown (same file, same accounts, same person checking)."""
    plan = plan_import(
        session, read_employee_csv(data, source), actor=actor, deactivate_missing=deactivate_missing
    )
    if plan.fingerprint != fingerprint:
        raise PlanChanged()
    return plan


def _changes(
    person: _Person,
    row: EmployeeRow,
    people: Mapping[int, _Person],
    manager_user_id: int | None,
    manager_line: int | None,
) -> tuple[FieldChange, ...]:
    changes = []
    if row.email != person.email:
        changes.append(FieldChange("email", person.email, row.email))
    if row.name != person.name:
        changes.append(FieldChange("name", person.name, row.name))
    if row.employee_id is not None and row.employee_id != person.employee_id:
        changes.append(FieldChange("employee_id", person.employee_id, row.employee_id))
    if row.department != person.department:
        changes.append(FieldChange("department", person.department, row.department))
    if row.roles is not None and row.roles != person.roles:
        changes.append(FieldChange("roles", roles_text(person.roles), roles_text(row.roles)))
    if manager_line is not None or manager_user_id != person.manager_id:
        current = people.get(person.manager_id) if person.manager_id is not None else None
        changes.append(
            FieldChange("manager_email", current.email if current else None, row.manager_email)
        )
    return tuple(changes)
