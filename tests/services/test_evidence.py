"""Evidence packs: what a scope's pack holds, its signed manifest, and `evidence verify`
naming every file changed, added or missing, offline."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from helpers import list_courses, read_in_turn
from sqlalchemy import select

from app import create_app
from app.audit.ledger import verify
from app.certificates.codes import grouped
from app.certificates.keyring import published_keys
from app.certificates.service import issuer_of
from app.content.folders import version_files
from app.content.sync import sync_courses
from app.db import utcnow
from app.evidence.checking import check_pack
from app.evidence.packs import build_pack
from app.models import AuditEvent, Certificate, CourseVersion
from app.progress.reading import current_version, find_course
from app.training.filters import RecordFilter

REFRESHER = "ai-data-refresher"


@pytest.fixture
def scope(db, make_user, refresher_without_quiz):
    """Two learners in Support who completed the refresher, one in Sales who did not."""
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    for name, department, reads in (
        ("Ana Silva", "Support", True),
        ("Ben Okafor", "Support", True),
        ("Cleo Marsh", "Sales", True),
    ):
        user = make_user(name=name, department=department)
        if reads:
            course = find_course(db, REFRESHER)
            read_in_turn(db, user, current_version(db, user, course).modules)
            db.commit()
    return RecordFilter(department="Support")


def pack_of(db, record_filter) -> bytes:
    buffer = io.BytesIO()
    build_pack(db, record_filter, utcnow(), buffer)
    return buffer.getvalue()


def keys_of(db):
    return published_keys(db, issuer_of(db).signer)


def rewritten(pack: bytes, change=None, add=None, drop=None) -> bytes:
    """The pack with one member changed, one added or one removed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(pack)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == drop:
                continue
            data = source.read(info)
            if change and info.filename == change[0]:
                data = change[1](data)
            target.writestr(info.filename, data)
        if add:
            target.writestr(add, b"slipped in")
    return out.getvalue()


def test_a_pack_holds_the_scope_and_verifies(db, scope):
    pack = pack_of(db, scope)
    names = zipfile.ZipFile(io.BytesIO(pack)).namelist()
    certificates = db.scalars(select(Certificate).order_by(Certificate.id)).all()
    support = [c for c in certificates if c.facts["holder_name"] != "Cleo Marsh"]
    assert {f"certificates/{grouped(c.code)}.pdf" for c in support} <= set(names)
    assert not any(grouped(c.code) in " ".join(names) for c in certificates if c not in support)
    version = db.scalar(select(CourseVersion))
    for path, data in version_files(db, version).items():
        member = f"courses/{REFRESHER}/v{version.number}/{path}"
        assert zipfile.ZipFile(io.BytesIO(pack)).read(member) == data
    records = zipfile.ZipFile(io.BytesIO(pack)).read("records.csv").decode()
    assert "Ana Silva" in records and "Ben Okafor" in records and "Cleo Marsh" not in records
    ledger = json.loads(zipfile.ZipFile(io.BytesIO(pack)).read("ledger.json"))
    assert ledger["head"]["hash"] == verify(db).head
    assert {e["kind"] for e in ledger["entries"]} >= {"completion", "certificate.issued", "audit"}
    report = check_pack(io.BytesIO(pack), keys_of(db))
    assert report.ok, report.lines()
    assert report.checked == len(names) - 2  # all but the manifest and its signature


@pytest.mark.parametrize(
    "tampering, expected",
    [
        (
            {"change": ("records.csv", lambda d: d.replace(b"Ben Okafor", b"Ben Okafer"))},
            "changed: records.csv",
        ),
        ({"add": "certificates/EXTRA.pdf"}, "added: certificates/EXTRA.pdf"),
        ({"drop": "audit.csv"}, "missing: audit.csv"),
    ],
    ids=["changed", "added", "missing"],
)
def test_every_file_changed_added_or_missing_is_named(db, scope, tampering, expected):
    report = check_pack(io.BytesIO(rewritten(pack_of(db, scope), **tampering)), keys_of(db))
    assert report.signed and not report.ok
    assert expected in report.lines()


def test_a_changed_manifest_is_refused(db, scope):
    def forged(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["files"]["records.csv"] = "0" * 64
        return json.dumps(manifest, indent=2, sort_keys=True).encode()

    report = check_pack(
        io.BytesIO(rewritten(pack_of(db, scope), change=("manifest.json", forged))), keys_of(db)
    )
    assert not report.signed and "signature does not match" in report.signature


def test_the_command_packs_audits_and_verifies_offline(app, db, client, scope, tmp_path):
    pack = tmp_path / "pack.zip"
    runner = app.test_cli_runner()
    made = runner.invoke(args=["evidence", "pack", "--department", "Support", "-o", str(pack)])
    assert made.exit_code == 0, made.output
    db.rollback()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "evidence.packed"))
    assert event.details["filter"] == {"department": "Support"}
    keys = tmp_path / "keys.json"
    keys.write_bytes(client.get("/verify/keys.json").data)
    nowhere = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nowhere",
        }
    )
    nowhere.instance_path = str(tmp_path / "nowhere")
    offline = nowhere.test_cli_runner().invoke(
        args=["evidence", "verify", str(pack), "--public-key", str(keys)]
    )
    assert offline.exit_code == 0, offline.output
    assert "INTACT" in offline.output
    altered = tmp_path / "altered.zip"
    altered.write_bytes(rewritten(pack.read_bytes(), drop="records.csv", add="notes.txt"))
    result = nowhere.test_cli_runner().invoke(
        args=["evidence", "verify", str(altered), "--public-key", str(keys)]
    )
    assert result.exit_code == 1
    assert "added: notes.txt" in result.output and "missing: records.csv" in result.output
    bad = runner.invoke(
        args=["evidence", "pack", "--completed-from", "2026-13-01", "-o", str(pack)]
    )
    assert bad.exit_code == 1 and "completed_from" in bad.output


def test_hr_builds_a_pack_as_a_job_and_it_verifies(app, db, client, scope, make_user):
    from helpers import login, post, run_jobs

    from app.models import Role

    hr = make_user(roles={Role.HR})
    login(client, hr)
    app.extensions["candor.jobs"].huey.flush()  # their PDF jobs not run: the pack renders them
    page = client.get("/hr/status").get_data(as_text=True)
    assert "Evidence pack for auditors" in page
    response = post(client, "/hr/exports/evidence.zip", {"department": "Support"})
    assert response.status_code == 303 and response.location.startswith("/hr/jobs/")
    job_id = int(response.location.rsplit("/", 1)[1])
    assert run_jobs(app) == 1
    download = post(client, f"/hr/jobs/{job_id}/download")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert 'filename="candor-evidence-' in download.headers["Content-Disposition"]
    db.rollback()
    report = check_pack(io.BytesIO(download.data), keys_of(db))
    assert report.ok, report.lines()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "evidence.requested"))
    assert event.actor_id == hr.id and event.details["filter"] == {"department": "Support"}
    learner = app.test_client()
    login(learner, make_user())
    assert post(learner, "/hr/exports/evidence.zip", {}).status_code == 403


def test_a_pack_scoped_to_an_obligation_holds_the_courses_meeting_it(
    app, db, synced, make_user, tmp_path
):
    import csv

    from helpers import record_completion

    from app.content.versions import newest_version_by_slug

    person = make_user(name="Olga Obliged", department="Support")
    flagship = newest_version_by_slug(db, "ai-in-the-contact-center")  # meets ISO 27001 A.6.3
    refresher = newest_version_by_slug(db, REFRESHER)  # does not
    for version in (flagship, refresher):
        record_completion(db, person, version, utcnow())
    db.commit()
    pack = tmp_path / "iso.zip"
    made = app.test_cli_runner().invoke(
        args=["evidence", "pack", "--obligation", "iso-27001-a-6-3", "-o", str(pack)]
    )
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(pack) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("records.csv").decode("utf-8-sig"))))
        manifest = json.loads(archive.read("manifest.json"))
    assert {row["course"] for row in rows} == {flagship.title}
    assert manifest["scope"] == {"obligation": "iso-27001-a-6-3"}
    unknown = app.test_cli_runner().invoke(
        args=["evidence", "pack", "--obligation", "iso-9001", "-o", str(pack)]
    )
    assert unknown.exit_code == 1 and "Unknown obligation 'iso-9001'" in unknown.output
