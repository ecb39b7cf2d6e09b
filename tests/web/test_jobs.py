"""Exports too big to stream become jobs: a progress page (with and without JavaScript), a
download for the person who asked (and admins) only, audited, and a file that expires.

The queue is the embedded one (SQLite, a file per test); ``helpers.run_jobs`` runs what is
queued as a worker would.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta

import openpyxl
import pytest
from helpers import add_learners, login, post, run_jobs
from sqlalchemy import func, select

from app.certificates.codes import grouped
from app.db import utcnow
from app.jobs.records import expire_results
from app.models import AuditEvent, Course, Job, JobChunk, JobState, Role

ROWS = 30


@pytest.fixture
def hr(app, db, make_user, courses, client):
    """An HR user signed in on ``client``, with ROWS records to export; every export is a job."""
    app.config["JOBS_DIRECT_EXPORT_MAX_ROWS"] = -1  # even an empty export
    add_learners(db, ROWS // len(courses), [c.id for c in courses.values()])
    user = make_user(roles={Role.HR})
    login(client, user)
    return user


def start(client, kind: str, data: dict | None = None) -> int:
    response = post(client, f"/hr/exports/{kind}", data or {})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    match = re.fullmatch(r"/hr/jobs/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


def download(client, job_id: int):
    return post(client, f"/hr/jobs/{job_id}/download")


def test_a_big_csv_export_is_a_job_with_progress_then_a_download(app, client, db, hr):
    job_id = start(client, "completions.csv")
    page = client.get(f"/hr/jobs/{job_id}").get_data(as_text=True)
    assert "queued" in page
    # Without JavaScript the page reloads itself; with it, jobs.js follows the JSON.
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "jobs.js" in page and "Refresh now" in page
    state = client.get(f"/hr/jobs/{job_id}.json").get_json()
    assert state["state"] == "queued" and state["total"] == ROWS and not state["downloadable"]
    assert download(client, job_id).status_code == 409  # nothing to offer yet

    assert run_jobs(app) == 1
    state = client.get(f"/hr/jobs/{job_id}.json").get_json()
    assert (state["state"], state["done"], state["total"]) == ("done", ROWS, ROWS)
    page = client.get(f"/hr/jobs/{job_id}").get_data(as_text=True)
    assert "refresh" not in page and "Download candor-completions-" in page

    response = download(client, job_id)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="candor-completions-'
    )
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["employee_id", "name", "email"] and len(rows) == ROWS + 1

    # The same bytes as the direct stream of the same records.
    app.config["JOBS_DIRECT_EXPORT_MAX_ROWS"] = 10**6
    direct = post(client, "/hr/exports/completions.csv")
    assert direct.status_code == 200 and direct.data == response.data

    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["export.created", "export.downloaded", "export.created"]
    downloaded = db.scalar(select(AuditEvent).where(AuditEvent.action == "export.downloaded"))
    assert downloaded.actor_id == hr.id and downloaded.subject_id == str(job_id)
    assert downloaded.details["kind"] == "completions.csv" and downloaded.details["rows"] == ROWS
    listing = client.get("/hr/jobs").get_data(as_text=True)
    assert f"/hr/jobs/{job_id}" in listing


def test_an_xlsx_job_parses_and_an_items_job_runs(app, client, db, hr, tmp_path):
    xlsx = start(client, "completions.xlsx", {"include_inactive": "1"})
    items = start(client, "items.csv")
    assert run_jobs(app) == 2
    response = download(client, xlsx)
    path = tmp_path / "export.xlsx"
    path.write_bytes(response.data)
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("employee_id", "name") and len(rows) == ROWS + 1
    job = db.get(Job, items)
    assert job.state is JobState.DONE and job.params["filter"] == {}
    assert download(client, items).data.startswith(b'\xef\xbb\xbf"employee_id"')


def test_only_the_requester_and_admins_reach_a_job(app, client, db, hr, make_user):
    job_id = start(client, "completions.csv")
    run_jobs(app)
    other = app.test_client()
    login(other, make_user(roles={Role.HR}))
    for response in (
        other.get(f"/hr/jobs/{job_id}"),
        other.get(f"/hr/jobs/{job_id}.json"),
        post(other, f"/hr/jobs/{job_id}/download"),
    ):
        assert response.status_code == 404
    assert f"/hr/jobs/{job_id}" not in other.get("/hr/jobs").get_data(as_text=True)
    admin = app.test_client()
    login(admin, make_user(roles={Role.ADMIN}))
    assert admin.get(f"/hr/jobs/{job_id}").status_code == 200
    assert download(admin, job_id).status_code == 200
    assert client.get("/hr/jobs/999999").status_code == 404


def test_a_file_expires_and_is_deleted(app, client, db, hr):
    job_id = start(client, "completions.csv")
    run_jobs(app)
    job = db.get(Job, job_id)
    assert job.expires_at - job.finished_at == timedelta(hours=24)
    assert expire_results(db, utcnow()) == 0
    assert expire_results(db, job.expires_at) == 1
    db.commit()
    assert db.scalar(select(func.count()).select_from(JobChunk)) == 0
    assert download(client, job_id).status_code == 409
    page = client.get(f"/hr/jobs/{job_id}").get_data(as_text=True)
    assert "expired" in page and "The file was deleted" in page


def test_a_bad_filter_is_refused_before_any_job_is_made(app, client, db, hr):
    response = post(client, "/hr/exports/completions.csv", {"status": "bogus"})
    assert response.status_code == 400
    assert db.scalar(select(func.count()).select_from(Job)) == 0


def test_small_exports_still_stream(app, client, db, hr):
    app.config["JOBS_DIRECT_EXPORT_MAX_ROWS"] = ROWS
    response = post(client, "/hr/exports/completions.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    assert db.scalar(select(func.count()).select_from(Job)) == 0


def test_the_json_state_reports_a_failure(app, client, db, hr):
    course = db.scalar(select(Course).order_by(Course.id))
    job_id = start(client, "completions.csv", {"course_id": str(course.id)})
    db.rollback()  # see what the request committed
    job = db.get(Job, job_id)
    job.params = {**job.params, "filter": {"status": "bogus"}}
    db.commit()
    run_jobs(app)
    state = json.loads(client.get(f"/hr/jobs/{job_id}.json").data)
    assert state["state"] == "failed" and "bogus" in state["error"]
    assert download(client, job_id).status_code == 409
    assert "bogus" in client.get(f"/hr/jobs/{job_id}").get_data(as_text=True)


def test_certificates_of_a_filter_come_as_a_zip_job_with_a_manifest(
    app, client, db, make_user, courses, tmp_path
):
    from helpers import record_completion

    from app.certificates.service import issue_certificate, revoke_certificate
    from app.content.versions import newest_version

    course = courses["ai-data-refresher"]
    version = newest_version(db, course.id)
    people = [make_user(name=f"Holder {n}", department="Sales") for n in range(2)]
    other = make_user(name="Elsewhere", department="Support")
    issued = [
        issue_certificate(db, record_completion(db, p, version, utcnow() - timedelta(days=3)))
        for p in [*people, other]
    ]
    db.commit()
    hr = make_user(roles={Role.HR})
    revoke_certificate(db, hr, issued[1].id, "issued_in_error", "")
    db.commit()
    login(client, hr)
    app.extensions["candor.jobs"].huey.flush()  # their PDF jobs not run: the bundle renders them
    # Always a job, however few: it gathers files, not rows.
    job_id = start(client, "certificates.zip", {"department": "Sales"})
    assert run_jobs(app) == 1
    response = download(client, job_id)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert 'filename="candor-certificates-' in response.headers["Content-Disposition"]
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.data)
    with zipfile.ZipFile(path) as bundle:
        names = bundle.namelist()
        expected = sorted(f"{grouped(c.code)}.pdf" for c in issued[:2])
        assert sorted(names[:-1]) == expected and names[-1] == "manifest.csv"
        assert all(bundle.read(n).startswith(b"%PDF-") for n in expected)
        manifest = list(
            csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode("utf-8-sig")))
        )
    assert sorted(row["name"] for row in manifest) == ["Holder 0", "Holder 1"]
    revoked = {row["name"]: row["revoked_at"] for row in manifest}
    assert revoked["Holder 0"] == "" and revoked["Holder 1"].endswith("Z")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "export.created"))
    assert event.details["kind"] == "certificates.zip"
    assert event.details["filter"] == {"department": "Sales"}
