"""The studio's draft pages as plain forms: create, edit, see problems at their lines, stale
saves, images, take-over, and the version zip."""

from __future__ import annotations

import io
import re
import zipfile

from helpers import csrf_token, login, post
from PIL import Image
from sqlalchemy import select

from app.content.hashing import content_hash
from app.content.loader import load_tree
from app.content.versions import find_version
from app.models import Course, Management, Role

REVISION = re.compile(r'name="revision" value="(\d+)"')


def revision(client, path):
    return REVISION.search(client.get(path).get_data(as_text=True)).group(1)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(out, "PNG")
    return out.getvalue()


def test_a_trainer_writes_a_course_and_sees_each_problem_at_its_line(client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    response = post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    assert response.status_code == 303 and response.location == "/author/courses/chat-cards/draft"
    page = client.get("/author/courses/chat-cards/draft").get_data(as_text=True)
    assert "No problems" in page and "01-introduction.md" in page
    editor = "/author/courses/chat-cards/draft/files/01-introduction.md"
    response = post(
        client,
        editor,
        {
            "text": "# Cards\n\nSee ![flow](assets/my flow.png)\n",
            "revision": revision(client, editor),
        },
    )
    assert response.status_code == 303
    page = client.get("/author/courses/chat-cards/draft").get_data(as_text=True)
    assert f'href="{editor}#L3"' in page
    assert "01-introduction.md:3: image &#39;assets/my flow.png&#39; does not resolve" in page
    page = client.get(editor).get_data(as_text=True)
    assert 'href="#L3"' in page and 'id="L3"' in page
    overview = client.get("/author/courses").get_data(as_text=True)
    assert "draft changes pending; hidden" in overview and "the studio" in overview


def test_a_stale_save_is_refused_with_the_trainers_text_kept(app, client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    editor = "/author/courses/chat-cards/draft/files/01-introduction.md"
    stale = revision(client, editor)
    other = app.test_client()
    login(other, make_user(roles={Role.TRAINER}, name="Other Trainer"))
    assert post(other, editor, {"text": "# Theirs\n", "revision": stale}).status_code == 303
    response = post(client, editor, {"text": "# Mine, carefully written\n", "revision": stale})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "saved by Other Trainer" in page
    assert "# Mine, carefully written" in page  # nothing lost
    assert "# Theirs" in client.get(editor).get_data(as_text=True)


def test_images_are_checked_and_cleaned_on_upload(client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    draft = "/author/courses/chat-cards/draft"
    bad = client.post(
        f"{draft}/images",
        data={
            "csrf_token": csrf_token(client, draft),
            "revision": revision(client, draft),
            "image": (io.BytesIO(b"<svg onload=alert(1)>"), "evil.png"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    assert "not a PNG, JPEG or WebP" in bad.get_data(as_text=True)
    good = client.post(
        f"{draft}/images",
        data={
            "csrf_token": csrf_token(client, draft),
            "revision": revision(client, draft),
            "image": (io.BytesIO(png()), "Flow Chart.png"),
        },
        content_type="multipart/form-data",
    )
    assert good.status_code == 303
    assert "assets/flow-chart.png" in client.get(draft).get_data(as_text=True)
    served = client.get(f"{draft}/assets/flow-chart.png")
    assert served.status_code == 200 and served.mimetype == "image/png"


def test_a_file_managed_course_is_edited_only_after_a_take_over(client, db, synced, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    draft = "/author/courses/ai-data-refresher/draft"
    page = client.get(draft).get_data(as_text=True)
    assert "Take over ai-data-refresher in the studio" in page
    editor = f"{draft}/files/course.toml"
    refused = post(client, editor, {"text": "title = 1\n", "revision": "0"})
    assert refused.status_code == 409 and "take it over" in refused.get_data(as_text=True)
    assert post(client, "/author/courses/ai-data-refresher/take-over").status_code == 303
    db.expire_all()
    course = db.scalar(select(Course).where(Course.slug == "ai-data-refresher"))
    assert course.managed_by is Management.STUDIO
    assert 'name="revision" value="0"' in client.get(editor).get_data(as_text=True)


def test_a_version_downloads_as_a_zip_that_syncs_unchanged(client, db, synced, make_user, tmp_path):
    login(client, make_user(roles={Role.TRAINER}))
    response = client.get("/author/courses/ai-in-the-contact-center/v1.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        archive.extractall(tmp_path)
    (course,) = load_tree(tmp_path).courses
    version = find_version(db, "ai-in-the-contact-center", 1)
    assert content_hash(course, version.details) == version.content_hash
    assert client.get("/author/courses/ai-in-the-contact-center/v9.zip").status_code == 404
