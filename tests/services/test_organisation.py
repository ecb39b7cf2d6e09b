"""The organisation's details and logo: saving checks every value, a changed value publishes
a minor version of each course that uses it (the old one keeps the text learners read), sync
does the same, and a logo is checked and re-encoded before it reaches a certificate."""

from __future__ import annotations

import io

import pytest
from conftest import COURSES
from PIL import Image
from sqlalchemy import select

from app.content.details import placeholder
from app.content.images import ImageRefused
from app.content.loader import load_tree
from app.content.sync import sync_courses
from app.content.versions import newest_version_by_slug
from app.models import AuditEvent, CourseVersion, OrganisationDetail, Role
from app.organisation.details import DetailsError, current_values, organisation_name
from app.organisation.logo import current_logo, reencode, store_logo
from app.organisation.publishing import update_details

FLAGSHIP = "ai-in-the-contact-center"
REFRESHER = "ai-data-refresher"
PRIVACY = "the privacy team (privacy@example.org)"


def png(width=64, height=32, *, fmt="PNG", **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (29, 78, 95)).save(out, format=fmt, **save)
    return out.getvalue()


@pytest.fixture
def admin(make_user):
    return make_user(roles={Role.ADMIN})


def versions(db, slug):
    return db.scalars(
        select(CourseVersion)
        .join(CourseVersion.course)
        .where(CourseVersion.course.has(slug=slug))
        .order_by(CourseVersion.number)
    ).all()


def html_of(version) -> str:
    return "\n".join(m.html for m in version.modules)


def test_unset_details_publish_as_placeholders_and_are_kept_with_the_version(db, synced):
    version = newest_version_by_slug(db, FLAGSHIP)
    assert version.details["privacy_team"] is None
    assert "Privacy team contact: not set yet by your organisation" in html_of(version)
    assert "{{" not in html_of(version)
    assert placeholder("privacy_team").strip("*") in html_of(version)


def test_saving_a_value_publishes_a_minor_version_and_keeps_the_old_text(db, synced, admin):
    before = newest_version_by_slug(db, FLAGSHIP)
    old_html, old_hash = html_of(before), before.content_hash
    changed, published = update_details(db, admin, {"privacy_team": PRIVACY})
    db.commit()
    assert changed == ["privacy_team"]
    assert {FLAGSHIP, REFRESHER} <= {v.course.slug for v in published}
    after = newest_version_by_slug(db, FLAGSHIP)
    assert after.number == before.number + 1 and after.material is False
    assert after.release_notes == "Organisation details updated: privacy team contact."
    assert after.details["privacy_team"] == PRIVACY and after.content_hash != old_hash
    assert "privacy@example.org" in html_of(after)
    # the version learners already read is untouched
    db.expire_all()
    again = db.get(CourseVersion, before.id)
    assert html_of(again) == old_html and again.content_hash == old_hash
    # the same sources, so a sync of the unchanged tree finds nothing to do
    report = sync_courses(db, load_tree(COURSES))
    assert all("unchanged" in line for line in report.lines)
    events = db.scalars(select(AuditEvent.action)).all()
    assert "organisation.details_changed" in events


def test_saving_the_same_value_again_publishes_nothing(db, synced, admin):
    update_details(db, admin, {"privacy_team": PRIVACY})
    db.commit()
    assert update_details(db, admin, {"privacy_team": PRIVACY}) == ([], [])


def test_a_value_no_course_uses_publishes_nothing(db, synced, admin):
    changed, published = update_details(db, admin, {"disclosure_chat": "Hello, I'm Sam."})
    assert changed == ["disclosure_chat"]
    assert {v.course.slug for v in published} == {FLAGSHIP}  # only the flagship uses it
    assert current_values(db)["disclosure_chat"] == "Hello, I'm Sam."


def test_an_empty_value_unsets_the_detail(db, synced, admin):
    update_details(db, admin, {"privacy_team": PRIVACY})
    db.commit()
    update_details(db, admin, {"privacy_team": "  "})
    db.commit()
    assert db.get(OrganisationDetail, "privacy_team") is None
    assert "not set yet" in html_of(newest_version_by_slug(db, FLAGSHIP))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("privacy_team", "x" * 2001, "the privacy team contact is 2001 characters long"),
        ("privacy_team", "line one\nline two", "the privacy team contact must be one line"),
        ("speak_up_channel", "ethics\u202eline", "contains a control, invisible or text-direction"),
        ("approved_ai_tools", "{{ privacy_team }}", "details do not refer to other details"),
        ("organisation_name", "O" * 201, "at most 200 are allowed"),
        ("favourite_colour", "blue", "'favourite_colour' is not an organisation detail"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(db, synced, admin, name, value, message):
    with pytest.raises(DetailsError) as raised:
        update_details(db, admin, {"privacy_team": PRIVACY, name: value})
    assert message in raised.value.problems[name]
    db.rollback()
    assert current_values(db) == {}


def test_a_sync_after_a_value_changes_publishes_a_minor_version(db, synced, admin):
    db.add(OrganisationDetail(name="security_contact", value="security@example.org"))
    db.commit()
    report = sync_courses(db, load_tree(COURSES))
    db.commit()
    assert any("(minor)" in line for line in report.lines)
    refresher = newest_version_by_slug(db, REFRESHER)
    assert refresher.material is False and "information security contact" in (
        refresher.release_notes
    )


def test_the_organisation_name_falls_back_to_the_configured_one(db, admin):
    assert organisation_name(db, "Candor") == "Candor"
    update_details(db, admin, {"organisation_name": "Example Telecom Ltd"})
    assert organisation_name(db, "Candor") == "Example Telecom Ltd"


# -- the logo ---------------------------------------------------------------------------------


def test_a_logo_is_reencoded_as_a_plain_png_that_fits_the_box():
    jpeg = png(1200, 300, fmt="JPEG", comment=b"uploader's note", quality=90)
    stored, width, height = reencode(jpeg)
    assert stored.startswith(b"\x89PNG\r\n\x1a\n")
    assert (width, height) == (600, 150)
    assert b"uploader's note" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.mode == "RGBA" and image.size == (600, 150)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"GIF89a" + b"\0" * 100, "not a PNG, JPEG or WebP"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a PNG, JPEG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "cannot be decoded"),
        (png(4001, 20), "at most 4,000 pixels on a side"),
        (png(8, 8), "too small"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024), "at most 1,048,576 are allowed"),
    ],
)
def test_a_bad_logo_is_refused_with_the_reason(data, message):
    with pytest.raises(ImageRefused) as raised:
        reencode(data)
    assert message in raised.value.message


def test_a_stored_logo_is_the_current_one_and_is_audited(db, admin):
    logo = store_logo(db, admin, png())
    db.commit()
    assert current_logo(db).id == logo.id and logo.width == 64
    assert db.scalars(select(AuditEvent.action)).all()[-1] == "organisation.logo_uploaded"
