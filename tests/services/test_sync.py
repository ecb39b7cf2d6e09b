"""Publishing courses: unchanged stays, changed gets a new immutable version, invalid writes
nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.content.loader import load_tree
from app.content.problems import ContentError
from app.content.sync import sync_courses
from app.content.versions import (
    find_asset,
    newest_version,
    newest_version_by_slug,
    newest_versions,
)
from app.errors import NotFound
from app.models import AuditEvent, Course, CourseVersion, Module

FLAGSHIP = "ai-in-the-contact-center"


def shipped(tree):
    """The course folders of a tree: every one is published on a first sync."""
    return [folder for folder in tree.iterdir() if (folder / "course.toml").exists()]


def versions(db, slug=FLAGSHIP):
    return db.scalars(
        select(CourseVersion).join(Course).where(Course.slug == slug).order_by(CourseVersion.number)
    ).all()


def test_first_sync_publishes_every_course_with_rendered_modules(db, course_tree):
    report = sync_courses(db, load_tree(course_tree))
    db.commit()
    assert f"{FLAGSHIP}: published version 1 (new course)" in report.lines
    (version,) = versions(db)
    assert version.title.startswith("AI in the contact centre")
    assert len(version.content_hash) == 64
    assert len(version.modules) >= 6
    assert all(m.html and "<script" not in m.html for m in version.modules)
    assert db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "course.version_published")
    ) == len(shipped(course_tree))


def test_unchanged_courses_keep_their_version(db, course_tree):
    sync_courses(db, load_tree(course_tree))
    db.commit()
    report = sync_courses(db, load_tree(course_tree))
    db.commit()
    assert f"{FLAGSHIP}: unchanged (version 1)" in report.lines
    assert len(versions(db)) == 1


def test_a_change_makes_a_new_version_and_leaves_the_old_one_intact(db, course_tree):
    sync_courses(db, load_tree(course_tree))
    db.commit()
    first = versions(db)[0]
    first_html = [m.html for m in first.modules]
    module = sorted((course_tree / FLAGSHIP).glob("01-*.md"))[0]
    module.write_text(module.read_text() + "\nOne more paragraph.\n")
    toml = course_tree / FLAGSHIP / "course.toml"
    toml.write_text(
        re.sub(r'(?m)^notes = ".*"$', 'notes = "Typo fixed."', toml.read_text()).replace(
            "material = true", "material = false"
        )
    )
    report = sync_courses(db, load_tree(course_tree))
    db.commit()
    assert f"{FLAGSHIP}: published version 2 (minor)" in report.lines
    old, new = versions(db)
    assert (old.number, new.number) == (1, 2)
    assert new.content_hash != old.content_hash
    assert new.release_notes == "Typo fixed." and new.material is False
    db.expire_all()
    assert [m.html for m in old.modules] == first_html
    assert "One more paragraph." in new.modules[0].html

    assert newest_version(db, new.course_id) == new
    assert newest_version_by_slug(db, FLAGSHIP) == new
    newest = {v.course_id: v for v in db.scalars(newest_versions())}
    assert newest[new.course_id] == new and len(newest) == len(shipped(course_tree))


def test_invalid_tree_writes_nothing(db, course_tree):
    (course_tree / FLAGSHIP / "99-broken.md").write_text("no title\n")
    with pytest.raises(ContentError) as error:
        sync_courses(db, load_tree(course_tree))
    db.rollback()
    assert f"{FLAGSHIP}/99-broken.md:1:" in error.value.message
    assert db.scalar(select(func.count()).select_from(Course)) == 0
    assert db.scalar(select(func.count()).select_from(Module)) == 0


def test_courses_missing_from_the_tree_are_left_alone(db, course_tree, tmp_path):
    sync_courses(db, load_tree(course_tree))
    db.commit()
    only = tmp_path / "only"
    only.mkdir()
    (course_tree / "ai-data-refresher").rename(only / "ai-data-refresher")
    report = sync_courses(db, load_tree(only))
    assert f"{FLAGSHIP}: not in the source tree; left as it is" in report.lines
    assert len(versions(db)) == 1


def test_course_assets_are_stored_with_the_version(db, course_tree):
    folder = course_tree / FLAGSHIP
    (folder / "assets").mkdir()
    (folder / "assets" / "call.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    module = sorted(folder.glob("01-*.md"))[0]
    module.write_text(module.read_text() + "\n![A phone call](assets/call.png)\n")
    sync_courses(db, load_tree(course_tree))
    db.commit()
    (version,) = versions(db)
    assert '<img alt="A phone call" src="assets/call.png">' in version.modules[0].html
    assert find_asset(db, FLAGSHIP, 1, "call.png").media_type == "image/png"
    for slug, number, name in (
        (FLAGSHIP, 1, "other.png"),
        (FLAGSHIP, 2, "call.png"),
        ("nothing", 1, "call.png"),
    ):
        with pytest.raises(NotFound, match="no such image"):
            find_asset(db, slug, number, name)
