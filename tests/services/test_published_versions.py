"""The process's cache of published versions: read once, keyed by id and content hash,
bounded; a session without one reads afresh."""

from __future__ import annotations

import pytest
from helpers import statements_run
from sqlalchemy import select

from app.content.published import SESSION_KEY, PublishedVersions, published_version
from app.errors import NotFound
from app.models import CourseVersion


def versions(db) -> list[CourseVersion]:
    return list(db.scalars(select(CourseVersion).order_by(CourseVersion.id)))


def test_a_version_is_read_once_then_served_from_the_cache(db, synced):
    first = versions(db)[0]
    engine = db.get_bind()
    with statements_run(engine) as seen:
        read = published_version(db, first.id, first.content_hash)
    assert len(seen) == 2  # the version and its modules
    with statements_run(engine) as seen:
        again = published_version(db, first.id, first.content_hash)
    assert again is read and seen == []
    assert (read.number, read.title) == (first.number, first.title)
    assert [m.stem for m in read.modules] == [m.stem for m in first.modules]
    assert [m.html for m in read.modules] == [m.html for m in first.modules]
    assert read.module(first.modules[-1].stem).id == first.modules[-1].id
    assert read.module("no-such-module") is None


def test_the_key_is_the_content_hash_too(db, synced):
    first = versions(db)[0]
    with pytest.raises(NotFound):
        published_version(db, first.id, "0" * 64)


def test_the_cache_keeps_the_most_recently_used_versions_only(db, synced):
    first, second, third = versions(db)[:3]
    cache = PublishedVersions(size=2)
    a = cache.get(db, first.id, first.content_hash)
    cache.get(db, second.id, second.content_hash)
    assert cache.get(db, first.id, first.content_hash) is a  # used again: kept
    cache.get(db, third.id, third.content_hash)  # the second, least recently used, goes
    with statements_run(db.get_bind()) as seen:
        assert cache.get(db, first.id, first.content_hash) is a
    assert seen == []
    with statements_run(db.get_bind()) as seen:
        cache.get(db, second.id, second.content_hash)
    assert len(seen) == 2


def test_a_session_without_a_cache_reads_afresh(db, synced):
    first = versions(db)[0]
    db.info.pop(SESSION_KEY)
    with statements_run(db.get_bind()) as seen:
        published_version(db, first.id, first.content_hash)
        published_version(db, first.id, first.content_hash)
    assert len(seen) == 4


def test_a_quiz_is_parsed_once_and_shared(db, synced):
    from app.quizzes.standing import quiz_of

    with_quiz = next(v for v in versions(db) if v.quiz is not None)
    db.expire(with_quiz, ["quiz"])  # as a page finds it: the stored JSON not loaded
    first = quiz_of(with_quiz)
    db.expire(with_quiz, ["quiz"])
    with statements_run(db.get_bind()) as seen:
        assert quiz_of(with_quiz) is first
    assert seen == []  # neither loaded nor parsed again


def test_a_version_without_an_assessment_has_no_quiz(db, refresher_without_quiz):
    from app.content.sync import sync_courses
    from app.quizzes.standing import quiz_of

    sync_courses(db, refresher_without_quiz)
    db.commit()
    [version] = [v for v in versions(db) if v.quiz is None]
    assert quiz_of(version) is None
    assert quiz_of(version) is None  # and remembered as such
