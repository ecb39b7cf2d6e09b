"""Exports of completion records and quiz answers: rows, filters, files, audit, query count."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from helpers import list_courses, statements_run
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG
from sqlalchemy import event, select

from app.certificates.codes import grouped, new_code
from app.content.sync import sync_courses
from app.content.versions import newest_version_by_slug
from app.errors import DomainError
from app.exports.completions import (
    COLUMNS,
    EXPORT_KINDS,
    completion_rows,
    count_rows,
    counted,
    export_filename,
    record_export,
)
from app.exports.csv import csv_stream
from app.exports.items import ITEM_COLUMNS, count_item_rows, item_rows
from app.exports.xlsx import XLSX_MAX_ROWS, TooManyRows, check_fits, xlsx_stream
from app.models import (
    AttemptStatus,
    AuditEvent,
    Certificate,
    Completion,
    CourseVersion,
    Enrollment,
    QuizAttempt,
    Role,
    User,
)
from app.quizzes.grading import grade, plan_attempt
from app.quizzes.standing import quiz_of
from app.training.filters import STATUSES, RecordFilter
from app.training.status import Status, StatusFacts, course_status

NOW = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
CONTACT = "ai-in-the-contact-center"
REFRESHER = "ai-data-refresher"


@pytest.fixture
def make_person(db):
    """Factory: a saved user without a password (hashing one per person is slow, and unused)."""
    serial = itertools.count(1)

    def make(roles=frozenset({Role.LEARNER}), **fields) -> User:
        number = next(serial)
        fields.setdefault("email", f"person{number}@example.test")
        fields.setdefault("name", f"Person {number}")
        user = User(**fields)
        user.roles = set(roles)
        db.add(user)
        db.commit()
        return user

    return make


def at(days: float) -> datetime:
    """NOW shifted by ``days`` (negative: in the past)."""
    return NOW + timedelta(days=days)


def enroll(
    db, user, version, *, assigned=-30.0, due=None, started=None, pinned=True, cycle=1
) -> Enrollment:
    enrollment = Enrollment(
        user_id=user.id,
        course_id=version.course_id,
        version_id=version.id if pinned else None,
        created_at=at(assigned),
        assigned_at=at(assigned),
        due_at=at(due) if due is not None else None,
        started_at=at(started) if started is not None else None,
        cycle=cycle,
    )
    db.add(enrollment)
    db.flush()
    return enrollment


def attempt(
    db, enrollment, number, *, cycle=None, submitted=True, result=None, when=-5.0
) -> QuizAttempt:
    row = QuizAttempt(
        enrollment_id=enrollment.id,
        user_id=enrollment.user_id,
        version_id=enrollment.version_id,
        cycle=cycle or enrollment.cycle,
        number=number,
        seed=number,
        plan={},
        started_at=at(when - 0.01),
        status=AttemptStatus.SUBMITTED if submitted else AttemptStatus.IN_PROGRESS,
        submitted_at=at(when) if submitted else None,
        result=result,
    )
    db.add(row)
    db.flush()
    return row


def complete(
    db, enrollment, *, days, score=None, expires=None, cycle=None, attempt_row=None, current=True
) -> tuple[Completion, Certificate]:
    completion = Completion(
        user_id=enrollment.user_id,
        course_id=enrollment.course_id,
        version_id=enrollment.version_id,
        enrollment_id=enrollment.id,
        cycle=cycle or enrollment.cycle,
        completed_at=at(days),
        score=score,
        attempt_id=attempt_row.id if attempt_row is not None else None,
    )
    db.add(completion)
    db.flush()
    certificate = Certificate(
        code=new_code(),
        completion_id=completion.id,
        user_id=enrollment.user_id,
        facts={},
        signature="test",
        key_id="test",
        issued_at=at(days),
        expires_at=at(expires) if expires is not None else None,
        pdf=b"",
    )
    db.add(certificate)
    if current:
        enrollment.completed_at = at(days)
        enrollment.expires_at = certificate.expires_at
    db.flush()
    return completion, certificate


@pytest.fixture
def world(db, make_person, synced):
    """Seven enrollments, one in each status (two due soon), on the shipped courses."""
    contact = newest_version_by_slug(db, CONTACT)
    refresher = newest_version_by_slug(db, REFRESHER)
    mona = make_person(
        name="Mona Manager", employee_id="M-1", department="Management", roles={Role.HR}
    )
    ana = make_person(name="Ana Silva", employee_id="E-1", department="Sales", manager_id=mona.id)
    ben = make_person(name="Ben Okafor", employee_id="E-2", department="Sales", manager_id=mona.id)
    cara = make_person(name="Cara Dunn", employee_id="E-3", department="Support")
    dan = make_person(
        name="Dan Wu", employee_id="E-4", department="Support", manager_id=mona.id, active=False
    )
    eve = make_person(name="Eve Adams", employee_id="E-5", department="Sales")

    e = enroll(db, ana, contact, due=-5, started=-20)
    attempt(db, e, 1, when=-12)
    passed = attempt(db, e, 2, when=-11)
    _, ana_certificate = complete(db, e, days=-11, score=90, expires=354, attempt_row=passed)

    e = enroll(db, ben, contact, due=9, started=-3)
    attempt(db, e, 1, when=-2)
    attempt(db, e, 2, submitted=False)

    enroll(db, cara, contact, due=-30, pinned=False)
    e = enroll(db, cara, refresher, assigned=-400, started=-390)
    complete(db, e, days=-386, expires=-21)

    e = enroll(db, dan, refresher, assigned=-370, started=-362)
    complete(db, e, days=-361, expires=4)
    enroll(db, dan, contact, due=90, pinned=False)

    # Eve completed cycle 1 and is retraining: cycle 2 counts, cycle 1 does not.
    e = enroll(db, eve, contact, assigned=-400, started=-2, cycle=2)
    attempt(db, e, 1, cycle=1, when=-390)
    complete(db, e, days=-390, score=70, expires=-25, cycle=1, current=False)
    attempt(db, e, 1, when=-1)
    db.commit()
    return {
        "contact": contact,
        "refresher": refresher,
        "mona": mona,
        "ana": ana,
        "ben": ben,
        "cara": cara,
        "dan": dan,
        "eve": eve,
        "ana_certificate": ana_certificate,
    }


def as_dicts(rows) -> list[dict]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def export(db, **criteria) -> list[dict]:
    return as_dicts(completion_rows(db, RecordFilter(**criteria), NOW))


def statuses(rows) -> list[tuple[str, str, str]]:
    return [(r["name"], r["course"][:14], r["status"]) for r in rows]


# --------------------------------------------------------------------------------------------
# Rows


def test_one_row_per_enrollment_with_every_column(db, world):
    rows = export(db, include_inactive=True)
    contact, refresher = world["contact"], world["refresher"]
    expected = sorted(
        [
            ("Ana Silva", contact, "completed"),
            ("Ben Okafor", contact, "due_soon"),
            ("Cara Dunn", contact, "overdue"),
            ("Cara Dunn", refresher, "expired"),
            ("Dan Wu", refresher, "due_soon"),
            ("Dan Wu", contact, "not_started"),
            ("Eve Adams", contact, "in_progress"),
        ],
        key=lambda r: (r[0], r[1].course_id),
    )  # by name, then course
    assert statuses(rows) == [(n, v.title[:14], s) for n, v, s in expected]
    ana = rows[0]
    assert ana == {
        "employee_id": "E-1",
        "name": "Ana Silva",
        "email": world["ana"].email,
        "department": "Sales",
        "manager": "Mona Manager",
        "course": contact.title,
        "course_version": contact.number,
        "content_hash": contact.content_hash[:12],
        "account": "active",
        "status": "completed",
        "assigned_at": at(-30),
        "due_at": at(-5),
        "started_at": at(-20),
        "completed_at": at(-11),
        "score": 90,
        "attempts": 2,
        "certificate_code": grouped(world["ana_certificate"].code),
        "certificate_status": "valid",
        "expires_at": at(354),
        "revoked_at": None,
    }
    assert all(
        isinstance(r[c], datetime) and r[c].utcoffset() == timedelta(0)
        for r in rows
        for c in ("assigned_at",)
    )


def test_deactivated_people_are_left_out_unless_asked_for(db, world):
    # As the matrix and the dashboard count them: the same filter lists the same people.
    assert "Dan Wu" not in {r["name"] for r in export(db)}
    assert [r["name"] for r in export(db, include_inactive=True)].count("Dan Wu") == 2
    assert count_rows(db, RecordFilter(), NOW) == 5
    assert count_rows(db, RecordFilter(include_inactive=True), NOW) == 7


def test_statuses_cover_every_rule(db, world):
    by_person = {(r["name"], r["course"]): r for r in export(db, include_inactive=True)}
    contact, refresher = world["contact"].title, world["refresher"].title
    assert by_person[("Ben Okafor", contact)]["attempts"] == 1  # the open attempt is not counted
    assert by_person[("Cara Dunn", contact)]["course_version"] is None  # not on a version yet
    assert by_person[("Dan Wu", refresher)]["manager"] == "Mona Manager"  # deactivated: asked for
    eve = by_person[("Eve Adams", contact)]
    assert (eve["attempts"], eve["completed_at"], eve["score"], eve["certificate_code"]) == (
        1,
        None,
        None,
        None,
    )  # cycle 1 is history
    assert {r["status"] for r in by_person.values()} == set(STATUSES) - {"revoked"}


def test_statuses_are_the_shared_rule_at_the_given_moment(db, world):
    assert STATUSES == tuple(Status)
    for moment in (NOW, at(-200), at(400)):
        for row in as_dicts(completion_rows(db, RecordFilter(), moment)):
            facts = StatusFacts(
                *(
                    row[c]
                    for c in ("assigned_at", "due_at", "started_at", "completed_at", "expires_at")
                )
            )
            assert row["status"] == course_status(facts, moment)
    # Due exactly now is still due soon, one second later it is overdue.
    ben = world["ben"]
    due = db.scalar(select(Enrollment.due_at).where(Enrollment.user_id == ben.id))
    assert [
        r["status"] for r in export_at(db, due, department="Sales") if r["name"] == "Ben Okafor"
    ] == ["due_soon"]
    assert [
        r["status"]
        for r in export_at(db, due + timedelta(seconds=1), department="Sales")
        if r["name"] == "Ben Okafor"
    ] == ["overdue"]


def export_at(db, moment, **criteria) -> list[dict]:
    return as_dicts(completion_rows(db, RecordFilter(**criteria), moment))


def test_the_course_has_its_title_today_and_the_row_the_version_completed(db, world):
    contact = world["contact"]
    newer = CourseVersion(
        course_id=contact.course_id,
        number=contact.number + 1,
        content_hash="f" * 64,
        title="Contact centre AI, 2027 edition",
        summary="",
        estimated_minutes=10,
        pass_mark=80,
        max_attempts=3,
        recertify_months=12,
        metadata_source="",
    )
    db.add(newer)
    db.commit()
    rows = {r["name"]: r for r in export(db, course_id=contact.course_id)}
    assert {r["course"] for r in rows.values()} == {newer.title}
    assert (rows["Ana Silva"]["course_version"], rows["Ana Silva"]["content_hash"]) == (
        contact.number,
        contact.content_hash[:12],
    )


# --------------------------------------------------------------------------------------------
# Filters


def test_filters(db, world):
    contact = world["contact"]
    names = lambda rows: sorted({r["name"] for r in rows})  # noqa: E731
    assert names(export(db, course_id=world["refresher"].course_id)) == ["Cara Dunn"]
    assert names(export(db, course_id=world["refresher"].course_id, include_inactive=True)) == [
        "Cara Dunn",
        "Dan Wu",
    ]
    assert names(export(db, department="Sales")) == ["Ana Silva", "Ben Okafor", "Eve Adams"]
    assert names(export(db, manager_id=world["mona"].id)) == ["Ana Silva", "Ben Okafor"]
    assert names(export(db, manager_id=world["mona"].id, include_inactive=True)) == [
        "Ana Silva",
        "Ben Okafor",
        "Dan Wu",
    ]
    assert statuses(export(db, status="due_soon", include_inactive=True)) == [
        ("Ben Okafor", contact.title[:14], "due_soon"),
        ("Dan Wu", world["refresher"].title[:14], "due_soon"),
    ]
    assert export(db, status="completed", department="Support") == []
    assert export(db, course_id=999_999) == []
    # Completed between two dates, both included, by the completion of the current cycle.
    day = at(-11).date()
    assert names(export(db, completed_from=day, completed_to=day)) == ["Ana Silva"]
    assert names(export(db, completed_from=day + timedelta(days=1))) == []
    assert names(export(db, completed_to=day, include_inactive=True)) == [
        "Ana Silva",
        "Cara Dunn",
        "Dan Wu",
    ]
    assert names(export(db, completed_from=at(-400).date(), completed_to=at(-380).date())) == [
        "Cara Dunn"
    ]  # Eve's cycle-1 completion is not the current cycle's


def test_count_rows_matches_the_rows(db, world):
    for criteria in (
        {},
        {"status": "due_soon"},
        {"department": "Support"},
        {"completed_to": at(-11).date()},
        {"status": "expired", "course_id": 999},
        {"include_inactive": True},
        {"status": "due_soon", "include_inactive": True},
    ):
        query = RecordFilter(**criteria)
        assert count_rows(db, query, NOW) == len(list(completion_rows(db, query, NOW)))
    assert count_rows(db, RecordFilter(include_inactive=True), NOW) == 7


def test_now_must_be_aware(db, world):
    with pytest.raises(ValueError, match="timezone-aware"):
        completion_rows(db, RecordFilter(), NOW.replace(tzinfo=None))  # at once


# --------------------------------------------------------------------------------------------
# Files


HOSTILE = {
    "name": '=HYPERLINK("http://x","y")',
    "employee_id": "@SUM(1)",
    "email": "-2+3@x.test",
    "department": "\t=1",
    "manager": "+1",
    "course": "＝cmd|' /C calc'!A0",
}


@pytest.fixture
def hostile(db, make_person, synced):
    """One person whose every free-text field, and their course's title, is a formula."""
    contact = newest_version_by_slug(db, CONTACT)
    boss = make_person(name=HOSTILE["manager"])
    user = make_person(
        name=HOSTILE["name"],
        employee_id=HOSTILE["employee_id"],
        email=HOSTILE["email"],
        department=HOSTILE["department"],
        manager_id=boss.id,
    )
    e = enroll(db, user, contact, started=-20)
    complete(db, e, days=-3, score=75, expires=362)
    db.add(
        CourseVersion(
            course_id=contact.course_id,
            number=contact.number + 1,
            content_hash="e" * 64,
            title=HOSTILE["course"],
            summary="",
            estimated_minutes=10,
            pass_mark=80,
            max_attempts=3,
            recertify_months=12,
            metadata_source="",
        )
    )
    db.commit()
    return user


def test_csv_of_hostile_records_escapes_every_text_cell(db, hostile):
    data = b"".join(csv_stream(completion_rows(db, RecordFilter(), NOW)))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(COLUMNS)
    row = dict(zip(COLUMNS, rows[1], strict=True))
    for column, text in HOSTILE.items():
        assert row[column] == "'" + text, column
    assert (row["score"], row["attempts"], row["status"]) == ("75", "0", "completed")
    assert row["completed_at"] == at(-3).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["assigned_at"].endswith("Z") and row["due_at"] == ""


def test_xlsx_has_typed_cells_and_no_formulas(db, world, hostile):
    data = b"".join(xlsx_stream(completion_rows(db, RecordFilter(), NOW)))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header == [f"{n} (UTC)" if n.endswith("_at") else n for n in COLUMNS]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:T{count_rows(db, RecordFilter(), NOW) + 1}"
    assert sheet.column_dimensions["B"].width > 20
    rows = {r[1].value: dict(zip(COLUMNS, r, strict=True)) for r in sheet.iter_rows(min_row=2)}
    ana = rows["Ana Silva"]
    assert ana["completed_at"].value == at(-11).replace(tzinfo=None)
    assert ana["completed_at"].is_date and ana["completed_at"].number_format.startswith("yyyy")
    assert isinstance(ana["score"].value, int | float) and ana["score"].value == 90
    assert ana["attempts"].value == 2 and ana["course_version"].data_type == "n"
    assert ana["due_at"].value == at(-5).replace(tzinfo=None)
    assert rows["Cara Dunn"]["course_version"].value is None
    evil = rows[HOSTILE["name"]]
    for column, text in HOSTILE.items():
        cell = evil[column]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True), column
    assert ana["name"].quotePrefix is False


def test_xlsx_refuses_more_rows_than_a_sheet_holds():
    check_fits(XLSX_MAX_ROWS)
    with pytest.raises(TooManyRows, match="do not fit in a spreadsheet") as caught:
        check_fits(XLSX_MAX_ROWS + 1)
    assert caught.value.status == 413


def test_export_filenames_carry_no_personal_data():
    assert export_filename("completions.csv", NOW) == "candor-completions-20261201T091500Z.csv"
    assert export_filename("completions.xlsx", NOW) == "candor-completions-20261201T091500Z.xlsx"
    assert export_filename("items.csv", NOW) == "candor-items-20261201T091500Z.csv"
    with pytest.raises(ValueError):
        export_filename("../etc/passwd", NOW)


# --------------------------------------------------------------------------------------------
# Audit


def test_every_export_is_recorded_with_who_which_filter_and_how_many(db, world):
    query = RecordFilter(department="Sales", status="due_soon")
    for kind in EXPORT_KINDS:
        record_export(db, world["mona"], kind, query, count_rows(db, query, NOW))
    db.commit()
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.created").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_id, e.details) for e in events] == [
        (
            world["mona"].id,
            {"kind": kind, "filter": {"department": "Sales", "status": "due_soon"}, "row_count": 1},
        )
        for kind in EXPORT_KINDS
    ]
    assert all(e.occurred_at is not None for e in events)
    with pytest.raises(ValueError):
        record_export(db, world["mona"], "everything.zip", query, 0)


def test_counted_reports_the_count_once_exhausted():
    seen: list[int] = []
    stream = counted(iter("abc"), seen.append)
    assert next(stream) == "a" and seen == []
    assert list(stream) == ["b", "c"] and seen == [3]
    dropped: list[int] = []
    partial = counted(iter("abc"), dropped.append)
    next(partial)
    partial.close()  # a dropped download: nothing reported, hence the audit comes first
    assert dropped == []


# --------------------------------------------------------------------------------------------
# Queries


def populate(db, make_person, contact, refresher, count: int) -> None:
    for i in range(count):
        user = make_person(name=f"Person {i:03}", department="Ops")
        e = enroll(db, user, contact, due=10, started=-2)
        attempt(db, e, 1, when=-1)
        complete(db, e, days=-1, score=80, expires=300)
        enroll(db, user, refresher, due=-1, pinned=False)
    db.commit()


def test_the_number_of_queries_does_not_grow_with_the_rows(db, make_person, synced):
    contact = newest_version_by_slug(db, CONTACT)
    refresher = newest_version_by_slug(db, REFRESHER)
    engine = db.get_bind()
    counts = []
    for size in (5, 50):
        populate(db, make_person, contact, refresher, size - len(counts) * 5)
        db.expire_all()
        with statements_run(engine) as seen:
            rows = list(completion_rows(db, RecordFilter(department="Ops"), NOW))
            total = count_rows(db, RecordFilter(department="Ops"), NOW)
            items = list(item_rows(db, RecordFilter(department="Ops")))
        assert len(rows) == total == 2 * size
        assert len(items) == 0  # the attempts here carry no stored grade
        counts.append(len(seen))
    assert counts == [3, 3]
    with engine.connect() as connection, statements_run(engine) as seen:
        assert len(list(completion_rows(connection, RecordFilter(), NOW))) == 100
    assert len(seen) == 1


@pytest.mark.postgres_only
def test_postgresql_streams_with_a_server_side_cursor(db, world):
    assert db.get_bind().dialect.name == "postgresql"
    cursors: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        cursors.append(type(cursor).__name__)

    event.listen(db.get_bind(), "before_cursor_execute", listen)
    try:
        assert len(list(completion_rows(db, RecordFilter(include_inactive=True), NOW))) == 7
        assert len(list(item_rows(db, RecordFilter()))) == 0
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", listen)
    assert cursors and all("ServerCursor" in name for name in cursors)


# --------------------------------------------------------------------------------------------
# Item export


@pytest.fixture
def answered(db, make_person, quiz_demo):
    """Two graded attempts at the quiz demo course: one failed, one passed."""
    sync_courses(db, quiz_demo)
    list_courses(db)
    version = newest_version_by_slug(db, SLUG)
    quiz = quiz_of(version)
    boss = make_person(name="Mona Manager")
    user = make_person(name="=Ana", employee_id="E-9", department="Sales", manager_id=boss.id)
    other = make_person(name="Zed Other", department="Support")
    e = enroll(db, user, version, started=-3)
    path = [f"{CONVERSATION}.start.a", f"{CONVERSATION}.opt-out.b"]
    wrong = {
        Q_PASTE: [f"{Q_PASTE}.a"],
        Q_PERSONAL: [f"{Q_PERSONAL}.a"],
        Q_SCREEN: [],
        CONVERSATION: path,
    }
    right = {
        Q_PASTE: [f"{Q_PASTE}.b"],
        Q_PERSONAL: [f"{Q_PERSONAL}.a", f"{Q_PERSONAL}.b"],
        Q_SCREEN: [f"{Q_SCREEN}.b"],
        CONVERSATION: [path[0], f"{CONVERSATION}.opt-out.a"],
    }
    for number, answers in ((1, wrong), (2, right)):
        plan = plan_attempt(quiz, number)
        attempt(db, e, number, when=-3 + number, result=grade(quiz, plan, answers).to_dict())
    attempt(db, e, 3, submitted=False)
    e2 = enroll(db, other, version, started=-1)
    attempt(db, e2, 1, when=-0.5, result=grade(quiz, plan_attempt(quiz, 9), right).to_dict())
    db.commit()
    return {"version": version, "user": user, "boss": boss}


def test_item_export_has_one_row_per_answer_of_each_submitted_attempt(db, answered):
    rows = [
        dict(zip(ITEM_COLUMNS, r, strict=True))
        for r in item_rows(db, RecordFilter(manager_id=answered["boss"].id))
    ]
    assert len(rows) == 8  # 2 submitted attempts × (3 questions + 1 conversation)
    assert count_item_rows(db, RecordFilter(manager_id=answered["boss"].id)) == 8
    first = {r["item_id"]: r for r in rows if r["attempt"] == 1}
    assert first[Q_PASTE] == {
        "employee_id": "E-9",
        "name": "=Ana",
        "email": answered["user"].email,
        "department": "Sales",
        "account": "active",
        "course": "Quiz demo",
        "course_version": 1,
        "attempt": 1,
        "submitted_at": at(-2),
        "item_id": Q_PASTE,
        "kind": "question",
        "question": "Where may you paste a customer's order history?",
        "chosen": f"{Q_PASTE}.a",
        "chosen_text": "Into any AI chatbot.",
        "correct": False,
        "points": 0,
    }
    assert first[Q_SCREEN]["chosen"] == "" and first[Q_SCREEN]["correct"] is False
    assert first[CONVERSATION]["kind"] == "conversation"
    assert first[CONVERSATION]["chosen"] == " > ".join(
        [f"{CONVERSATION}.start.a", f"{CONVERSATION}.opt-out.b"]
    )
    assert first[CONVERSATION]["correct"] is None
    assert first[CONVERSATION]["question"] and " > " in first[CONVERSATION]["chosen_text"]
    assert (
        " | "
        in dict((r["item_id"], r["chosen_text"]) for r in rows if r["attempt"] == 2)[Q_PERSONAL]
    )  # several options chosen: each in words
    assert str(first[CONVERSATION]["points"]) == "1"  # 50% of 2 points
    second = {r["item_id"]: r for r in rows if r["attempt"] == 2}
    assert set(second[Q_PERSONAL]["chosen"].split()) == {f"{Q_PERSONAL}.a", f"{Q_PERSONAL}.b"}
    assert all(r["correct"] for r in second.values() if r["kind"] == "question")
    assert str(second[CONVERSATION]["points"]) == "2"


def test_item_export_filters_and_csv(db, answered):
    everyone = list(item_rows(db, RecordFilter()))
    assert len(everyone) == 12 == count_item_rows(db, RecordFilter())
    assert {r[1] for r in item_rows(db, RecordFilter(department="Support"))} == {"Zed Other"}
    assert list(item_rows(db, RecordFilter(course_id=answered["version"].course_id + 99))) == []
    day = at(-1).date()
    assert {
        r[ITEM_COLUMNS.index("attempt")]
        for r in item_rows(
            db, RecordFilter(department="Sales", completed_from=day, completed_to=day)
        )
    } == {2}
    with pytest.raises(DomainError, match="cannot be filtered by status"):
        item_rows(db, RecordFilter(status="completed"))  # at once, before any streaming
    with pytest.raises(DomainError, match="cannot be filtered by status"):
        count_item_rows(db, RecordFilter(status="completed"))
    data = b"".join(csv_stream(item_rows(db, RecordFilter(department="Sales")), ITEM_COLUMNS))
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed[0] == list(ITEM_COLUMNS)
    assert {r[1] for r in parsed[1:]} == {"'=Ana"}
    assert {r[ITEM_COLUMNS.index("correct")] for r in parsed[1:]} == {"TRUE", "FALSE", ""}


def test_item_export_leaves_out_deactivated_people_unless_asked_and_says_so(db, answered):
    user = answered["user"]
    user.active = False
    db.commit()
    assert list(item_rows(db, RecordFilter(manager_id=answered["boss"].id))) == []
    rows = [
        dict(zip(ITEM_COLUMNS, r, strict=True))
        for r in item_rows(db, RecordFilter(manager_id=answered["boss"].id, include_inactive=True))
    ]
    assert len(rows) == 8 and {r["account"] for r in rows} == {"deactivated"}
