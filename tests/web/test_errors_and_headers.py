"""Error pages reveal nothing internal; every page carries the security headers; pages load
nothing from other hosts."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from helpers import login

from app.models import Role
from app.security import public

REFERENCE = re.compile(r"Reference: <code>([0-9a-f]{8,})</code>")
LEAKS = ("Traceback", "RuntimeError", 'File "', "site-packages", "/work/", "werkzeug")


@pytest.fixture
def boom(app):
    """A public route that fails with an unexpected exception, registered before any request."""

    @public
    def explode():
        raise RuntimeError("kaboom internal detail <b>db password=hunter2</b>")

    app.add_url_rule("/test-boom", "test_boom", explode)
    return "/test-boom"


# --- error pages -----------------------------------------------------------------------------


def test_unexpected_error_shows_a_generic_page_with_a_reference(client, boom, caplog):
    with caplog.at_level(logging.ERROR):
        response = client.get(boom)
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page
    match = REFERENCE.search(page)
    assert match, page
    for leak in (*LEAKS, "kaboom", "hunter2"):
        assert leak not in page
    # The reference leads support to the traceback in the log.
    assert match.group(1) in caplog.text
    assert "kaboom internal detail" in caplog.text


def test_each_unexpected_error_gets_its_own_reference(client, boom):
    first = REFERENCE.search(client.get(boom).get_data(as_text=True)).group(1)
    second = REFERENCE.search(client.get(boom).get_data(as_text=True)).group(1)
    assert first != second


def test_error_page_for_a_signed_in_user_reveals_nothing_either(client, boom, signed_in):
    signed_in()
    response = client.get(boom)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert REFERENCE.search(page)
    assert "kaboom" not in page and "Traceback" not in page
    assert response.headers.get("Cache-Control") == "no-store"


def test_unknown_page_is_a_plain_404(client):
    response = client.get("/no/such/page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Not found" in page
    assert "Back to the start page" in page
    for leak in LEAKS:
        assert leak not in page
    assert "Content-Security-Policy" in response.headers


def test_unknown_course_is_a_plain_404_for_a_learner(client, signed_in, synced):
    signed_in()
    response = client.get("/courses/no-such-course")
    assert response.status_code == 404
    assert "There is no such course." in response.get_data(as_text=True)


def test_wrong_method_is_answered_not_crashed(client, signed_in):
    signed_in()
    response = client.get("/logout")
    assert response.status_code == 405
    assert "Traceback" not in response.get_data(as_text=True)


# --- security headers ------------------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name.lower()] = values
    return directives


@pytest.mark.parametrize("path", ["/login", "/dashboard", "/no/such/page"])
def test_pages_carry_the_security_headers(client, signed_in, synced, path):
    signed_in()
    response = client.get(path)
    csp = csp_directives(response)
    assert csp.get("default-src") == ["'self'"]
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("object-src") == ["'none'"]
    assert csp.get("base-uri") == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert csp.get(directive), f"{directive} missing"
    every_source = " ".join(" ".join(v) for v in csp.values())
    assert "'unsafe-inline'" not in every_source
    assert "'unsafe-eval'" not in every_source
    assert "*" not in every_source.split()
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") in {
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    }
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_every_response_carries_each_header_once_and_a_views_own_wins(client, boom):
    for path, status in ((boom, 500), ("/static/candor.css", 200), ("/verify/NOPE", 404)):
        response = client.get(path)
        assert response.status_code == status
        for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
            assert len(response.headers.getlist(name)) == 1, (path, name)
    # The verify page's own Referrer-Policy, not the default one.
    assert client.get("/verify/NOPE").headers["Referrer-Policy"] == "no-referrer"
    # A static file keeps its own caching rule; a page is never stored.
    assert client.get("/static/candor.css").headers.get("Cache-Control") != "no-store"
    assert client.get(boom).headers["Cache-Control"] == "no-store"


def test_signed_in_pages_are_never_cached(app, client, signed_in, synced):
    signed_in(roles={Role.ADMIN})  # sees every page
    module = first_module_path(client)
    for path in (
        "/dashboard",
        "/account",
        "/courses/ai-in-the-contact-center",
        module,
        "/admin/users",
        "/login",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == "no-store", path


def first_module_path(client) -> str:
    page = client.get("/courses/ai-in-the-contact-center").get_data(as_text=True)
    return re.search(r'href="(/courses/ai-in-the-contact-center/v1/[^"]+)"', page).group(1)


# --- nothing loaded from elsewhere -----------------------------------------------------------

URL_ATTRIBUTES = {
    "src",
    "href",
    "srcset",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "xlink:href",
    "manifest",
    "ping",
}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class PageParts(HTMLParser):
    """URLs in attributes (noting whether they sit in the course text) and inline code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []
        self.urls: list[tuple[str, str, str, bool]] = []  # tag, attribute, value, in prose
        self.inline: list[str] = []

    def _in_prose(self) -> bool:
        return any(flag for _, flag in self.open)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        in_prose = self._in_prose()
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value:
                self.urls.append((tag, name, value, in_prose))
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}=...>")
        if tag == "script" and not values.get("src"):
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        if tag not in VOID:
            prose = tag == "div" and "prose" in (values.get("class") or "").split()
            self.open.append((tag, in_prose or prose))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.open and self.open[-1][0] == tag:
            self.open.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                break


def parse(html: str) -> PageParts:
    parts = PageParts()
    parts.feed(html)
    parts.close()
    return parts


def is_external(url: str) -> bool:
    for candidate in url.split(","):  # srcset lists several
        candidate = candidate.strip().split(" ")[0].strip()
        lowered = candidate.lower()
        if lowered.startswith(("http:", "https:", "//")):
            host = urlsplit(candidate if "//" in candidate else "//" + candidate).hostname
            if host not in {"localhost", None}:
                return True
    return False


def learner_pages(client) -> dict[str, str]:
    """Every page a learner can reach by following links from the dashboard and account."""
    seen: dict[str, str] = {}
    queue = ["/dashboard", "/account", "/no/such/page"]
    while queue and len(seen) < 300:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        if response.mimetype != "text/html":
            continue
        seen[path] = response.get_data(as_text=True)
        for tag, attribute, value, _ in parse(seen[path]).urls:
            if tag != "a" or attribute != "href" or is_external(value):
                continue
            target = urlsplit(urljoin("http://localhost" + path, value))
            if (
                target.scheme == "http"
                and target.hostname == "localhost"
                and not target.path.startswith("/static/")
            ):
                queue.append(target.path)
    return seen


@pytest.fixture
def learner_site(client, signed_in, synced):
    signed_in()
    pages = learner_pages(client)
    modules = [p for p in pages if re.fullmatch(r"/courses/[^/]+/v\d+/[^/]+", p)]
    assert len(modules) >= 9, sorted(pages)  # both shipped courses, every module
    anonymous = client.application.test_client()
    pages["/login"] = anonymous.get("/login").get_data(as_text=True)
    pages["/login (refused)"] = login(anonymous, "nobody@example.test", "x" * 9).get_data(
        as_text=True
    )
    return pages


def test_no_page_loads_anything_from_another_host(learner_site):
    remote = []
    for path, html in learner_site.items():
        for tag, attribute, value, in_prose in parse(html).urls:
            # A link in the course text to a cited source is content (SECURITY.md finding 4
            # allows http/https links); anything the browser would fetch by itself is not.
            if tag == "a" and attribute == "href" and in_prose:
                continue
            if is_external(value):
                remote.append(f"{path}: <{tag} {attribute}={value!r}>")
    assert remote == []


def test_pages_have_no_inline_code_the_csp_would_block(learner_site):
    inline = [
        f"{path}: {found}" for path, html in learner_site.items() for found in parse(html).inline
    ]
    assert inline == []


def test_a_wrong_method_says_which_are_allowed(client):
    response = client.put("/login")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert "Traceback" not in response.get_data(as_text=True)


def test_csv_exports_name_their_charset_once(client, signed_in, synced):
    from helpers import post

    from app.models import Role

    signed_in(roles={Role.HR})
    for path in ("/hr/exports/completions.csv", "/hr/exports/items.csv"):
        response = post(client, path)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_form_sent_back_with_errors_gives_its_summary_the_focus(client, signed_in):
    from helpers import post

    signed_in()
    response = post(client, "/account/password", {"current": "wrong", "new": "x", "repeat": "y"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<div class="error-summary" role="alert" tabindex="-1" autofocus>' in page


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "candor-audit-20261201T091500Z.csv",
            'attachment; filename="candor-audit-20261201T091500Z.csv"',
        ),
        (
            'Zoë "Ops"; Floor\r\n7.csv',
            'attachment; filename="Zoe \\"Ops\\"; Floor7.csv"; '
            "filename*=UTF-8''Zo%C3%AB%20%22Ops%22%3B%20Floor7.csv",
        ),
    ],
)
def test_a_download_is_named_safely_and_never_cached(app, name, expected):
    from flask import Response

    from app.headers import attachment

    response = attachment(Response(b"data"), name)
    assert response.headers["Content-Disposition"] == expected
    assert response.headers["Cache-Control"] == "no-store"
    response.headers["Content-Disposition"].encode("latin-1")  # a header WSGI can send
