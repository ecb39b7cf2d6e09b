"""Assessment pages: no answer key before submitting, feedback after, retakes, completion."""

from __future__ import annotations

import re

import pytest
from helpers import (
    attempt_pages,
    csrf_token,
    list_courses,
    page_statements,
    post,
    read_in_turn,
    statements_run,
)
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG
from sqlalchemy import func, select

from app.certificates.codes import grouped
from app.certificates.keyring import signing_key
from app.certificates.service import issuer_of
from app.content.sync import sync_courses
from app.models import AttemptAnswer, Certificate, Completion, Enrollment, QuizAttempt
from app.progress.reading import current_version, find_course

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
    read_in_turn(db, user, version.modules)
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
        # back to the conversation's own page
        assert re.fullmatch(rf"{attempt_url}/pages/\d+#unit-{CONVERSATION}", response.location)


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
    page = "".join(attempt_pages(client, url))
    for secret in (
        "approved tools were checked",
        "not an approved tool",
        "only where it may go",
        "Honest and respectful",
        "Score:",
        "correct",
    ):
        assert secret not in page
    assert "Is a robot listening?" in page
    converse(client, url)
    page = "".join(attempt_pages(client, url))
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
    # Straight on to the certificate it earned.
    certificate = db.scalar(select(Certificate))
    assert f'href="/certificates/{certificate.id}.pdf"' in page
    assert "Download your certificate (PDF)" in page
    assert f'href="/verify/{grouped(certificate.code)}"' in page
    assert "Completed" in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("answers", [RIGHT, WRONG], ids=["passing", "failing"])
def test_a_submission_reads_the_attempt_once_and_nothing_it_wrote(
    client, learner, app, db, answers
):
    """The attempt is read once, locked, with its version; what the submission writes (the
    attempt, the completion, the certificate, the audit events) is chained into the ledger
    without being read back."""
    signing_key(db, issuer_of(db).signer)  # recorded by the first certificate, once ever
    db.commit()
    url = start(client)
    converse(client, url)
    form = {**answers, "csrf_token": csrf_token(client)}
    with statements_run(app) as seen:
        assert client.post(f"{url}/submit", data=form).status_code == 303
    selects = [
        s.split("FROM", 1)[1].split()[0]
        for s in seen
        if s.lstrip().startswith("SELECT") and "FROM" in s
    ]
    assert selects.count("quiz_attempts") == 1, seen
    for written in ("completions", "certificates", "audit_events", "course_versions"):
        assert written not in selects, [s for s in seen if f"FROM {written}" in s]


def test_failing_shows_feedback_and_offers_a_retake_then_stops(client, learner):
    for number in (1, 2):
        url = start(client)
        converse(client, url, ("start.b",))
        assert submit(client, url, WRONG).status_code == 303
        page = client.get(url).get_data(as_text=True)
        assert f"Attempt {number}: not passed" in page
        assert "A chatbot is not an approved tool." in page  # feedback on the chosen option
        assert "Never deny that AI tools are in use." in page
    assert "You have no attempts left. HR can grant you another attempt: contact your HR" in page
    course_page = client.get(f"/courses/{SLUG}").get_data(as_text=True)
    assert "You have used all 2 attempts. HR can grant you another attempt" in course_page
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
    read_in_turn(db, learner, version.modules)
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
    # The summary takes the focus and leads to each question on its page.
    assert re.search(
        r'class="error-summary" role="alert" tabindex="-1" id="error-summary" autofocus', page
    )
    assert f'href="{url}/pages/1#q-{Q_PERSONAL}"' in page
    assert f'href="{url}/pages/2#q-{Q_SCREEN}"' in page
    # The answer sent with the final form was kept.
    first = client.get(f"{url}/pages/1").get_data(as_text=True)
    assert re.search(rf'value="2"\s+id="q-{re.escape(Q_PASTE)}-2" checked', first)


# --- pages, saved as the learner goes ------------------------------------------------------


def save(client, url, page, answers, go="next"):
    return client.post(
        f"{url}/pages/{page}", data={**answers, "go": go, "csrf_token": csrf_token(client)}
    )


def saved(db):
    db.rollback()  # see what the app committed
    return dict(db.execute(select(AttemptAnswer.question_id, AttemptAnswer.option_ids)).all())


def test_the_assessment_comes_in_numbered_pages_with_a_navigator(client, learner):
    url = start(client)
    page = client.get(url).get_data(as_text=True)  # a new attempt opens on its first page
    assert "Page 1 of 3." in page
    assert "Question 1 of 3" in page and "Question 2 of 3" in page
    assert Q_SCREEN not in page  # the scenario has a page of its own
    assert 'aria-label="Pages of the assessment"' in page
    assert re.search(
        r'name="go" value="1" class="nav-page" aria-label="Page 1, to do" aria-current="step">',
        page,
    )
    assert 'name="go" value="review"' in page
    second = client.get(f"{url}/pages/2").get_data(as_text=True)
    assert "Question 3 of 3" in second and "The shared screen" in second  # its own case
    third = client.get(f"{url}/pages/3").get_data(as_text=True)
    assert "Is a robot listening?" in third and 'name="choice"' in third
    assert client.get(f"{url}/pages/4").status_code == 404
    assert client.get(f"{url}/pages/0").status_code == 404


def test_each_page_is_saved_when_the_learner_moves_on(client, learner, db):
    url = start(client)
    response = save(client, url, 1, {Q_PASTE: "2", Q_PERSONAL: ["1", "2"]})
    assert response.status_code == 303 and response.location == f"{url}/pages/2"
    assert saved(db) == {
        Q_PASTE: [f"{Q_PASTE}.b"],
        Q_PERSONAL: [f"{Q_PERSONAL}.a", f"{Q_PERSONAL}.b"],
    }
    page = client.get(f"{url}/pages/1").get_data(as_text=True)
    assert re.search(rf'value="2"\s+id="q-{re.escape(Q_PASTE)}-2" checked', page)
    assert re.search(r'value="1" class="nav-page" aria-label="Page 1, done"', page)
    # Unticking a box and moving back: the page is saved as it now is.
    response = save(client, url, 1, {Q_PASTE: "2", Q_PERSONAL: "1"}, go="previous")
    assert response.location == f"{url}/pages/1"
    assert saved(db)[Q_PERSONAL] == [f"{Q_PERSONAL}.a"]
    response = save(client, url, 1, {Q_PASTE: "1"}, go="3")  # the navigator: straight to 3
    assert response.location == f"{url}/pages/3"
    assert set(saved(db)) == {Q_PASTE}
    review = client.get(f"{url}/review").get_data(as_text=True)  # the navigator's links there
    assert (
        '<li class="nav-partly">\n      <a class="nav-page" aria-label="Page 1, 1 of 2 answered" '
        f'href="{url}/pages/1">Page 1 <span class="nav-state">1 of 2 answered</span></a>'
    ) in review
    assert "3 pages still need an answer" in review
    assert save(client, url, 3, {}, go="review").location == f"{url}/review"
    assert save(client, url, 3, {}).location == f"{url}/review"  # after the last page
    # attempt.js saves a page as the learner ticks, and the page stays.
    assert save(client, url, 1, {Q_PASTE: "2"}, go="stay").status_code == 204
    assert saved(db)[Q_PASTE] == [f"{Q_PASTE}.b"]


def test_what_no_page_could_send_is_refused_and_nothing_saved(client, learner, db):
    url = start(client)
    assert save(client, url, 1, {Q_SCREEN: "1"}).status_code == 400  # not on this page
    assert save(client, url, 1, {Q_PASTE: ["1", "2"]}).status_code == 400  # one answer only
    assert save(client, url, 1, {Q_PASTE: "9"}).status_code == 400
    assert save(client, url, 1, {CONVERSATION: "1"}).status_code == 400
    assert save(client, url, 1, {Q_PASTE: "1"}, go="²").status_code == 400
    assert save(client, url, 1, {Q_PASTE: "1"}, go="7").status_code == 400
    assert saved(db) == {}


def test_a_learner_who_leaves_resumes_where_they_were_with_every_answer(client, learner, db):
    from helpers import login

    url = start(client)
    save(client, url, 1, {Q_PASTE: "2", Q_PERSONAL: ["1", "2"]})
    assert post(client, "/logout").status_code == 303  # or the session ends, or the tab closes
    login(client, learner)
    course = client.get(f"/courses/{SLUG}").get_data(as_text=True)
    assert "Continue the assessment" in course
    resumed = start(client)  # the course page's button leads back to the same attempt
    assert resumed == url
    page = client.get(url).get_data(as_text=True)
    assert "Page 2 of 3." in page  # the first page not yet answered
    save(client, url, 2, {Q_SCREEN: "2"})
    converse(client, url)
    page = client.get(url).get_data(as_text=True)
    assert "review and submit" in page and "Every question has an answer." in page
    # Graded once, on the answers saved as the learner went.
    assert submit(client, url, {}).status_code == 303
    assert db.scalar(select(QuizAttempt.percent)) == 100
    assert save(client, url, 1, {Q_PASTE: "1"}).status_code == 409  # final once submitted
    assert client.get(f"{url}/pages/1").location == url
    assert client.get(f"{url}/review").location == url


def test_every_page_costs_the_same_queries(client, learner, app):
    url = start(client)

    def queries(path) -> int:
        return page_statements(app, client, path)

    pages = (url, f"{url}/pages/1", f"{url}/pages/2", f"{url}/pages/3", f"{url}/review")
    counts = [queries(path) for path in pages]
    save(client, url, 1, {Q_PASTE: "2", Q_PERSONAL: ["1", "2"]})
    save(client, url, 2, {Q_SCREEN: "2"})
    counts += [queries(path) for path in pages]
    converse(client, url, ("start.b",))
    assert submit(client, url, WRONG).status_code == 303
    second = start(client)  # a second attempt, after a failed one
    counts += [queries(path.replace(url, second)) for path in pages]
    # The account; the attempt with its version's key; its saved answers (the version and its
    # quiz come from the process's cache), whatever is answered and however many attempts.
    assert counts == [3] * len(counts), counts


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


def test_the_result_teaches_scenario_by_scenario_and_option_by_option(client, learner):
    url = start(client)
    converse(client, url, ("start.b",))
    # Two boxes ticked on the multiple-answer question: one right, one wrong.
    submit(client, url, {Q_PASTE: "2", Q_PERSONAL: ["1", "3"], Q_SCREEN: "1"})
    page = client.get(url).get_data(as_text=True)
    # The scenario's title, in its own case, and its stem, before its question.
    title = page.index("The shared screen")
    assert (
        title
        < page.index("A colleague wants to photograph your screen.")
        < page.index("What do you say?")
    )
    personal = page[page.index("Which of these are personal data?") :]
    personal = personal[: personal.index("</section>")]
    assert personal.count("Right to tick.") == 1 and personal.count("Not right to tick.") == 1
    # The customer's reaction is called what it is; no "Then".
    assert "The customer’s reaction" in page and ">Then<" not in page


def test_the_course_page_costs_the_same_statements_whatever_the_attempts_and_courses(
    client, learner, app, db, synced, make_user
):
    from helpers import login

    def statements(path) -> int:
        return page_statements(app, client, path, warm=True)

    course = f"/courses/{SLUG}"
    counts = [statements(course)]  # every module read, no attempt yet
    url = start(client)
    counts.append(statements(course))  # one attempt open
    converse(client, url, ("start.b",))
    assert submit(client, url, WRONG).status_code == 303
    counts.append(statements(course))  # one failed
    url = start(client)
    counts.append(statements(course))  # one failed, one open
    converse(client, url, ("start.b",))
    assert submit(client, url, WRONG).status_code == 303
    page = client.get(course).get_data(as_text=True)
    assert "You have used all 2 attempts" in page and page.count("not passed") == 2
    counts.append(statements(course))  # two failed, none left
    # The account; the course, the learner's enrolment, the version read and their reads of
    # it; the attempts of the cycle. The shipped courses are there too (several, of 1 to 6
    # modules): a course page reads its own course only.
    assert counts == [3] * 5, counts
    login(client, make_user())
    assert {statements(f"/courses/{slug}") for slug in (SLUG, "ai-in-the-contact-center")} == {2}
