"""Admin at size: the people list searched and paged, a confirmation before deactivating,
and the audit log (who, what, when, subject; filters; paging; CSV), which now also holds
transcript downloads."""

from __future__ import annotations

import csv
import html
import io

import pytest
from helpers import login, post
from sqlalchemy import insert, select

from app.models import AuditEvent, Role, User, UserRole


@pytest.fixture
def admin(make_user, synced):
    return make_user(roles={Role.ADMIN}, name="Ada Admin")


def test_people_are_searched_and_paged(client, db, admin):
    db.execute(
        insert(User.__table__),
        [
            {"email": f"agent{n}@example.test", "name": f"Agent {n:03d}", "employee_id": f"A{n}"}
            for n in range(150)
        ],
    )
    db.commit()
    login(client, admin)
    first = html.unescape(client.get("/admin/users").get_data(as_text=True))
    assert "151 people, page 1 of 2." in first and "Next page" in first
    found = html.unescape(client.get("/admin/users?q=A42").get_data(as_text=True))
    assert "1 person." in found and "agent42@example.test" in found
    assert client.get("/admin/users?page=zero").status_code == 400


def test_deactivation_asks_first(client, db, admin, make_user):
    person = make_user(name="Pat Person")
    login(client, admin)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{person.id}/deactivate"' in listing
    confirm = html.unescape(client.get(f"/admin/users/{person.id}/deactivate").get_data(True))
    assert "Deactivate Pat Person?" in confirm and "records and certificates stay" in confirm
    db.rollback()
    assert db.get(User, person.id).active  # asking changes nothing
    done = post(client, f"/admin/users/{person.id}/deactivate")
    assert done.status_code == 303, done.get_data(as_text=True)[:300]
    db.rollback()
    assert db.scalar(select(User.active).where(User.id == person.id)) is False


def test_the_audit_log_filters_pages_and_downloads(app, client, db, admin, make_user):
    hr = make_user(roles={Role.HR}, name="Hana HR")
    person = make_user(name="Pat Person")
    hr_client = app.test_client()
    login(hr_client, hr)
    assert post(hr_client, f"/hr/people/{person.id}/transcript.pdf").status_code == 200
    login(client, admin)
    page = html.unescape(client.get("/admin/audit").get_data(as_text=True))
    assert "transcript.downloaded" in page and "Hana HR" in page and f"users #{person.id}" in page

    only = html.unescape(
        client.get("/admin/audit", query_string={"action": "transcript.downloaded"}).get_data(True)
    )
    assert "1 event." in only
    by_actor = client.get("/admin/audit", query_string={"actor": "hana"}).get_data(True)
    assert "transcript.downloaded" in by_actor
    assert client.get("/admin/audit?action=x&bogus=1").status_code == 400
    assert client.get("/admin/audit?from=2026-13-01").status_code == 400
    assert client.get("/admin/audit?from=2026-12-02&to=2026-12-01").status_code == 400

    download = post(client, "/admin/audit.csv", {"action": "transcript.downloaded"})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert [(r["action"], r["actor_name"], r["subject_id"]) for r in rows] == [
        ("transcript.downloaded", "Hana HR", str(person.id))
    ]
    db.rollback()
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.exported"))


def test_the_audit_log_is_for_admins_only(client, make_user, synced):
    login(client, make_user(roles={Role.HR}))
    assert client.get("/admin/audit").status_code == 403


def test_roles_on_their_own_page_audited(client, db, admin, make_user):
    person = make_user(name="Pat Person")
    login(client, admin)
    page = html.unescape(client.get(f"/admin/users/{person.id}/roles").get_data(as_text=True))
    assert "Roles of Pat Person" in page and 'value="learner" checked' in page
    saved = post(client, f"/admin/users/{person.id}/roles", {"roles": ["learner", "trainer"]})
    assert saved.status_code == 303
    db.rollback()
    held = set(db.scalars(select(UserRole.role).where(UserRole.user_id == person.id)))
    assert {r.value for r in held} == {"learner", "trainer"}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.roles_changed"))
    assert event.details == {"before": ["learner"], "after": ["learner", "trainer"]}
    # An admin cannot take their own admin role away; an unknown role is refused.
    assert post(client, f"/admin/users/{admin.id}/roles", {"roles": ["learner"]}).status_code == 403
    bad = post(client, f"/admin/users/{person.id}/roles", {"roles": ["owner"]})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("to=9999-12-31", "to must be between 1900-01-01 and 2999-12-31"),
        ("from=2026-02-30", "is not a date in the calendar"),
        ("page=99999999999", "The page must be a whole number from 1 to 1,000,000"),
        ("page=%D9%A3", "The page must be a whole number"),  # an Arabic-Indic three
    ],
)
def test_odd_audit_log_filters_get_a_reason_not_a_crash(client, admin, query, reason):
    login(client, admin)
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)


def test_every_listing_reads_its_page_number_by_one_rule(client, make_user):
    login(client, make_user(roles={Role.HR, Role.ADMIN}))
    for path in ("/admin/users", "/hr/employees", "/hr/not-activated", "/hr/status", "/hr/grid"):
        response = client.get(f"{path}?page=1e3")
        assert response.status_code == 400, path
        assert "The page must be a whole number from 1 to 1,000,000" in response.get_data(
            as_text=True
        ), path
