"""The organisation's named values (``content.details.DETAILS``): reading, checking and saving
them. Saving republishes, as minor versions, the courses whose text used a changed value.
Callers own the transaction."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.content.details import DETAIL_NAMES, VALUE_MAX, detail, detail_label
from app.db import utcnow
from app.errors import DomainError
from app.fields import TITLE_MAX, unsafe_problem
from app.models import OrganisationDetail, User


class DetailsError(DomainError):
    """Some values cannot be stored; ``problems`` maps each detail name to why."""

    status = 400

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("Some details could not be saved: " + "; ".join(problems.values()))
        self.problems = problems


def current_values(session: Session) -> dict[str, str]:
    """Every detail that is set, by name."""
    return {
        row.name: row.value
        for row in session.scalars(select(OrganisationDetail))
        if row.name in DETAIL_NAMES
    }


@functools.cache
def _name_query() -> Select:
    return select(OrganisationDetail.value).where(OrganisationDetail.name == "organisation_name")


def organisation_name(session: Session, fallback: str) -> str:
    """The organisation's name as the admin set it, else ``fallback`` (the configured one).
    One query built once: every certificate issued runs it."""
    return session.scalar(_name_query()) or fallback


def value_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be stored as the detail ``name``, or None."""
    found = detail(name)
    if found is None:
        return f"{name!r} is not an organisation detail"
    label = detail_label(name)
    limit = TITLE_MAX if name == "organisation_name" else VALUE_MAX
    if len(value) > limit:
        return f"the {label} is {len(value)} characters long; at most {limit} are allowed"
    if "\n" in value and not found.multiline:
        return f"the {label} must be one line"
    if (problem := unsafe_problem(label, value, multiline=found.multiline)) is not None:
        return problem
    if "{{" in value:
        return f"the {label} may not contain {{{{: details do not refer to other details"
    return None


def save_details(session: Session, actor: User, values: Mapping[str, str]) -> list[str]:
    """Store the submitted values (an empty one unsets the detail) and return the names that
    changed; DetailsError, storing nothing, if any value is refused."""
    cleaned = {name: value.replace("\r\n", "\n").strip() for name, value in values.items()}
    problems = {
        name: problem
        for name, value in cleaned.items()
        if (problem := value_problem(name, value)) is not None
    }
    if problems:
        raise DetailsError(problems)
    stored = {row.name: row for row in session.scalars(select(OrganisationDetail))}
    changed = []
    for name, value in cleaned.items():
        row = stored.get(name)
        if (row.value if row is not None else "") == value:
            continue
        changed.append(name)
        if not value:
            session.delete(row)
        elif row is None:
            session.add(OrganisationDetail(name=name, value=value, updated_by_id=actor.id))
        else:
            row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor.id
    session.flush()
    if changed:
        record(session, "organisation.details_changed", actor=actor, names=sorted(changed))
    return sorted(changed)
