"""Changing an assignment's due rule: who moves, who keeps their own date, the history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.models import AuditEvent, Enrollment, Role
from app.training.assignments import assign, cancel_assignment, end_of_day
from app.training.due_rules import assignment_history, change_due_rule
from app.training.support import extend_due_date

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
FLAGSHIP = "ai-in-the-contact-center"


@pytest.fixture
def hr(make_user):
    return make_user(roles={Role.HR}, name="Hana HR")


def due_of(db, user) -> datetime | None:
    db.expire_all()
    return db.scalar(select(Enrollment.due_at).where(Enrollment.user_id == user.id))


def test_a_new_date_moves_everyone_who_has_the_old_rules_date_earlier_or_later(
    db, make_user, hr, courses
):
    ann, ben, cat = (make_user() for _ in range(3))
    result = assign(
        db,
        hr,
        courses[FLAGSHIP],
        "people",
        user_ids=[ann.id, ben.id, cat.id],
        due_on=date(2027, 2, 1),
        now=NOW,
    )
    db.commit()
    # Ben was given more time on his own, with a reason: his date stays.
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == ben.id))
    extend_due_date(db, hr, enrollment, date(2027, 3, 1), "On leave in January", now=NOW)
    db.commit()
    later = change_due_rule(db, hr, result.assignment.id, due_on=date(2027, 2, 15), now=NOW)
    db.commit()
    assert (later.moved, later.kept) == (2, 1)
    assert due_of(db, ann) == end_of_day(date(2027, 2, 15)) == due_of(db, cat)
    assert due_of(db, ben) == end_of_day(date(2027, 3, 1))
    earlier = change_due_rule(db, hr, result.assignment.id, due_on=date(2027, 1, 20), now=NOW)
    db.commit()
    assert earlier.moved == 2 and due_of(db, ann) == end_of_day(date(2027, 1, 20))
    [event] = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "assignment.due_changed")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    assert event.details == {
        "due_on_before": "2027-02-15",
        "due_days_before": None,
        "due_on": "2027-01-20",
        "due_days": None,
        "moved": 2,
        "kept": 1,
    }


def test_days_count_from_each_persons_own_assignment(db, make_user, hr, courses):
    first, second = make_user(), make_user()
    result = assign(db, hr, courses[FLAGSHIP], "people", user_ids=[first.id], due_days=30, now=NOW)
    db.commit()
    # A second person joins the same rule ten days later (as a newcomer would).
    db.add(
        Enrollment(
            user_id=second.id,
            course_id=courses[FLAGSHIP].id,
            assignment_id=result.assignment.id,
            assigned_at=NOW + timedelta(days=10),
            due_at=NOW + timedelta(days=40),
        )
    )
    db.commit()
    change = change_due_rule(db, hr, result.assignment.id, due_days=14, now=NOW)
    db.commit()
    assert change.moved == 2
    assert due_of(db, first) == NOW + timedelta(days=14)
    assert due_of(db, second) == NOW + timedelta(days=24)
    # From days to a date and back.
    change_due_rule(db, hr, result.assignment.id, due_on=date(2027, 3, 3), now=NOW)
    db.commit()
    assert due_of(db, second) == end_of_day(date(2027, 3, 3))


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"due_on": date(2027, 1, 9)}, "in the past"),
        ({"due_days": 0}, "between 1 and 365"),
        ({"due_days": 400}, "between 1 and 365"),
        ({}, "either a due date or a number of days"),
        ({"due_on": date(2027, 2, 1), "due_days": 3}, "not both"),
        ({"due_on": date(2027, 2, 1)}, "already has"),
    ],
)
def test_a_bad_rule_is_refused_and_nothing_changes(db, make_user, hr, courses, rule, problem):
    ann = make_user()
    result = assign(
        db, hr, courses[FLAGSHIP], "people", user_ids=[ann.id], due_on=date(2027, 2, 1), now=NOW
    )
    db.commit()
    with pytest.raises(DomainError, match=problem):
        change_due_rule(db, hr, result.assignment.id, now=NOW, **rule)
    db.rollback()
    assert due_of(db, ann) == end_of_day(date(2027, 2, 1))


def test_a_cancelled_assignment_keeps_its_rule_and_the_history_tells_all(
    db, make_user, hr, courses
):
    ann = make_user()
    result = assign(db, hr, courses[FLAGSHIP], "people", user_ids=[ann.id], due_days=30, now=NOW)
    db.commit()
    change_due_rule(db, hr, result.assignment.id, due_days=20, now=NOW)
    cancel_assignment(db, hr, result.assignment.id, now=NOW)
    db.commit()
    with pytest.raises(DomainError, match="cancelled") as refused:
        change_due_rule(db, hr, result.assignment.id, due_days=10, now=NOW)
    assert refused.value.status == 409
    history = assignment_history(db, result.assignment.id)
    assert [(h.action, h.actor) for h in history] == [
        ("assignment.created", "Hana HR"),
        ("assignment.due_changed", "Hana HR"),
        ("assignment.cancelled", "Hana HR"),
    ]
