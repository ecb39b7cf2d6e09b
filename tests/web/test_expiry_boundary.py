"""One expiry rule, everywhere: a certificate is expired from 00:00 UTC on its expiry date.

The verify page, its JSON, the CLI verdict, the HR matrix, the completion export and the
reminders once disagreed on the expiry day itself (dates against times of day): completed at
23:59 with 12 months' validity, a certificate read as expired on the verify page and as
"renewal due" on the matrix until the evening. Each case below is checked on every path.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from helpers import login, post, record_completion
from sqlalchemy import select

from app.certificates.codes import grouped
from app.certificates.service import certificate_pdf, issue_certificate
from app.content.versions import newest_version
from app.dates import add_months, expiry_of, format_date
from app.db import utcnow
from app.models import Certificate, Course, Role
from app.training.reminders import MailSettings, send_reminders

SLUG = "ai-data-refresher"  # 12 months' validity
CLI_EXIT = {"valid": 0, "expired": 3}


def complete_at(db, user, at) -> Certificate:
    """Record a completion of SLUG at ``at`` and issue its certificate."""
    course = db.scalar(select(Course).where(Course.slug == SLUG))
    certificate = issue_certificate(
        db, record_completion(db, user, newest_version(db, course.id), at)
    )
    db.commit()
    return certificate


def last_year(day, hour: int, minute: int, second: int):
    return add_months(day, -12).replace(hour=hour, minute=minute, second=second, microsecond=0)


@pytest.mark.parametrize(
    ("case", "verdict", "matrix_status"),
    [
        # Completed a year ago today, late in the evening: it expires today, so it is expired
        # now, whatever the time of day.
        ("expires today", "expired", "expired"),
        # Completed a year ago tomorrow, just after midnight: still valid, renewal due.
        ("expires tomorrow", "valid", "due_soon"),
    ],
)
def test_every_path_agrees_at_the_expiry_boundary(
    app, client, db, synced, make_user, tmp_path, case, verdict, matrix_status
):
    now = utcnow()
    day = now if case == "expires today" else now + timedelta(days=1)
    completed = last_year(day, 23, 59, 59) if case == "expires today" else last_year(day, 0, 0, 1)
    holder = make_user(name="Ines Boundary")
    certificate = complete_at(db, holder, completed)
    expires = expiry_of(completed, 12)
    assert expires is not None and certificate.facts["expires_on"] == expires.date().isoformat()
    code = grouped(certificate.code)

    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert (f"Expired</strong> on {format_date(expires)}" in page) is (verdict == "expired")
    assert ("<strong>Valid.</strong>" in page) is (verdict == "valid")
    assert client.get(f"/verify/{code}.json").get_json()["status"] == verdict

    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(certificate_pdf(db, certificate))
    db.commit()  # ends this read: the PDF was kept in a transaction of its own
    cli = app.test_cli_runner().invoke(args=["certificates", "verify", str(pdf)])
    assert cli.exit_code == CLI_EXIT[verdict], cli.output

    login(client, make_user(roles={Role.HR}))
    course_id = str(certificate.completion.course_id)
    matrix = client.get("/hr/status", query_string={"course_id": course_id})
    assert matrix.status_code == 200
    text = matrix.get_data(as_text=True)
    assert f"pill-{matrix_status}" in text
    wording = "Expired on" if verdict == "expired" else "Renewal due (expires"
    assert f"{wording} {format_date(expires)}" in text

    export = post(client, "/hr/exports/completions.csv", {"course_id": course_id})
    assert export.status_code == 200
    [row] = csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")))
    assert row["status"] == matrix_status

    heard: list = []
    send_reminders(db, MailSettings(), now=utcnow(), dry_run=True, on_message=heard.append)
    reminded = {m.user_id for m in heard}
    # Reminded 1 day before the expiry (the default cadence) and on the first day expired.
    assert holder.id in reminded
