"""Studio drafts: created, saved (every save kept), conflicts on stale saves, checked by the
loader of courses check; images cleaned; take-over; export and its round trip."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.authoring import drafts
from app.authoring.settings import write_settings
from app.content.folders import version_files, write_folder, zip_folder
from app.content.hashing import content_hash
from app.content.images import MAX_ASSET_BYTES, MAX_ASSET_PIXELS, ImageRefused, clean_upload
from app.content.loader import load_tree
from app.content.versions import find_version
from app.errors import DomainError
from app.models import AuditEvent, DraftSave, Management, Role, Visibility
from app.progress.reading import find_course

QUIZ = "## Which?\n- [x] Yes\n- [ ] No\n"


@pytest.fixture
def trainer(make_user):
    return make_user(roles={Role.TRAINER}, name="Tess Trainer")


def test_a_new_course_is_hidden_studio_managed_and_passes_the_check(db, trainer):
    draft = drafts.new_course(db, trainer, "card-payments", 'Card "payments" in chat')
    db.commit()
    course = find_course(db, "card-payments")
    assert course.visibility is Visibility.HIDDEN and course.managed_by is Management.STUDIO
    check = drafts.check_draft(draft, "card-payments")
    assert check.problems == [] and check.source is not None
    assert check.source.meta.title == 'Card "payments" in chat'


@pytest.mark.parametrize(
    ("slug", "title", "message"),
    [("Bad Slug", "T", "lowercase"), ("ok", "", "title"), ("ok", "x" * 201, "title")],
)
def test_a_new_course_needs_a_good_slug_and_title(db, trainer, slug, title, message):
    with pytest.raises(DomainError, match=message):
        drafts.new_course(db, trainer, slug, title)


def test_every_save_is_kept_and_a_stale_save_is_a_conflict(db, trainer, make_user):
    draft = drafts.new_course(db, trainer, "calls", "Calls")
    drafts.save_text(db, trainer, draft, "quiz.md", QUIZ, revision=0)
    drafts.save_text(db, trainer, draft, "quiz.md", QUIZ + "\n## Why?\n- [x] A\n- [ ] B\n", 1)
    db.commit()
    colleague = make_user(roles={Role.TRAINER}, name="Colin Colleague")
    with pytest.raises(drafts.Conflict, match="saved by Tess Trainer") as conflict:
        drafts.save_text(db, colleague, draft, "quiz.md", "lost?", revision=1)
    assert "your text is still below" in conflict.value.message
    db.rollback()
    assert draft.revision == 2
    assert db.scalar(select(func.count()).select_from(DraftSave)) == 2
    assert drafts.files_of(draft)["quiz.md"].decode().startswith("## Which?")
    assert (
        db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "draft.saved")
        )
        == 2
    )


def test_the_check_reports_problems_at_their_lines(db, trainer):
    draft = drafts.new_course(db, trainer, "calls", "Calls")
    drafts.save_text(db, trainer, draft, "01-introduction.md", "# Intro\n\n![](assets/x.png)\n", 0)
    check = drafts.check_draft(draft, "calls")
    assert [str(p) for p in check.problems] == [
        "01-introduction.md:3: broken image: assets/x.png is not in this course's assets/"
    ]
    drafts.save_text(db, trainer, draft, "02-more.md", "# More\n\n# Again\n", 1)
    (warning,) = drafts.check_draft(draft, "calls").warnings
    assert (warning.path, warning.line) == ("02-more.md", 3)


def test_modules_are_added_renamed_moved_and_deleted(db, trainer):
    draft = drafts.new_course(db, trainer, "calls", "Calls")
    assert drafts.add_module(db, trainer, draft, "Data & privacy!", 0) == "02-data-privacy.md"
    assert drafts.rename_module(db, trainer, draft, "02-data-privacy.md", "privacy", 1) == (
        "02-privacy.md"
    )
    drafts.move_module(db, trainer, draft, "02-privacy.md", "up", 2)
    assert sorted(drafts.files_of(draft)) == ["01-privacy.md", "02-introduction.md", "course.toml"]
    with pytest.raises(DomainError, match="cannot move further"):
        drafts.move_module(db, trainer, draft, "01-privacy.md", "up", 3)
    drafts.delete_file(db, trainer, draft, "02-introduction.md", 3)
    assert sorted(drafts.files_of(draft)) == ["01-privacy.md", "course.toml"]
    with pytest.raises(DomainError, match="course.toml cannot be removed"):
        drafts.delete_file(db, trainer, draft, "course.toml", 4)
    with pytest.raises(DomainError):
        drafts.save_text(db, trainer, draft, "../etc/passwd", "x", 4)


def test_a_file_managed_course_needs_an_audited_take_over(db, synced, trainer):
    course = find_course(db, "ai-data-refresher")
    with pytest.raises(DomainError, match="take it over"):
        drafts.open_draft(db, trainer, course)
    drafts.take_over(db, trainer, course)
    draft = drafts.open_draft(db, trainer, course)
    db.commit()
    version = find_version(db, "ai-data-refresher")
    assert drafts.files_of(draft) == version_files(db, version)
    assert draft.based_on == 1
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "course.taken_over"))
    assert event.actor_id == trainer.id and event.details == {"managed_by": "studio"}


def test_the_settings_form_keeps_the_rest_of_course_toml():
    text = (
        '# a comment\ntitle = "Old"\nsummary = "S"\nestimated_minutes = 5\n\n'
        '[release]\nnotes = "N"\n'
    )
    form = {"title": "New", "summary": "S", "estimated_minutes": "20", "pass_mark": "70"}
    written = write_settings(text, form)
    assert "# a comment" in written and 'notes = "N"' in written
    import tomllib

    data = tomllib.loads(written)
    assert data["title"] == "New" and data["estimated_minutes"] == 20 and data["pass_mark"] == 70
    assert data["release"] == {"notes": "N"}
    with pytest.raises(DomainError, match="whole number"):
        write_settings(text, {"estimated_minutes": "ten"})


# --- images ----------------------------------------------------------------------------------


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "teal")
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS: latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_an_uploaded_photo_loses_its_exif_and_gps():
    data = jpeg_with_gps()
    assert b"Camera Maker" in data
    name, cleaned = clean_upload(data, "My Photo.JPG")
    assert name == "my-photo.jpg"
    assert b"Camera Maker" not in cleaned and b"Exif" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (40, 30) and not image.getexif()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\0" * 40, "not a PNG, JPEG or WebP"),
        (b"<svg onload=alert(1)>", "not a PNG, JPEG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "cannot be decoded"),
        (b"\xff\xd8\xff" + b"\0" * (MAX_ASSET_BYTES + 1), "at most"),
    ],
)
def test_an_upload_that_is_not_a_good_image_is_refused(data, message):
    with pytest.raises(ImageRefused, match=message):
        clean_upload(data, "x.png")


def test_an_image_with_too_many_pixels_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (6000, MAX_ASSET_PIXELS // 6000 + 10)).save(out, "PNG")
    assert len(out.getvalue()) < MAX_ASSET_BYTES
    with pytest.raises(ImageRefused, match="pixels"):
        clean_upload(out.getvalue(), "huge.png")


# --- export ----------------------------------------------------------------------------------


def test_an_exported_version_syncs_back_with_the_same_hash(db, synced, tmp_path):
    version = find_version(db, "ai-in-the-contact-center", 1)
    files = version_files(db, version)
    write_folder(files, tmp_path / "folder" / "ai-in-the-contact-center")
    (course,) = load_tree(tmp_path / "folder").courses
    assert content_hash(course, version.details) == version.content_hash
    with zipfile.ZipFile(io.BytesIO(zip_folder(files, "ai-in-the-contact-center"))) as archive:
        archive.extractall(tmp_path / "zip")
    (course,) = load_tree(tmp_path / "zip").courses
    assert content_hash(course, version.details) == version.content_hash
    assert zip_folder(files, "x") == zip_folder(files, "x")  # reproducible bytes


def test_two_modules_of_the_same_name_swap_places(db, trainer):
    draft = drafts.new_course(db, trainer, "calls", "Calls")
    assert drafts.add_module(db, trainer, draft, "Introduction", 0) == "02-introduction.md"
    drafts.save_text(db, trainer, draft, "02-introduction.md", "# Second\n\nText.\n", 1)
    drafts.move_module(db, trainer, draft, "02-introduction.md", "up", 2)
    db.commit()
    files = drafts.files_of(draft)
    assert sorted(files) == ["01-introduction.md", "02-introduction.md", "course.toml"]
    assert files["01-introduction.md"].startswith(b"# Second")


def test_of_two_saves_drawn_from_one_revision_only_the_first_is_kept(app, db, trainer, make_user):
    draft = drafts.new_course(db, trainer, "calls", "Calls")
    db.commit()
    colleague = make_user(roles={Role.TRAINER}, name="Colin Colleague")
    assert draft.revision == 0
    # Another request (its own session) saves first, from the same revision ...
    with app.extensions["candor.sessionmaker"]() as other:
        theirs = drafts.find_draft(other, find_course(other, "calls"))
        drafts.save_text(other, colleague, theirs, "quiz.md", QUIZ, revision=0)
        other.commit()
    # ... while this one still holds the draft as it was when it was read.
    assert draft.revision == 0
    with pytest.raises(drafts.Conflict, match="saved by Colin Colleague"):
        drafts.save_text(db, trainer, draft, "quiz.md", "mine", revision=0)
    db.rollback()
    assert drafts.files_of(draft)["quiz.md"] == QUIZ.encode()
    assert draft.revision == 1
