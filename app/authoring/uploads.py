"""A course folder uploaded as a zip: read with limits, then made a new course or a draft.

The zip holds one course folder (``SLUG/course.toml`` …), as ``courses export`` and the
studio's download write it, or the folder's files at its top. Every name is checked before
anything is read: no absolute paths, no ``..``, no links, only the files a course folder may
hold, a bounded count and bounded sizes (the zip's own claims are not trusted: reading stops
at the limit). Nothing is stored until the whole zip has been read.
"""

from __future__ import annotations

import io
import stat
import zipfile

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.authoring.drafts import (
    _claim,
    _kept,
    new_course,
    open_draft,
    text_path_problem,
)
from app.content.images import MAX_ASSET_BYTES
from app.content.loader import MAX_MARKDOWN_BYTES, SLUG
from app.content.markdown import ASSET_NAME
from app.errors import DomainError
from app.models import Course, Draft, DraftFile, User

MAX_ZIP_BYTES = 32 * 1024 * 1024
MAX_ENTRIES = 200
IGNORED = {"README.md"}


class ZipRefused(DomainError):
    status = 400


def read_course_zip(data: bytes) -> tuple[str | None, dict[str, bytes]]:
    """``(slug or None, files)`` of an uploaded course zip; ZipRefused naming the problem."""
    if len(data) > MAX_ZIP_BYTES:
        raise ZipRefused(f"The zip is larger than {MAX_ZIP_BYTES // (1024 * 1024)} MiB.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise ZipRefused("This is not a zip file.") from None
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > MAX_ENTRIES:
            raise ZipRefused(
                f"The zip holds {len(entries)} files; a course has at most {MAX_ENTRIES}."
            )
        names = [e.filename for e in entries]
        tops = {n.split("/", 1)[0] for n in names if "/" in n and not n.startswith("assets/")}
        slug = None
        if len(tops) == 1 and all(n.startswith(f"{next(iter(tops))}/") for n in names):
            slug = next(iter(tops))
            if not SLUG.match(slug):
                raise ZipRefused(
                    f'"{slug}" is not a valid course name (lowercase letters, digits, hyphens).'
                )
        files: dict[str, bytes] = {}
        for entry in entries:
            path = entry.filename[len(slug) + 1 :] if slug else entry.filename
            if path in IGNORED or path.split("/")[-1].startswith("."):
                continue
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise ZipRefused(f"{entry.filename}: links are not allowed in a course.")
            if path.startswith("assets/"):
                if not ASSET_NAME.match(path[len("assets/") :]):
                    raise ZipRefused(f"{entry.filename}: not an image name a course can hold.")
                limit = MAX_ASSET_BYTES
            elif text_path_problem(path) is None:
                limit = MAX_MARKDOWN_BYTES
            else:
                raise ZipRefused(
                    f"{entry.filename}: a course holds course.toml, NN-name.md modules, quiz.md "
                    "and assets/ images only."
                )
            with archive.open(entry) as stream:
                content = stream.read(limit + 1)
            if len(content) > limit:
                raise ZipRefused(f"{entry.filename}: larger than {limit:,} bytes.")
            files[path] = content
    if "course.toml" not in files:
        raise ZipRefused("The zip has no course.toml: is it a course folder?")
    return slug, files


def upload_course(
    session: Session, actor: User, data: bytes, slug_hint: str = ""
) -> tuple[Course, Draft]:
    """Make the zip a new course (hidden, studio-managed), or the draft of the studio course of
    that name (one save, which replaces every file)."""
    slug, files = read_course_zip(data)
    slug = slug or slug_hint.strip()
    if not slug or not SLUG.match(slug):
        raise ZipRefused("Name the course: the zip has no course folder to take the name from.")
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        draft = new_course(session, actor, slug, slug)
        course = session.get_one(Course, draft.course_id)
    else:
        draft = open_draft(session, actor, course)  # refuses a file-managed course
    _claim(session, actor, draft, draft.revision)
    draft.files.clear()
    session.flush()  # the old files go before new ones of the same names arrive
    for path in sorted(files):
        draft.files.append(DraftFile(path=path, data=files[path]))
        _kept(session, actor, draft, "write", path, data=files[path])
    return course, draft
