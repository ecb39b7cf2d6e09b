"""Subject access: HR gets everything Candor keeps about one person, as JSON and a readable
PDF in one zip, built by a worker, audited, and holding nobody else's records."""

from __future__ import annotations

import io
import json
import re
import zipfile

from helpers import login, post, record_completion, run_jobs
from pypdf import PdfReader
from sqlalchemy import select

from app.audit.events import record
from app.content.versions import newest_version_by_slug
from app.db import utcnow
from app.models import AuditEvent, Role


def test_hr_gets_one_persons_data_as_json_and_pdf(app, client, db, synced, make_user):
    person = make_user(name="Sam Subject", email="sam@example.test", employee_id="E-77")
    other = make_user(name="Olive Other", email="olive@example.test")
    version = newest_version_by_slug(db, "ai-in-the-contact-center")
    record_completion(db, person, version, utcnow())
    record_completion(db, other, version, utcnow())
    record(db, "user.signed_in", actor=person)
    db.commit()
    hr = make_user(roles={Role.HR}, name="Hana HR")
    login(client, hr)

    page = client.get(f"/hr/people/{person.id}").get_data(as_text=True)
    assert "Everything Candor keeps about Sam Subject" in page
    started = post(client, f"/hr/people/{person.id}/personal-data")
    assert started.status_code == 303
    job_id = int(re.fullmatch(r"/hr/jobs/(\d+)", started.location).group(1))
    assert run_jobs(app) == 1
    done = client.get(f"/hr/jobs/{job_id}").get_data(as_text=True)
    assert f"candor-personal-data-{person.id}-" in done  # the job page offers the file
    response = post(client, f"/hr/jobs/{job_id}/download")
    assert response.status_code == 200
    assert f"candor-personal-data-{person.id}-" in response.headers["Content-Disposition"]

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["data.json", "report.pdf"]
    data = json.loads(archive.read("data.json"))
    (user_row,) = data["tables"]["users"]["rows"]
    assert (user_row["name"], user_row["employee_id"]) == ("Sam Subject", "E-77")
    assert user_row["password_hash"].startswith("[withheld: a one-way hash of your password")
    assert [r["user_id"] for r in data["tables"]["completions"]["rows"]] == [person.id]
    assert any(r["action"] == "user.signed_in" for r in data["tables"]["audit_events"]["rows"])
    text = json.dumps(data)
    assert "olive@example.test" not in text and "Olive Other" not in text

    report = PdfReader(io.BytesIO(archive.read("report.pdf")))
    words = " ".join(page.extract_text() for page in report.pages)
    assert "Personal data held by Candor" in words and "Sam Subject" in words
    assert "Olive Other" not in words

    requested = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "privacy.subject_access_requested")
    )
    assert requested.actor_id == hr.id and requested.subject_id == str(person.id)


def test_subject_access_for_nobody_is_a_404(client, make_user, synced):
    login(client, make_user(roles={Role.HR}))
    assert post(client, "/hr/people/999999/personal-data").status_code == 404
