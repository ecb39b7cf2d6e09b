"""The trainer studio in a real browser, end to end: a trainer writes a course (a module with an
image, a quiz with a branching conversation), sees an error at its line, fixes it, previews it
and takes the trial assessment, publishes it and lists it; a learner completes it; the trainer
publishes a material version with a retraining date and the learner sees the notice; the
trainer downloads the zip and courses sync of it reports the course unchanged."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from journeys import answer_every_question
from PIL import Image
from quiz_course import QUIZ

from app.content.hashing import content_hash
from app.content.loader import load_tree
from app.content.quiz import parse_quiz

pytestmark = pytest.mark.browser
SLUG = "studio-journey"
REPLIES = ('"AI tools may analyse this call."', '"Yes, I\'ll note it."')


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "teal").save(out, "PNG")
    return out.getvalue()


def converse(page, expect, checked):
    for number, reply in enumerate(REPLIES, start=1):
        page.get_by_label(reply, exact=True).check()
        page.get_by_role("button", name="Reply").click()
        expect(page.locator(".transcript > li")).to_have_count(number)
        checked(page)
    expect(page.get_by_text("This conversation has ended.")).to_be_visible()


def save_text(page, expect, checked, path, text):
    page.get_by_label(f"Text of {path}").fill(text)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1, name=path)).to_be_visible()
    checked(page)


def test_a_course_written_published_taken_and_retrained_in_the_browser(
    quick_server, open_page, sign_in, assert_accessible, tmp_path
):
    from playwright.sync_api import expect

    server = quick_server
    quiz, _ = parse_quiz(QUIZ, "quiz.md")
    trainer = open_page(server)
    sign_in(trainer, server.add_user(roles=("trainer",), name="Tess Trainer"))
    trainer.get_by_label("Title", exact=True).fill("Studio journey")
    trainer.get_by_label("Web address name").fill(SLUG)
    trainer.get_by_role("button", name="Create course").click()
    expect(trainer.get_by_role("heading", level=1, name=f"Draft of {SLUG}")).to_be_visible()
    assert_accessible(trainer)

    trainer.get_by_label("Image to upload").set_input_files(
        {"name": "flow.png", "mimeType": "image/png", "buffer": png()}
    )
    trainer.get_by_role("button", name="Upload image").click()
    expect(trainer.get_by_role("status")).to_contain_text("Uploaded assets/flow.png")
    assert_accessible(trainer)

    trainer.get_by_role("link", name="01-introduction.md").click()
    assert_accessible(trainer)
    save_text(
        trainer,
        expect,
        assert_accessible,
        "01-introduction.md",
        "# Welcome\n\n![The flow](assets/flow chart.png)\n",
    )
    error = trainer.get_by_role("alert").get_by_role(
        "link", name=re.compile(r"01-introduction.md:3: image")
    )
    expect(error).to_be_visible()
    assert_accessible(trainer)
    save_text(
        trainer,
        expect,
        assert_accessible,
        "01-introduction.md",
        "# Welcome\n\n![The flow](assets/flow.png)\n",
    )
    expect(trainer.get_by_role("alert")).to_have_count(0)

    trainer.get_by_role("link", name=f"Draft of {SLUG}").click()
    assert_accessible(trainer)
    trainer.get_by_role("link", name="Write a quiz (quiz.md)").click()
    assert_accessible(trainer)
    save_text(trainer, expect, assert_accessible, "quiz.md", QUIZ)
    trainer.get_by_role("link", name=f"Draft of {SLUG}").click()
    expect(trainer.get_by_text("No problems")).to_be_visible()
    assert_accessible(trainer)

    trainer.get_by_role("link", name="Preview as a learner").click()
    assert_accessible(trainer)
    trainer.get_by_role("link", name="Welcome").click()
    expect(trainer.get_by_role("img", name="The flow")).to_be_visible()
    assert_accessible(trainer)
    trainer.get_by_role("link", name="Preview").click()
    assert_accessible(trainer)
    trainer.get_by_role("link", name="Take a trial assessment").click()
    assert_accessible(trainer)
    converse(trainer, expect, assert_accessible)
    assert_accessible(trainer)
    answer_every_question(trainer, quiz, right=True, checked=assert_accessible)
    trainer.get_by_role("button", name="Submit my answers").click()
    expect(trainer.get_by_role("heading", level=1, name="Trial assessment: passed")).to_be_visible()
    assert_accessible(trainer)

    trainer.goto(f"/author/courses/{SLUG}/publish")
    assert_accessible(trainer)
    trainer.get_by_label("Release notes").fill("First edition.")
    trainer.get_by_label("Material: it changes what learners are taught").check()
    trainer.get_by_role("button", name="Publish version 1").click()
    expect(trainer.get_by_role("status")).to_contain_text("Published version 1")
    assert_accessible(trainer)
    trainer.goto("/author/courses")
    assert_accessible(trainer)
    trainer.get_by_label("Visibility of Studio journey").select_option("listed")
    trainer.get_by_role("button", name="Save visibility of Studio journey").click()
    expect(trainer.get_by_role("status")).to_contain_text("is now listed")
    assert_accessible(trainer)

    learner = open_page(server)
    sign_in(learner, server.add_user(name="Lee Learner"))
    learner.get_by_role("link", name="Studio journey").click()
    assert_accessible(learner)
    learner.get_by_role("link", name="Start the course").click()
    expect(learner.get_by_role("img", name="The flow")).to_be_visible()
    assert_accessible(learner)
    learner.get_by_role("button", name=re.compile(r"^Mark as read")).click()
    expect(learner.get_by_role("button", name="Take the assessment")).to_be_visible()
    assert_accessible(learner)
    learner.get_by_role("button", name="Take the assessment").click()
    expect(learner.get_by_role("heading", level=1, name="Assessment, attempt 1")).to_be_visible()
    assert_accessible(learner)
    answer_every_question(
        learner,
        quiz,
        right=True,
        checked=assert_accessible,
        converse=lambda: converse(learner, expect, assert_accessible),
    )
    learner.get_by_role("button", name="Submit my answers").click()
    expect(learner.get_by_text("You have completed this course.")).to_be_visible()
    assert_accessible(learner)

    trainer.goto(f"/author/courses/{SLUG}/draft/files/01-introduction.md")
    assert_accessible(trainer)
    save_text(
        trainer,
        expect,
        assert_accessible,
        "01-introduction.md",
        "# Welcome\n\n![The flow](assets/flow.png)\n\nAlways offer the opt-out first.\n",
    )
    trainer.goto(f"/author/courses/{SLUG}/publish")
    expect(trainer.get_by_text("Always offer the opt-out first.")).to_be_visible()
    assert_accessible(trainer)
    trainer.get_by_label("Release notes").fill("Offer the opt-out first.")
    trainer.get_by_label("Material: it changes what learners are taught").check()
    trainer.get_by_label("must retrain by a date").check()
    trainer.get_by_label("Retrain by", exact=True).fill(
        (date.today() + timedelta(days=30)).isoformat()
    )
    trainer.get_by_role("button", name="Publish version 2").click()
    expect(trainer.get_by_role("status")).to_contain_text("1 people must retrain")
    assert_accessible(trainer)

    learner.goto(f"/courses/{SLUG}")
    notice = learner.get_by_role("region", name=re.compile("This course has changed"))
    expect(notice).to_contain_text("Offer the opt-out first.")
    expect(notice).to_contain_text("Welcome")
    assert_accessible(learner)

    with trainer.expect_download() as download:
        trainer.get_by_role("link", name="v2.zip").click()
    archive = tmp_path / "v2.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(tmp_path / "folder")
    (course,) = load_tree(tmp_path / "folder").courses
    result = server.app.test_cli_runner().invoke(
        args=["courses", "sync", str(tmp_path / "folder"), "--take-over", SLUG]
    )
    assert result.exit_code == 0, result.output
    assert f"{SLUG}: unchanged (version 2)" in result.output
    assert len(content_hash(course)) == 64
