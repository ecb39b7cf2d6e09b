"""Must-pass items in the shipped courses: a learner who misleads the customer or ignores an
opt-out fails, whatever the score, and the result page says why; one who recovers passes."""

from __future__ import annotations

import pytest
from helpers import attempt_pages, csrf_token, login, post, read_in_turn
from sqlalchemy import func, select

from app.content.quiz import Question, Quiz, Scenario
from app.models import AuditEvent, Completion, QuizAttempt, Role
from app.progress.reading import current_version, find_course
from app.quizzes.grading import AttemptPlan

FLAGSHIP = "ai-in-the-contact-center"
REFRESHER = "ai-data-refresher"
TABLE = "the-broken-table-and-the-ai-question"
OPT_OUT = "a-customer-asks-not-to-be-recorded-or-analysed-by-ai-which-s"


@pytest.fixture
def take(db, synced, signed_in, client):
    """Start the assessment of a shipped course as a learner who has read every module; return
    the attempt's URL, quiz and plan."""

    def start(slug):
        user = signed_in()
        version = current_version(db, user, find_course(db, slug))
        read_in_turn(db, user, version.modules)
        db.commit()
        response = post(client, f"/courses/{slug}/assessment")
        assert response.status_code == 303, response.get_data(as_text=True)
        attempt = db.scalars(select(QuizAttempt).where(QuizAttempt.user_id == user.id)).one()
        db.commit()  # end the read, so that later reads see what the app writes
        return response.location, Quiz.from_dict(version.quiz), AttemptPlan.from_dict(attempt.plan)

    return start


def converse(client, url, plan, conversation_id, choices):
    """Walk a conversation by choice ids, sending each as the position it was shown at."""
    unit = plan.unit(conversation_id)
    for choice in choices:
        step_id = choice.split(".")[-2]
        position = unit.step(step_id).choice_ids.index(f"{conversation_id}.{choice}") + 1
        response = post(client, f"{url}/conversations/{conversation_id}", {"choice": position})
        assert response.status_code == 303, response.get_data(as_text=True)


def submit(client, url, quiz, plan, chosen=None):
    """Answer every question right, except those in ``chosen`` (question id -> option ids)."""
    chosen = chosen or {}
    form: dict[str, list[str]] = {"csrf_token": [csrf_token(client)]}
    for unit in quiz.items:
        questions = (
            (unit,) if isinstance(unit, Question) else getattr(unit, "questions", ())
        )  # conversations have none
        for question in questions:
            shown = plan.question(question.id).option_ids
            ids = chosen.get(question.id) or sorted(question.correct_option_ids)
            form[question.id] = [str(shown.index(i) + 1) for i in ids]
    response = client.post(f"{url}/submit", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client.get(url).get_data(as_text=True)


def test_a_learner_who_misleads_the_customer_fails_with_the_reason_shown(
    app, client, db, take, make_user
):
    url, quiz, plan = take(FLAGSHIP)
    # denies the AI, then brushes the caller off: the "misled" outcome
    converse(client, url, plan, TABLE, ["start.b", "caller-challenges.b"])
    page = submit(client, url, quiz, plan)
    assert "Attempt 1: not passed" in page
    assert "89%" in page and "you needed 80%" in page  # every question right
    assert "a must-pass item was not passed" in page
    assert "Tell the caller the truth about AI, and honour the opt-out he asks for." in page
    assert "which ended in “misled”" in page
    assert db.scalar(select(func.count()).select_from(Completion)) == 0
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "quiz.attempt_submitted")
    ).one()
    assert event.details["passed"] is False and event.details["must_pass_failed"] == [TABLE]
    # the studio's overview counts it, without naming anyone
    trainer = app.test_client()
    login(trainer, make_user(roles={Role.TRAINER}))
    overview = trainer.get("/author/courses").get_data(as_text=True)
    assert "1 failed on a must-pass item" in overview


def test_a_learner_who_talks_the_caller_out_of_the_opt_out_fails(client, take):
    url, quiz, plan = take(FLAGSHIP)
    converse(
        client, url, plan, TABLE, ["start.a", "caller-asks-to-opt-out.b", "caller-hesitates.b"]
    )
    page = submit(client, url, quiz, plan)
    assert "not passed" in page and "which ended in “talked out of it”" in page


def test_a_learner_who_recovers_from_a_stumble_passes(client, db, take):
    url, quiz, plan = take(FLAGSHIP)
    converse(
        client, url, plan, TABLE, ["start.b", "caller-challenges.a", "opt-out-after-a-correction.a"]
    )
    page = submit(client, url, quiz, plan)
    assert "Attempt 1: passed" in page and "must-pass item was not passed" not in page
    assert db.scalar(select(func.count()).select_from(Completion)) == 1


def test_a_learner_who_ignores_an_opt_out_fails_the_refresher_at_90_percent(client, db, take):
    url, quiz, plan = take(REFRESHER)
    assert quiz.question(OPT_OUT).must_pass
    # "Say it's done, then carry on as before if switching the tool off is fiddly."
    page = submit(client, url, quiz, plan, {OPT_OUT: [f"{OPT_OUT}.c"]})
    assert "Attempt 1: not passed" in page and "90%" in page
    assert "Honour every opt-out, every time, and record it." in page
    assert "Fails the attempt" in page
    assert db.scalar(select(func.count()).select_from(Completion)) == 0


def test_the_sheet_marks_must_pass_items_without_giving_the_answer_away(client, take):
    url, quiz, _ = take(REFRESHER)
    page = "".join(attempt_pages(client, url))
    assert page.count("Get this one right to pass, whatever your score.") == 2
    assert "Never deny that AI tools are in use" not in page
    flagship_url, _, _ = take(FLAGSHIP)
    page = "".join(attempt_pages(client, flagship_url))
    assert "Some endings of this conversation fail the assessment" in page
    assert not any(isinstance(u, Scenario) and u.must_pass for u in quiz.items)
