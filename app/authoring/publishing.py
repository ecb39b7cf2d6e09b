"""Publishing a draft: the same version ``courses sync`` would make of the same files.

The trainer gives the release notes and says whether the change is material; both are written
into the draft's ``course.toml`` (``[release]``) as one more save, so the published files hold
them exactly as a file-managed course would. The draft is then checked by the loader of
``courses check`` and published by ``content.sync.publish_source``: same loader, same hash.
On a material version the trainer decides about retraining: by a date or within N days (the
retraining HR can require, ``training.renewal.require_retraining``), or none, with a reason.
Callers own the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import tomlkit
from sqlalchemy.orm import Session
from tomlkit.exceptions import TOMLKitError

from app.audit.events import record
from app.authoring.drafts import check_draft, files_of, save_text
from app.content.sync import publish_source
from app.content.versions import newest_version
from app.dates import parse_day
from app.db import utcnow
from app.errors import DomainError
from app.fields import RELEASE_NOTES_MAX, whole_number
from app.models import Course, CourseVersion, Draft, User
from app.organisation.details import current_values
from app.training.renewal import require_retraining

MAX_RETRAIN_DAYS = 365


@dataclass(frozen=True)
class Retraining:
    """What a material version asks of people who completed an earlier one."""

    due_on: date | None = None  # retrain by this date, or
    reason: str = ""  # no retraining, for this reason

    @classmethod
    def from_form(cls, choice: str, due_on: str, days: str, reason: str, now: datetime):
        if choice == "date":
            if not due_on:
                raise DomainError("Give the date by which people must retrain.")
            try:
                return cls(due_on=parse_day("The retraining date", due_on))
            except ValueError as problem:
                raise DomainError(str(problem)) from None
        if choice == "days":
            count = whole_number(days, 1, MAX_RETRAIN_DAYS)
            if count is None:
                raise DomainError(
                    f"Give the number of days to retrain in, from 1 to {MAX_RETRAIN_DAYS}."
                )
            return cls(due_on=(now + timedelta(days=count)).date())
        if choice == "none":
            reason = " ".join(reason.split())
            if not reason:
                raise DomainError("Say why people need not retrain after a material change.")
            return cls(reason=reason[:500])
        raise DomainError("Choose when people trained on earlier versions must retrain.")


@dataclass(frozen=True)
class Published:
    version: CourseVersion
    retrained: int  # enrollments put on a new cycle


def with_release(text: str, notes: str, material: bool) -> str:
    """course.toml with ``[release] notes`` and ``material`` set, the rest kept as written."""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError:
        raise DomainError("course.toml is not valid TOML: fix it first.", status=409) from None
    release = document.get("release")
    if release is None or not isinstance(release, dict):
        release = tomlkit.table()
        document["release"] = release
    release["notes"] = tomlkit.string(notes, multiline="\n" in notes)
    release["material"] = material
    return tomlkit.dumps(document)


def publish_draft(
    session: Session,
    actor: User,
    course: Course,
    draft: Draft,
    *,
    revision: int,
    notes: str,
    material: bool | None,
    retraining: Retraining | None,
    now: datetime | None = None,
) -> Published:
    """Publish ``draft`` as the course's next version; refuse (writing nothing) if it has
    problems, is unchanged, or the release notes, material flag or retraining are missing."""
    now = now or utcnow()
    notes = notes.replace("\r\n", "\n").strip()
    if not notes:
        raise DomainError("Write release notes: what changed in this version.")
    if len(notes) > RELEASE_NOTES_MAX:
        raise DomainError(f"Release notes are at most {RELEASE_NOTES_MAX} characters.")
    if material is None:
        raise DomainError("Say whether this change is material (people must retrain) or minor.")
    previous = newest_version(session, course.id)
    if material and previous is not None and retraining is None:
        raise DomainError("Choose when people trained on earlier versions must retrain.")
    toml = files_of(draft).get("course.toml", b"").decode("utf-8", errors="replace")
    updated = with_release(toml, notes, material)
    if updated != toml:
        save_text(session, actor, draft, "course.toml", updated, revision)
    elif revision != draft.revision:
        save_text(session, actor, draft, "course.toml", updated, revision)  # raises Conflict
    check = check_draft(draft, course.slug)
    if check.problems or check.source is None:
        raise DomainError(
            f"The draft has {len(check.problems)} problem(s): fix them before publishing.",
            status=409,
        )
    version, published = publish_source(session, check.source, actor, current_values(session))
    if not published:
        raise DomainError(
            f"Nothing changed since version {version.number}: there is nothing to publish.",
            status=409,
        )
    draft.based_on = version.number
    retrained = 0
    if material and previous is not None and retraining is not None:
        if retraining.due_on is not None:
            retrained = require_retraining(session, actor, version, retraining.due_on, now)
        else:
            record(
                session,
                "course.retraining_waived",
                actor=actor,
                subject=version,
                reason=retraining.reason,
            )
    session.flush()
    return Published(version, retrained)
