"""Reading the audit trail: who did what, when, to which subject; filtered and paged, and as
CSV. Read-only.

Query-string keys: ``action`` (one recorded action, exactly), ``actor`` (a name or e-mail
contains it), ``subject_type`` and ``subject_id`` (exactly), ``from`` and ``to`` (UTC days,
both included, YYYY-MM-DD), ``page``. Anything else is refused with a 400 naming the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from app.dates import day_problem, start_of_day
from app.db import streamed
from app.errors import DomainError
from app.fields import page_number, shown, unsafe_problem
from app.models import AuditEvent, User

PAGE_SIZE: Final = 100
TEXT_MAX: Final = 100
CSV_COLUMNS: Final = (
    "occurred_at",
    "action",
    "actor_id",
    "actor_name",
    "actor_email",
    "subject_type",
    "subject_id",
    "details",
)


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    from_day: date | None = None
    to_day: date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> AuditFilter:
        known = {"action", "actor", "subject_type", "subject_id", "from", "to", "page"}
        for key in args:
            if key not in known:
                raise DomainError(
                    f"Unknown filter {shown(str(key), 40)}: use {', '.join(sorted(known))}."
                )
        values = {k: str(args.get(k) or "").strip() for k in known}
        for key in ("action", "actor", "subject_type", "subject_id"):
            if len(values[key]) > TEXT_MAX:
                raise DomainError(f"{key} must be at most {TEXT_MAX} characters.")
            if problem := unsafe_problem(key, values[key]):
                raise DomainError(problem)
        page = page_number(values["page"])
        result = cls(
            action=values["action"] or None,
            actor=values["actor"] or None,
            subject_type=values["subject_type"] or None,
            subject_id=values["subject_id"] or None,
            from_day=_day(values["from"], "from"),
            to_day=_day(values["to"], "to"),
            page=page,
        )
        if result.from_day and result.to_day and result.from_day > result.to_day:
            raise DomainError("from is after to.")
        return result

    def args(self, **changes: Any) -> dict[str, str]:
        """The filter as query-string arguments (for links, the pager and the CSV)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = changes.get(f.name, getattr(self, f.name))
            if value in (None, "") or (f.name == "page" and value == 1):
                continue
            key = {"from_day": "from", "to_day": "to"}.get(f.name, f.name)
            out[key] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def criteria(self, actor: Any) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.action:
            where.append(AuditEvent.action == self.action)
        if self.subject_type:
            where.append(AuditEvent.subject_type == self.subject_type)
        if self.subject_id:
            where.append(AuditEvent.subject_id == self.subject_id)
        if self.actor:
            text = self.actor.lower()
            where.append(
                or_(
                    func.lower(actor.c.name).contains(text, autoescape=True),
                    func.lower(actor.c.email).contains(text, autoescape=True),
                )
            )
        if self.from_day:
            where.append(AuditEvent.occurred_at >= start_of_day(self.from_day))
        if self.to_day:
            where.append(AuditEvent.occurred_at < start_of_day(self.to_day + timedelta(days=1)))
        return where


def _day(text: str, key: str) -> date | None:
    if not text:
        return None
    if (problem := day_problem(key, text)) is not None:
        raise DomainError(f"{problem}.")
    return date.fromisoformat(text)


@dataclass(frozen=True)
class AuditLine:
    occurred_at: datetime
    action: str
    actor_id: int | None
    actor_name: str | None
    actor_email: str | None
    subject_type: str | None
    subject_id: str | None
    details: dict

    @property
    def details_text(self) -> str:
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class AuditPage:
    lines: list[AuditLine]
    total: int
    actions: list[str]  # every action recorded, for the filter's list


def _statement(audit_filter: AuditFilter) -> Select[Any]:
    actor = User.__table__.alias("actor")
    return (
        select(
            AuditEvent.occurred_at,
            AuditEvent.action,
            AuditEvent.actor_id,
            actor.c.name,
            actor.c.email,
            AuditEvent.subject_type,
            AuditEvent.subject_id,
            AuditEvent.details,
        )
        .outerjoin(actor, actor.c.id == AuditEvent.actor_id)
        .where(*audit_filter.criteria(actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )


def audit_page(session: Session, audit_filter: AuditFilter) -> AuditPage:
    """One page of events, newest first, with the total and the list of actions: three
    queries, whatever the size of the trail."""
    statement = _statement(audit_filter)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(
        statement.limit(PAGE_SIZE).offset((audit_filter.page - 1) * PAGE_SIZE)
    ).all()
    actions = list(
        session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )
    return AuditPage([AuditLine(*row) for row in rows], total, actions)


def audit_rows(session: Session, audit_filter: AuditFilter) -> Iterator[tuple]:
    """Every event the filter admits, newest first, as CSV_COLUMNS, streamed on a connection
    of its own (``db.streamed``), so the request's is not held for the whole download."""
    statement = _statement(audit_filter).execution_options(yield_per=1000)
    with streamed(session, statement) as result:
        for line in result:
            row = AuditLine(*line)
            yield (
                row.occurred_at,
                row.action,
                row.actor_id,
                row.actor_name,
                row.actor_email,
                row.subject_type,
                row.subject_id,
                row.details_text,
            )
