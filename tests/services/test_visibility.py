"""Who sees a course (hidden, listed, retired), and files versus studio: sync never overwrites a
studio course unless told to take it over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.authoring.visibility import set_visibility
from app.content.loader import load_tree
from app.content.sync import StudioManaged, sync_courses
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.models import AuditEvent, Course, CourseVersion, Enrollment, Management, Role, Visibility
from app.progress.reading import current_version, find_course, list_course_cards, mark_read
from app.training.assignments import assign

REFRESHER = "ai-data-refresher"


@pytest.fixture
def published(db, course_tree):
    sync_courses(db, load_tree(course_tree))
    db.commit()
    return find_course(db, REFRESHER)


def slugs(db, user):
    return [card.slug for card in list_course_cards(db, user)]


def test_a_new_course_is_hidden_until_listed(db, published, make_user):
    assert published.visibility is Visibility.HIDDEN
    learner = make_user()
    assert slugs(db, learner) == []
    with pytest.raises(NotFound):
        current_version(db, learner, published)
    trainer = make_user(roles={Role.TRAINER})
    assert set_visibility(db, trainer, published, "listed") is True
    db.commit()
    assert REFRESHER in slugs(db, learner)
    assert current_version(db, learner, published).number == 1
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "course.visibility_changed"))
    assert event.actor_id == trainer.id
    assert event.details == {"before": "hidden", "after": "listed"}


def test_a_hidden_course_is_seen_by_the_learners_it_is_assigned_to(db, published, make_user):
    hr, assigned, other = make_user(roles={Role.HR}), make_user(), make_user()
    assign(db, hr, published, "people", user_ids=[assigned.id], due_days=30)
    db.commit()
    assert slugs(db, assigned) == [REFRESHER]
    assert slugs(db, other) == []


def test_a_retired_course_takes_no_new_starts_but_keeps_those_begun(db, published, make_user):
    trainer, hr = make_user(roles={Role.TRAINER}), make_user(roles={Role.HR})
    set_visibility(db, trainer, published, "listed")
    started, newcomer = make_user(), make_user()
    first = current_version(db, started, published).modules[0]
    mark_read(db, started, first, opened_at=utcnow() - timedelta(minutes=30))
    set_visibility(db, trainer, published, "retired")
    db.commit()
    assert slugs(db, started) == [REFRESHER]
    assert current_version(db, started, published).number == 1
    assert slugs(db, newcomer) == []
    with pytest.raises(NotFound, match="retired"):
        current_version(db, newcomer, published)
    with pytest.raises(DomainError, match="retired"):
        assign(db, hr, published, "everyone", due_days=30)
    assert db.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_an_unknown_visibility_is_refused(db, published, make_user):
    with pytest.raises(DomainError, match="hidden, listed or retired"):
        set_visibility(db, make_user(roles={Role.TRAINER}), published, "public")


def test_sync_refuses_a_studio_course_and_writes_nothing(db, published, course_tree):
    published.managed_by = Management.STUDIO
    db.commit()
    before = db.scalar(select(func.count()).select_from(CourseVersion))
    module = next((course_tree / REFRESHER).glob("01-*.md"))
    module.write_text(module.read_text() + "\nA change.\n")
    with pytest.raises(StudioManaged) as refused:
        sync_courses(db, load_tree(course_tree))
    db.rollback()
    assert refused.value.slugs == [REFRESHER]
    assert REFRESHER in refused.value.message and "--take-over" in refused.value.message
    assert db.scalar(select(func.count()).select_from(CourseVersion)) == before


def test_sync_takes_a_studio_course_over_when_told(db, published, course_tree):
    published.managed_by = Management.STUDIO
    db.commit()
    module = next((course_tree / REFRESHER).glob("01-*.md"))
    module.write_text(module.read_text() + "\nA change.\n")
    report = sync_courses(db, load_tree(course_tree), take_over=[REFRESHER])
    db.commit()
    assert f"{REFRESHER}: taken over from the studio; managed from files now" in report.lines
    assert f"{REFRESHER}: published version 2 (material change: earlier holders must retrain)" in (
        report.lines
    )
    assert db.get(Course, published.id).managed_by is Management.FILES
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "course.taken_over"))
