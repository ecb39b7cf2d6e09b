"""The trainer studio's pages: the courses overview and visibility."""

from __future__ import annotations

from datetime import timedelta

from helpers import login, post
from sqlalchemy import select

from app.content.loader import load_tree
from app.content.sync import sync_courses
from app.db import utcnow
from app.models import AuditEvent, Course, Role, Visibility
from app.progress.reading import current_version, find_course, mark_read

REFRESHER = "ai-data-refresher"


def test_the_overview_shows_every_course_in_aggregates(app, client, db, synced, make_user):
    learner = make_user(name="Private Person")
    course = find_course(db, REFRESHER)
    mark_read(
        db, learner, current_version(db, learner, course).modules[0], utcnow() - timedelta(hours=1)
    )
    db.commit()
    login(client, make_user(roles={Role.TRAINER}))
    page = client.get("/author/courses").get_data(as_text=True)
    assert "Customer data and AI tools: a ten-minute refresher" in page
    assert "files (courses/)" in page and "published, listed" in page
    assert "v1: 1" in page  # one learner in progress on version 1
    assert "Private Person" not in page  # aggregates only


def test_a_trainer_lists_a_new_course_and_learners_see_it(app, client, db, course_tree, make_user):
    sync_courses(db, load_tree(course_tree))
    db.commit()
    trainer = make_user(roles={Role.TRAINER})
    learner_client = app.test_client()
    login(learner_client, make_user())
    assert REFRESHER not in learner_client.get("/dashboard").get_data(as_text=True)
    assert learner_client.get(f"/courses/{REFRESHER}").status_code == 404
    login(client, trainer)
    assert "hidden" in client.get("/author/courses").get_data(as_text=True)
    response = post(client, f"/author/courses/{REFRESHER}/visibility", {"visibility": "listed"})
    assert response.status_code == 303
    assert "is now listed" in client.get("/author/courses").get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(Course).where(Course.slug == REFRESHER)).visibility is Visibility.LISTED
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "course.visibility_changed"))
    assert event.actor_id == trainer.id
    dashboard = learner_client.get("/dashboard").get_data(as_text=True)
    assert "Customer data and AI tools: a ten-minute refresher" in dashboard
    assert learner_client.get(f"/courses/{REFRESHER}").status_code == 200


def test_a_bad_visibility_is_a_clear_400(client, db, synced, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    response = post(client, f"/author/courses/{REFRESHER}/visibility", {"visibility": "public"})
    assert response.status_code == 400
    assert "Choose hidden, listed or retired." in response.get_data(as_text=True)
