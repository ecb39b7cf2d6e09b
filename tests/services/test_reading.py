"""Reading a course: version pinning, min_minutes, progress kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import list_courses
from sqlalchemy import select

from app.content.loader import load_tree
from app.content.sync import sync_courses
from app.db import utcnow
from app.errors import NotFound
from app.models import Enrollment, ModuleProgress
from app.progress.reading import (
    TooEarly,
    current_version,
    find_course,
    find_module,
    list_course_cards,
    mark_read,
    module_page,
)

FLAGSHIP = "ai-in-the-contact-center"


def first_module(db, user):
    version = current_version(db, user, find_course(db, FLAGSHIP))
    return version.modules[0]


def test_dashboard_lists_every_course_not_started(db, make_user, synced, shipped_courses):
    user = make_user()
    cards = {c.slug: c for c in list_course_cards(db, user)}
    assert (
        set(cards) == {c.slug for c in shipped_courses.courses} >= {FLAGSHIP, "ai-data-refresher"}
    )
    assert cards[FLAGSHIP].status == "Not started" and cards[FLAGSHIP].modules_read == 0


def test_marking_read_pins_the_version_and_counts_progress(db, make_user, synced):
    user = make_user()
    module = first_module(db, user)
    now = utcnow()
    mark_read(db, user, module, opened_at=now - timedelta(minutes=10), now=now)
    db.commit()
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == user.id))
    assert enrollment.version_id == module.version_id and enrollment.started_at == now
    progress = db.scalar(select(ModuleProgress).where(ModuleProgress.user_id == user.id))
    assert progress.completed_at == now and progress.seconds_spent == 600
    card = {c.slug: c for c in list_course_cards(db, user)}[FLAGSHIP]
    assert card.status == "In progress" and card.modules_read == 1


def test_marking_read_twice_changes_nothing(db, make_user, synced):
    user = make_user()
    module = first_module(db, user)
    now = utcnow()
    mark_read(db, user, module, opened_at=now - timedelta(minutes=10), now=now)
    again = mark_read(db, user, module, opened_at=now, now=now + timedelta(hours=1))
    assert again.completed_at == now


def test_min_minutes_is_enforced(db, make_user, synced):
    user = make_user()
    version = current_version(db, user, find_course(db, FLAGSHIP))
    module = next(m for m in version.modules if m.min_minutes)
    now = utcnow()
    with pytest.raises(TooEarly, match=f"at least {module.min_minutes} minutes"):
        mark_read(db, user, module, opened_at=now - timedelta(seconds=30), now=now)
    db.rollback()
    assert db.scalar(select(ModuleProgress)) is None  # the caller did not commit the opening
    mark_read(db, user, module, opened_at=now - timedelta(minutes=module.min_minutes), now=now)


def test_an_early_click_keeps_the_opening_and_pins_nothing(db, make_user, synced):
    user = make_user()
    version = current_version(db, user, find_course(db, FLAGSHIP))
    module = next(m for m in version.modules if m.min_minutes)
    opened = utcnow()
    with pytest.raises(TooEarly) as refused:
        mark_read(db, user, module, opened_at=opened, now=opened + timedelta(seconds=30))
    assert refused.value.ready_at == opened + timedelta(minutes=module.min_minutes)
    db.commit()  # as the view does: the opening is kept
    assert db.scalar(select(Enrollment).where(Enrollment.user_id == user.id)) is None
    # A reload serves a later opening; the clock still runs from the first.
    ready = opened + timedelta(minutes=module.min_minutes)
    page = module_page(db, user.id, FLAGSHIP, version.number, module.stem)
    assert page.read_at is None and page.kept_opening == opened
    clock = page.clock(opened_at=ready, now=ready)
    assert clock.opened_at == opened and not clock.remaining
    progress = mark_read(db, user, module, opened_at=ready, now=ready)
    assert progress.completed_at == ready and progress.seconds_spent == module.min_minutes * 60


def test_modules_opened_side_by_side_count_their_reading_time_once(db, make_user, synced):
    user = make_user()
    version = current_version(db, user, find_course(db, FLAGSHIP))
    timed = [m for m in version.modules if m.min_minutes]
    assert len(timed) >= 2
    longest = max(m.min_minutes for m in timed)
    opened = utcnow() - timedelta(hours=2)  # every module opened at once, in its own tab
    now = opened + timedelta(minutes=longest)
    mark_read(db, user, timed[0], opened_at=opened, now=now)
    db.commit()
    page = module_page(db, user.id, FLAGSHIP, version.number, timed[1].stem)
    assert page.last_finished == now and page.read_at is None
    assert page.clock(opened, now=now).counted_from == now  # not from its own opening
    with pytest.raises(TooEarly, match=f"at least {timed[1].min_minutes} minutes"):
        mark_read(db, user, timed[1], opened_at=opened, now=now + timedelta(seconds=5))
    db.rollback()
    later = now + timedelta(minutes=timed[1].min_minutes)  # its own minutes, after the first
    progress = mark_read(db, user, timed[1], opened_at=opened, now=later)
    assert progress.seconds_spent == timed[1].min_minutes * 60


def test_a_started_learner_stays_on_their_version(db, make_user, synced, course_tree):
    user = make_user()
    newcomer = make_user()
    module = first_module(db, user)
    mark_read(db, user, module, opened_at=utcnow() - timedelta(minutes=5))
    db.commit()
    path = sorted((course_tree / FLAGSHIP).glob("02-*.md"))[0]
    path.write_text(path.read_text() + "\nNew advice.\n")
    sync_courses(db, load_tree(course_tree))
    list_courses(db)
    db.commit()
    course = find_course(db, FLAGSHIP)
    assert current_version(db, user, course).number == 1
    assert current_version(db, newcomer, course).number == 2
    for who, other_number in ((user, 2), (newcomer, 1)):
        with pytest.raises(NotFound, match="not the one you are on"):
            find_module(db, who, FLAGSHIP, other_number, module.stem)
        with pytest.raises(NotFound, match="not the one you are on"):
            module_page(db, who.id, FLAGSHIP, other_number, module.stem)
    assert module_page(db, user.id, FLAGSHIP, 1, module.stem).read_at is not None
    newest = module_page(db, newcomer.id, FLAGSHIP, 2, path.stem)
    assert "New advice." in newest.module.html and newest.read_at is None
    assert "New advice." not in module_page(db, user.id, FLAGSHIP, 1, path.stem).module.html


def test_reads_of_an_earlier_cycle_do_not_count_after_renewal(db, make_user, synced):
    from sqlalchemy import update

    from app.progress.standing import course_standing

    user = make_user()
    version = current_version(db, user, find_course(db, FLAGSHIP))
    long_ago = utcnow() - timedelta(days=400)
    mark_read(
        db, user, version.modules[0], opened_at=long_ago - timedelta(minutes=10), now=long_ago
    )
    db.commit()
    db.execute(
        update(Enrollment).values(cycle=2, version_id=None, started_at=None, completed_at=None)
    )
    db.commit()
    db.expire_all()
    assert course_standing(db, user.id, FLAGSHIP).read_at == {}
    stem = version.modules[0].stem
    assert module_page(db, user.id, FLAGSHIP, version.number, stem).read_at is None
    card = {c.slug: c for c in list_course_cards(db, user)}[FLAGSHIP]
    assert card.modules_read == 0
    again = mark_read(db, user, version.modules[0], opened_at=utcnow() - timedelta(minutes=10))
    assert again.completed_at > long_ago
    assert list(course_standing(db, user.id, FLAGSHIP).read_at) == [version.modules[0].id]
    db.commit()
    page = module_page(db, user.id, FLAGSHIP, version.number, stem)
    assert page.read_at == again.completed_at
