"""Publishing from the studio: the same version courses sync makes of the same files, with
release notes and the material flag required, and retraining decided on a material version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import record_completion
from sqlalchemy import select

from app.authoring import drafts
from app.authoring.diffs import folder_diff
from app.authoring.publishing import Retraining, publish_draft
from app.content.folders import version_files, write_folder
from app.content.hashing import content_hash
from app.content.loader import load_tree
from app.content.versions import find_version
from app.db import utcnow
from app.errors import DomainError
from app.models import AuditEvent, Enrollment, Role
from app.progress.reading import find_course
from app.training.changes import retraining_notice

REFRESHER = "ai-data-refresher"


@pytest.fixture
def trainer(make_user):
    return make_user(roles={Role.TRAINER})


def test_a_studio_version_has_the_hash_sync_gives_the_same_files(db, trainer, tmp_path):
    draft = drafts.new_course(db, trainer, "chat-cards", "Cards in chat")
    result = publish_draft(
        db,
        trainer,
        find_course(db, "chat-cards"),
        draft,
        revision=0,
        notes="First edition.",
        material=True,
        retraining=None,
    )
    db.commit()
    assert result.version.number == 1
    write_folder(drafts.files_of(draft), tmp_path / "chat-cards")
    (source,) = load_tree(tmp_path).courses
    assert content_hash(source) == result.version.content_hash
    assert source.meta.release_notes == "First edition." and source.meta.material is True
    # the exported version, synced elsewhere, is unchanged
    assert version_files(db, result.version) == drafts.files_of(draft)


@pytest.mark.parametrize(
    ("notes", "material", "message"),
    [("", True, "release notes"), ("Better.", None, "material")],
)
def test_release_notes_and_the_material_flag_are_required(db, trainer, notes, material, message):
    draft = drafts.new_course(db, trainer, "chat-cards", "Cards in chat")
    with pytest.raises(DomainError, match=message):
        publish_draft(
            db,
            trainer,
            find_course(db, "chat-cards"),
            draft,
            revision=0,
            notes=notes,
            material=material,
            retraining=None,
        )


def test_a_draft_with_problems_or_no_change_is_not_published(db, synced, trainer):
    course = find_course(db, REFRESHER)
    drafts.take_over(db, trainer, course)
    db.commit()
    draft = drafts.open_draft(db, trainer, course)
    v1 = find_version(db, REFRESHER, 1)
    with pytest.raises(DomainError, match="Nothing changed"):
        publish_draft(
            db,
            trainer,
            course,
            draft,
            revision=0,
            notes=v1.release_notes,
            material=v1.material,
            retraining=Retraining(reason="none"),
        )
    db.rollback()
    draft = drafts.open_draft(db, trainer, course)
    drafts.save_text(db, trainer, draft, "01-x.md", "no title\n", 0)
    with pytest.raises(DomainError, match="problem"):
        publish_draft(
            db, trainer, course, draft, revision=1, notes="New.", material=False, retraining=None
        )


def test_a_material_version_puts_holders_on_retraining_and_they_see_why(
    db, synced, trainer, make_user
):
    course = find_course(db, REFRESHER)
    v1 = find_version(db, REFRESHER, 1)
    holder = make_user()
    record_completion(db, holder, v1, utcnow() - timedelta(days=10))
    db.commit()
    drafts.take_over(db, trainer, course)
    draft = drafts.open_draft(db, trainer, course)
    module = next(p for p in drafts.files_of(draft) if p.startswith("01-"))
    text = drafts.files_of(draft)[module].decode() + "\nA new paragraph.\n"
    drafts.save_text(db, trainer, draft, module, text, 0)
    with pytest.raises(DomainError, match="retrain"):
        publish_draft(
            db,
            trainer,
            course,
            draft,
            revision=1,
            notes="New rule.",
            material=True,
            retraining=None,
        )
    retraining = Retraining.from_form("days", "", "14", "", utcnow())
    result = publish_draft(
        db,
        trainer,
        course,
        draft,
        revision=1,
        notes="New rule.",
        material=True,
        retraining=retraining,
    )
    db.commit()
    assert result.version.number == 2 and result.retrained == 1
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == holder.id))
    assert enrollment.cycle == 2 and enrollment.due_at.date() == retraining.due_on
    notice = retraining_notice(db, holder, course)
    assert notice is not None and notice.completed.number == 1 and notice.current.number == 2
    assert notice.current.release_notes == "New rule."
    assert notice.changed == [v1.modules[0].title]


def test_no_retraining_needs_a_reason_and_is_audited(db, synced, trainer):
    with pytest.raises(DomainError, match="why"):
        Retraining.from_form("none", "", "", "  ", utcnow())
    course = find_course(db, REFRESHER)
    drafts.take_over(db, trainer, course)
    draft = drafts.open_draft(db, trainer, course)
    drafts.save_text(db, trainer, draft, "quiz.md", "## Which?\n- [x] A\n- [ ] B\n", 0)
    publish_draft(
        db,
        trainer,
        course,
        draft,
        revision=1,
        notes="Shorter quiz.",
        material=True,
        retraining=Retraining(reason="Same teaching, fewer questions."),
    )
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "course.retraining_waived"))
    assert event.details == {"reason": "Same teaching, fewer questions."}


def test_the_diff_is_file_by_file_with_line_numbers():
    old = {"course.toml": b"a\nb\nc\n", "01-x.md": b"# X\n", "assets/a.png": b"1"}
    new = {"course.toml": b"a\nB\nc\n", "02-y.md": b"# Y\n", "assets/a.png": b"22"}
    diffs = {d.path: d for d in folder_diff(old, new)}
    assert diffs["01-x.md"].status == "removed" and diffs["02-y.md"].status == "added"
    toml = diffs["course.toml"]
    assert toml.status == "changed" and (toml.added, toml.removed) == (1, 1)
    assert [(d.kind, d.text, d.old, d.new) for d in toml.lines if d.kind != "context"] == [
        ("removed", "b", 2, None),
        ("added", "B", None, 2),
    ]
    assert "image replaced" in diffs["assets/a.png"].note
