"""HR over HTTP: every page, an assignment, the exports, a new employee and their invitation,
a CSV import checked then applied."""

from __future__ import annotations

import csv
import io
import re

from helpers import csrf_token, link_in_mail, list_courses, login, post, run_jobs
from sqlalchemy import select

from app.models import AuditEvent, Course, Role, User

EMPLOYEES = (
    b"email,name,employee_id,department,manager_email,roles\n"
    b"x@example.test,Xavier Young,E1,Sales,,learner\n"
)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_every_hr_page_answers(client, make_user, synced):
    hr = make_user(roles={Role.HR})
    login(client, hr)
    for url in [
        "/hr/",
        "/hr/status",
        "/hr/status?status=overdue&sort=-due",
        "/hr/employees",
        "/hr/employees?q=user",
        "/hr/employees/new",
        "/hr/import",
        "/hr/assignments",
        "/hr/assignments/new",
        f"/hr/people/{hr.id}",
        f"/hr/employees/{hr.id}/edit",
    ]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)


def test_bad_matrix_filters_are_refused(client, make_user, synced):
    login(client, make_user(roles={Role.HR}))
    assert client.get("/hr/status?status=bogus").status_code == 400
    assert client.get("/hr/status?course_id=abc").status_code == 400
    assert client.get("/hr/status?course=1").status_code == 400  # unknown key: refused
    assert client.get("/hr/status?sort=password").status_code == 400


def test_assigning_to_everyone_shows_in_the_matrix_and_dashboard(client, db, make_user, synced):
    login(client, make_user(roles={Role.HR, Role.LEARNER}, department="Support"))
    make_user(department="Sales")
    course = db.scalar(select(Course).where(Course.slug == "ai-in-the-contact-center"))
    response = post(
        client,
        "/hr/assignments/new",
        {"course": str(course.id), "audience": "everyone", "due_kind": "days", "due_days": "30"},
    )
    assert response.status_code == 303
    assert response.location == f"/hr/status?course_id={course.id}"
    matrix = text(client.get(response.location))
    assert matrix.count("Not started") >= 2 and "2 records" in matrix
    dashboard = text(client.get("/hr/"))
    assert "<svg" in dashboard and "Status by department" in dashboard
    assert "Support" in dashboard and "Sales" in dashboard


def test_exports_are_audited_attachments(client, db, make_user, synced):
    hr = make_user(roles={Role.HR})
    login(client, hr)
    response = post(client, "/hr/exports/completions.csv", {})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="candor-completions-'
    )
    assert response.data.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header[:3] == ["employee_id", "name", "email"]
    assert post(client, "/hr/exports/completions.xlsx", {}).data[:2] == b"PK"
    assert post(client, "/hr/exports/items.csv", {}).status_code == 200
    assert post(client, "/hr/exports/completions.csv", {"status": "bogus"}).status_code == 400
    kinds = db.scalars(select(AuditEvent.details).where(AuditEvent.action == "export.created"))
    assert sorted(d["kind"] for d in kinds) == ["completions.csv", "completions.xlsx", "items.csv"]


def test_exports_need_post_and_hr(client, make_user, synced):
    login(client, make_user())
    assert client.get("/hr/exports/completions.csv").status_code == 405
    assert post(client, "/hr/exports/completions.csv", {}).status_code == 403


def test_a_new_employee_sets_their_password_through_a_single_use_link(
    app, client, db, make_user, mailbox
):
    login(client, make_user(roles={Role.HR}))
    response = post(
        client,
        "/hr/employees/new",
        {"name": "New Person", "email": "new@example.test", "roles": "learner"},
    )
    assert response.status_code == 200
    assert "An invitation is on its way to new@example.test" in text(response)
    assert "/invite/" not in text(response)  # HR never holds the key to the account
    assert mailbox.received == []  # nothing is sent from the request
    run_jobs(app)
    [invitation] = mailbox.received
    assert invitation.rcpt_tos == ["new@example.test"]
    assert "set your password" in invitation.message["Subject"]
    link = link_in_mail(mailbox, "new@example.test", "/invite/")
    newcomer = app.test_client()
    assert newcomer.get(link).status_code == 200
    short = post(newcomer, link, {"new": "short", "confirm": "short"})
    assert short.status_code == 400
    response = post(
        newcomer, link, {"new": "a good long password", "confirm": "a good long password"}
    )
    assert response.status_code == 303 and response.location == "/login"
    used = newcomer.get(link)  # a used link is refused like an unknown one
    assert used.status_code == 404
    assert "not valid, or it has already been used" in text(used)
    assert login(newcomer, "new@example.test", "a good long password").status_code == 303


def test_csv_import_is_checked_first_then_applied(app, client, db, make_user, mailbox):
    login(client, make_user(roles={Role.HR}))
    response = client.post(
        "/hr/import",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(EMPLOYEES), "staff.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "To create (1)" in text(response)
    assert db.scalar(select(User).where(User.email == "x@example.test")) is None
    page = text(response)
    data = re.search(r'name="data" value="([^"]+)"', page).group(1)
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', page).group(1)
    tampered = post(
        client, "/hr/import/apply", {"data": data, "fingerprint": "0" * 64, "source": "staff.csv"}
    )
    assert tampered.status_code == 409
    response = post(
        client,
        "/hr/import/apply",
        {
            "data": data,
            "fingerprint": fingerprint,
            "source": "staff.csv",
            "deactivate_missing": "0",
        },
    )
    assert response.status_code == 200 and "1 created" in text(response)
    assert "/invite/" not in text(response) and "x@example.test" in text(response)
    run_jobs(app)
    assert link_in_mail(mailbox, "x@example.test", "/invite/")
    db.rollback()  # end the test's read transaction to see what the request committed
    person = db.scalar(select(User).where(User.email == "x@example.test"))
    assert (person.name, person.employee_id, person.department) == ("Xavier Young", "E1", "Sales")


def test_hr_requires_retraining_after_a_material_version(
    app, client, db, make_user, synced, course_tree
):
    from datetime import date, timedelta

    from app.content.loader import load_tree
    from app.content.sync import sync_courses
    from app.models import CourseVersion, Enrollment

    login(client, make_user(roles={Role.HR}))
    page = text(client.get("/hr/courses"))
    assert "version 1" in page and "Require retraining" not in page
    module = sorted((course_tree / "ai-data-refresher").glob("01-*.md"))[0]
    module.write_text(module.read_text() + "\nA new rule.\n")
    sync_courses(db, load_tree(course_tree))
    list_courses(db)
    db.commit()
    v2 = db.scalar(select(CourseVersion).where(CourseVersion.number == 2))
    assert "Require retraining" in text(client.get("/hr/courses"))
    due = (date.today() + timedelta(days=30)).isoformat()
    response = post(client, f"/hr/courses/versions/{v2.id}/retraining", {"due_on": due})
    assert response.status_code == 303
    assert (
        post(client, f"/hr/courses/versions/{v2.id}/retraining", {"due_on": "soon"}).status_code
        == 400
    )
    assert db.scalar(select(Enrollment)) is None  # nobody had completed version 1
