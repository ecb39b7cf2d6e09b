"""Course Markdown renders to HTML that can do nothing but show text and the course's images."""

from __future__ import annotations

import re

import pytest

from app.content.markdown import render_inline, render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src='https://evil.example'></iframe>",
    "<form action='https://evil.example'><input name=p></form>",
    "<base href='https://evil.example/'>",
    "<meta http-equiv='refresh' content='0;url=https://evil.example'>",
    "<a href='javascript:alert(1)'>x</a>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "<svg onload=alert(1)>",
    "<div style='background:url(https://tracker.example)'>x</div>",
    "<object data='x.swf'></object>",
    "<link rel=stylesheet href='https://evil.example/x.css'>",
    "![t](https://tracker.example/pixel.gif)",
    "![t](//tracker.example/pixel.gif)",
    "[x](//evil.example/path)",
    "<p onclick='alert(1)'>click</p>",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_active_content_never_survives(source):
    html = render_markdown(f"Text before.\n\n{source}\n\nText after.").lower()
    for marker in (
        "<script",
        "<iframe",
        "<form",
        "<base",
        "<meta",
        "<svg",
        "<object",
        "<link",
        "javascript:",
        "vbscript:",
        "data:",
        "onerror",
        "onload",
        "onclick",
        "style=",
        "tracker.example",
        "evil.example",
    ):
        assert marker not in html, (marker, html)
    assert "text before." in html and "text after." in html


def test_course_images_and_links_stay_relative():
    html = render_markdown(
        "![A call](assets/call.png) [next](02-data-privacy.md#consent) [web](https://example.org)"
        " [mail](mailto:dpo@example.org) [top](#intro)"
    )
    assert '<img alt="A call" src="assets/call.png">' in html
    assert 'href="02-data-privacy#consent"' in html
    assert 'href="https://example.org"' in html and 'href="mailto:dpo@example.org"' in html
    assert 'href="#intro"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_supported_extensions_render():
    html = render_markdown(
        "## Consent\n\n| Channel | Wording |\n|:--|:--|\n| Voice | This call may be recorded |\n\n"
        '!!! warning "Card data"\n    Never read a card number back.\n\n'
        '```text\nredact 4111\n```\n\n??? note "More"\n    Hidden detail.\n'
    )
    assert '<h2 id="consent">Consent</h2>' in html
    assert "<table>" in html and '<th align="left">Channel</th>' in html
    assert '<div class="admonition warning">' in html and "Card data" in html
    assert "<pre><code>redact 4111" in html
    assert re.search(r"<details[^>]*>\s*<summary>More</summary>", html)


def test_inline_fragments_lose_their_paragraph():
    assert render_inline("Only **approved** tools") == "Only <strong>approved</strong> tools"
    assert render_inline("<b onclick=x>bold</b>") == "<b>bold</b>"


def test_template_syntax_is_plain_text():
    assert "{{ config }}" in render_markdown("{{ config }} and {% raw %}")


def test_each_render_starts_afresh():
    assert render_markdown("# Same") == render_markdown("# Same") == '<h1 id="same">Same</h1>'
