"""Assessments: pinned attempts, server-side grading, tampering refused, one result each."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers import list_courses, read_in_turn, run_together, statements_run
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG, write_quiz_course
from sqlalchemy import func, select

from app.audit.ledger import verify
from app.certificates.keyring import signing_key
from app.certificates.service import issuer_of
from app.content.loader import load_tree
from app.content.sync import sync_courses
from app.errors import NotFound
from app.models import AuditEvent, Completion, Enrollment, QuizAttempt
from app.progress.reading import current_version, find_course
from app.quizzes.attempts import NotEligible, choose, find_attempt, start_attempt, submit_attempt
from app.quizzes.grading import AnswerError, Incomplete
from app.quizzes.standing import assessment_status, require_quiz

RIGHT = {
    Q_PASTE: [f"{Q_PASTE}.b"],
    Q_PERSONAL: [f"{Q_PERSONAL}.a", f"{Q_PERSONAL}.b"],
    Q_SCREEN: [f"{Q_SCREEN}.b"],
}
WRONG = {Q_PASTE: [f"{Q_PASTE}.a"], Q_PERSONAL: [f"{Q_PERSONAL}.a"], Q_SCREEN: [f"{Q_SCREEN}.a"]}


@pytest.fixture
def quiz_course(db, quiz_demo):
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()
    return find_course(db, SLUG)


@pytest.fixture
def reader(db, make_user, quiz_course):
    """A learner who has read every module of the quiz course."""
    user = make_user()
    version = current_version(db, user, quiz_course)
    read_in_turn(db, user, version.modules)
    db.commit()
    return user


def converse(db, attempt, choices=("start.a", "opt-out.a")):
    for choice in choices:
        choose(db, attempt, CONVERSATION, f"{CONVERSATION}.{choice}")
    db.commit()


def count(db, model, *where):
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_the_assessment_opens_only_after_every_module_is_read(db, make_user, quiz_course):
    with pytest.raises(NotEligible, match="Read the course's modules first"):
        start_attempt(db, make_user(), quiz_course)
    assert count(db, QuizAttempt) == 0


def test_an_attempt_is_pinned_and_resumed(db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    db.commit()
    assert attempt.number == 1 and attempt.version_id == current_version(db, reader, quiz_course).id
    assert attempt.plan["units"] and attempt.status == "in_progress"
    assert start_attempt(db, reader, quiz_course).id == attempt.id


def test_passing_completes_the_course_on_its_version(db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    converse(db, attempt)
    submit_attempt(db, attempt, RIGHT)
    db.commit()
    assert attempt.passed and attempt.percent == 100
    completion = db.scalar(select(Completion))
    assert (completion.user_id, completion.version_id, completion.attempt_id, completion.score) == (
        reader.id,
        attempt.version_id,
        attempt.id,
        100,
    )
    assert db.scalar(select(Enrollment.completed_at)) == completion.completed_at
    actions = db.scalars(select(AuditEvent.action)).all()
    assert {"quiz.attempt_started", "quiz.attempt_submitted", "course.completed"} <= set(actions)
    with pytest.raises(NotEligible, match="already completed"):
        start_attempt(db, reader, quiz_course)


def test_a_pass_writes_each_table_once_and_chains_it_all(app, db, reader, quiz_course):
    """The completion and its certificate go in with one flush, and the audit events of the
    completion together at the commit: a pass costs few more statements than a fail."""
    signing_key(db, issuer_of(db).signer)  # the key's first use is recorded once, not here
    attempt = start_attempt(db, reader, quiz_course)
    converse(db, attempt)
    with statements_run(app) as seen:
        submit_attempt(db, attempt, RIGHT)
        db.commit()
    inserts = Counter(s.split("(")[0].split()[-1] for s in seen if s.startswith("INSERT"))
    # Three events; PostgreSQL writes the last two (made after the flush) in one statement.
    events = 2 if db.get_bind().dialect.name == "postgresql" else 3
    assert inserts == {
        "audit_events": events,
        "completions": 1,
        "certificates": 1,
        "ledger_entries": 1,
    }
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["quiz.attempt_submitted", "course.completed", "certificate.issued"]
    assert verify(db).problems == []


def test_the_result_says_what_was_chosen_with_feedback(db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    converse(db, attempt, ("start.b",))
    submit_attempt(db, attempt, WRONG)
    db.commit()
    assert not attempt.passed and attempt.percent == 0
    results = {
        r["question_id"] if r["kind"] == "question" else r["conversation_id"]: r
        for r in attempt.result["results"]
    }
    paste = results[Q_PASTE]
    chosen = [o for o in paste["options"] if o["chosen"]]
    assert [o["id"] for o in chosen] == [f"{Q_PASTE}.a"]
    assert "not an approved tool" in chosen[0]["feedback_html"]
    assert "only where it may go" in paste["explanation_html"]
    assert results[CONVERSATION]["outcome_id"] == "misled"
    assert count(db, Completion) == 0


def test_failing_allows_retakes_up_to_the_limit(db, reader, quiz_course):
    for number in (1, 2):
        attempt = start_attempt(db, reader, quiz_course)
        assert attempt.number == number
        converse(db, attempt, ("start.b",))
        submit_attempt(db, attempt, WRONG)
        db.commit()
    with pytest.raises(NotEligible, match="used all 2 attempts"):
        start_attempt(db, reader, quiz_course)


def test_a_retake_follows_only_a_failed_attempt_of_the_current_cycle(db, reader, quiz_course):
    version = current_version(db, reader, quiz_course)
    failed = start_attempt(db, reader, quiz_course)
    converse(db, failed, ("start.b",))
    submit_attempt(db, failed, WRONG)
    db.commit()
    standing = assessment_status(db, reader, version)
    assert standing.attempts_left == 1 and standing.can_start and standing.may_retake(failed)

    # A new cycle (a renewal, a retraining) starts the count again, but not from this attempt.
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == reader.id))
    enrollment.cycle += 1
    db.commit()
    standing = assessment_status(db, reader, version)
    assert standing.attempts == () and standing.attempts_left == 2 and standing.can_start
    assert not standing.may_retake(failed)

    passed = start_attempt(db, reader, quiz_course)
    assert passed.cycle == enrollment.cycle and passed.number == 1
    converse(db, passed)
    submit_attempt(db, passed, RIGHT)
    db.commit()
    standing = assessment_status(db, reader, version)
    assert standing.completed and not standing.can_start
    assert not standing.may_retake(passed)


def test_out_of_attempts_offers_no_retake(db, reader, quiz_course):
    for _ in (1, 2):
        attempt = start_attempt(db, reader, quiz_course)
        converse(db, attempt, ("start.b",))
        submit_attempt(db, attempt, WRONG)
        db.commit()
    standing = assessment_status(db, reader, current_version(db, reader, quiz_course))
    assert standing.attempts_left == 0 and not standing.can_start
    assert not standing.may_retake(attempt)


def test_partly_right_multiple_answer_and_partial_conversation_score(db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    converse(db, attempt, ("start.a", "opt-out.b"))  # ignored: 50% of 2 points
    submit_attempt(db, attempt, {**RIGHT, Q_PERSONAL: [f"{Q_PERSONAL}.a"]})
    db.commit()
    assert attempt.percent == 60  # (1 + 0 + 1 + 1) of 5
    assert not attempt.passed


def test_unanswered_questions_are_listed_and_nothing_is_stored(db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    db.commit()
    with pytest.raises(Incomplete) as error:
        submit_attempt(db, attempt, {Q_PASTE: [f"{Q_PASTE}.b"]})
    assert error.value.missing == [
        i for i in (Q_PERSONAL, Q_SCREEN, CONVERSATION) if i in error.value.missing
    ]
    assert set(error.value.missing) == {Q_PERSONAL, Q_SCREEN, CONVERSATION}
    db.rollback()
    assert db.get(QuizAttempt, attempt.id).status == "in_progress"


@pytest.mark.parametrize(
    "answers",
    [
        {**RIGHT, Q_PASTE: [f"{Q_SCREEN}.b"]},  # another question's option
        {**RIGHT, Q_PASTE: [f"{Q_PASTE}.b", f"{Q_PASTE}.b"]},  # duplicate
        {**RIGHT, Q_PASTE: [f"{Q_PASTE}.a", f"{Q_PASTE}.b"]},  # two for single-answer
        {**RIGHT, Q_PASTE: ["x" * 5000]},  # absurd id
        {**RIGHT, "score": ["100"]},  # extra field
        {**RIGHT, "other-quiz-question": ["other-quiz-question.a"]},  # not in this attempt
        {**RIGHT, CONVERSATION: [f"{CONVERSATION}.start.a"]},  # conversation in the form
    ],
)
def test_tampered_answers_are_refused_and_nothing_is_stored(db, reader, quiz_course, answers):
    attempt = start_attempt(db, reader, quiz_course)
    converse(db, attempt)
    with pytest.raises(AnswerError):
        submit_attempt(db, attempt, answers)
    db.rollback()
    db.expire_all()
    assert db.get(QuizAttempt, attempt.id).status == "in_progress"
    assert count(db, Completion) == 0


def test_conversation_choices_must_be_offered_at_that_step(db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    with pytest.raises(AnswerError):
        choose(db, attempt, CONVERSATION, f"{CONVERSATION}.opt-out.a")  # not at the start
    with pytest.raises(AnswerError):
        choose(db, attempt, "no-such-conversation", "x.a")
    converse(db, attempt)
    with pytest.raises(AnswerError, match="already reached its outcome"):
        choose(db, attempt, CONVERSATION, f"{CONVERSATION}.start.a")


def test_a_second_submission_keeps_the_first_result(db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    converse(db, attempt)
    submit_attempt(db, attempt, RIGHT)
    db.commit()
    again = submit_attempt(db, attempt, WRONG)
    db.commit()
    assert again.percent == 100 and count(db, Completion) == 1


def test_someone_elses_attempt_is_not_found(db, reader, make_user, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    db.commit()
    with pytest.raises(NotFound):
        find_attempt(db, make_user(), attempt.id)


def test_a_course_without_quiz_completes_when_read(db, make_user, tmp_path):
    folder = write_quiz_course(tmp_path / "courses")
    (folder / "quiz.md").unlink()
    sync_courses(db, load_tree(tmp_path / "courses"))
    list_courses(db)
    db.commit()
    user = make_user()
    version = current_version(db, user, find_course(db, SLUG))
    assert version.quiz is None
    with pytest.raises(NotFound, match="no assessment"):
        require_quiz(version)
    read_in_turn(db, user, version.modules)
    db.commit()
    assert count(db, Completion) == 1


# Races: threads with their own sessions, on the real database.


@pytest.mark.parametrize("locked", [False, True], ids=["locking", "read-locked"])
def test_concurrent_submissions_give_one_result(app, db, reader, quiz_course, locked):
    attempt = start_attempt(db, reader, quiz_course)
    converse(db, attempt)

    def submit(session):
        mine = session.get(QuizAttempt, attempt.id)
        return submit_attempt(session, mine, RIGHT).percent

    def submit_locked(session):  # as the submit page does: read with its row locked
        mine = find_attempt(session, reader, attempt.id, lock=True)
        return submit_attempt(session, mine, RIGHT, locked=True).percent

    results, errors = run_together(app, submit_locked if locked else submit)
    assert errors == [] or all("locked" in str(e) for e in errors), errors
    assert results and set(results) == {100}
    assert count(db, Completion) == 1
    assert count(db, AuditEvent, AuditEvent.action == "quiz.attempt_submitted") == 1


def test_concurrent_starts_respect_the_attempt_limit(app, db, reader, quiz_course):
    user_id, course_id = reader.id, quiz_course.id

    def start_and_fail(session):
        from app.models import Course, User

        user, course = session.get(User, user_id), session.get(Course, course_id)
        attempt = start_attempt(session, user, course)
        session.commit()
        choose(session, attempt, CONVERSATION, f"{CONVERSATION}.start.b")
        submit_attempt(session, attempt, WRONG)
        return attempt.number

    run_together(app, start_and_fail, n=4)
    numbers = db.scalars(select(QuizAttempt.number).where(QuizAttempt.user_id == user_id)).all()
    assert len(numbers) == len(set(numbers)) <= 2


def test_concurrent_replies_at_one_step_have_one_winner(app, db, reader, quiz_course):
    attempt = start_attempt(db, reader, quiz_course)
    db.commit()
    replies = [f"{CONVERSATION}.start.a", f"{CONVERSATION}.start.b"] * 4

    def reply(session):
        mine = session.get(QuizAttempt, attempt.id)
        choose(session, mine, CONVERSATION, replies.pop())
        return True

    results, errors = run_together(app, reply, n=8)
    assert len(results) == 1, errors
    assert len(errors) == 7 and all(getattr(e, "status", None) in (400, 409) for e in errors)
    db.expire_all()
    assert len(db.get(QuizAttempt, attempt.id).paths[CONVERSATION]) == 1


def test_the_database_lets_only_the_rules_change_an_attempt(db, reader, quiz_course):
    """No UPDATE from outside the rules: what an attempt is never changes, a submitted one is
    final, none is deleted; each step and the submission are audited."""
    from sqlalchemy import delete, exc, update

    attempt = start_attempt(db, reader, quiz_course)
    db.commit()
    with pytest.raises(exc.DatabaseError, match="never change"):
        db.execute(update(QuizAttempt).values(plan={}))
    db.rollback()
    converse(db, attempt)
    submit_attempt(db, attempt, RIGHT)
    db.commit()
    for change in (
        update(QuizAttempt).values(percent=0, passed=False),
        update(QuizAttempt).values(paths={}),
        delete(QuizAttempt),
    ):
        with pytest.raises(exc.DatabaseError, match="final|never deleted"):
            db.execute(change)
        db.rollback()
    assert db.get(QuizAttempt, attempt.id).percent == 100
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(attempt.id)))
    assert {"quiz.conversation_step", "quiz.attempt_submitted"} <= set(actions)
