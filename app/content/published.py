"""Published versions as plain values, kept per process.

A published version never changes once written (``CourseVersion``), so what a reader's page
shows of it (its number and title, its modules and their rendered HTML, its parsed quiz) is
read from the database once per process and kept, keyed by the version's id *and* content
hash: a key that cannot name other content, even if a version were deleted and its id taken
again. The cache is bounded (least recently used versions go first) and safe to share between
threads. Beside the versions it keeps values computed from published content alone (an
attempt's pages, from its version's quiz and its plan), keyed by all of that content.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, object_session

from app.content.quiz.model import Quiz
from app.errors import NotFound
from app.models import Course, CourseVersion, Module

CACHE_SIZE = 64  # versions; a course's HTML is tens of kilobytes
DERIVED_SIZE = 1024  # derived values (an attempt's pages: a few kilobytes of small objects)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


@dataclass(frozen=True)
class CourseRef:
    slug: str


@dataclass(frozen=True)
class PublishedModule:
    id: int
    position: int
    stem: str
    title: str
    html: str
    min_minutes: int


@dataclass(frozen=True)
class PublishedVersion:
    """What the learner's pages read of a version (the names of ``CourseVersion``'s, so a
    page's template renders either), with its quiz parsed (None: no assessment)."""

    id: int
    number: int
    title: str
    summary: str
    estimated_minutes: int
    content_hash: str
    course: CourseRef
    modules: tuple[PublishedModule, ...]
    published_at: datetime
    release_notes: str
    pass_mark: int
    max_attempts: int
    quiz: Quiz | None

    def module(self, stem: str) -> PublishedModule | None:
        return next((m for m in self.modules if m.stem == stem), None)


class _Kept(Generic[K, V]):
    """A bounded map, least recently used first out, safe to share between threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        made = make()  # outside the lock: two threads may both make it, one is kept
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return made


class PublishedVersions:
    """A process's cache of published versions: the app makes one, and its sessions carry it
    in ``session.info`` (see ``db.init_app``), so each test's app starts with an empty one.
    Beside them, values derived from published content alone (``derived``)."""

    def __init__(self, size: int = CACHE_SIZE, derived_size: int = DERIVED_SIZE) -> None:
        self._versions: _Kept[tuple[int, str], PublishedVersion] = _Kept(size)
        self._derived: _Kept[Hashable, Any] = _Kept(derived_size)

    def get(
        self, bind: Session | Connection, version_id: int, content_hash: str
    ) -> PublishedVersion:
        return self._versions.get(
            (version_id, content_hash), lambda: _read(bind, version_id, content_hash)
        )

    def derived(self, key: Hashable, make: Callable[[], T]) -> T:
        """What ``make`` computes from published content alone, made once and kept: ``key``
        must name everything it depends on (a version's id and hash, an attempt's plan...)."""
        return cast(T, self._derived.get(key, make))


SESSION_KEY = "published_versions"


def published_version(
    bind: Session | Connection, version_id: int, content_hash: str
) -> PublishedVersion:
    """The version ``version_id`` (whose content hash is ``content_hash``): from the cache the
    session or connection carries (``db.init_app``), reading it (two statements) and parsing
    its quiz the first time; read afresh when it carries none (a script's own session)."""
    versions = bind.info.get(SESSION_KEY)
    if versions is None:
        return _read(bind, version_id, content_hash)
    return versions.get(bind, version_id, content_hash)


def derived(bind: Session | Connection, key: Hashable, make: Callable[[], T]) -> T:
    """``PublishedVersions.derived`` of the cache the session or connection carries; made
    afresh when it carries none."""
    versions = bind.info.get(SESSION_KEY)
    return make() if versions is None else versions.derived(key, make)


def published_quiz(version: CourseVersion) -> Quiz | None:
    """The quiz of ``version`` (None if it has no assessment), from the cache its session
    carries (so its stored JSON is neither loaded nor parsed again); parsed afresh for a
    version outside such a session (a preview's)."""
    session = object_session(version)
    versions = session.info.get(SESSION_KEY) if session is not None else None
    if session is None or versions is None or version.id is None:
        return _parse_quiz(version.quiz)
    return versions.get(session, version.id, version.content_hash).quiz


def _parse_quiz(data: dict | None) -> Quiz | None:
    return Quiz.from_dict(data) if data is not None else None


def _read(bind: Session | Connection, version_id: int, content_hash: str) -> PublishedVersion:
    version = bind.execute(
        select(
            CourseVersion.number,
            CourseVersion.title,
            CourseVersion.summary,
            CourseVersion.estimated_minutes,
            CourseVersion.published_at,
            CourseVersion.release_notes,
            CourseVersion.pass_mark,
            CourseVersion.max_attempts,
            CourseVersion.quiz,
            Course.slug,
        )
        .join(Course, Course.id == CourseVersion.course_id)
        .where(CourseVersion.id == version_id, CourseVersion.content_hash == content_hash)
    ).one_or_none()
    if version is None:
        raise NotFound("There is no such version of the course.")
    modules = bind.execute(
        select(
            Module.id, Module.position, Module.stem, Module.title, Module.html, Module.min_minutes
        )
        .where(Module.version_id == version_id)
        .order_by(Module.position)
    ).all()
    return PublishedVersion(
        id=version_id,
        number=version.number,
        title=version.title,
        summary=version.summary,
        estimated_minutes=version.estimated_minutes,
        content_hash=content_hash,
        course=CourseRef(version.slug),
        modules=tuple(PublishedModule(*row) for row in modules),
        published_at=version.published_at,
        release_notes=version.release_notes,
        pass_mark=version.pass_mark,
        max_attempts=version.max_attempts,
        quiz=_parse_quiz(version.quiz),
    )
