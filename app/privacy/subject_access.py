"""Subject access: everything Candor keeps about one person, as JSON and as a readable PDF in
one zip, built by a worker (GDPR Art. 15). Callers own the transaction.

What counts as "about the person" is read from the privacy registry, not listed again here:
every row of a table whose personal columns point at the person (``user_id``, ``actor_id``,
``owner_id`` ...), the audit events about them, and the e-mails sent to their address.
Columns the registry says nobody sees (password and link hashes) are named but withheld;
files (PDFs, exports) are named with their size and hash rather than copied in.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from sqlalchemy import LargeBinary, Table, Text, and_, cast, or_, select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.certificates.service import render_missing_pdfs
from app.db import Base, utcnow
from app.jobs.records import create_job
from app.jobs.runner import Attempt, Outcome
from app.models import Job, User
from app.privacy.registry import NOBODY, REGISTRY

KIND: Final = "subject-access.zip"
MAX_TEXT: Final = 2000  # characters of one value shown in the PDF (the JSON has all of it)


def start_subject_access(session: Session, actor: User, person: User) -> Job:
    """Queue the copy of ``person``'s data for a worker; audited (who asked, for whom)."""
    record(session, "privacy.subject_access_requested", actor=actor, subject=person)
    params = {"user_id": person.id, "at": utcnow().isoformat()}
    return create_job(session, KIND, actor, params, total=None)


def personal_data(session: Session, person: User) -> dict[str, Any]:
    """Every stored row about ``person``, by table, with the registry's words for each."""
    tables: dict[str, Any] = {}
    for table in Base.metadata.sorted_tables:
        entry = REGISTRY.get(table.name)
        if entry is None or not entry.personal or (where := _about(table, person)) is None:
            continue
        rows = session.execute(select(table).where(where).order_by(*table.primary_key))
        found = [_plain(table, row._mapping) for row in rows]
        if found:
            tables[table.name] = {
                "heading": entry.heading,
                "what": [item.what for item in entry.personal.values()],
                "rows": found,
            }
    return {
        "person": {"id": person.id, "name": person.name, "email": person.email},
        "tables": tables,
    }


def _about(table: Table, person: User):
    """The rows of ``table`` about ``person``, or None when it holds none."""
    personal = REGISTRY[table.name].personal
    criteria = []
    for column in table.columns:
        if column.name not in personal:
            continue
        for key in column.foreign_keys:
            target = key.column.table
            if target.name == "users":
                criteria.append(column == person.id)
            elif "user_id" in target.c:  # a row of the person's (an answer of their attempt)
                owned = select(key.column).where(target.c.user_id == person.id)
                criteria.append(column.in_(owned.scalar_subquery()))
    if table.name == "users":
        criteria.append(table.c.id == person.id)
    if table.name == "audit_events":
        criteria.append(and_(table.c.subject_type == "users", table.c.subject_id == str(person.id)))
    if table.name == "outbox":
        criteria.append(cast(table.c.recipients, Text).contains(json.dumps(person.email)))
    return or_(*criteria) if criteria else None


def _plain(table: Table, row) -> dict[str, Any]:
    personal = REGISTRY[table.name].personal
    plain: dict[str, Any] = {}
    for column in table.columns:
        value = row[column.name]
        item = personal.get(column.name)
        if item is not None and item.seen_by == NOBODY and value is not None:
            value = f"[withheld: {item.what}; kept so that {item.why}]"
        elif isinstance(column.type, LargeBinary) and value is not None:
            data = bytes(value)
            value = {"file_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        plain[column.name] = _json_value(value)
    return plain


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return {"file_bytes": len(bytes(value))}
    return value


def run_subject_access(session: Session, job: Job, attempt: Attempt) -> Outcome:
    """The worker's side: the zip of data.json and report.pdf."""
    from app.certificates.pdf import render_report

    if render_missing_pdfs(session, job.params["user_id"], limit=10_000):
        # Kept in transactions of their own: read again, so the rows below show them (a SQLite
        # read sees the database as it was when the read began).
        session.rollback()
    person = session.get_one(User, job.params["user_id"])
    data = {"generated_at": job.params["at"], **personal_data(session, person)}
    report = render_report(
        "privacy/subject_access.html", {"data": data, "shown": _shown, "headings": _headings}
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("report.pdf", report)
    attempt.write(out.getvalue())
    day = job.params["at"][:10]
    return Outcome(f"candor-personal-data-{person.id}-{day}.zip", "application/zip")


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " … (in full in data.json)"


def _headings(tables: dict[str, Any]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, table in tables.items():
        grouped.setdefault(table["heading"], []).append(name)
    return grouped
