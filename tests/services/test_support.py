"""People who get stuck: HR grants an extra attempt or a later due date, with a reason,
audited; a revoked certificate makes its completion no longer count, on every listing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from helpers import list_courses
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG
from sqlalchemy import select, update

from app.content.sync import sync_courses
from app.db import utcnow
from app.errors import DomainError
from app.exports.completions import COLUMNS, completion_rows
from app.exports.csv import csv_stream
from app.models import AuditEvent, Certificate, Enrollment, Role
from app.progress.reading import current_version, find_course, mark_read
from app.quizzes.attempts import NotEligible, choose, start_attempt, submit_attempt
from app.quizzes.standing import assessment_status
from app.training.filters import RecordFilter
from app.training.matrix import status_rows, summary
from app.training.status import Status
from app.training.support import extend_due_date, grant_extra_attempt, revoke_and_reopen

RIGHT = {
    Q_PASTE: [f"{Q_PASTE}.b"],
    Q_PERSONAL: [f"{Q_PERSONAL}.a", f"{Q_PERSONAL}.b"],
    Q_SCREEN: [f"{Q_SCREEN}.b"],
}
WRONG = {Q_PASTE: [f"{Q_PASTE}.a"], Q_PERSONAL: [f"{Q_PERSONAL}.a"], Q_SCREEN: [f"{Q_SCREEN}.a"]}


@pytest.fixture
def course(db, quiz_demo):
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()
    return find_course(db, SLUG)


@pytest.fixture
def hr(make_user):
    return make_user(roles={Role.HR}, name="Hana HR")


@pytest.fixture
def reader(db, make_user, course):
    """A learner who has read every module of the quiz course."""
    user = make_user(name="Rita Reader", employee_id="R-7")
    version = current_version(db, user, course)
    for module in version.modules:
        mark_read(db, user, module, opened_at=utcnow() - timedelta(minutes=5))
    db.commit()
    return user


def take(db, user, course, answers):
    attempt = start_attempt(db, user, course)
    for choice in ("start.a", "opt-out.a") if answers is RIGHT else ("start.b",):
        choose(db, attempt, CONVERSATION, f"{CONVERSATION}.{choice}")
    submit_attempt(db, attempt, answers)
    db.commit()
    return attempt


def enrollment_of(db, user) -> Enrollment:
    return db.scalar(select(Enrollment).where(Enrollment.user_id == user.id))


def events(db, action):
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_extra_attempt_lets_a_learner_who_used_them_all_retake_and_pass(db, hr, reader, course):
    take(db, reader, course, WRONG)
    take(db, reader, course, WRONG)
    with pytest.raises(NotEligible, match="used all 2 attempts"):
        start_attempt(db, reader, course)
    db.rollback()

    with pytest.raises(DomainError, match="The reason is missing"):
        grant_extra_attempt(db, hr, enrollment_of(db, reader), "  ")
    grant_extra_attempt(db, hr, enrollment_of(db, reader), "Was ill during the last try")
    db.commit()
    version = current_version(db, reader, course)
    standing = assessment_status(db, reader, version)
    assert standing.limit == 3 and standing.attempts_left == 1 and standing.can_start
    passed = take(db, reader, course, RIGHT)
    assert passed.passed and passed.number == 3
    assert assessment_status(db, reader, version).completed
    (event,) = events(db, "enrollment.extra_attempt_granted")
    assert event.actor_id == hr.id
    assert event.details["reason"] == "Was ill during the last try"
    assert event.details["extra_attempts"] == 1
    with pytest.raises(DomainError, match="nothing to retake"):
        grant_extra_attempt(db, hr, enrollment_of(db, reader), "again")


def test_a_later_due_date_for_one_person(db, hr, reader, course):
    enrollment = enrollment_of(db, reader)
    now = utcnow()
    enrollment.due_at = now - timedelta(days=2)
    db.commit()
    assert status_rows(db, user_id=reader.id).rows[0].status is Status.OVERDUE

    later = (now + timedelta(days=40)).date()
    with pytest.raises(DomainError, match="in the past"):
        extend_due_date(db, hr, enrollment, (now - timedelta(days=1)).date(), "late")
    with pytest.raises(DomainError, match="more than 365 days"):
        extend_due_date(db, hr, enrollment, (now + timedelta(days=400)).date(), "late")
    extend_due_date(db, hr, enrollment, later, "Back from leave on the 3rd")
    db.commit()
    row = status_rows(db, user_id=reader.id).rows[0]
    assert row.status is Status.IN_PROGRESS and row.due_at.date() == later
    with pytest.raises(DomainError, match="later than the current due date"):
        extend_due_date(db, hr, enrollment, later, "again")
    (event,) = events(db, "enrollment.due_date_extended")
    assert event.details["reason"] == "Back from leave on the 3rd"
    assert event.details["due_at"].startswith(later.isoformat())


def test_a_revoked_certificate_no_longer_counts_anywhere(db, hr, reader, course):
    take(db, reader, course, RIGHT)
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == reader.id))
    assert status_rows(db, user_id=reader.id).rows[0].status is Status.COMPLETED
    completed_before = summary(db).overall.completed

    revoke_and_reopen(db, hr, certificate.id, "training_invalidated", "Answers were shared")
    db.commit()

    row = status_rows(db, user_id=reader.id).rows[0]
    assert row.status is Status.REVOKED and row.completed_at is None
    assert row.label.startswith("Revoked ") and "due again by" in row.label
    assert summary(db).overall.completed == completed_before - 1
    assert [r.user_id for r in status_rows(db, RecordFilter(status="revoked")).rows] == [reader.id]
    exported = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    csv_stream(completion_rows(db, RecordFilter(search="R-7"), utcnow()), COLUMNS)
                ).decode("utf-8-sig")
            )
        )
    )
    assert [(r["status"], r["certificate_status"]) for r in exported] == [("revoked", "revoked")]
    assert exported[0]["revoked_at"]

    # Due again, and the course can be taken again: read it anew, then pass.
    version = current_version(db, reader, course)
    for module in version.modules:
        mark_read(db, reader, module, opened_at=utcnow())
    db.commit()
    take(db, reader, course, RIGHT)
    row = status_rows(db, user_id=reader.id).rows[0]
    assert row.status is Status.COMPLETED and row.revoked_at is None
    assert len(events(db, "enrollment.reopened")) == 1


@pytest.mark.parametrize("change", ["completed", "new cycle"])
def test_help_for_a_cycle_that_moved_on_meanwhile_is_refused_and_not_audited(
    db, hr, reader, course, change
):
    """HR's page was drawn before the learner passed (or a renewal started) in another
    request: the grant finds the cycle as it is in the database, not as it was read."""
    take(db, reader, course, WRONG)
    later = (utcnow() + timedelta(days=9)).date()
    for grant in (
        lambda enrollment: grant_extra_attempt(db, hr, enrollment, "Was ill"),
        lambda enrollment: extend_due_date(db, hr, enrollment, later, "Back from leave"),
    ):
        stale = enrollment_of(db, reader)
        assert stale.completed_at is None
        values = {"completed_at": utcnow()} if change == "completed" else {"cycle": 2}
        # Another request's change, which this session's copy of the row has not seen.
        db.execute(
            update(Enrollment)
            .where(Enrollment.id == stale.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(DomainError, match="changed while you were on this page"):
            grant(stale)
        db.rollback()
    assert events(db, "enrollment.extra_attempt_granted") == []
    assert events(db, "enrollment.due_date_extended") == []
