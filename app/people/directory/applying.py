"""Applying an import: exactly the plan that was checked, in the caller's transaction, or
nothing if the accounts changed in between. Callers own the transaction."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.audit import ledger
from app.db import utcnow
from app.errors import DomainError
from app.fields import search_key
from app.mail.smtp import MailSettings
from app.models import AuditEvent, Invitation, Role, User, UserRole
from app.people.directory.planning import Action, ImportPlan, PlanChanged, RowPlan, plan_import
from app.people.directory.reading import ImportInvalid
from app.people.invitations import (
    VALID_DAYS,
    InvitationLink,
    invitation_url,
    invitation_values,
    queue_invitation_mail,
)
from app.people.sessions import ended_sessions
from app.training.assignments import apply_assignments_to

_CHUNK = 500


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
        return (
            f"{len(self.created)} created, {len(self.changed)} changed, "
            f"{len(self.deactivated)} deactivated, {self.unchanged} unchanged."
        )


def apply_import(
    session: Session,
    actor: User | None,
    plan: ImportPlan,
    *,
    invite_base_url: str,
    mail: MailSettings | None = None,
    now: datetime | None = None,
    valid_days: int = VALID_DAYS,
) -> ImportResult:
    """Carry out exactly ``plan`` in the caller's transaction; refuse if anything changed.
    With ``mail``, each new account's invitation is e-mailed to it."""
    # Every check happens before the first write, so a refusal leaves the session untouched.
    # Each created account, and each whose department changed, gets the assignments that
    # now concern it, in the same transaction.
    if not plan.ok:
        raise ImportInvalid(list(plan.problems))
    if plan.actor_id != (actor.id if actor is not None else None):
        raise DomainError("This import was checked by someone else; check it again.", status=409)
    fresh = plan_import(session, plan.file, actor=actor, deactivate_missing=plan.deactivate_missing)
    if (fresh.rows, fresh.deactivations, fresh.problems) != (
        plan.rows,
        plan.deactivations,
        plan.problems,
    ):
        raise PlanChanged()
    session.flush()  # the caller's pending changes go first; the rest are bulk statements
    try:
        created_ids, links = _write(
            session,
            actor.id if actor is not None else None,
            plan,
            now=now or utcnow(),
            invite_base_url=invite_base_url,
            valid_days=valid_days,
        )
    except IntegrityError as error:  # another transaction took an address or id meanwhile
        raise PlanChanged() from error
    if mail is not None:
        for link in links:
            queue_invitation_mail(session, mail, link)
    changed = plan.changes
    concerned = list(created_ids.values()) + [
        r.account_id for r in changed if "department" in r.changed_fields
    ]
    loaded = _load_users(session, concerned)
    for user_id in concerned:
        apply_assignments_to(session, loaded[user_id], now)
    return ImportResult(
        created=tuple(created_ids.values()),
        changed=tuple(r.account_id for r in changed),
        deactivated=tuple(d.user_id for d in plan.deactivations),
        unchanged=len(plan.unchanged),
        invitations=tuple(links),
    )


def _write(
    session: Session,
    actor_id: int | None,
    plan: ImportPlan,
    *,
    now: datetime,
    invite_base_url: str,
    valid_days: int,
) -> tuple[dict[int, int], list[InvitationLink]]:
    """Write a checked plan; returns the new account id by file line, and the links."""
    # Bulk statements rather than one ORM object per person: an import of 20,000 people must
    # fit in a web request. Objects already in the session are expired at the end.
    changed = plan.changes
    _park_moving_keys(session, changed)
    updates = []
    for row_plan in changed:
        values: dict[str, object] = {"id": row_plan.account_id}
        for name in set(row_plan.changed_fields) & _PLAIN_FIELDS:
            values[name] = getattr(row_plan.row, name)
        if len(values) > 1:
            updates.append(values)
    _bulk_update(session, updates)
    new_roles = {
        r.account_id: r.row.roles
        for r in changed
        if "roles" in r.changed_fields and r.row.roles is not None
    }
    for chunk in _chunked(sorted(new_roles)):
        session.execute(delete(UserRole).where(UserRole.user_id.in_(chunk)))

    creates = plan.creates
    created_ids: dict[int, int] = {}  # line -> new account id
    if creates:
        ids = session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "email": r.row.email,
                    "name": r.row.name,
                    "employee_id": r.row.employee_id,
                    "department": r.row.department,
                    "search_key": search_key(r.row.name, r.row.email, r.row.employee_id),
                    "password_hash": None,
                    "created_at": now,
                }
                for r in creates
            ],
        ).all()
        created_ids = {r.line: user_id for r, user_id in zip(creates, ids, strict=True)}
        new_roles.update(
            (created_ids[r.line], r.row.roles or frozenset({Role.LEARNER})) for r in creates
        )
    if new_roles:
        session.execute(
            insert(UserRole),
            [
                {"user_id": user_id, "role": role}
                for user_id, roles in new_roles.items()
                for role in sorted(roles)
            ],
        )

    managers = []
    for row_plan in plan.rows:
        if row_plan.action is Action.CREATE:
            if row_plan.manager_user_id is None and row_plan.manager_line is None:
                continue
        elif "manager_email" not in row_plan.changed_fields:
            continue
        user_id = created_ids.get(row_plan.line, row_plan.user_id)
        manager_id = (
            created_ids[row_plan.manager_line]
            if row_plan.manager_line is not None
            else row_plan.manager_user_id
        )
        managers.append({"id": user_id, "manager_id": manager_id})
    _bulk_update(session, managers)

    # As accounts.deactivate_account does one by one: inactive, and every session ended.
    _bulk_update(
        session,
        [
            {"id": d.user_id, "active": False, "deactivated_at": now, **ended_sessions()}
            for d in plan.deactivations
        ],
    )

    links: list[InvitationLink] = []
    invitations: list[dict] = []
    for row_plan in creates:
        token, columns = invitation_values(
            created_ids[row_plan.line], now=now, valid_days=valid_days
        )
        invitations.append(columns)
        links.append(
            InvitationLink(
                created_ids[row_plan.line],
                row_plan.row.email,
                invitation_url(invite_base_url, token),
                columns["expires_at"],
                row_plan.row.name,
            )
        )
    invitation_ids = (
        session.scalars(
            insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True), invitations
        ).all()
        if invitations
        else []
    )

    events = [
        _event(
            "user.created",
            actor_id,
            user_id,
            via="import",
            roles=sorted(r.value for r in new_roles[user_id]),
            invitation_id=invitation_id,
        )
        for user_id, invitation_id in zip(created_ids.values(), invitation_ids, strict=True)
    ]
    events += [
        _event("user.updated", actor_id, r.account_id, via="import", fields=list(r.changed_fields))
        for r in changed
    ]
    events += [
        _event("user.deactivated", actor_id, d.user_id, via="import") for d in plan.deactivations
    ]
    events.append(
        _event(
            "users.imported",
            actor_id,
            None,
            created=len(created_ids),
            changed=len(changed),
            deactivated=len(plan.deactivations),
            unchanged=len(plan.unchanged),
            rows=len(plan.rows),
        )
    )
    event_ids = session.scalars(
        insert(AuditEvent).returning(AuditEvent.id, sort_by_parameter_order=True), events
    ).all()
    ledger.note(session, "audit", event_ids)  # Core inserts: chained at commit like the rest
    _expire_cached(
        session, [r.account_id for r in changed] + [d.user_id for d in plan.deactivations]
    )

    return created_ids, links


# Fields an import copies from its row as they are; roles and the manager need more.
_PLAIN_FIELDS = frozenset({"email", "name", "employee_id", "department"})


def _chunked(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _bulk_update(session: Session, rows: list[dict]) -> None:
    """UPDATE accounts by primary key, one executemany per set of columns."""
    groups: dict[frozenset[str], list[dict]] = {}
    _add_search_keys(session, rows)
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    for group in groups.values():
        session.execute(update(User), group)


def _add_search_keys(session: Session, rows: list[dict]) -> None:
    """Give each update that changes a searched field the account's new search key."""
    searched = ("name", "email", "employee_id")
    changing = [row for row in rows if any(k in row for k in searched)]
    current: dict[int, tuple] = {}
    for chunk in _chunked([row["id"] for row in changing]):
        current.update(
            (user_id, (name, email, employee_id))
            for user_id, name, email, employee_id in session.execute(
                select(User.id, User.name, User.email, User.employee_id).where(User.id.in_(chunk))
            )
        )
    for row in changing:
        name, email, employee_id = current.get(row["id"], (None, None, None))
        row["search_key"] = search_key(
            row.get("name", name), row.get("email", email), row.get("employee_id", employee_id)
        )


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


def _park_moving_keys(session: Session, changed: Sequence[RowPlan]) -> None:
    """Park addresses and ids that move between accounts, so no row ever holds a duplicate."""
    for key in ("email", "employee_id"):
        moves = [
            (row_plan.account_id, change)
            for row_plan in changed
            for change in row_plan.changes
            if change.field == key
        ]
        olds = {change.old for _, change in moves if change.old is not None}
        if not any(change.new in olds for _, change in moves):
            continue
        # Never committed: each account gets its final value in the same transaction.
        _bulk_update(
            session,
            [
                {
                    "id": user_id,
                    key: f"moving-{user_id}-{secrets.token_hex(4)}@import.invalid"
                    if key == "email"
                    else None,
                }
                for user_id, _ in moves
            ],
        )


def _event(action: str, actor_id: int | None, user_id: int | None, **details: object) -> dict:
    # The row app.audit.events.record writes, for one bulk INSERT of every event; occurred_at
    # is left to its default, the real time, whatever ``now`` the import was given.
    return {
        "action": action,
        "actor_id": actor_id,
        "subject_type": User.__tablename__ if user_id is not None else None,
        "subject_id": str(user_id) if user_id is not None else None,
        "details": details,
    }
