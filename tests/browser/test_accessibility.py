"""Accessibility in a real browser: axe-core on every page each kind of user reaches, keyboard
use, and layouts at a phone and a desktop size.

axe checks WCAG 2.0/2.1 A and AA; a serious or critical violation fails the test. Rules are
never switched off here: a violation is fixed in the template or stylesheet.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture says what is missing (a failure in CI)
    expect = None

from app.models import Role

pytestmark = pytest.mark.browser

FLAGSHIP = "ai-in-the-contact-center"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(tempfile.gettempdir())  # never into the repository
HOSTILE_NAME = 'Eve <img src=x onerror=alert(1)> "><script>alert(2)</script>'


def module_path(server, slug: str, stem: str) -> str:
    return f"/courses/{slug}/v1/{stem}"


def assert_no_horizontal_scroll(page) -> None:
    """The page fits the viewport's width; on failure, name the elements that stick out."""
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll_width <= inner_width:
        return
    # What sticks out past the right edge and is not clipped by a scrolling box (an element
    # positioned absolutely escapes its scrolling box unless that box is positioned).
    culprits = page.evaluate(
        """width => {
        const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
            (typeof e.className === 'string' && e.className.trim()
                ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
        const escapes = e => ['absolute', 'fixed'].includes(getComputedStyle(e).position);
        const clipped = e => {
            for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
                if (getComputedStyle(a).overflowX !== 'visible' && !escapes(e)) return true;
            }
            return false;
        };
        const out = [...document.body.querySelectorAll('*')].filter(
            e => e.getBoundingClientRect().right > width + 0.5 && !clipped(e));
        const set = new Set(out);
        return out.filter(e => !set.has(e.parentElement)).slice(0, 8).map(e =>
            `${describe(e)}${escapes(e) ? ' (position: ' + getComputedStyle(e).position + ')' : ''}`
            + ` right edge at ${Math.round(e.getBoundingClientRect().right)}px`);
    }""",
        inner_width,
    )
    pytest.fail(
        f"{page.url} scrolls sideways at {inner_width}px wide: the page is "
        f"{scroll_width}px wide. Sticking out: {', '.join(culprits) or 'unknown'}",
        pytrace=False,
    )


def check(page, assert_accessible) -> None:
    """axe and the no-sideways-scrolling check on this page at phone size, then desktop size."""
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        assert_accessible(page)
        assert_no_horizontal_scroll(page)


def visit(page, path: str, assert_accessible, *, heading: str | re.Pattern | None = None):
    page.goto(path)
    if heading is not None:
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
    check(page, assert_accessible)


# ---------------------------------------------------------------------------------------------
# axe on every page, at phone and desktop size


def test_pages_anyone_reaches(live_server, open_page, assert_accessible):
    page = open_page(live_server)
    visit(page, "/login", assert_accessible, heading="Sign in")

    # A form sent empty, and a wrong password: the error states must be accessible too.
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    check(page, assert_accessible)
    page.get_by_label("Work e-mail").fill("nobody@example.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "That e-mail and password do not match an active account."
    )
    expect(page.get_by_text("do not match an active account")).to_have_count(1)  # said once
    check(page, assert_accessible)

    visit(page, "/verify", assert_accessible)
    visit(page, "/no-such-page", assert_accessible, heading="Not found")
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next=/dashboard$"))
    check(page, assert_accessible)


def test_pages_a_learner_reaches(live_server, open_page, sign_in, assert_accessible):
    # A name full of markup: it must show as text (the dialog oracle catches an injection).
    learner = live_server.add_user(name=HOSTILE_NAME)
    page = open_page(live_server)
    sign_in(page, learner)
    expect(page.get_by_role("heading", level=1, name="My courses")).to_be_visible()
    check(page, assert_accessible)

    for slug, course in live_server.courses.items():
        visit(page, f"/courses/{slug}", assert_accessible, heading=course.meta.title)
        for module in course.modules:
            visit(
                page,
                module_path(live_server, slug, module.stem),
                assert_accessible,
                heading=module.title,
            )

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My certificates").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, assert_accessible)

    visit(page, "/account", assert_accessible, heading="Your account")
    expect(page.get_by_text(HOSTILE_NAME, exact=True)).to_be_visible()
    page.get_by_label("Current password", exact=True).fill("not my password")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("Repeat the new password", exact=True).fill("a different passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    check(page, assert_accessible)

    visit(page, "/courses/no-such-course", assert_accessible, heading="Not found")
    visit(page, "/admin/users", assert_accessible, heading="Not allowed")


def test_a_course_read_to_the_end(quick_server, open_page, sign_in, assert_accessible):
    slug, course = next((s, c) for s, c in quick_server.courses.items() if s != FLAGSHIP)
    total = len(course.modules)
    learner = quick_server.add_user()
    page = open_page(quick_server)
    sign_in(page, learner)
    visit(page, f"/courses/{slug}", assert_accessible, heading=course.meta.title)
    page.get_by_role("link", name="Start the course").click()
    for module in course.modules:
        expect(page.get_by_role("heading", level=1, name=module.title)).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name=re.compile(r"^Mark as read")).click()
    expect(page.get_by_role("heading", level=1, name=course.meta.title)).to_be_visible()
    expect(page.get_by_role("status")).to_be_visible()  # a flash says where the reader is
    expect(
        page.get_by_text(re.compile(r"^You have read every module of this course"))
    ).to_be_visible()
    if course.quiz_source is not None:  # a course with an assessment opens it now
        expect(page.get_by_role("heading", name="Assessment")).to_be_visible()
        expect(page.get_by_role("button", name="Take the assessment")).to_be_visible()
    check(page, assert_accessible)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My courses").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=course.meta.title))
    expect(card).to_contain_text(f"{total} of {total} modules read")
    expect(card.get_by_role("progressbar")).to_have_attribute("value", "100")
    expect(card).to_contain_text("In progress" if course.quiz_source is not None else "Completed")
    check(page, assert_accessible)


def test_pages_an_admin_reaches(live_server, open_page, sign_in, assert_accessible):
    admin = live_server.add_user(roles={Role.ADMIN}, name="Maximiliana Featherstonehaugh-Smythe")
    hostile = live_server.add_user(name=HOSTILE_NAME)
    page = open_page(live_server)
    sign_in(page, admin)
    check(page, assert_accessible)  # an admin's dashboard, under the longest navigation bar

    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", level=1, name="People")).to_be_visible()
    row = page.get_by_role("row").filter(
        has=page.get_by_role("cell", name=hostile.email, exact=True)
    )
    expect(row.get_by_role("cell", name=HOSTILE_NAME, exact=True)).to_be_visible()
    check(page, assert_accessible)

    row.get_by_role("link", name=f"Deactivate… {HOSTILE_NAME}").click()
    expect(page.get_by_role("heading", level=1, name=f"Deactivate {HOSTILE_NAME}?")).to_be_visible()
    check(page, assert_accessible)
    page.get_by_role("button", name=f"Deactivate {HOSTILE_NAME}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{HOSTILE_NAME} is deactivated")
    expect(row).to_contain_text("Deactivated")
    expect(row.get_by_role("button", name=f"Reactivate {HOSTILE_NAME}")).to_be_visible()
    check(page, assert_accessible)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="HR").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, assert_accessible)
    page.get_by_role("link", name="Obligations", exact=True).click()
    expect(
        page.get_by_role("heading", level=1, name="Obligations and who they cover")
    ).to_be_visible()
    page.get_by_text("EU AI Act, Article 4: AI literacy").first.scroll_into_view_if_needed()
    check(page, assert_accessible)

    visit(page, "/admin/audit", assert_accessible, heading="Audit log")
    visit(page, "/account", assert_accessible, heading="Your account")
    visit(page, "/admin/users/999999/nothing", assert_accessible, heading="Not found")

    # The organisation page, and its refusals (nothing is saved: the server is shared)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("heading", level=1, name="Your organisation")).to_be_visible()
    check(page, assert_accessible)
    page.get_by_label("Privacy team contact").fill("x" * 2001)
    page.get_by_role("button", name="Save the details").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    check(page, assert_accessible)
    page.get_by_label("Upload a logo").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": b"not an image"}]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not a PNG, JPEG or WebP image")
    check(page, assert_accessible)


# ---------------------------------------------------------------------------------------------
# The keyboard


def focused(page) -> dict:
    return page.evaluate("""() => {
        const e = document.activeElement;
        const box = e.getBoundingClientRect();
        return {tag: e.tagName.toLowerCase(), id: e.id, text: e.textContent.trim(),
                name: e.getAttribute('name'), href: e.getAttribute('href'),
                inMain: !!e.closest('main'),
                visible: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                         && box.right <= innerWidth && box.bottom <= innerHeight};
    }""")


def assert_skip_link_works(page) -> None:
    """From the top of the page, Tab reaches the skip link first; it moves focus to <main>."""
    page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.keyboard.press("Tab")
    first = focused(page)
    assert (first["tag"], first["href"], first["text"]) == ("a", "#main", "Skip to content"), (
        f"on {page.url} the first Tab reached {first}, not the skip link"
    )
    assert first["visible"], f"on {page.url} the skip link stays off screen when it has focus"

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    landed = focused(page)
    assert (landed["tag"], landed["id"]) == ("main", "main"), (
        f"on {page.url} the skip link moved focus to {landed}, not to <main>"
    )
    page.keyboard.press("Tab")
    after = focused(page)
    assert after["inMain"], f"on {page.url} Tab after the skip link went to {after}, outside <main>"


def test_the_skip_link_comes_first_and_moves_focus_to_main(
    live_server, open_page, sign_in, assert_accessible
):
    page = open_page(live_server)
    page.goto("/no-such-page")
    assert_accessible(page)
    assert_skip_link_works(page)

    sign_in(page, live_server.add_user())
    course = live_server.courses[FLAGSHIP]
    for path in (
        "/dashboard",
        f"/courses/{FLAGSHIP}",
        module_path(live_server, FLAGSHIP, course.modules[0].stem),
        "/account",
        "/account/privacy",
    ):
        page.goto(path)
        assert_accessible(page)
        assert_skip_link_works(page)


def test_signing_in_and_out_with_the_keyboard_only(live_server, open_page, assert_accessible):
    learner = live_server.add_user()
    page = open_page(live_server)
    page.goto("/login")
    assert_accessible(page)

    for _ in range(10):  # the e-mail field has autofocus; Tab to it if a browser ignores that
        if focused(page)["name"] == "email":
            break
        page.keyboard.press("Tab")
    assert focused(page)["name"] == "email", "the e-mail field cannot be reached with Tab"
    page.keyboard.type(learner.email)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "password", "Tab from the e-mail does not reach the password"
    page.keyboard.type(learner.password)
    page.keyboard.press("Tab")
    button = focused(page)
    assert (button["tag"], button["text"]) == ("button", "Sign in"), (
        f"Tab from the password reached {button}, not the Sign in button"
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="My courses")).to_be_visible()
    assert_accessible(page)

    for _ in range(20):
        page.keyboard.press("Tab")
        if focused(page)["text"] == "Sign out":
            break
    else:
        pytest.fail("Sign out cannot be reached with Tab")
    page.keyboard.press("Space")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")
    assert_accessible(page)


# ---------------------------------------------------------------------------------------------
# Phone and desktop


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_browser_that_starts_at_phone_or_desktop_size(
    size, live_server, open_page, sign_in, assert_accessible
):
    """The other tests resize one page; here the browser is that size from the first paint."""
    viewport = {"phone": PHONE, "desktop": DESKTOP}[size]
    page = open_page(live_server, viewport=viewport)
    sign_in(page, live_server.add_user())
    assert_no_horizontal_scroll(page)
    course = live_server.courses[FLAGSHIP]
    # A module with a table: the widest content the courses have.
    module = next((m for m in course.modules if "|---" in m.body), course.modules[0])
    page.goto(module_path(live_server, FLAGSHIP, module.stem))
    expect(page.get_by_role("heading", level=1, name=module.title)).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    # For a human to look at; outside the repository.
    page.screenshot(path=str(SCREENSHOTS / f"candor-module-{size}.png"), full_page=True)


def test_the_studio_a_trainer_reaches(live_server, open_page, sign_in, assert_accessible):
    trainer = live_server.add_user(roles={Role.TRAINER})
    page = open_page(live_server)
    sign_in(page, trainer)
    expect(page.get_by_role("heading", level=1, name="Courses")).to_be_visible()
    check(page, assert_accessible)
    title = next(iter(live_server.courses.values())).meta.title
    choice = page.get_by_label(f"Visibility of {title}")
    choice.focus()
    choice.select_option("hidden")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=f"Save visibility of {title}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("is now hidden")
    check(page, assert_accessible)


def test_a_draft_written_with_the_keyboard(live_server, open_page, sign_in, assert_accessible):
    trainer = live_server.add_user(roles={Role.TRAINER})
    page = open_page(live_server)
    sign_in(page, trainer)
    page.get_by_label("Title", exact=True).fill("Cards in chat")
    page.get_by_label("Web address name").fill("cards-in-chat")
    page.get_by_label("Web address name").press("Enter")
    expect(page.get_by_role("heading", level=1, name="Draft of cards-in-chat")).to_be_visible()
    check(page, assert_accessible)
    page.get_by_role("link", name="01-introduction.md").click()
    expect(page.get_by_role("heading", level=1, name="01-introduction.md")).to_be_visible()
    check(page, assert_accessible)
    page.get_by_label("Text of 01-introduction.md").fill("# Cards\n\n![](assets/none.png)\n")
    page.get_by_role("button", name="Save", exact=True).click()
    problem = page.get_by_role("alert").get_by_role(
        "link", name=re.compile(r"01-introduction.md:3: broken image")
    )
    expect(problem).to_be_visible()
    check(page, assert_accessible)
    problem.focus()
    page.keyboard.press("Enter")  # jumps to the line in the text (the page's script)
    expect(page.get_by_label("Text of 01-introduction.md")).to_be_focused()


def test_publishing_and_history_pages(live_server, open_page, sign_in, assert_accessible):
    trainer = live_server.add_user(roles={Role.TRAINER})
    page = open_page(live_server)
    sign_in(page, trainer)
    page.get_by_label("Title", exact=True).fill("Keyboard course")
    page.get_by_label("Web address name").fill("keyboard-course")
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", level=1, name="Draft of keyboard-course")).to_be_visible()
    check(page, assert_accessible)
    page.get_by_role("link", name="Review changes and publish").click()
    expect(page.get_by_role("heading", level=1, name="Publish keyboard-course")).to_be_visible()
    check(page, assert_accessible)
    page.get_by_label("Release notes").fill("First edition.")
    page.get_by_label("Material: it changes what learners are taught").check()
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_role("heading", level=1, name="History of keyboard-course")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Published version 1")
    check(page, assert_accessible)


def test_the_preview_and_a_trial_assessment(live_server, open_page, sign_in, assert_accessible):
    trainer = live_server.add_user(roles={Role.TRAINER})
    slug, course = next((s, c) for s, c in live_server.courses.items() if c.quiz is not None)
    page = open_page(live_server)
    sign_in(page, trainer)
    visit(page, f"/author/courses/{slug}/preview", assert_accessible, heading=course.meta.title)
    page.get_by_role("link", name=course.modules[0].title).click()
    expect(page.get_by_role("heading", level=1, name=course.modules[0].title)).to_be_visible()
    check(page, assert_accessible)
    visit(page, f"/author/courses/{slug}/preview/assessment", assert_accessible)
    expect(page.get_by_role("heading", level=1, name="Trial assessment")).to_be_visible()


def test_the_editor_with_javascript(live_server, open_page, sign_in, assert_accessible):
    trainer = live_server.add_user(roles={Role.TRAINER})
    page = open_page(live_server)
    sign_in(page, trainer)
    page.get_by_label("Title", exact=True).fill("Live course")
    page.get_by_label("Web address name").fill("live-course")
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", level=1, name="Draft of live-course")).to_be_visible()
    check(page, assert_accessible)
    page.get_by_role("link", name="01-introduction.md").click()
    preview = page.get_by_role("region", name="Live preview")
    expect(preview).to_contain_text("Write the first module here.")
    check(page, assert_accessible)
    text = page.get_by_label("Text of 01-introduction.md")
    text.fill("# Live\n\nA **bold** claim.\n\n![](assets/none.png)\n")
    expect(preview.locator("strong")).to_have_text("bold")
    problem = page.locator(".live-problems").get_by_role(
        "link", name=re.compile(r":5: broken image")
    )
    expect(problem).to_be_visible()
    problem.focus()
    page.keyboard.press("Enter")
    expect(text).to_be_focused()
    assert page.evaluate("() => document.activeElement.selectionStart") == len(
        "# Live\n\nA **bold** claim.\n\n"
    )
    check(page, assert_accessible)
