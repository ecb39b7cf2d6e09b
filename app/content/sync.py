"""Publishing course sources into the database. Callers own the transaction.

A course whose content hash equals that of its latest version stays as it is; any change makes
a new immutable version (number + 1). Modules are rendered to sanitised HTML here, once, so a
page view is a lookup, with the organisation's details filled in (``content.details``); the
values used are kept with the version and hashed with it. A change of those values alone makes
a minor version (``republish_with_details``, or the next sync). On invalid input nothing is
written: the whole tree is checked first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app.audit.events import record
from app.content.advice import release_notes_warning
from app.content.details import DETAILS, detail_label, fill, used_values
from app.content.frontmatter import key_line
from app.content.hashing import content_hash, source_hash
from app.content.loader import CourseSource, LoadedTree, module_body
from app.content.markdown import render_markdown
from app.content.problems import ContentError, Problem
from app.content.versions import newest_version, newest_version_by_slug, newest_versions
from app.errors import DomainError
from app.models import Asset, Course, CourseVersion, Management, Module, User, Visibility
from app.organisation.details import current_values


@dataclass
class SyncReport:
    """What a sync did, a line per course, and the versions it published."""

    lines: list[str] = field(default_factory=list)
    published: list[CourseVersion] = field(default_factory=list)

    def summary(self) -> str:
        return "\n".join(self.lines)


def release_warnings(session: Session, tree: LoadedTree) -> list[Problem]:
    """Courses of ``tree`` that changed but still carry their published version's notes."""
    found = []
    values = current_values(session)
    for source in tree.courses:
        latest = newest_version_by_slug(session, source.slug)
        details = used_values([m.body for m in source.modules], values)
        if (
            latest is None
            or latest.content_hash == content_hash(source, details)
            or _only_details_changed(latest, source)  # the next sync publishes a minor version
        ):
            continue
        lines = source.metadata_source.split("\n")
        warning = release_notes_warning(
            f"{source.folder}/course.toml",
            key_line(lines, "notes", table="release"),
            source.meta.release_notes,
            latest.release_notes,
        )
        if warning is not None:
            found.append(warning)
    return found


class StudioManaged(DomainError):
    """A course of the tree is managed in the studio: files must not overwrite it."""

    status = 409

    def __init__(self, slugs: list[str]) -> None:
        self.slugs = slugs
        named = ", ".join(slugs)
        super().__init__(
            f"{named}: managed in the studio, so a sync would overwrite the trainers' work. "
            "Nothing was written. Export the course from the studio into this folder first, "
            f"or sync with --take-over {slugs[0]} to manage it from files from now on."
        )


def sync_courses(
    session: Session,
    tree: LoadedTree,
    actor: User | None = None,
    take_over: Collection[str] = (),
    values: Mapping[str, str] | None = None,
) -> SyncReport:
    """Publish every changed course of ``tree`` with the organisation's details (``values``,
    else the stored ones); raise ContentError (writing nothing) if invalid, and StudioManaged
    (writing nothing) if it holds a studio course not named in ``take_over``."""
    if tree.problems:
        raise ContentError(tree.problems)
    if values is None:
        values = current_values(session)
    slugs = [c.slug for c in tree.courses]
    studio = {
        course.slug: course
        for course in session.scalars(
            select(Course).where(Course.slug.in_(slugs), Course.managed_by == Management.STUDIO)
        )
    }
    if refused := sorted(set(studio) - set(take_over)):
        raise StudioManaged(refused)
    report = SyncReport()
    for course in studio.values():
        course.managed_by = Management.FILES
        record(session, "course.taken_over", actor=actor, subject=course, managed_by="files")
        report.lines.append(f"{course.slug}: taken over from the studio; managed from files now")
    for source in tree.courses:
        version, published = publish_source(session, source, actor, values)
        if not published:
            report.lines.append(f"{source.slug}: unchanged (version {version.number})")
            continue
        report.published.append(version)
        kind = "material change: earlier holders must retrain" if version.material else "minor"
        note = "new course" if version.number == 1 else kind
        report.lines.append(f"{source.slug}: published version {version.number} ({note})")
        if version.course.visibility is Visibility.HIDDEN:
            report.lines.append(
                f"{source.slug}: hidden: only learners it is assigned to see it until a "
                "trainer lists it in the studio"
            )
    if tree.whole_tree:
        present = {c.slug for c in tree.courses}
        for slug in session.scalars(select(Course.slug).order_by(Course.slug)):
            if slug not in present:
                report.lines.append(f"{slug}: not in the source tree; left as it is")
    return report


def publish_source(
    session: Session, source: CourseSource, actor: User | None, values: Mapping[str, str]
) -> tuple[CourseVersion, bool]:
    """Publish ``source`` unless its hash is the newest version's: the course's newest version,
    and whether it was published just now. Used by sync and by the studio's publishing."""
    details = used_values([m.body for m in source.modules], values)
    digest = content_hash(source, details)
    course = session.scalar(select(Course).where(Course.slug == source.slug))
    if course is None:
        course = Course(slug=source.slug, visibility=Visibility.HIDDEN, managed_by=Management.FILES)
        session.add(course)
        session.flush()
    latest = newest_version(session, course.id)
    if latest is not None and latest.content_hash == digest:
        return latest, False
    meta = source.meta
    notes, material = meta.release_notes, meta.material
    if latest is not None and _only_details_changed(latest, source):
        notes, material = _details_notes(latest.details, details), False
    version = CourseVersion(
        course=course,
        number=(latest.number if latest is not None else 0) + 1,
        content_hash=digest,
        title=meta.title,
        summary=meta.summary,
        estimated_minutes=meta.estimated_minutes,
        pass_mark=meta.pass_mark,
        max_attempts=meta.max_attempts,
        recertify_months=meta.recertify_months,
        obligations=list(meta.obligations),
        release_notes=notes,
        material=material,
        metadata_source=source.metadata_source,
        quiz_source=source.quiz_source,
        quiz=source.quiz.to_dict() if source.quiz is not None else None,
        details=details,
        published_by_id=actor.id if actor is not None else None,
        modules=[
            Module(
                position=m.position,
                stem=m.stem,
                title=m.title,
                source=m.source,
                html=render_markdown(fill(m.body, details)),
                min_minutes=m.min_minutes,
                word_count=len(re.findall(r"\w+", m.body)),
            )
            for m in source.modules
        ],
    )
    session.add(version)
    session.flush()
    for asset in source.assets:
        session.add(
            Asset(
                version_id=version.id,
                name=asset.name,
                media_type=asset.media_type,
                sha256=_sha256(asset.data),
                data=asset.data,
            )
        )
    _record_published(session, actor, version, source.slug)
    return version, True


def _record_published(
    session: Session, actor: User | None, version: CourseVersion, slug: str
) -> None:
    record(
        session,
        "course.version_published",
        actor=actor,
        subject=version,
        slug=slug,
        number=version.number,
        content_hash=version.content_hash,
        material=version.material,
    )


def _stored_hash(version: CourseVersion, details: Mapping[str, str | None]) -> str:
    """The hash of a stored version's sources, read with ``details``."""
    assets = session_assets(version)
    return source_hash(
        version.metadata_source,
        [(m.stem, m.source) for m in version.modules],
        version.quiz_source,
        [(a.name, a.sha256) for a in assets],
        details,
    )


def session_assets(version: CourseVersion) -> list[Asset]:
    """The version's assets, by name."""
    session = object_session(version)
    if session is None:
        return []
    return list(
        session.scalars(select(Asset).where(Asset.version_id == version.id).order_by(Asset.name))
    )


def _only_details_changed(latest: CourseVersion, source: CourseSource) -> bool:
    """True when ``source`` is ``latest``'s sources exactly, so only detail values differ."""
    return content_hash(source, latest.details) == latest.content_hash


def _details_notes(before: Mapping[str, str | None], after: Mapping[str, str | None]) -> str:
    labels = [detail_label(d.name) for d in DETAILS if before.get(d.name) != after.get(d.name)]
    return "Organisation details updated: " + (", ".join(labels) or "none") + "."


def republish_with_details(
    session: Session, values: Mapping[str, str], actor: User | None = None
) -> list[CourseVersion]:
    """Publish a minor version of every course whose newest version was read with detail
    values that are no longer current: same sources, the new values filled in."""
    published = []
    for latest in session.scalars(newest_versions()).all():
        if not latest.details:
            continue  # uses no detail: nothing to fill in
        details = {name: (values.get(name) or None) for name in latest.details}
        if details == latest.details:
            continue
        version = CourseVersion(
            course=latest.course,
            number=latest.number + 1,
            content_hash=_stored_hash(latest, details),
            title=latest.title,
            summary=latest.summary,
            estimated_minutes=latest.estimated_minutes,
            pass_mark=latest.pass_mark,
            max_attempts=latest.max_attempts,
            recertify_months=latest.recertify_months,
            obligations=list(latest.obligations),
            release_notes=_details_notes(latest.details, details),
            material=False,
            metadata_source=latest.metadata_source,
            quiz_source=latest.quiz_source,
            quiz=latest.quiz,
            details=details,
            published_by_id=actor.id if actor is not None else None,
            modules=[
                Module(
                    position=m.position,
                    stem=m.stem,
                    title=m.title,
                    source=m.source,
                    html=render_markdown(fill(module_body(m.source), details)),
                    min_minutes=m.min_minutes,
                    word_count=m.word_count,
                )
                for m in latest.modules
            ],
        )
        session.add(version)
        session.flush()
        for asset in session_assets(latest):
            session.add(
                Asset(
                    version_id=version.id,
                    name=asset.name,
                    media_type=asset.media_type,
                    sha256=asset.sha256,
                    data=asset.data,
                )
            )
        _record_published(session, actor, version, latest.course.slug)
        published.append(version)
    return published


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
