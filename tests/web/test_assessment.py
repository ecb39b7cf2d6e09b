"""Assessment pages: no answer key before submitting, feedback after, retakes, completion."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import csrf_token, list_courses, post
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG
from sqlalchemy import func, select

from app.content.sync import sync_courses
from app.db import utcnow
from app.models import Completion, Enrollment, QuizAttempt
from app.progress.reading import current_version, find_course, mark_read

# The form sends option positions as shown (the quiz course does not shuffle).
RIGHT = {Q_PASTE: "2", Q_PERSONAL: ["1", "2"], Q_SCREEN: "2"}
WRONG = {Q_PASTE: "1", Q_PERSONAL: "3", Q_SCREEN: "1"}
CHOICES = {"start.a": "1", "start.b": "2", "opt-out.a": "1", "opt-out.b": "2"}


@pytest.fixture
def learner(db, quiz_demo, signed_in):
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()
    user = signed_in()
    version = current_version(db, user, find_course(db, SLUG))
    for module in version.modules:
        mark_read(db, user, module, opened_at=utcnow() - timedelta(minutes=5))
    db.commit()
    return user


def start(client):
    response = post(client, f"/courses/{SLUG}/assessment")
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.location


def converse(client, attempt_url, choices=("start.a", "opt-out.a")):
    for choice in choices:
        response = post(
            client, f"{attempt_url}/conversations/{CONVERSATION}", {"choice": CHOICES[choice]}
        )
        assert response.status_code == 303
        assert response.location == f"{attempt_url}#unit-{CONVERSATION}"


def submit(client, attempt_url, answers):
    return client.post(f"{attempt_url}/submit", data={**answers, "csrf_token": csrf_token(client)})


def test_course_page_offers_the_assessment_after_reading(client, learner):
    page = client.get(f"/courses/{SLUG}").get_data(as_text=True)
    assert "Take the assessment" in page and "2 attempts left" in page


def test_the_assessment_is_locked_until_every_module_is_read(client, db, quiz_demo, signed_in):
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()
    signed_in()
    assert "opens once you have read every module" in client.get(f"/courses/{SLUG}").get_data(
        as_text=True
    )
    response = post(client, f"/courses/{SLUG}/assessment")
    assert response.status_code == 409
    assert db.scalar(select(func.count()).select_from(QuizAttempt)) == 0


def test_the_answer_key_never_reaches_the_browser_before_submitting(client, learner):
    url = start(client)
    page = client.get(url).get_data(as_text=True)
    for secret in (
        "approved tools were checked",
        "not an approved tool",
        "only where it may go",
        "Honest and respectful",
        "Score:",
        "correct",
    ):
        assert secret not in page
    assert "Is a robot listening?" in page and "The other questions follow" in page
    converse(client, url)
    page = client.get(url).get_data(as_text=True)
    assert "Can I opt out?" in page  # the customer's reaction to a choice made
    assert "Honest and respectful" not in page  # the outcome waits for the result
    assert re.search(
        r"<legend>Where may you paste a customer\S{1,5}s order history\?</legend>", page
    )
    assert page.count('type="radio"') == 4 and page.count('type="checkbox"') == 3
    assert f"{Q_PASTE}.a" not in page and f"{Q_PASTE}.b" not in page  # ids show authored order


def test_passing_shows_the_result_and_completes_the_course(client, learner, db):
    url = start(client)
    converse(client, url)
    response = submit(client, url, RIGHT)
    assert response.status_code == 303 and response.location == url
    page = client.get(url).get_data(as_text=True)
    assert "passed" in page and "100%" in page and "You have completed this course." in page
    assert "Right: approved tools were checked." in page
    assert "Honest and respectful." in page
    assert db.scalar(select(func.count()).select_from(Completion)) == 1
    assert "Completed" in client.get("/dashboard").get_data(as_text=True)


def test_failing_shows_feedback_and_offers_a_retake_then_stops(client, learner):
    for number in (1, 2):
        url = start(client)
        converse(client, url, ("start.b",))
        assert submit(client, url, WRONG).status_code == 303
        page = client.get(url).get_data(as_text=True)
        assert f"Attempt {number}: not passed" in page
        assert "A chatbot is not an approved tool." in page  # feedback on the chosen option
        assert "Never deny that AI tools are in use." in page
    assert "You have no attempts left. Contact your HR team or trainer" in page
    course_page = client.get(f"/courses/{SLUG}").get_data(as_text=True)
    assert "You have used all 2 attempts" in course_page
    assert post(client, f"/courses/{SLUG}/assessment").status_code == 409


def test_an_attempt_from_an_earlier_cycle_offers_no_retake(client, learner, db):
    failed = start(client)
    converse(client, failed, ("start.b",))
    submit(client, failed, WRONG)
    assert "Take the assessment again" in client.get(failed).get_data(as_text=True)
    passed = start(client)
    converse(client, passed)
    submit(client, passed, RIGHT)

    # What a renewal or a retraining does: a new cycle, read again from the start.
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == learner.id))
    enrollment.cycle += 1
    enrollment.version_id = enrollment.started_at = enrollment.completed_at = None
    db.commit()
    version = current_version(db, learner, find_course(db, SLUG))
    for module in version.modules:
        mark_read(db, learner, module, opened_at=utcnow() - timedelta(minutes=5))
    db.commit()

    assert "2 attempts left" in client.get(f"/courses/{SLUG}").get_data(as_text=True)
    page = client.get(failed).get_data(as_text=True)
    assert "Attempt 1: not passed" in page
    assert "Take the assessment again" not in page
    assert "no attempts left" not in page  # the learner has 2 in the new round
    assert "belongs to an earlier round of this training" in page
    assert "Correct answer" in page  # no retake from here, so the right answers are shown


def test_unanswered_questions_are_announced_and_answers_kept(client, learner):
    url = start(client)
    converse(client, url)
    response = submit(client, url, {Q_PASTE: "2"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page and "2 questions still need an answer." in page
    assert f'href="#q-{Q_PERSONAL}"' in page
    assert re.search(rf'value="2"\s+id="q-{re.escape(Q_PASTE)}-2" checked', page)


def test_tampered_submissions_are_refused(client, learner, db):
    url = start(client)
    converse(client, url)
    assert submit(client, url, {**RIGHT, "score": "100"}).status_code == 400
    assert submit(client, url, {**RIGHT, Q_PASTE: f"{Q_SCREEN}.b"}).status_code == 400
    assert submit(client, url, {**RIGHT, Q_PASTE: "9"}).status_code == 400
    assert submit(client, url, {**RIGHT, Q_PASTE: ["1", "2"]}).status_code == 400
    assert post(client, f"{url}/conversations/{CONVERSATION}", {"choice": "7"}).status_code == 400
    assert db.scalar(select(QuizAttempt.status)) == "in_progress"


def test_double_submission_gives_one_result(client, learner, db):
    url = start(client)
    converse(client, url)
    assert submit(client, url, RIGHT).status_code == 303
    assert submit(client, url, WRONG).status_code == 303  # the back button, resubmitted
    assert db.scalar(select(QuizAttempt.percent)) == 100
    assert db.scalar(select(func.count()).select_from(Completion)) == 1


def test_other_learners_cannot_see_or_answer_an_attempt(client, learner, app, make_user):
    url = start(client)
    other = app.test_client()
    from helpers import login

    login(other, make_user())
    assert other.get(url).status_code == 404
    assert post(other, f"{url}/submit", RIGHT).status_code == 404
    assert post(other, f"{url}/conversations/{CONVERSATION}", {"choice": "1"}).status_code == 404
    assert other.get("/attempts/999999").status_code == 404


def test_past_attempts_are_listed_for_review(client, learner):
    url = start(client)
    converse(client, url, ("start.b",))
    submit(client, url, WRONG)
    page = client.get(f"/courses/{SLUG}").get_data(as_text=True)
    assert f'href="{url}">Attempt 1</a>: 0%, not passed' in page
