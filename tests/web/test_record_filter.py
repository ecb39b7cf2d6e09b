"""One filter for every people x courses listing: the HR matrix and the three exports read
the same keys, refuse the same input with the same message, and list the same records."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from helpers import login, post, record_completion
from sqlalchemy import select

from app.certificates.codes import new_code
from app.content.versions import newest_versions
from app.dates import expiry_of
from app.db import utcnow
from app.models import Certificate, Course, Enrollment, Role, User
from app.training.assignments import assign

EXPORTS = ("/hr/exports/completions.csv", "/hr/exports/completions.xlsx", "/hr/exports/items.csv")
ROW = re.compile(
    r'<td class="who"><a href="/hr/people/\d+">([^<]*)</a>(?:(?!</td>).)*</td>\s*'
    r"<td>[^<]*</td>\s*"
    r'<td>([^<]*?) <span class="hash">v\d+</span></td>\s*'
    r'<td><span class="pill pill-(\w+)">',
    re.S,
)
EXPORT_FORM = re.compile(
    r'<form method="post" action="/hr/exports/completions\.csv"[^>]*>'
    r"(.*?)</form>",
    re.S,
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def message(response) -> str:
    found = re.search(r"<h1>[^<]*</h1>\s*<p>(.*?)</p>", response.get_data(as_text=True), re.S)
    assert found, response.get_data(as_text=True)[:500]
    return html.unescape(found.group(1))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            {"status": "bogus"},
            "Unknown status 'bogus': use one of not_started, in_progress, "
            "completed, due_soon, overdue, expired, revoked.",
        ),
        ({"course_id": "abc"}, "course_id must be a whole number from 1 to 2147483647, not 'abc'."),
        ({"manager_id": "0"}, "manager_id must be a whole number from 1 to 2147483647, not '0'."),
        ({"department": "x" * 121}, "The department is longer than 120 characters."),
        (
            {"department": "Sales\u202e"},
            "The department contains a control, invisible or text-direction character (U+202E).",
        ),
        (
            {"completed_from": "1/12/2026"},
            "completed_from must be a date written YYYY-MM-DD, like 2026-12-01, not '1/12/2026'.",
        ),
        (
            {"completed_from": "2026-12-02", "completed_to": "2026-12-01"},
            "completed_from (2026-12-02) is after completed_to (2026-12-01).",
        ),
        ({"include_inactive": "yes"}, "include_inactive must be 1 or 0, not 'yes'."),
        (
            {"course": "3"},
            "Unknown filter 'course': use course_id, department, manager_id, "
            "status, completed_from, completed_to, include_inactive, search, obligation.",
        ),
    ],
)
def test_a_bad_filter_gets_the_same_400_on_the_matrix_and_every_export(
    client, make_user, args, expected
):
    login(client, make_user(roles={Role.HR}))
    on_matrix = client.get("/hr/status", query_string=args)
    assert on_matrix.status_code == 400
    assert message(on_matrix) == expected
    for path in EXPORTS:
        on_export = post(client, path, args)
        assert on_export.status_code == 400, path
        assert message(on_export) == expected, path


def test_a_repeated_key_is_refused_alike(client, make_user):
    login(client, make_user(roles={Role.HR}))
    twice = [("status", "overdue"), ("status", "expired")]
    assert message(client.get("/hr/status", query_string=twice)) == "Give status at most once."
    response = post(client, EXPORTS[0], {"status": ["overdue", "expired"]})
    assert response.status_code == 400 and message(response) == "Give status at most once."


@pytest.fixture
def staff(db, make_user, synced):
    """People in two departments under one manager, one deactivated, in several states."""
    hr = make_user(roles={Role.HR}, name="Hana HR", department="People")

    def person(name, **fields) -> User:  # nobody else signs in: no password to hash
        user = User(name=name, email=f"{name.lower().replace(' ', '.')}@example.test", **fields)
        user.roles = {Role.LEARNER}
        db.add(user)
        db.flush()
        return user

    boss = person("Mona Manager", department="Sales")
    sales = [person(f"Sales {i}", department="Sales", manager_id=boss.id) for i in range(4)]
    support = [person(f"Support {i}", department="Support") for i in range(3)]
    gone = person("Gone Away", department="Sales", manager_id=boss.id)
    courses = {c.slug: c for c in db.scalars(select(Course))}
    now = utcnow()
    flagship, refresher = courses["ai-in-the-contact-center"], courses["ai-data-refresher"]
    assign(db, hr, flagship, "everyone", due_days=10, now=now - timedelta(days=20))
    assign(db, hr, refresher, "department", department="Support", due_days=30, now=now)
    newest = {v.course_id: v for v in db.scalars(newest_versions())}
    # Completions as the app records them: the certificate expires by the one expiry rule.
    for person, course, days_ago in (
        (sales[0], flagship, 3),
        (support[0], refresher, 400),
        (support[1], flagship, 360),
        (gone, flagship, 5),
    ):
        version = newest[course.id]
        done = now - timedelta(days=days_ago)
        completion = record_completion(db, person, version, done)
        db.add(
            Certificate(
                code=new_code(),
                completion_id=completion.id,
                user_id=person.id,
                facts={},
                signature="test",
                key_id="test",
                issued_at=done,
                expires_at=expiry_of(done, version.recertify_months),
                pdf=b"",
            )
        )
    started = db.scalar(select(Enrollment).where(Enrollment.user_id == sales[1].id))
    started.started_at, started.due_at = now - timedelta(days=1), now + timedelta(days=20)
    # A course without any published version: neither the matrix nor an export lists it.
    empty = Course(slug="not-yet-published")
    db.add(empty)
    db.flush()
    db.add(Enrollment(user_id=sales[2].id, course_id=empty.id))
    gone.active = False
    db.commit()
    return {
        "hr": hr,
        "boss": boss,
        "flagship": flagship,
        "refresher": refresher,
        "done_on": (now - timedelta(days=3)).date(),
    }


def matrix_rows(client, args) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """The matrix's rows for ``args``, and what its "export these" CSV form posts."""
    response = client.get("/hr/status", query_string=args)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = sorted((html.unescape(n), html.unescape(c), s) for n, c, s in ROW.findall(page))
    form = EXPORT_FORM.search(page)
    assert form, "no export form on the matrix"
    posted = {k: html.unescape(v) for k, v in HIDDEN.findall(form.group(1)) if k != "csrf_token"}
    return rows, posted


def test_an_export_of_the_matrix_holds_exactly_the_matrix_rows(client, staff):
    login(client, staff["hr"])
    day = staff["done_on"].isoformat()
    cases = [
        {},
        {"include_inactive": "1"},
        {"department": "Sales"},
        {"department": "Support"},
        {"manager_id": str(staff["boss"].id)},
        {"manager_id": str(staff["boss"].id), "include_inactive": "1"},
        {"course_id": str(staff["refresher"].id)},
        {"status": "overdue"},
        {"status": "completed"},
        {"status": "expired"},
        {"status": "due_soon"},
        {"status": "not_started"},
        {"status": "in_progress"},
        {"completed_from": day, "completed_to": day},
        {"completed_to": day, "include_inactive": "1"},
        {"search": "SALES 1"},
        {"search": "support.2@example"},
        {"search": "gone", "include_inactive": "1"},
        {"obligation": "iso-27001-a-6-3"},  # the flagship meets it, the refresher does not
        {"obligation": "gdpr-art-39", "department": "Support"},
    ]
    sizes = set()
    for args in cases:
        rows, posted = matrix_rows(client, {**args, "sort": "-due"})
        assert posted == args, args  # the same keys, and only the filter's
        response = post(client, "/hr/exports/completions.csv", posted)
        assert response.status_code == 200, args
        exported = sorted(
            (r["name"], r["course"], r["status"])
            for r in csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")))
        )
        assert exported == rows, args
        sizes.add(len(rows))
    assert len(sizes) > 5  # the cases list different records, not the same ones each time
    iso = matrix_rows(client, {"obligation": "iso-27001-a-6-3"})[0]
    flagship_title = "AI in the contact centre: lessons from the Patagonia lawsuit"
    assert iso and {course for _, course, _ in iso} == {flagship_title}
    page = client.get("/hr/status").get_data(as_text=True)
    assert '<select id="f-obligation" name="obligation">' in page
    everything = post(client, "/hr/exports/completions.csv", {"include_inactive": "1"})
    assert b"not-yet-published" not in everything.data  # no published version, no row
    everyone = matrix_rows(client, {})[0]
    assert "Gone Away" not in {name for name, _, _ in everyone}
    assert "Gone Away" in {name for name, _, _ in matrix_rows(client, {"include_inactive": "1"})[0]}


def test_links_keep_the_filter(client, staff):
    login(client, staff["hr"])
    course_id = staff["flagship"].id
    page = client.get(f"/hr/status?course_id={course_id}&department=Sales").get_data(as_text=True)
    sort_link = html.unescape(
        re.search(r'<a href="(/hr/status\?[^"]*sort=due[^"]*)"', page).group(1)
    )
    assert f"course_id={course_id}" in sort_link and "department=Sales" in sort_link
    dashboard = client.get("/hr/").get_data(as_text=True)
    assert 'href="/hr/status?status=overdue"' in dashboard
    assert 'href="/hr/status?department=Sales"' in dashboard


def test_sort_and_page_links_keep_every_filter_value():
    from app.training.filters import RecordFilter
    from app.training.matrix import MatrixQuery

    # Course 1 and manager 1 used to vanish from the sort and page links (1 was "the default").
    query = MatrixQuery(RecordFilter(course_id=1, manager_id=1), sort="due", page=3)
    assert query.args(page=1) == {"course_id": "1", "manager_id": "1", "sort": "due"}
    assert query.args(page=2)["page"] == "2"
    assert MatrixQuery.from_args(query.args()) == query


def test_a_leavers_own_page_and_transcript_keep_their_training(client, db, synced, make_user):
    from pypdf import PdfReader

    from app.content.versions import newest_version_by_slug

    version = newest_version_by_slug(db, "ai-data-refresher")
    leaver = make_user(name="Lea Left")
    record_completion(db, leaver, version, utcnow() - timedelta(days=30))
    leaver.active = False
    db.commit()
    login(client, make_user(roles={Role.HR}))
    page = client.get(f"/hr/people/{leaver.id}").get_data(as_text=True)
    assert html.escape(version.title, quote=False) in page
    transcript = post(client, f"/hr/people/{leaver.id}/transcript.pdf")
    assert transcript.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(transcript.data)).pages)
    assert "ten-minute refresher" in " ".join(text.split())
    # The matrix, like the dashboard, still follows active people only.
    matrix = client.get("/hr/status").get_data(as_text=True)
    assert "Lea Left" not in matrix


def test_a_department_stored_before_the_rules_does_not_break_the_dashboard(
    client, db, synced, make_user
):
    # Older data may hold a department today's field rules refuse: the dashboard still shows,
    # and its link answers a 400 that names the problem.
    from app.content.versions import newest_version_by_slug

    person = make_user(department="Sales\u202eEU")
    record_completion(db, person, newest_version_by_slug(db, "ai-data-refresher"), utcnow())
    db.commit()
    login(client, make_user(roles={Role.HR}))
    dashboard = client.get("/hr/")
    assert dashboard.status_code == 200
    link = re.search(r'href="(/hr/status\?department=[^"]+)"', dashboard.get_data(as_text=True))
    assert link, dashboard.get_data(as_text=True)
    followed = client.get(html.unescape(link.group(1)))
    assert followed.status_code == 400
    assert "U+202E" in message(followed)
