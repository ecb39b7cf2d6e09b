"""What axe does not catch, checked in the browser: module tables reflow at 320 px wide
(no sideways scrolling of the page), and the header's focus ring stands out (3:1) against
the header's own colour."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

NARROW = {"width": 320, "height": 640}  # WCAG 1.4.10: 320 CSS pixels, no sideways scrolling


def _modules_with_tables(server):
    for course in server.courses.values():
        for module in course.modules:
            if re.search(r"^\|", module.source, re.M):
                yield course.slug, module


def test_module_tables_reflow_at_320_pixels(quick_server, open_page, sign_in, assert_accessible):
    from playwright.sync_api import expect

    server = quick_server
    with_tables = list(_modules_with_tables(server))
    assert len(with_tables) >= 5, "the shipped courses should have modules with tables"
    page = open_page(server, viewport=NARROW)
    sign_in(page, server.add_user())
    too_wide = []
    for slug, module in with_tables:
        page.goto(f"/courses/{slug}")
        assert_accessible(page)
        page.get_by_role("link", name=module.title, exact=True).click()
        expect(page.get_by_role("heading", level=1, name=module.title)).to_be_visible()
        assert page.locator("main table").count(), f"{slug}/{module.stem} shows no table"
        assert_accessible(page)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        widest = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('main table')]"
            ".map(e => e.getBoundingClientRect().right)) - window.innerWidth"
        )
        if overflow > 0 or widest > 0:
            too_wide.append(f"{slug}/{module.stem}: page {overflow} px, table {widest} px too wide")
    assert too_wide == []


def _contrast(first: str, second: str) -> float:
    def luminance(rgb: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_header_focus_ring_stands_out_against_the_header(
    quick_server, open_page, sign_in, assert_accessible
):
    page = open_page(quick_server)
    sign_in(page, quick_server.add_user())
    header = page.locator("header.site")
    background = header.evaluate("el => getComputedStyle(el).backgroundColor")
    link = header.get_by_role("link", name="My courses")
    link.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focused from the keyboard: :focus-visible applies
    ring = link.evaluate(
        "el => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineColor,"
        " el.matches(':focus-visible')]"
    )
    assert ring[2], "the link should show the keyboard focus ring"
    assert ring[0] != "none"
    assert _contrast(ring[1], background) >= 3, (ring[1], background)
    assert_accessible(page)
