"""Assignments, retraining, renewal and the status matrix, on every backend."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import record_completion, statements_run
from sqlalchemy import func, insert, select

from app.content.versions import newest_version
from app.errors import DomainError
from app.models import (
    Assignment,
    AssignmentPerson,
    AuditEvent,
    Completion,
    Course,
    CourseVersion,
    Enrollment,
    User,
)
from app.training import assignments as service
from app.training.assignments import apply_assignments_to, assign, end_of_day
from app.training.filters import RecordFilter
from app.training.matrix import status_rows, summary
from app.training.renewal import require_retraining, start_renewal
from app.training.status import Status

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
FLAGSHIP = "ai-in-the-contact-center"
REFRESHER = "ai-data-refresher"


@pytest.fixture
def hr(make_user):
    from app.models import Role

    return make_user(roles={Role.HR}, department="People")


def enrollment_of(db, user, course) -> Enrollment | None:
    db.expire_all()
    return db.scalar(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )


def latest(db, course) -> CourseVersion:
    return newest_version(db, course.id)


def complete(db, user, course, at: datetime, version: CourseVersion | None = None) -> Enrollment:
    """Record a completion the way complete_course does, without rendering a certificate."""
    completion = record_completion(db, user, version or latest(db, course), at)
    db.commit()
    return db.get(Enrollment, completion.enrollment_id)


def publish(
    db, course, *, material: bool = True, recertify_months: int | None = None
) -> CourseVersion:
    """A new version of ``course``: a copy of its latest with the next number."""
    old = latest(db, course)
    version = CourseVersion(
        course_id=course.id,
        number=old.number + 1,
        content_hash=f"{old.number + 1:064d}",
        title=old.title,
        summary=old.summary,
        estimated_minutes=old.estimated_minutes,
        pass_mark=old.pass_mark,
        max_attempts=old.max_attempts,
        recertify_months=old.recertify_months if recertify_months is None else recertify_months,
        obligations=old.obligations,
        material=material,
        metadata_source="",
        quiz_source=None,
        quiz=None,
    )
    db.add(version)
    db.commit()
    return version


def events(db, action):
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- assign ------------------------------------------------------------------------------


def test_assigning_to_everyone_enrolls_every_active_learner(db, make_user, hr, courses):
    people = [make_user() for _ in range(3)]
    gone = make_user(active=False)
    result = assign(db, hr, courses[FLAGSHIP], "everyone", due_days=30, now=NOW)
    db.commit()
    # "Everyone" is the people who hold the learner role: not the HR account assigning it.
    assert (result.assigned, result.already_assigned, result.skipped_completed) == (3, 0, 0)
    assert enrollment_of(db, hr, courses[FLAGSHIP]) is None
    for person in people:
        enrollment = enrollment_of(db, person, courses[FLAGSHIP])
        assert enrollment.assigned_at == NOW and enrollment.assigned_by_id == hr.id
        assert enrollment.assignment_id == result.assignment.id
        assert enrollment.due_at == NOW + timedelta(days=30)
        assert enrollment.version_id is None and enrollment.cycle == 1
    assert enrollment_of(db, gone, courses[FLAGSHIP]) is None
    [created] = events(db, "assignment.created")
    assert created.actor_id == hr.id and created.subject_id == str(result.assignment.id)
    assert created.details["assigned"] == 3 and created.details["audience"] == "everyone"
    assert created.details["course_id"] == courses[FLAGSHIP].id


def test_a_due_date_means_the_end_of_that_day_in_utc(db, make_user, hr, courses):
    person = make_user()
    assign(
        db, hr, courses[FLAGSHIP], "people", user_ids=[person.id], due_on=date(2027, 3, 31), now=NOW
    )
    db.commit()
    due = enrollment_of(db, person, courses[FLAGSHIP]).due_at
    assert due == datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC) == end_of_day(date(2027, 3, 31))


def test_a_due_date_of_today_is_accepted(db, hr, courses):
    assign(db, hr, courses[FLAGSHIP], "everyone", due_on=NOW.date(), now=NOW)


def test_a_department_assignment_reaches_only_its_active_members(db, make_user, hr, courses):
    sales = [make_user(department="Sales") for _ in range(2)]
    make_user(department="Sales", active=False)
    support = make_user(department="Support")
    result = assign(
        db, hr, courses[REFRESHER], "department", department="  Sales ", due_days=14, now=NOW
    )
    db.commit()
    assert result.assigned == 2 and result.assignment.department == "Sales"
    assert all(enrollment_of(db, p, courses[REFRESHER]) for p in sales)
    assert enrollment_of(db, support, courses[REFRESHER]) is None


def test_a_people_assignment_records_who_it_is_for(db, make_user, hr, courses):
    chosen = [make_user(), make_user()]
    other = make_user()
    result = assign(
        db,
        hr,
        courses[FLAGSHIP],
        "people",
        user_ids=[p.id for p in chosen] * 2,
        due_days=7,
        now=NOW,
    )
    db.commit()
    assert result.assigned == 2
    listed = set(
        db.scalars(
            select(AssignmentPerson.user_id).where(
                AssignmentPerson.assignment_id == result.assignment.id
            )
        )
    )
    assert listed == {p.id for p in chosen}
    assert enrollment_of(db, other, courses[FLAGSHIP]) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"audience": "everyone"}, "either a due date or a number of days"),
        ({"audience": "everyone", "due_days": 5, "due_on": date(2027, 2, 1)}, "not both"),
        ({"audience": "everyone", "due_days": 0}, "between 1 and 365"),
        ({"audience": "everyone", "due_days": 366}, "between 1 and 365"),
        ({"audience": "everyone", "due_days": True}, "between 1 and 365"),
        ({"audience": "everyone", "due_on": date(2027, 1, 9)}, "in the past"),
        ({"audience": "nobody", "due_days": 5}, "who the course is for"),
        ({"audience": "department", "due_days": 5}, "Choose the department"),
        ({"audience": "department", "department": "Legal", "due_days": 5}, "No active employee"),
        ({"audience": "department", "department": "Gone", "due_days": 5}, "No active employee"),
        ({"audience": "people", "due_days": 5}, "Choose the people"),
        ({"audience": "people", "user_ids": [987654], "due_days": 5}, "do not exist or are not"),
        ({"audience": "everyone", "department": "Sales", "due_days": 5}, "takes no department"),
    ],
)
def test_invalid_assignments_are_refused_and_write_nothing(
    db, make_user, hr, courses, kwargs, message
):
    make_user(department="Gone", active=False)
    with pytest.raises(DomainError, match=message):
        assign(db, hr, courses[FLAGSHIP], now=NOW, **kwargs)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Assignment)) == 0
    assert db.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_an_inactive_person_cannot_be_named(db, make_user, hr, courses):
    active, inactive = make_user(), make_user(active=False)
    with pytest.raises(DomainError, match="1 of the chosen people"):
        assign(
            db,
            hr,
            courses[FLAGSHIP],
            "people",
            user_ids=[active.id, inactive.id],
            due_days=5,
            now=NOW,
        )


def test_a_due_date_moves_earlier_but_never_later(db, make_user, hr, courses):
    person = make_user()
    first = assign(db, hr, courses[FLAGSHIP], "everyone", due_days=30, now=NOW)
    later = assign(db, hr, courses[FLAGSHIP], "everyone", due_days=60, now=NOW)
    db.commit()
    assert (later.assigned, later.already_assigned) == (0, 1)  # the learner; HR is not one
    enrollment = enrollment_of(db, person, courses[FLAGSHIP])
    assert enrollment.due_at == NOW + timedelta(days=30)
    assert enrollment.assignment_id == first.assignment.id

    sooner = assign(db, hr, courses[FLAGSHIP], "people", user_ids=[person.id], due_days=10, now=NOW)
    db.commit()
    assert sooner.already_assigned == 1
    enrollment = enrollment_of(db, person, courses[FLAGSHIP])
    assert enrollment.due_at == NOW + timedelta(days=10)
    assert enrollment.assignment_id == sooner.assignment.id
    assert enrollment.assigned_at == NOW  # still when they were first assigned


def test_a_self_enrolled_learner_keeps_their_progress_when_assigned(db, make_user, hr, courses):
    person = make_user()
    version = latest(db, courses[FLAGSHIP])
    started = NOW - timedelta(days=2)
    db.add(
        Enrollment(
            user_id=person.id,
            course_id=courses[FLAGSHIP].id,
            version_id=version.id,
            started_at=started,
        )
    )
    db.commit()
    result = assign(db, hr, courses[FLAGSHIP], "everyone", due_days=20, now=NOW)
    db.commit()
    assert result.assigned == 1 and result.already_assigned == 0
    enrollment = enrollment_of(db, person, courses[FLAGSHIP])
    assert enrollment.assigned_at == NOW and enrollment.due_at == NOW + timedelta(days=20)
    assert enrollment.version_id == version.id and enrollment.started_at == started


def test_valid_completions_are_left_alone_and_expired_ones_start_again(db, make_user, hr, courses):
    course = courses[FLAGSHIP]  # valid for 12 months
    fresh, renewing, lapsed = make_user(), make_user(), make_user()
    complete(db, fresh, course, NOW - timedelta(days=30))
    complete(db, renewing, course, NOW - timedelta(days=360))  # expires in 5 days: due soon
    complete(db, lapsed, course, NOW - timedelta(days=400))
    result = assign(
        db, hr, course, "people", user_ids=[fresh.id, renewing.id, lapsed.id], due_days=30, now=NOW
    )
    db.commit()
    assert (result.assigned, result.skipped_completed, result.restarted) == (1, 2, 1)
    for person in (fresh, renewing):
        enrollment = enrollment_of(db, person, course)
        assert enrollment.cycle == 1 and enrollment.completed_at is not None
        assert enrollment.assignment_id is None and enrollment.due_at is None
    enrollment = enrollment_of(db, lapsed, course)
    assert enrollment.cycle == 2 and enrollment.completed_at is None
    assert enrollment.version_id is None and enrollment.started_at is None
    assert enrollment.due_at == NOW + timedelta(days=30)
    assert db.scalar(select(func.count()).select_from(Completion)) == 3  # history stays


def test_an_enrollment_created_meanwhile_is_picked_up_not_duplicated(
    db, make_user, hr, courses, monkeypatch
):
    racer, other = make_user(), make_user()
    db.add(Enrollment(user_id=racer.id, course_id=courses[FLAGSHIP].id))
    db.commit()
    real = service._load_existing
    calls = []

    def stale_first(session, course_id, user_ids):
        # The first look misses the racer's enrollment, as if it was committed just after.
        calls.append(list(user_ids))
        found = real(session, course_id, user_ids)
        if len(calls) == 1:
            found.pop(racer.id, None)
        return found

    monkeypatch.setattr(service, "_load_existing", stale_first)
    result = assign(
        db, hr, courses[FLAGSHIP], "people", user_ids=[racer.id, other.id], due_days=5, now=NOW
    )
    db.commit()
    assert len(calls) == 2 and sorted(calls[1]) == sorted([racer.id, other.id])
    assert result.assigned == 2
    assert db.scalar(select(func.count()).select_from(Enrollment)) == 2
    assert enrollment_of(db, racer, courses[FLAGSHIP]).due_at == NOW + timedelta(days=5)


def add_people(db, count: int, start: int = 0, **fields) -> None:
    """``count`` learners (the people an assignment to everyone reaches), inserted in bulk."""
    from app.models import UserRole

    emails = [f"bulk{n}@example.test" for n in range(start, start + count)]
    db.execute(
        insert(User.__table__),
        [{"email": e, "name": f"Bulk Person {e[4:-13]}", **fields} for e in emails],
    )
    ids = db.scalars(select(User.id).where(User.email.in_(emails))).all()
    db.execute(insert(UserRole.__table__), [{"user_id": i, "role": "learner"} for i in ids])
    db.commit()


def test_assigning_costs_the_same_statements_for_few_or_many(app, db, hr, courses):
    costs = []
    for size, slug in ((3, FLAGSHIP), (60, REFRESHER)):
        add_people(db, size, start=len(costs) * 1000)
        with statements_run(app) as statements:
            assign(db, hr, courses[slug], "everyone", due_days=10, now=NOW)
        db.commit()
        costs.append(len(statements))
    assert costs[0] == costs[1]


# --- new and changed employees -----------------------------------------------------------


def test_a_new_employee_gets_the_assignments_that_cover_them(db, make_user, hr, courses):
    make_user(department="Sales")
    assign(db, hr, courses[FLAGSHIP], "everyone", due_days=30, now=NOW)
    assign(db, hr, courses[REFRESHER], "department", department="Sales", due_days=10, now=NOW)
    retired = assign(db, hr, courses[REFRESHER], "everyone", due_days=5, now=NOW)
    retired.assignment.active = False
    db.commit()

    later = NOW + timedelta(days=3)
    newcomer = make_user(department="Sales")
    assert apply_assignments_to(db, newcomer, now=later) == 2
    db.commit()
    assert enrollment_of(db, newcomer, courses[FLAGSHIP]).due_at == later + timedelta(days=30)
    assert enrollment_of(db, newcomer, courses[REFRESHER]).due_at == later + timedelta(days=10)
    assert apply_assignments_to(db, newcomer, now=later) == 0  # nothing new the second time
    [applied] = events(db, "assignment.applied")
    assert applied.subject_id == str(newcomer.id) and applied.details["assigned"] == 2


def test_moving_department_brings_that_departments_courses(db, make_user, hr, courses):
    make_user(department="Support")
    person = make_user(department="Sales")
    assign(db, hr, courses[REFRESHER], "department", department="Support", due_days=10, now=NOW)
    db.commit()
    assert apply_assignments_to(db, person, now=NOW) == 0
    person.department = "Support"
    assert apply_assignments_to(db, person, now=NOW) == 1
    db.commit()
    assert enrollment_of(db, person, courses[REFRESHER]).assigned_at == NOW


def test_joining_after_a_fixed_due_date_gives_a_grace_period(db, make_user, hr, courses):
    assign(db, hr, courses[FLAGSHIP], "everyone", due_on=date(2027, 1, 31), now=NOW)
    db.commit()
    early, late = NOW + timedelta(days=5), datetime(2027, 3, 1, tzinfo=UTC)
    on_time, newcomer = make_user(), make_user()
    apply_assignments_to(db, on_time, now=early)
    apply_assignments_to(db, newcomer, now=late)
    db.commit()
    assert enrollment_of(db, on_time, courses[FLAGSHIP]).due_at == end_of_day(date(2027, 1, 31))
    assert enrollment_of(db, newcomer, courses[FLAGSHIP]).due_at == late + timedelta(days=30)


def test_an_inactive_employee_gets_nothing(db, make_user, hr, courses):
    assign(db, hr, courses[FLAGSHIP], "everyone", due_days=30, now=NOW)
    gone = make_user(active=False)
    assert apply_assignments_to(db, gone, now=NOW) == 0


# --- retraining and renewal --------------------------------------------------------------


def test_a_material_version_restarts_holders_of_older_versions(db, make_user, hr, courses):
    course = courses[FLAGSHIP]
    v1 = latest(db, course)
    holder, reader = make_user(), make_user()
    complete(db, holder, course, NOW - timedelta(days=10), v1)
    db.add(
        Enrollment(
            user_id=reader.id,
            course_id=course.id,
            version_id=v1.id,
            started_at=NOW - timedelta(days=1),
        )
    )
    db.commit()
    v2 = publish(db, course, material=True)
    current = make_user()
    complete(db, current, course, NOW - timedelta(days=1), v2)

    changed = require_retraining(db, hr, v2, date(2027, 2, 28), now=NOW)
    db.commit()
    assert changed == 1
    enrollment = enrollment_of(db, holder, course)
    assert enrollment.cycle == 2 and enrollment.completed_at is None
    assert enrollment.version_id is None and enrollment.started_at is None
    assert enrollment.due_at == end_of_day(date(2027, 2, 28)) and enrollment.assigned_at == NOW
    assert enrollment_of(db, reader, course).version_id == v1.id  # still reading v1
    assert enrollment_of(db, current, course).completed_at is not None
    [event_] = events(db, "course.retraining_required")
    assert event_.details["enrollments"] == 1 and event_.details["version_number"] == 2
    rows = {r.user_id: r for r in status_rows(db, RecordFilter(course_id=course.id), now=NOW).rows}
    assert rows[holder.id].status is Status.NOT_STARTED and rows[holder.id].version_number == 2


def test_a_minor_version_requires_no_retraining(db, make_user, hr, courses):
    course = courses[FLAGSHIP]
    holder = make_user()
    complete(db, holder, course, NOW - timedelta(days=10))
    minor = publish(db, course, material=False)
    with pytest.raises(DomainError, match="not a material change"):
        require_retraining(db, hr, minor, date(2027, 2, 28), now=NOW)
    assert enrollment_of(db, holder, course).completed_at is not None


def test_renewal_opens_when_due_soon_and_keeps_the_old_expiry_as_due_date(db, make_user, courses):
    course = courses[FLAGSHIP]
    person = make_user()
    completed = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    expires = datetime(2027, 1, 20, tzinfo=UTC)  # expired from the start of its day
    complete(db, person, course, completed)
    enrollment = start_renewal(db, person, course, now=NOW)  # 10 days before expiry
    db.commit()
    assert enrollment.cycle == 2 and enrollment.completed_at is None
    assert enrollment.version_id is None
    assert enrollment.due_at == expires - timedelta(seconds=1)  # the last moment still valid
    [event_] = events(db, "course.renewal_started")
    assert event_.actor_id == person.id and event_.details["cycle"] == 2
    with pytest.raises(DomainError, match="no completion of this course to renew"):
        start_renewal(db, person, course, now=NOW)


def test_renewal_after_expiry_gives_thirty_days(db, make_user, courses):
    person = make_user()
    complete(db, person, courses[FLAGSHIP], NOW - timedelta(days=500))
    enrollment = start_renewal(db, person, courses[FLAGSHIP], now=NOW)
    assert enrollment.due_at == NOW + timedelta(days=30)


def test_renewal_is_refused_while_the_completion_is_valid(db, make_user, courses):
    person = make_user()
    complete(db, person, courses[FLAGSHIP], datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    with pytest.raises(
        DomainError, match="expires on 1 December 2027; you can renew it from 17 November 2027"
    ):
        start_renewal(db, person, courses[FLAGSHIP], now=NOW)
    with pytest.raises(DomainError, match="no completion"):
        start_renewal(db, make_user(), courses[FLAGSHIP], now=NOW)


def test_a_completion_that_never_expires_cannot_be_renewed(db, make_user, courses):
    course = courses[REFRESHER]
    forever = publish(db, course, recertify_months=0)
    person = make_user()
    complete(db, person, course, NOW - timedelta(days=5000), forever)
    with pytest.raises(DomainError, match="does not expire"):
        start_renewal(db, person, course, now=NOW)


# --- the status matrix -------------------------------------------------------------------


@pytest.fixture
def matrix(db, make_user, hr, courses):
    """Five people in two departments, one of them a manager, in every state."""
    boss = make_user(name="Mona Manager", department="Sales")
    people = {
        "overdue": make_user(name="Olga", department="Sales", manager_id=boss.id),
        "soon": make_user(name="Sam", department="Sales", manager_id=boss.id),
        "done": make_user(name="Dora", department="Support"),
        "expired": make_user(name="Ezra", department="Support"),
        "reading": make_user(name="Rita", department="Support"),
    }
    make_user(name="Gone", department="Sales", active=False)
    course = courses[FLAGSHIP]
    assign(
        db,
        hr,
        course,
        "people",
        user_ids=[people["overdue"].id],
        due_days=1,
        now=NOW - timedelta(days=5),
    )
    assign(
        db,
        hr,
        course,
        "people",
        user_ids=[people["soon"].id, people["reading"].id],
        due_days=7,
        now=NOW,
    )
    db.commit()
    complete(db, people["done"], course, NOW - timedelta(days=20))
    complete(db, people["expired"], course, NOW - timedelta(days=400))
    reading = enrollment_of(db, people["reading"], course)
    reading.due_at = NOW + timedelta(days=60)
    reading.version_id, reading.started_at = latest(db, course).id, NOW - timedelta(days=1)
    db.commit()
    return boss, people


def test_status_rows_compute_each_persons_status(db, matrix, courses):
    boss, people = matrix
    page = status_rows(db, now=NOW)
    by_name = {r.name: r for r in page.rows}
    assert page.total == 5 and "Gone" not in by_name and "Mona Manager" not in by_name
    assert by_name["Olga"].status is Status.OVERDUE
    assert by_name["Sam"].status is Status.DUE_SOON
    assert by_name["Dora"].status is Status.COMPLETED
    assert by_name["Ezra"].status is Status.EXPIRED
    assert by_name["Rita"].status is Status.IN_PROGRESS
    dora = by_name["Dora"]
    assert dora.course_slug == FLAGSHIP and dora.version_number == 1
    assert dora.course_title == latest(db, courses[FLAGSHIP]).title
    assert dora.completed_at == NOW - timedelta(days=20)
    assert dora.expires_at == datetime(2027, 12, 21, tzinfo=UTC)
    assert dora.label == "Completed (expires 21 December 2027)"
    assert by_name["Olga"].manager_id == boss.id and by_name["Olga"].department == "Sales"


def test_status_rows_filter_sort_and_page(db, matrix, courses):
    boss, _ = matrix
    assert [r.name for r in status_rows(db, now=NOW).rows] == [
        "Dora",
        "Ezra",
        "Olga",
        "Rita",
        "Sam",
    ]

    def names(**filters):
        return [r.name for r in status_rows(db, RecordFilter(**filters), now=NOW).rows]

    assert names(department="Sales") == ["Olga", "Sam"]
    assert names(manager_id=boss.id) == ["Olga", "Sam"]
    assert status_rows(db, RecordFilter(course_id=courses[REFRESHER].id), now=NOW).total == 0
    by_status = status_rows(db, sort="status", now=NOW).rows
    assert [r.name for r in by_status][:2] == ["Olga", "Ezra"]  # most urgent first
    assert names(status="due_soon") == ["Sam"] == names(status=Status.DUE_SOON)
    # Completed between two UTC days, both included, by the current cycle's completion.
    dora_day = (NOW - timedelta(days=20)).date()
    assert names(completed_from=dora_day, completed_to=dora_day) == ["Dora"]
    assert names(completed_to=dora_day) == ["Dora", "Ezra"]
    assert names(completed_from=dora_day + timedelta(days=1)) == []
    by_due = status_rows(db, sort="due", now=NOW).rows
    assert [r.name for r in by_due] == ["Olga", "Sam", "Rita", "Dora", "Ezra"]  # blanks last
    by_due_desc = status_rows(db, sort="-due", now=NOW).rows
    assert [r.name for r in by_due_desc][:3] == ["Rita", "Sam", "Olga"]
    page = status_rows(db, sort="-name", limit=2, offset=1, now=NOW)
    assert page.total == 5 and [r.name for r in page.rows] == ["Rita", "Olga"]
    with pytest.raises(DomainError, match="Unknown sort"):
        status_rows(db, sort="password_hash")
    with pytest.raises(DomainError, match="Unknown status 'lost'"):
        status_rows(db, RecordFilter(status="lost"))


def test_status_rows_list_deactivated_people_only_when_asked(db, matrix, courses):
    _, people = matrix
    people["expired"].active = False
    db.commit()
    assert "Ezra" not in {r.name for r in status_rows(db, now=NOW).rows}
    everyone = status_rows(db, RecordFilter(include_inactive=True), now=NOW).rows
    assert [r.name for r in everyone] == ["Dora", "Ezra", "Olga", "Rita", "Sam"]
    assert summary(db, NOW).overall.total == 4  # the dashboard counts active people


def test_summary_by_department(db, matrix):
    result = summary(db, NOW)
    assert (result.overall.total, result.overall.completed, result.overdue) == (5, 1, 1)
    assert result.overall.rate == pytest.approx(0.2)
    sales, support = result.by_department["Sales"], result.by_department["Support"]
    assert (sales.total, sales.completed, sales.overdue, sales.due_soon) == (2, 0, 1, 1)
    assert (support.total, support.completed, support.expired) == (3, 1, 1)
    assert list(result.by_department) == ["Sales", "Support"]


def test_status_rows_use_a_fixed_number_of_queries(app, db, matrix):
    engine = app.extensions["candor.engine"]
    with statements_run(engine) as statements:
        status_rows(db, now=NOW)
    few = len(statements)
    add_people(db, 40, department="Sales")
    assign(
        db,
        matrix[0],
        db.scalar(select(Course).where(Course.slug == FLAGSHIP)),
        "everyone",
        due_days=9,
        now=NOW,
    )
    db.commit()
    with statements_run(engine) as statements:
        status_rows(db, now=NOW)
    assert len(statements) == few


def test_ten_thousand_people_on_two_courses(db, hr, courses):
    add_people(db, 10_000)
    timings = {}

    def timed(name, call):
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    for slug in (FLAGSHIP, REFRESHER):
        result = timed(
            f"assign {slug}",
            lambda slug=slug: assign(db, hr, courses[slug], "everyone", due_days=30, now=NOW),
        )
        assert result.assigned == 10_000  # the learners; the HR account assigning is not one
    db.commit()
    page = timed(
        "status_rows (sorted, page of 50)", lambda: status_rows(db, limit=50, sort="due", now=NOW)
    )
    overall = timed("summary", lambda: summary(db, NOW))
    assert page.total == 20_000 and overall.overall.total == 20_000
    # A print, not an assertion: timings belong to benchmarks (DESIGN.md §6). Run with -s.
    print(f"\n[{db.get_bind().dialect.name}] 10,001 people x 2 courses (wall / cpu):")
    for name, (wall, cpu) in timings.items():
        print(f"  {name}: {wall:.3f}s / {cpu:.3f}s")
