"""A course folder uploaded as a zip: a new course, or the draft of a studio course; a
round trip through the zip changes nothing; hostile zips are refused with a reason."""

from __future__ import annotations

import io
import zipfile

from helpers import csrf_token, login, post

from app.authoring.drafts import files_of, find_draft
from app.content.folders import version_files
from app.content.versions import find_version
from app.models import Role
from app.progress.reading import find_course


def upload(client, data: bytes, slug: str = ""):
    return client.post(
        "/author/courses/upload",
        data={
            "csrf_token": csrf_token(client, "/author/courses"),
            "slug": slug,
            "course_zip": (io.BytesIO(data), "course.zip"),
        },
        content_type="multipart/form-data",
    )


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_downloaded_zip_uploads_back_unchanged(client, db, synced, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    data = client.get("/author/courses/ai-data-refresher/v1.zip").data
    refused = upload(client, data)
    assert refused.status_code == 409 and "take it over" in refused.get_data(as_text=True)
    post(client, "/author/courses/ai-data-refresher/take-over")
    response = upload(client, data)
    assert response.status_code == 303
    course = find_course(db, "ai-data-refresher")
    db.expire_all()
    assert files_of(find_draft(db, course)) == version_files(
        db, find_version(db, "ai-data-refresher", 1)
    )
    published = post(
        client,
        "/author/courses/ai-data-refresher/publish",
        {
            "revision": "1",
            "notes": find_version(db, "ai-data-refresher", 1).release_notes,
            "material": "yes" if find_version(db, "ai-data-refresher", 1).material else "no",
            "retrain": "none",
            "reason": "x",
        },
    )
    assert published.status_code == 409
    assert "Nothing changed since version 1" in published.get_data(as_text=True)


def test_a_zip_of_loose_files_becomes_a_new_course(client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    files = {
        "course.toml": b'title = "Zipped"\nsummary = "S."\nestimated_minutes = 5\n',
        "01-intro.md": b"# Intro\n\nHello.\n",
    }
    assert upload(client, zipped(files)).status_code == 400  # no name to give it
    response = upload(client, zipped(files), slug="zipped")
    assert response.status_code == 303 and response.location == "/author/courses/zipped/draft"
    assert "No problems" in client.get(response.location).get_data(as_text=True)


def test_hostile_zips_are_refused_with_a_reason(client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    cases = {
        b"not a zip": "not a zip file",
        zipped({"x/course.toml": b"", "x/../../etc/passwd": b"root"}): "course.toml, NN-name.md",
        zipped({"x/course.toml": b"", "x/run.sh": b"#!"}): "course.toml, NN-name.md",
        zipped({"x/01-a.md": b"# A\n"}): "no course.toml",
    }
    for data, message in cases.items():
        response = upload(client, data, slug="hostile")
        assert response.status_code == 400, message
        assert message in response.get_data(as_text=True)
    # nothing was created
    assert client.get("/author/courses/hostile/draft").status_code == 404
