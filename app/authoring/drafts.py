"""Drafts: a course's working copy in the database, edited file by file, checked on every save.

A draft holds exactly the files of a course folder (``course.toml``, ``NN-slug.md`` modules,
``quiz.md``, ``assets/NAME``). Every change is one save: the draft's ``revision`` goes up by
one and the change is kept as a ``DraftSave``. A change made from a page drawn at an older
revision is refused with a ``Conflict`` that says who saved since, so nobody's work is lost
silently. Checking a draft writes its files into a temporary folder and runs the very loader
``courses check`` runs. Callers own the transaction.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.events import record
from app.content.folders import version_files, write_folder
from app.content.loader import (
    MAX_MARKDOWN_BYTES,
    MAX_TOML_BYTES,
    MODULE_FILE,
    SLUG,
    CourseSource,
    load_tree,
)
from app.content.markdown import ASSET_NAME
from app.content.problems import Problem
from app.content.versions import newest_version
from app.dates import format_date
from app.db import rowcount, utcnow
from app.errors import DomainError
from app.models import Course, Draft, DraftFile, DraftSave, Management, User, Visibility

STARTER_TOML = """title = {title}
summary = "One or two sentences on what learners will be able to do."
estimated_minutes = 15

[release]
notes = "First edition."
material = true
"""
STARTER_MODULE = (
    "# {title}\n\nWrite the first module here.\n\n## Checklist\n\n"
    "- I can say what this module taught me.\n"
)


class Conflict(DomainError):
    """The draft was saved by someone else after this page was drawn."""

    status = 409


@dataclass
class DraftCheck:
    """What ``courses check`` says of the draft, paths relative to the course folder."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    source: CourseSource | None = None

    def for_file(self, path: str) -> tuple[list[Problem], list[Problem]]:
        return (
            [p for p in self.problems if p.path == path],
            [w for w in self.warnings if w.path == path],
        )


def find_draft(session: Session, course: Course) -> Draft | None:
    return session.scalar(select(Draft).where(Draft.course_id == course.id))


def take_over(session: Session, actor: User, course: Course) -> None:
    """Manage a file-managed course in the studio from now on (audited)."""
    if course.managed_by is Management.STUDIO:
        return
    course.managed_by = Management.STUDIO
    record(session, "course.taken_over", actor=actor, subject=course, managed_by="studio")
    session.flush()


def open_draft(session: Session, actor: User, course: Course) -> Draft:
    """The course's draft, started from its newest version if it has none."""
    if course.managed_by is not Management.STUDIO:
        raise DomainError(
            f"{course.slug} is managed from files (courses/): take it over in the studio "
            "before editing it here, so that files and studio never overwrite each other.",
            status=409,
        )
    draft = find_draft(session, course)
    if draft is not None:
        return draft
    draft = _from_newest(session, course)
    draft.updated_by_id = actor.id
    session.add(draft)
    session.flush()
    return draft


def view_draft(session: Session, course: Course) -> Draft:
    """The course's draft to look at: the stored one, or (storing nothing) the one its newest
    version would start."""
    return find_draft(session, course) or _from_newest(session, course)


def _from_newest(session: Session, course: Course) -> Draft:
    version = newest_version(session, course.id)
    files = version_files(session, version) if version is not None else {}
    return Draft(
        course_id=course.id,
        revision=0,
        based_on=version.number if version else None,
        updated_at=utcnow(),
        files=[DraftFile(path=p, data=d) for p, d in files.items()],
    )


def new_course(session: Session, actor: User, slug: str, title: str) -> Draft:
    """A new course written in the studio: hidden, with a starter course.toml and module."""
    slug = slug.strip()
    title = " ".join(title.split())
    if not SLUG.match(slug):
        raise DomainError(
            "The web address name must be 1-64 lowercase letters, digits and hyphens, "
            "e.g. card-payments-in-chat.",
            status=400,
        )
    if not title or len(title) > 200:
        raise DomainError("Give the course a title of up to 200 characters.", status=400)
    if session.scalar(select(Course.id).where(Course.slug == slug)) is not None:
        raise DomainError(
            f"A course called {slug} exists already: choose another name.", status=409
        )
    course = Course(slug=slug, visibility=Visibility.HIDDEN, managed_by=Management.STUDIO)
    session.add(course)
    session.flush()
    toml_title = '"' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'
    draft = Draft(
        course_id=course.id,
        updated_by_id=actor.id,
        files=[
            DraftFile(path="course.toml", data=STARTER_TOML.format(title=toml_title).encode()),
            DraftFile(path="01-introduction.md", data=STARTER_MODULE.format(title=title).encode()),
        ],
    )
    session.add(draft)
    session.flush()
    record(session, "course.created_in_studio", actor=actor, subject=course, slug=slug)
    return draft


def files_of(draft: Draft) -> dict[str, bytes]:
    return {f.path: f.data for f in draft.files}


def check_draft(draft: Draft, slug: str, changed: dict[str, bytes] | None = None) -> DraftCheck:
    """Run the loader of ``courses check`` over the draft's files (with ``changed`` files in
    place of the stored ones, for a live check of unsaved text)."""
    with tempfile.TemporaryDirectory(prefix="candor-draft-") as temporary:
        folder = Path(temporary) / slug
        write_folder({**files_of(draft), **(changed or {})}, folder)
        tree = load_tree(folder)
    prefix = f"{slug}/"

    def relative(found: list[Problem]) -> list[Problem]:
        return sorted(Problem(p.path.removeprefix(prefix), p.line, p.message) for p in found)

    return DraftCheck(
        problems=relative(tree.problems),
        warnings=relative(tree.warnings),
        source=tree.courses[0] if tree.courses and not tree.problems else None,
    )


# --- changes: each one is a save ---------------------------------------------------------------


def _claim(session: Session, actor: User, draft: Draft, revision: int) -> None:
    """Count this save, or refuse a change drawn from an older revision. The count is one
    conditional UPDATE, so of two saves drawn from the same revision at the same moment (two
    tabs, two trainers) only the first gets through; the other is told who saved."""
    now = utcnow()
    if revision == draft.revision:
        claimed = session.execute(
            update(Draft)
            .where(Draft.id == draft.id, Draft.revision == revision)
            .values(revision=revision + 1, updated_at=now, updated_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )
        if rowcount(claimed) == 1:
            for key, value in (("revision", revision + 1), ("updated_at", now)):
                set_committed_value(draft, key, value)
            set_committed_value(draft, "updated_by_id", actor.id)
            return
        session.refresh(draft)  # saved by someone else since this draft was read
    who = session.get(User, draft.updated_by_id) if draft.updated_by_id else None
    name = "someone" if who is None else ("you, in another tab" if who.id == actor.id else who.name)
    raise Conflict(
        f"This draft was saved by {name} on {format_date(draft.updated_at)} at "
        f"{draft.updated_at:%H:%M} UTC, after you opened this page (it is now at save "
        f"{draft.revision}; your page was drawn at save {revision}). Nothing of yours was "
        "saved: your text is still below. Copy it, reload the draft, and make your change "
        "again."
    )


def _kept(session, actor, draft, action, path, *, new_path=None, data=None) -> None:
    session.add(
        DraftSave(
            draft_id=draft.id,
            revision=draft.revision,
            saved_by_id=actor.id,
            action=action,
            path=path,
            new_path=new_path,
            data=data,
        )
    )
    record(
        session,
        "draft.saved",
        actor=actor,
        subject=draft,
        change=action,
        path=path,
        new_path=new_path,
        revision=draft.revision,
    )
    session.flush()


def text_path_problem(path: str) -> str | None:
    """Why ``path`` cannot be a text file of a course folder, or None."""
    if path in ("course.toml", "quiz.md") or MODULE_FILE.match(path):
        return None
    return "A course holds course.toml, quiz.md and modules named NN-name.md."


def save_text(
    session: Session, actor: User, draft: Draft, path: str, text: str, revision: int
) -> None:
    """Save the text of ``path`` (created if new)."""
    if (problem := text_path_problem(path)) is not None:
        raise DomainError(problem, status=404)
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode()
    limit = MAX_TOML_BYTES if path == "course.toml" else MAX_MARKDOWN_BYTES
    if len(data) > limit:
        raise DomainError(
            f"{path} would be {len(data):,} bytes; at most {limit:,} are allowed.", status=413
        )
    _put_file(session, actor, draft, path, data, revision)


def save_asset(
    session: Session, actor: User, draft: Draft, name: str, data: bytes, revision: int
) -> str:
    """Store a (cleaned) image as ``assets/NAME``, replacing one of that name."""
    path = f"assets/{name}"
    if not ASSET_NAME.match(name):
        raise DomainError("Image names are letters, digits and ._-, ending in .png, .jpg or .webp.")
    _put_file(session, actor, draft, path, data, revision)
    return path


def _put_file(session, actor, draft: Draft, path: str, data: bytes, revision: int) -> None:
    _claim(session, actor, draft, revision)
    current = next((f for f in draft.files if f.path == path), None)
    if current is None:
        draft.files.append(DraftFile(path=path, data=data))
    else:
        current.data = data
    _kept(session, actor, draft, "write", path, data=data)


def _module_paths(draft: Draft) -> list[str]:
    return sorted(f.path for f in draft.files if MODULE_FILE.match(f.path))


def _name_of(title: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-")
    if not name:
        raise DomainError("Give the module a title with letters or digits in it.", status=400)
    return name


def add_module(session: Session, actor: User, draft: Draft, title: str, revision: int) -> str:
    """Add a module after the last one, starting with its ``# Title``."""
    title = " ".join(title.split())
    numbers = [int(p[:2]) for p in _module_paths(draft)]
    number = max(numbers, default=0) + 1
    if number > 99:
        raise DomainError("A course has at most 99 modules.", status=409)
    path = f"{number:02d}-{_name_of(title)}.md"
    save_text(session, actor, draft, path, STARTER_MODULE.format(title=title), revision)
    return path


def rename_module(
    session: Session, actor: User, draft: Draft, path: str, name: str, revision: int
) -> str:
    """Give module ``path`` a new file name (its number stays)."""
    found = _file(draft, path)
    if not MODULE_FILE.match(path):
        raise DomainError("Only modules can be renamed.", status=400)
    new_path = f"{path[:2]}-{_name_of(name)}.md"
    if new_path == path:
        return path
    if any(f.path == new_path for f in draft.files):
        raise DomainError(f"{new_path} exists already.", status=409)
    _claim(session, actor, draft, revision)
    found.path = new_path
    _kept(session, actor, draft, "rename", path, new_path=new_path)
    return new_path


def move_module(
    session: Session, actor: User, draft: Draft, path: str, direction: str, revision: int
) -> None:
    """Swap module ``path`` with the one before (``up``) or after (``down``) it; the files
    are renumbered so the order stays the number order."""
    paths = _module_paths(draft)
    if path not in paths:
        raise DomainError("There is no such module in this draft.", status=404)
    index = paths.index(path)
    other_index = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other_index < len(paths):
        raise DomainError("That module cannot move further.", status=400)
    other = paths[other_index]
    _claim(session, actor, draft, revision)
    first, second = _file(draft, path), _file(draft, other)
    # Two modules may share a name ("01-intro.md", "02-intro.md"): swapping them in place
    # would put two files on one path for a moment, which the unique (draft, path) refuses.
    first.path = ".moving"
    session.flush()
    second.path = f"{path[:2]}{other[2:]}"
    session.flush()
    first.path = f"{other[:2]}{path[2:]}"
    _kept(session, actor, draft, "rename", path, new_path=first.path)
    _kept(session, actor, draft, "rename", other, new_path=second.path)


def delete_file(session: Session, actor: User, draft: Draft, path: str, revision: int) -> None:
    """Remove a module, the quiz or an image (course.toml stays)."""
    if path == "course.toml":
        raise DomainError("course.toml cannot be removed: every course needs it.", status=400)
    found = _file(draft, path)
    _claim(session, actor, draft, revision)
    draft.files.remove(found)
    _kept(session, actor, draft, "delete", path)


def _file(draft: Draft, path: str) -> DraftFile:
    found = next((f for f in draft.files if f.path == path), None)
    if found is None:
        raise DomainError("There is no such file in this draft.", status=404)
    return found
