"""The employee directory: people as HR knows them, kept by hand or imported from CSV.

An import is three steps. ``read_employee_csv`` parses and checks a file on its own;
``plan_import`` compares it with the accounts and says what would be created, changed and
deactivated, writing nothing; ``apply_import`` carries out exactly that plan, or refuses and
writes nothing if the accounts changed in between. Every refusal names the file line.

Values are data, never formulas: a name such as ``=HYPERLINK(...)`` is stored as it is and
escaped wherever it is exported. Callers own the transaction.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property, lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.audit.events import record
from app.content.problems import ContentError, Problem
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.models import AuditEvent, Invitation, Role, User, UserRole
from app.models.user import new_session_generation
from app.people.accounts import deactivate_user, normalise_email, reactivate_user
from app.people.invitations import (
    VALID_DAYS,
    InvitationLink,
    create_invitation,
    invitation_url,
    invitation_values,
)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
COLUMNS = ("email", "name", "employee_id", "department", "manager_email", "roles")
EMAIL_MAX = 254
NAME_MAX = 200
EMPLOYEE_ID_MAX = 64
DEPARTMENT_MAX = 120
# Roles inside one cell: the delimiter of the file may be a comma or a semicolon, so a cell
# may use either of the others (quoted, a cell may use the delimiter too).
_ROLE_SEPARATORS = re.compile(r"[;|,]")
# C0 and C1 controls, line and paragraph separators, bidirectional controls and invisible
# characters: they garble names on pages, certificates and terminals (SECURITY.md, "names").
_UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]"
)
_CHUNK = 500

OnPerson = Callable[[User], None]


# ---------------------------------------------------------------------------------------------
# Results


class Action(StrEnum):
    """What a row does to the accounts."""

    CREATE = "create"
    CHANGE = "change"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class EmployeeRow:
    """One valid data row; ``None`` for ``employee_id`` or ``roles`` means the cell was empty."""

    line: int
    email: str
    name: str
    employee_id: str | None
    department: str | None
    manager_email: str | None
    roles: frozenset[Role] | None


@dataclass(frozen=True)
class EmployeeFile:
    """A parsed file: its valid rows and every problem found, by physical line."""

    source: str
    rows: tuple[EmployeeRow, ...]
    problems: tuple[Problem, ...]
    delimiter: str = ","
    # Addresses and ids on every data line, rejected ones included: someone whose row has a
    # typo is still in the file, and must not be planned for deactivation.
    mentioned_emails: frozenset[str] = frozenset()
    mentioned_employee_ids: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.problems


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
            "rows": [[r.line, r.action.value, r.user_id, [[c.field, c.old, c.new]
                      for c in r.changes], r.row.email, r.row.name, r.row.employee_id,
                      r.row.department, r.row.manager_email,
                      sorted(r.row.roles) if r.row.roles is not None else None]
                     for r in self.rows],
            "deactivations": [d.user_id for d in self.deactivations],
            "problems": [[p.line, p.message] for p in self.problems],
        }
        encoded = json.dumps(facts, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()

    def summary(self) -> str:
        """One line: how many accounts would be created, changed, deactivated and kept."""
        text = (f"{len(self.creates)} to create, {len(self.changes)} to change, "
                f"{len(self.deactivations)} to deactivate, {len(self.unchanged)} unchanged")
        if self.problems:
            text += f"; {_plural(len(self.problems), 'problem')} to fix first"
        return text + "."


@dataclass(frozen=True)
class ImportResult:
    """What an applied import did, with the invitation links for the new accounts."""

    created: tuple[int, ...]
    changed: tuple[int, ...]
    deactivated: tuple[int, ...]
    unchanged: int
    invitations: tuple[InvitationLink, ...] = field(repr=False)

    def summary(self) -> str:
        """One line: how many accounts were created, changed, deactivated and kept."""
        return (f"{len(self.created)} created, {len(self.changed)} changed, "
                f"{len(self.deactivated)} deactivated, {self.unchanged} unchanged.")


@dataclass(frozen=True)
class NewEmployee:
    """An account created by hand, and the invitation link to hand its holder."""

    user: User
    invitation: InvitationLink


# ---------------------------------------------------------------------------------------------
# Errors


class ImportInvalid(ContentError):
    """The file has problems; nothing is imported until every one is fixed."""


class PlanChanged(DomainError):
    """The accounts changed between the dry run and applying it."""

    status = 409

    def __init__(self) -> None:
        super().__init__("The accounts changed since this import was checked; nothing was "
                         "written. Check the file again and review the new plan.")


class EmployeeInvalid(DomainError):
    """A hand-made change is refused; ``errors`` maps each form field to its message."""

    status = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(_sentence(m) for m in self.errors.values()))


# ---------------------------------------------------------------------------------------------
# Checking values (shared by the file and the form, so both say the same)


def _shown(value: str, limit: int = 60) -> str:
    """A value quoted for a message: bounded, with unsafe characters spelled out."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    text = _UNSAFE_CHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return f"'{text}'"


def _sentence(message: str) -> str:
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _unsafe(label: str, value: str) -> str | None:
    if (found := _UNSAFE_CHARACTERS.search(value)) is not None:
        return (f"the {label} contains a control, invisible or text-direction character "
                f"(U+{ord(found.group()):04X})")
    return None


# A subset of what email-validator accepts, checked first because the validator takes a
# quarter of a millisecond an address: plain ASCII addresses on ordinary domains.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion")
_ROLES = {role.value: role for role in Role}


@lru_cache(maxsize=8192)
def _email_problem(value: str) -> str | None:
    """Why a (lower-case) address is not valid, or None."""
    if (len(value) <= EMAIL_MAX and len(value.partition("@")[0]) <= 64
            and _PLAIN_EMAIL.fullmatch(value) and "--" not in value.partition("@")[2]
            and value.rpartition(".")[2] not in _SPECIAL_USE_DOMAINS):
        return None
    try:
        # test_environment lets *.test addresses through; nothing is looked up in DNS.
        validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        return str(error)
    return None


def _check_email(value: str, label: str = "e-mail address") -> str | None:
    if not value:
        return f"the {label} is missing"
    if len(value) > EMAIL_MAX:
        return f"the {label} is longer than {EMAIL_MAX} characters"
    if (reason := _email_problem(value)) is not None:
        return f"the {label} {_shown(value)} is not valid: {reason}"
    return None


@lru_cache(maxsize=256)
def _parse_roles(value: str) -> tuple[frozenset[Role] | None, str | None]:
    names = [part.strip().lower() for part in _ROLE_SEPARATORS.split(value)]
    names = [name for name in names if name]
    if not names:
        return None, None
    unknown = [name for name in names if name not in _ROLES]
    if unknown:
        return None, (f"unknown role {_shown(unknown[0])} (roles are learner, trainer, hr and "
                      "admin, separated by ; or |)")
    return frozenset(_ROLES[name] for name in names), None


@dataclass(frozen=True)
class _Fields:
    email: str
    name: str
    employee_id: str | None
    department: str | None
    manager_email: str | None
    roles: frozenset[Role] | None


def _check_fields(values: Mapping[str, str]) -> tuple[_Fields | None, dict[str, str]]:
    """Clean and check one person's values; the errors are keyed by column."""
    errors: dict[str, str] = {}
    email = normalise_email(values.get("email", ""))
    if (message := _check_email(email)) is not None:
        errors["email"] = message
    name = values.get("name", "").strip()
    if not name:
        errors["name"] = "the name is missing"
    elif len(name) > NAME_MAX:
        errors["name"] = f"the name is longer than {NAME_MAX} characters"
    elif (message := _unsafe("name", name)) is not None:
        errors["name"] = message
    employee_id = values.get("employee_id", "").strip() or None
    if employee_id is not None:
        if len(employee_id) > EMPLOYEE_ID_MAX:
            errors["employee_id"] = f"the employee id is longer than {EMPLOYEE_ID_MAX} characters"
        elif (message := _unsafe("employee id", employee_id)) is not None:
            errors["employee_id"] = message
    department = values.get("department", "").strip() or None
    if department is not None:
        if len(department) > DEPARTMENT_MAX:
            errors["department"] = f"the department is longer than {DEPARTMENT_MAX} characters"
        elif (message := _unsafe("department", department)) is not None:
            errors["department"] = message
    manager_email = normalise_email(values.get("manager_email", "")) or None
    if manager_email is not None:
        if manager_email == email:
            errors["manager_email"] = "a person cannot be their own manager"
        elif (message := _check_email(manager_email, "manager's e-mail address")) is not None:
            errors["manager_email"] = message
    roles, message = _parse_roles(values.get("roles", ""))
    if message is not None:
        errors["roles"] = message
    if errors:
        return None, errors
    return _Fields(email, name, employee_id, department, manager_email, roles), errors


# ---------------------------------------------------------------------------------------------
# Reading a file


def read_employee_csv(data: bytes, source: str) -> EmployeeFile:
    """Parse and check an employee CSV; every problem is reported with its physical line."""
    def fatal(line: int, message: str) -> EmployeeFile:
        return EmployeeFile(source, (), (Problem(source, line, message),))

    if len(data) > MAX_FILE_BYTES:
        return fatal(0, f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; "
                        "split it into smaller files")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return fatal(line, "this line is not valid UTF-8: save the file as CSV UTF-8")
    if not text.strip():
        return fatal(0, "the file is empty: it needs a header line " + ",".join(COLUMNS))
    delimiter = _delimiter(text)
    records, problems = _records(text, delimiter, source)
    if not records:
        return EmployeeFile(source, (), tuple(problems) or (
            Problem(source, 0, "the file has no header line: " + ",".join(COLUMNS)),), delimiter)
    header_line, header_cells = records[0]
    columns, header_problems = _header(header_cells)
    if header_problems:
        return EmployeeFile(source, (), tuple(sorted(Problem(source, header_line, m)
                                                     for m in header_problems)), delimiter)
    rows: list[EmployeeRow] = []
    first_line_of: dict[tuple[str, str], int] = {}
    mentioned_emails: set[str] = set()
    mentioned_ids: set[str] = set()
    for line, cells in records[1:]:
        if len(cells) != len(columns):
            problems.append(Problem(source, line, (
                f"this row has {len(cells)} fields but the header has {len(columns)}; quote "
                f"values that contain {'a comma' if delimiter == ',' else 'a semicolon'}")))
            continue
        values = dict(zip(columns, cells, strict=True))
        mentioned_emails.add(normalise_email(values["email"]))
        if values["employee_id"].strip():
            mentioned_ids.add(values["employee_id"].strip())
        fields, errors = _check_fields(values)
        for message in errors.values():
            problems.append(Problem(source, line, message))
        if fields is None:
            continue
        duplicate = False
        for key, value, label in (("email", fields.email, "e-mail address"),
                                  ("employee_id", fields.employee_id, "employee id")):
            if value is None:
                continue
            if (earlier := first_line_of.setdefault((key, value), line)) != line:
                problems.append(Problem(source, line, (
                    f"the {label} {_shown(value)} is also on line {earlier}")))
                duplicate = True
        if not duplicate:
            rows.append(EmployeeRow(line, fields.email, fields.name, fields.employee_id,
                                    fields.department, fields.manager_email, fields.roles))
    return EmployeeFile(source, tuple(rows), tuple(sorted(problems)), delimiter,
                        frozenset(mentioned_emails - {""}), frozenset(mentioned_ids))


def _delimiter(text: str) -> str:
    """``;`` if the header line has more semicolons than commas, else ``,``."""
    header = next(line for line in text.splitlines() if line.strip())
    return ";" if header.count(";") > header.count(",") else ","


def _records(text: str, delimiter: str, source: str
             ) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """Non-blank records with the physical line each starts on (quoted newlines counted)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(records) > MAX_ROWS:  # the header plus MAX_ROWS rows are allowed
                problems.append(Problem(source, line, (
                    f"the file has more than {MAX_ROWS} rows; split it into smaller files")))
                break
            records.append((line, cells))
    except csv.Error as error:
        problems.append(Problem(source, start, (
            f"the CSV is malformed from this line ({error}): check its quotes")))
    return records, problems


def _header(cells: list[str]) -> tuple[list[str], list[str]]:
    columns = [cell.strip().lstrip("\ufeff").strip().lower() for cell in cells]
    if not set(columns) & set(COLUMNS):
        return columns, ["the first line must be the header, naming the columns "
                         + ",".join(COLUMNS) + " (in any order)"]
    problems = []
    seen: set[str] = set()
    for number, column in enumerate(columns, start=1):
        if not column:
            problems.append(f"column {number} of the header has no name")
            continue
        if column in seen:
            problems.append(f"the column {_shown(column)} appears twice in the header")
        seen.add(column)
        if column not in COLUMNS:
            problems.append(f"unknown column {_shown(column)} in the header (the columns are "
                            f"{', '.join(COLUMNS)})")
    problems.extend(f"the header has no column '{column}' (the columns are "
                    f"{', '.join(COLUMNS)})" for column in COLUMNS if column not in seen)
    return columns, problems


# ---------------------------------------------------------------------------------------------
# Planning


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
    rows = session.execute(select(User.id, User.email, User.name, User.employee_id,
                                  User.department, User.manager_id, User.active))
    return {
        row.id: _Person(row.id, row.email, row.name, row.employee_id or None,
                        row.department or None, row.manager_id, row.active,
                        frozenset(roles.get(row.id, ())))
        for row in rows
    }


def _roles_text(roles: Iterable[Role]) -> str:
    return ";".join(sorted(r.value for r in roles))


def _privilege_problem(actor: User | None, *, current: frozenset[Role] | None,
                       wanted: frozenset[Role] | None, changes: bool,
                       is_actor: bool) -> str | None:
    """Why ``actor`` may not make this change, or None. ``current`` is None for a new account."""
    if actor is None:  # the command line: whoever runs it owns the installation
        return None
    if Role.ADMIN not in actor.roles:
        if current is not None and Role.ADMIN in current and changes:
            return "only an administrator can change an administrator's account"
        if wanted is not None and Role.ADMIN in wanted and (current is None
                                                           or Role.ADMIN not in current):
            return "only an administrator can give the admin role"
    elif (is_actor and current is not None and Role.ADMIN in current and wanted is not None
          and Role.ADMIN not in wanted):
        return "you cannot remove your own admin role"
    return None


def plan_import(session: Session, employee_file: EmployeeFile, *, actor: User | None = None,
                deactivate_missing: bool = False) -> ImportPlan:
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
            refuse(row, f"the e-mail address {_shown(row.email)} belongs to the account with "
                        f"employee id {_shown(person.employee_id)}, but this row has employee "
                        f"id {_shown(row.employee_id)}; correct one of them by hand first")
            continue
        matched[row.line], claimed[person.id] = person, row.line

    row_by_email = {row.email: row for row in rows}
    planned: list[RowPlan] = []
    for row in rows:
        if row.line in rejected:
            continue
        person = matched.get(row.line)
        owner = by_email.get(row.email)
        if owner is not None and owner.id not in claimed and (person is None
                                                              or owner.id != person.id):
            refuse(row, f"the e-mail address {_shown(row.email)} already belongs to another "
                        f"account (#{owner.id}) that is not in this file")
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
                refuse(row, f"the manager {_shown(row.manager_email)} is given a new e-mail "
                            "address in this file: use the new one")
            else:
                refuse(row, f"the manager {_shown(row.manager_email)} is neither in the file "
                            "nor an existing account")
            if person is not None and manager_user_id == person.id:
                refuse(row, "a person cannot be their own manager")
        if row.line in rejected or not manager_known:
            continue
        if person is None:
            if (message := _privilege_problem(actor, current=None, wanted=row.roles,
                                              changes=True, is_actor=False)) is not None:
                refuse(row, message)
                continue
            planned.append(RowPlan(row.line, Action.CREATE, row, manager_user_id=manager_user_id,
                                   manager_line=manager_line))
            continue
        changes = _changes(person, row, people, manager_user_id, manager_line)
        if (message := _privilege_problem(
                actor, current=person.roles, wanted=row.roles, changes=bool(changes),
                is_actor=actor is not None and actor.id == person.id)) is not None:
            refuse(row, message)
            continue
        planned.append(RowPlan(row.line, Action.CHANGE if changes else Action.UNCHANGED, row,
                               user_id=person.id, changes=changes, inactive=not person.active,
                               manager_user_id=manager_user_id, manager_line=manager_line))

    deactivations: list[Deactivation] = []
    if deactivate_missing:
        actor_id = actor.id if actor is not None else None
        for person in sorted(people.values(), key=lambda p: p.id):
            if (person.active and person.id not in claimed and Role.ADMIN not in person.roles
                    and person.id != actor_id
                    and person.email.lower() not in employee_file.mentioned_emails
                    and person.employee_id not in employee_file.mentioned_employee_ids):
                deactivations.append(Deactivation(person.id, person.email, person.name))
    return ImportPlan(employee_file, tuple(planned), tuple(deactivations),
                      tuple(sorted(set(problems))), actor.id if actor is not None else None,
                      deactivate_missing)


def _changes(person: _Person, row: EmployeeRow, people: Mapping[int, _Person],
             manager_user_id: int | None, manager_line: int | None) -> tuple[FieldChange, ...]:
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
        changes.append(FieldChange("roles", _roles_text(person.roles), _roles_text(row.roles)))
    if manager_line is not None or manager_user_id != person.manager_id:
        current = people.get(person.manager_id) if person.manager_id is not None else None
        changes.append(FieldChange("manager_email", current.email if current else None,
                                   row.manager_email))
    return tuple(changes)


# ---------------------------------------------------------------------------------------------
# Applying


def apply_import(session: Session, actor: User | None, plan: ImportPlan, *,
                 invite_base_url: str, now: datetime | None = None,
                 on_person: OnPerson | None = None,
                 valid_days: int = VALID_DAYS) -> ImportResult:
    """Carry out exactly ``plan`` in the caller's transaction; refuse if anything changed."""
    # Every check happens before the first write, so a refusal leaves the session untouched.
    # on_person is called for each created account and each whose department changed.
    if not plan.ok:
        raise ImportInvalid(list(plan.problems))
    if plan.actor_id != (actor.id if actor is not None else None):
        raise DomainError("This import was checked by someone else; check it again.",
                          status=409)
    fresh = plan_import(session, plan.file, actor=actor,
                        deactivate_missing=plan.deactivate_missing)
    if (fresh.rows, fresh.deactivations, fresh.problems) != (
            plan.rows, plan.deactivations, plan.problems):
        raise PlanChanged()
    session.flush()  # the caller's pending changes go first; the rest are bulk statements
    try:
        created_ids, links = _write(session, actor.id if actor is not None else None, plan,
                                    now=now or utcnow(), invite_base_url=invite_base_url,
                                    valid_days=valid_days)
    except IntegrityError as error:  # another transaction took an address or id meanwhile
        raise PlanChanged() from error
    changed = [r for r in plan.changes if r.user_id is not None]
    if on_person is not None:
        concerned = list(created_ids.values()) + [
            r.user_id for r in changed if "department" in r.changed_fields]
        loaded = _load_users(session, concerned)
        for user_id in concerned:
            on_person(loaded[user_id])
    return ImportResult(
        created=tuple(created_ids.values()),
        changed=tuple(r.user_id for r in changed if r.user_id is not None),
        deactivated=tuple(d.user_id for d in plan.deactivations),
        unchanged=len(plan.unchanged),
        invitations=tuple(links),
    )


def _write(session: Session, actor_id: int | None, plan: ImportPlan, *, now: datetime,
           invite_base_url: str, valid_days: int) -> tuple[dict[int, int], list[InvitationLink]]:
    """Write a checked plan; returns the new account id by file line, and the links."""
    # Bulk statements rather than one ORM object per person: an import of 20,000 people must
    # fit in a web request. Objects already in the session are expired at the end.
    changed = [r for r in plan.changes if r.user_id is not None]
    _park_moving_keys(session, changed)
    updates = []
    for row_plan in changed:
        values: dict[str, object] = {"id": row_plan.user_id}
        for name in set(row_plan.changed_fields) & _PLAIN_FIELDS:
            values[name] = getattr(row_plan.row, name)
        if len(values) > 1:
            updates.append(values)
    _bulk_update(session, updates)
    new_roles = {r.user_id: r.row.roles for r in changed
                 if "roles" in r.changed_fields and r.row.roles is not None}
    for chunk in _chunked(sorted(new_roles)):
        session.execute(delete(UserRole).where(UserRole.user_id.in_(chunk)))

    creates = plan.creates
    created_ids: dict[int, int] = {}  # line -> new account id
    if creates:
        ids = session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"email": r.row.email, "name": r.row.name, "employee_id": r.row.employee_id,
              "department": r.row.department, "password_hash": None, "created_at": now}
             for r in creates],
        ).all()
        created_ids = {r.line: user_id for r, user_id in zip(creates, ids, strict=True)}
        new_roles.update((created_ids[r.line], r.row.roles or frozenset({Role.LEARNER}))
                         for r in creates)
    if new_roles:
        session.execute(insert(UserRole), [{"user_id": user_id, "role": role}
                                           for user_id, roles in new_roles.items()
                                           for role in sorted(roles)])

    managers = []
    for row_plan in plan.rows:
        if row_plan.action is Action.CREATE:
            if row_plan.manager_user_id is None and row_plan.manager_line is None:
                continue
        elif "manager_email" not in row_plan.changed_fields:
            continue
        user_id = created_ids.get(row_plan.line, row_plan.user_id)
        manager_id = (created_ids[row_plan.manager_line] if row_plan.manager_line is not None
                      else row_plan.manager_user_id)
        managers.append({"id": user_id, "manager_id": manager_id})
    _bulk_update(session, managers)

    # The same fields as accounts.deactivate_user: a new session generation ends every session.
    _bulk_update(session, [{"id": d.user_id, "active": False, "deactivated_at": now,
                            "session_generation": new_session_generation()}
                           for d in plan.deactivations])

    links: list[InvitationLink] = []
    invitations: list[dict] = []
    for row_plan in creates:
        token, values = invitation_values(created_ids[row_plan.line], now=now,
                                          valid_days=valid_days)
        invitations.append(values)
        links.append(InvitationLink(values["user_id"], row_plan.row.email,
                                    invitation_url(invite_base_url, token),
                                    values["expires_at"]))
    invitation_ids = session.scalars(
        insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True), invitations
    ).all() if invitations else []

    events = [_event("user.created", actor_id, user_id, via="import",
                     roles=sorted(r.value for r in new_roles[user_id]),
                     invitation_id=invitation_id)
              for user_id, invitation_id in zip(created_ids.values(), invitation_ids,
                                                strict=True)]
    events += [_event("user.updated", actor_id, r.user_id, via="import",
                      fields=list(r.changed_fields)) for r in changed]
    events += [_event("user.deactivated", actor_id, d.user_id, via="import")
               for d in plan.deactivations]
    events.append(_event("users.imported", actor_id, None, created=len(created_ids),
                         changed=len(changed), deactivated=len(plan.deactivations),
                         unchanged=len(plan.unchanged), rows=len(plan.rows)))
    session.execute(insert(AuditEvent), events)
    _expire_cached(session, [r.user_id for r in changed if r.user_id is not None]
                   + [d.user_id for d in plan.deactivations])

    return created_ids, links


# Fields an import copies from its row as they are; roles and the manager need more.
_PLAIN_FIELDS = frozenset({"email", "name", "employee_id", "department"})


def _chunked(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _bulk_update(session: Session, rows: list[dict]) -> None:
    """UPDATE accounts by primary key, one executemany per set of columns."""
    groups: dict[frozenset[str], list[dict]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    for group in groups.values():
        session.execute(update(User), group)


def _load_users(session: Session, ids: list[int]) -> dict[int, User]:
    users: dict[int, User] = {}
    for chunk in _chunked(sorted(set(ids))):
        users.update((u.id, u) for u in session.scalars(select(User).where(User.id.in_(chunk))))
    return users


def _expire_cached(session: Session, ids: list[int]) -> None:
    """Expire accounts the session holds, so they are read again after the bulk UPDATEs."""
    for user_id in ids:
        if (user := session.identity_map.get(identity_key(User, user_id))) is not None:
            session.expire(user)


def _park_moving_keys(session: Session, changed: list[RowPlan]) -> None:
    """Park addresses and ids that move between accounts, so no row ever holds a duplicate."""
    for key in ("email", "employee_id"):
        moves = [(row_plan.user_id, change) for row_plan in changed
                 for change in row_plan.changes if change.field == key]
        olds = {change.old for _, change in moves if change.old is not None}
        if not any(change.new in olds for _, change in moves):
            continue
        # Never committed: each account gets its final value in the same transaction.
        _bulk_update(session, [
            {"id": user_id, key: f"moving-{user_id}-{secrets.token_hex(4)}@import.invalid"
             if key == "email" else None} for user_id, _ in moves])


def _event(action: str, actor_id: int | None, user_id: int | None, **details: object) -> dict:
    # The row app.audit.events.record writes, for one bulk INSERT of every event; occurred_at
    # is left to its default, the real time, whatever ``now`` the import was given.
    return {"action": action, "actor_id": actor_id,
            "subject_type": User.__tablename__ if user_id is not None else None,
            "subject_id": str(user_id) if user_id is not None else None, "details": details}


# ---------------------------------------------------------------------------------------------
# By hand: the browser's forms


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


def _manager_for(session: Session, manager_email: str | None, user_id: int | None,
                 errors: dict[str, str]) -> int | None:
    if manager_email is None:
        return None
    manager = session.scalar(select(User).where(User.email == manager_email))
    if manager is None:
        errors["manager_email"] = (f"the manager {_shown(manager_email)} is not an existing "
                                   "account")
        return None
    if manager.id == user_id:
        errors["manager_email"] = "a person cannot be their own manager"
    return manager.id


def _taken(session: Session, column, value: str | None, user_id: int | None) -> bool:
    if value is None:
        return False
    holder = session.scalar(select(User.id).where(column == value))
    return holder is not None and holder != user_id


def create_employee(session: Session, actor: User | None, *, email: str, name: str,
                    employee_id: str = "", department: str = "", manager_email: str = "",
                    roles: str | Iterable[Role | str] = (), invite_base_url: str,
                    now: datetime | None = None, on_person: OnPerson | None = None,
                    valid_days: int = VALID_DAYS) -> NewEmployee:
    """Create an account without a password, with an invitation link to set one."""
    now = now or utcnow()
    values = _form_values({"email": email, "name": name, "employee_id": employee_id,
                           "department": department, "manager_email": manager_email,
                           "roles": roles})
    fields, errors = _check_fields(values)
    if fields is None:
        raise EmployeeInvalid(errors)
    if _taken(session, User.email, fields.email, None):
        errors["email"] = f"the e-mail address {_shown(fields.email)} already has an account"
    if _taken(session, User.employee_id, fields.employee_id, None):
        errors["employee_id"] = (f"the employee id {_shown(fields.employee_id or '')} already "
                                 "belongs to another account")
    manager_id = _manager_for(session, fields.manager_email, None, errors)
    roles_wanted = fields.roles or frozenset({Role.LEARNER})
    if (message := _privilege_problem(actor, current=None, wanted=roles_wanted, changes=True,
                                      is_actor=False)) is not None:
        errors["roles"] = message
    if errors:
        raise EmployeeInvalid(errors)
    user = User(email=fields.email, name=fields.name, employee_id=fields.employee_id,
                department=fields.department, manager_id=manager_id, password_hash=None)
    user.roles = roles_wanted
    session.add(user)
    session.flush()
    record(session, "user.created", actor=actor, subject=user, via="form",
           roles=sorted(r.value for r in user.roles))
    token = create_invitation(session, user, now=now, valid_days=valid_days, actor=actor)
    link = InvitationLink(user.id, user.email, invitation_url(invite_base_url, token),
                          now + timedelta(days=valid_days))
    if on_person is not None:
        on_person(user)
    return NewEmployee(user, link)


def update_employee(session: Session, actor: User | None, user_id: int, *,
                    on_person: OnPerson | None = None, **fields: object) -> User:
    """Change the given fields of an account, checked as an imported row would be."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    manager = session.get(User, user.manager_id) if user.manager_id is not None else None
    current = {"email": user.email, "name": user.name, "employee_id": user.employee_id or "",
               "department": user.department or "",
               "manager_email": manager.email if manager is not None else "",
               "roles": _roles_text(user.roles)}
    given = _form_values(fields)
    checked, errors = _check_fields({**current, **given})
    if checked is None:
        raise EmployeeInvalid(errors)
    if _taken(session, User.email, checked.email, user.id):
        errors["email"] = f"the e-mail address {_shown(checked.email)} already has an account"
    if _taken(session, User.employee_id, checked.employee_id, user.id):
        errors["employee_id"] = (f"the employee id {_shown(checked.employee_id or '')} already "
                                 "belongs to another account")
    manager_id = _manager_for(session, checked.manager_email, user.id, errors)
    roles_wanted = (checked.roles or frozenset({Role.LEARNER})) if "roles" in given else (
        user.roles)
    new = {"email": checked.email, "name": checked.name, "employee_id": checked.employee_id,
           "department": checked.department, "manager_id": manager_id, "roles": roles_wanted}
    old = {"email": user.email, "name": user.name, "employee_id": user.employee_id or None,
           "department": user.department or None, "manager_id": user.manager_id,
           "roles": user.roles}
    changed = [key for key in new if new[key] != old[key]]
    if (message := _privilege_problem(actor, current=user.roles, wanted=roles_wanted,
                                      changes=bool(changed),
                                      is_actor=actor is not None and actor.id == user.id)):
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
    if on_person is not None and "department" in changed:
        on_person(user)
    return user


def deactivate_employee(session: Session, actor: User, user_id: int) -> User:
    """Deactivate an account (its sessions end, its records stay); admins only by admins."""
    _guard_admin_account(session, actor, user_id, "deactivate")
    return deactivate_user(session, actor, user_id)


def reactivate_employee(session: Session, actor: User, user_id: int) -> User:
    """Let a deactivated account sign in again; admins only by admins."""
    _guard_admin_account(session, actor, user_id, "reactivate")
    return reactivate_user(session, actor, user_id)


def _guard_admin_account(session: Session, actor: User, user_id: int, verb: str) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    if Role.ADMIN in user.roles and Role.ADMIN not in actor.roles:
        raise DomainError(f"Only an administrator can {verb} an administrator's account.",
                          status=403)
