"""The assessment and certificate journey in a real browser: fail, read the feedback, retake,
pass, see the course completed, download the certificate, open its QR link, see it valid."""

from __future__ import annotations

import subprocess
from urllib.parse import urlsplit

import pytest
from journeys import answer_every_question, questions_of, read_every_module

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
    # Submitting with nothing answered: the errors are announced, nothing is graded.
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("alert")).to_contain_text("still need")
    assert_accessible(page)
    answer_every_question(page, quiz, right=False)
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
    answer_every_question(page, quiz, right=True)
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
