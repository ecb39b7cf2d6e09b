"""Which people x courses records a listing holds: the one filter of the HR matrix, the
dashboard's links, ``status_rows``, the completion exports (CSV, XLSX) and the item export.

Its query-string keys are its field names, and the audit log records an export's filter
under the same names:

- ``course_id``: one course, by id;
- ``department``: people in exactly this department;
- ``manager_id``: people whose manager has this id;
- ``status``: one value of ``Status`` (``not_started``, ``in_progress``, ``completed``,
  ``due_soon``, ``overdue``, ``expired``), computed at the listing's ``now``; the item
  export refuses it, answers have no status;
- ``completed_from``, ``completed_to``: the current cycle was completed on these UTC days,
  both included, written YYYY-MM-DD (for the item export: when the attempt was submitted);
- ``obligation``: courses whose newest version meets this obligation of the registry
  (``obligations.registry``: its slug, e.g. ``eu-ai-act-art-4``), as the coverage report counts
  them;
- ``include_inactive``: ``1`` to list deactivated people too; by default a listing holds
  active people only, as the dashboard counts them and reminders reach them;
- ``search``: people whose name, e-mail or employee id contains this text, whatever the
  case and the accents ("igor" finds "Ígor"; at most ``SEARCH_MAX`` characters; ``%`` and
  ``_`` are searched for as themselves).

An empty value means "any". Unknown and repeated keys are refused rather than ignored: a
misspelt filter would otherwise list everyone's records. Every refusal is a DomainError
(400) whose message names the key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from app.dates import day_problem, start_of_day
from app.errors import DomainError
from app.fields import (
    MAX_ID,
    department_problem,
    fold,
    search_text,
    sentence,
    shown,
    whole_number,
)
from app.obligations.coverage import courses_meeting
from app.obligations.registry import REGISTRY as OBLIGATIONS
from app.obligations.registry import obligation_problem
from app.training.status import Status

STATUSES: Final = tuple(status.value for status in Status)


@dataclass(frozen=True)
class RecordFilter:
    """Which records to list; a field left as None (or False) means "any"."""

    course_id: int | None = None
    department: str | None = None
    manager_id: int | None = None
    status: Status | None = None
    completed_from: date | None = None
    completed_to: date | None = None
    include_inactive: bool = False
    search: str | None = None
    obligation: str | None = None

    def __post_init__(self) -> None:
        if self.obligation is not None and obligation_problem(self.obligation):
            raise DomainError(
                f"Unknown obligation {shown(self.obligation, 40)}: use one of "
                f"{', '.join(sorted(OBLIGATIONS))}."
            )
        if self.search is not None:
            object.__setattr__(self, "search", search_text(self.search) or None)
        if self.status is not None:
            object.__setattr__(self, "status", _status(str(self.status)))
        if self.department is not None and (problem := department_problem(self.department)):
            raise DomainError(sentence(problem))
        if (
            self.completed_from is not None
            and self.completed_to is not None
            and self.completed_from > self.completed_to
        ):
            raise DomainError(
                f"completed_from ({self.completed_from.isoformat()}) is after "
                f"completed_to ({self.completed_to.isoformat()})."
            )

    @classmethod
    def from_args(
        cls, args: Mapping[str, Any], *, other_keys: Collection[str] = ()
    ) -> RecordFilter:
        """Parse query-string or form arguments; DomainError (400) names the first bad one.

        ``other_keys`` are keys the caller reads itself (a page's sort, a CSRF token): they
        are neither refused nor read here.
        """
        known = keys()
        for key in args:
            if key not in known and key not in other_keys:
                raise DomainError(f"Unknown filter {shown(str(key), 40)}: use {', '.join(known)}.")
        values: dict[str, str] = {}
        getlist = getattr(args, "getlist", None)
        for key in known:
            if key not in args:
                continue
            if getlist is not None and len(getlist(key)) > 1:
                raise DomainError(f"Give {key} at most once.")
            raw = args[key]
            text = "" if raw is None else str(raw).strip()
            if text:
                values[key] = text
        return cls(
            course_id=_parse_id(values, "course_id"),
            department=values.get("department"),
            manager_id=_parse_id(values, "manager_id"),
            status=_status(values["status"]) if "status" in values else None,
            completed_from=_parse_date(values, "completed_from"),
            completed_to=_parse_date(values, "completed_to"),
            include_inactive=_parse_flag(values, "include_inactive"),
            search=values.get("search"),
            obligation=values.get("obligation"),
        )

    def args(self) -> dict[str, str]:
        """The filter as query-string arguments, only the keys set: ``from_args`` reads it
        back as it is (for links and for the matrix's export forms)."""
        return {key: "1" if value is True else str(value) for key, value in self.to_dict().items()}

    def to_dict(self) -> dict[str, Any]:
        """The filter as JSON for the audit log: only the keys set, dates as ISO strings."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value is False:
                continue
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Status):
                value = value.value
            out[f.name] = value
        return out

    def criteria(
        self,
        person: Any,
        course_id: ColumnElement[Any] | InstrumentedAttribute[Any],
        completed_at: ColumnElement[Any] | None = None,
    ) -> list[ColumnElement[bool]]:
        """The filter as SQL over a users table (or alias) ``person``, the column holding the
        course's id and, if given, the column holding the completion moment.

        The status is not among them: the matrix filters on it in SQL
        (``training.status.status_case``). Without
        ``completed_at`` the caller applies ``completed_within`` to its rows.
        """
        where: list[ColumnElement[bool]] = []
        if not self.include_inactive:
            where.append(person.c.active.is_(True))
        if self.course_id is not None:
            where.append(course_id == self.course_id)
        if self.obligation is not None:
            where.append(course_id.in_(courses_meeting(self.obligation)))
        if self.department is not None:
            where.append(person.c.department == self.department)
        if self.manager_id is not None:
            where.append(person.c.manager_id == self.manager_id)
        if self.search is not None:
            # Accents and case folded on both sides (app.fields.search_key, kept on the row).
            where.append(person.c.search_key.contains(fold(self.search), autoescape=True))
        if completed_at is not None:
            start, end = self._completed_bounds()
            if start is not None:
                where.append(completed_at >= start)
            if end is not None:
                where.append(completed_at < end)
        return where

    def completed_within(self, completed_at: datetime | None) -> bool:
        """Whether a completion at ``completed_at`` (None: not completed) is in the range."""
        start, end = self._completed_bounds()
        if start is None and end is None:
            return True
        return (
            completed_at is not None
            and (start is None or completed_at >= start)
            and (end is None or completed_at < end)
        )

    def admits(self, status: Status) -> bool:
        """Whether a record with ``status`` passes the status filter."""
        return self.status is None or status is self.status

    def _completed_bounds(self) -> tuple[datetime | None, datetime | None]:
        # Whole UTC days, both included: from the first moment of the first day up to, not
        # including, the first moment of the day after the last.
        start = start_of_day(self.completed_from) if self.completed_from else None
        end = start_of_day(self.completed_to + timedelta(days=1)) if self.completed_to else None
        return start, end


# Every person, deactivated ones included: what one person's own record (their HR page,
# their transcript) is read with, since a leaver's training stays on record.
EVERYONE: Final = RecordFilter(include_inactive=True)


def keys() -> tuple[str, ...]:
    """The filter's query-string keys, in the order messages list them."""
    return tuple(f.name for f in fields(RecordFilter))


def _status(text: str) -> Status:
    if text not in STATUSES:
        raise DomainError(f"Unknown status {shown(text, 40)}: use one of {', '.join(STATUSES)}.")
    return Status(text)


def _parse_id(values: Mapping[str, str], key: str) -> int | None:
    text = values.get(key)
    if text is None:
        return None
    if (number := whole_number(text)) is None:
        raise DomainError(
            f"{key} must be a whole number from 1 to {MAX_ID}, not {shown(text, 40)}."
        )
    return number


def _parse_date(values: Mapping[str, str], key: str) -> date | None:
    text = values.get(key)
    if text is None:
        return None
    if (problem := day_problem(key, text)) is not None:
        raise DomainError(f"{problem}.")
    return date.fromisoformat(text)


def _parse_flag(values: Mapping[str, str], key: str) -> bool:
    text = values.get(key)
    if text is None or text == "0":
        return False
    if text != "1":
        raise DomainError(f"{key} must be 1 or 0, not {shown(text, 40)}.")
    return True
