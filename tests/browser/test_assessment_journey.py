"""The assessment and certificate journey in a real browser: fail, read the feedback, retake,
pass, see the course completed, download the certificate, open its QR link, see it valid."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import pytest
from journeys import (
    answer_every_question,
    answer_shown_questions,
    questions_of,
    read_every_module,
)

from app.content.quiz import plain_text

pytestmark = pytest.mark.browser
REFRESHER = "ai-data-refresher"


def test_fail_retake_pass_and_verify_the_certificate(
    quick_server, open_page, sign_in, assert_accessible, tmp_path
):
    from playwright.sync_api import expect

    server = quick_server
    quiz = server.courses[REFRESHER].quiz
    page = open_page(server)
    sign_in(page, server.add_user(name="Grace Hopper"))
    read_every_module(page, server, REFRESHER, assert_accessible)

    page.get_by_role("button", name="Take the assessment").click()
    expect(page.get_by_role("heading", level=1, name="Assessment, attempt 1")).to_be_visible()
    assert_accessible(page)
    # Submitting with nothing answered: the errors are announced, nothing is graded, and the
    # summary of what is missing takes the focus.
    page.get_by_role("button", name="Review and submit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("review and submit")
    assert_accessible(page)
    page.get_by_role("button", name="Submit my answers").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("still need")
    expect(summary).to_be_focused()
    assert_accessible(page)
    summary.get_by_role("link").first.click()  # to the first question missing, on page 1
    expect(page.get_by_role("heading", level=1, name="Assessment, attempt 1")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Page 1 of \d+\."))).to_be_visible()
    assert_accessible(page)
    answer_every_question(page, quiz, right=False, checked=assert_accessible)
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("heading", level=1, name="Attempt 1: not passed")).to_be_visible()
    assert_accessible(page)
    first_feedback = next(
        o.feedback_html
        for q in questions_of(quiz)
        for o in q.options
        if not o.correct and o.feedback_html
    )
    expect(page.get_by_text(plain_text(first_feedback)).first).to_be_visible()

    page.get_by_role("button", name="Take the assessment again").click()
    expect(page.get_by_role("heading", level=1, name="Assessment, attempt 2")).to_be_visible()
    assert_accessible(page)
    answer_every_question(page, quiz, right=True, checked=assert_accessible)
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("heading", level=1, name="Attempt 2: passed")).to_be_visible()
    expect(page.get_by_text("You have completed this course.")).to_be_visible()
    assert_accessible(page)

    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="My courses").click()
    card = page.get_by_role("listitem").filter(has_text=server.courses[REFRESHER].meta.title)
    expect(card.get_by_text("Completed")).to_be_visible()
    assert_accessible(page)

    main_nav.get_by_role("link", name="My certificates").click()
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").first.click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    verify_url = qr_code_of(pdf, tmp_path)
    page.goto(urlsplit(verify_url).path)
    expect(page.get_by_role("status")).to_contain_text("Valid.")
    expect(page.get_by_text("Grace Hopper")).to_be_visible()
    assert_accessible(page)


def qr_code_of(pdf, workdir) -> str:
    """The text of the QR code printed on the PDF's first page."""
    import zxingcpp
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(pdf), str(workdir / "page")],
        check=True,
    )
    image = next(workdir.glob("page*.png"))
    codes = zxingcpp.read_barcodes(Image.open(image))
    assert len(codes) == 1, f"expected one QR code on the certificate, found {len(codes)}"
    return codes[0].text


def test_a_learner_who_leaves_half_way_resumes_with_every_answer_kept(
    quick_server, open_page, sign_in, assert_accessible
):
    from playwright.sync_api import expect

    server = quick_server
    quiz = server.courses[REFRESHER].quiz
    learner = server.add_user(name="Ada Lovelace")
    page = open_page(server)
    sign_in(page, learner)
    read_every_module(page, server, REFRESHER, assert_accessible)
    page.get_by_role("button", name="Take the assessment").click()
    expect(page.get_by_text(re.compile(r"^Page 1 of \d+\."))).to_be_visible()
    pages = int(re.search(r"of (\d+)", page.get_by_text(re.compile(r"^Page 1 of")).inner_text())[1])
    assert pages >= 3, "the refresher should take several pages"
    assert_accessible(page)

    # Half-way: answer the first pages and move on from each (each is saved then), up to a
    # page of several questions (the draw decides which: with one, a single tick would answer
    # it all and the learner would rightly resume on the page after).
    ticked = {}
    number = 1
    while number == 1 or page.locator("#page-form fieldset.question").count() < 2:
        expect(page.get_by_text(re.compile(rf"^Page {number} of {pages}\."))).to_be_visible()
        assert answer_shown_questions(page, quiz, right=True)
        ticked[number] = _ticked(page)
        page.get_by_role("button", name="Save and continue").click()
        number += 1
        assert number <= pages, "no later page holds several questions"
        expect(page.get_by_text(re.compile(rf"^Page {number} of {pages}\."))).to_be_visible()
        assert_accessible(page)
    # On that page, one answer ticked, and the browser closes without moving on: the tick
    # was saved as it was made (attempt.js).
    with page.expect_response(lambda r: r.request.method == "POST" and "/pages/" in r.url):
        page.locator("#page-form input:is([type=radio], [type=checkbox])").first.check()
    half = _ticked(page)
    page.context.close()

    # Another browser, another session: the course offers to continue, and the attempt opens
    # where the learner was, every answer given before still ticked.
    page = open_page(server)
    sign_in(page, learner)
    page.goto(f"/courses/{REFRESHER}")
    assert_accessible(page)
    page.get_by_role("button", name="Continue the assessment").click()
    resumed = number
    expect(page.get_by_text(re.compile(rf"^Page {resumed} of {pages}\."))).to_be_visible()
    assert _ticked(page) == half
    navigator = page.get_by_role("navigation", name="Pages of the assessment")
    for number in ticked:
        expect(navigator.get_by_role("button", name=f"Page {number}, done")).to_be_visible()
    assert_accessible(page)
    for number, labels in ticked.items():
        navigator.get_by_role("button", name=re.compile(rf"^Page {number},")).click()
        expect(page.get_by_text(re.compile(rf"^Page {number} of {pages}\."))).to_be_visible()
        assert _ticked(page) == labels
        assert_accessible(page)

    # The rest, then one grading at the end, on every answer saved on the way.
    navigator.get_by_role("button", name=re.compile(rf"^Page {resumed},")).click()
    expect(page.get_by_text(re.compile(rf"^Page {resumed} of {pages}\."))).to_be_visible()
    assert_accessible(page)
    answer_every_question(page, quiz, right=True, checked=assert_accessible)
    expect(page.get_by_text("Every question has an answer.")).to_be_visible()
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("heading", level=1, name="Attempt 1: passed")).to_be_visible()
    expect(page.get_by_text("100%", exact=False).first).to_be_visible()
    assert_accessible(page)


def _ticked(page) -> list[str]:
    """The ids of the boxes and buttons ticked on the page."""
    return page.locator("#page-form input:checked").evaluate_all("els => els.map(e => e.id)")
