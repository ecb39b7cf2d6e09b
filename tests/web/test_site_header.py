"""The site header on every page: the menu of the signed-in user's roles with the current page
marked, and a sign-out form carrying the session's own token. It is rendered once per
combination of those inputs (templating.site_header): nothing of one page or person may show
on another's."""

from __future__ import annotations

import re

from helpers import login

from app.models import Role

MENU = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.DOTALL)
LINK = re.compile(r'<a href="([^"]+)"\s*(aria-current="page")?>([^<]+)</a>')
SIGN_OUT_TOKEN = re.compile(
    r'<form method="post" action="[^"]*/logout" class="inline">\s*'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">'
)


def menu(response) -> dict[str, tuple[str, bool]]:
    """The main menu's links, by text: (address, marked as the current page)."""
    assert response.status_code == 200
    found = MENU.search(response.get_data(as_text=True))
    assert found, "no main menu on the page"
    return {text: (href, bool(current)) for href, current, text in LINK.findall(found.group(1))}


def sign_out_token(response) -> str:
    found = SIGN_OUT_TOKEN.search(response.get_data(as_text=True))
    assert found, "no sign-out form in the header"
    return found.group(1)


def test_a_learner_sees_their_menu_with_the_page_they_are_on_marked(client, signed_in):
    signed_in()
    on_dashboard = menu(client.get("/dashboard"))
    assert list(on_dashboard) == ["My courses", "My certificates", "Account"]
    assert on_dashboard["My courses"] == ("/dashboard", True)
    assert on_dashboard["My certificates"] == ("/certificates", False)

    on_certificates = menu(client.get("/certificates"))
    assert on_certificates["My courses"] == ("/dashboard", False)
    assert on_certificates["My certificates"] == ("/certificates", True)


def test_each_person_gets_the_menu_of_their_own_roles_on_the_same_page(app, make_user):
    learner, hr, admin = (
        make_user(roles={Role.LEARNER}),
        make_user(roles={Role.HR}),
        make_user(roles={Role.ADMIN}),
    )
    menus = {}
    for user in (learner, hr, admin, learner):  # the learner again, after the others
        browser = app.test_client()
        assert login(browser, user).status_code == 303
        menus[user.email] = list(menu(browser.get("/account")))
    assert menus[learner.email] == ["My courses", "My certificates", "Account"]
    assert menus[hr.email] == ["HR", "Account"]
    assert menus[admin.email] == [
        "My courses",
        "My certificates",
        "HR",
        "Studio",
        "People",
        "Organisation",
        "Account",
    ]


def test_each_session_signs_out_with_its_own_token(app, make_user):
    user = make_user()
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        assert login(browser, user).status_code == 303
    tokens = [sign_out_token(browser.get("/dashboard")) for browser in (first, second)]
    assert tokens[0] != tokens[1]
    assert tokens == [sign_out_token(browser.get("/account")) for browser in (first, second)]
    # Each token works for its own session only.
    assert second.post("/logout", data={"csrf_token": tokens[0]}).status_code == 400
    assert first.post("/logout", data={"csrf_token": tokens[0]}).status_code == 303
    assert second.post("/logout", data={"csrf_token": tokens[1]}).status_code == 303


def test_a_page_for_anyone_has_no_menu_for_someone_signed_out(client, signed_in):
    page = client.get("/login").get_data(as_text=True)
    assert 'class="brand"' in page
    assert "Main" not in page and "/logout" not in page
    signed_in()
    assert "My courses" in menu(client.get("/dashboard"))
    client.post("/logout", data={"csrf_token": sign_out_token(client.get("/dashboard"))})
    assert "/logout" not in client.get("/login").get_data(as_text=True)


def test_links_follow_the_address_the_app_is_mounted_at(app, client, signed_in):
    signed_in()
    assert menu(client.get("/dashboard"))["Account"] == ("/account", False)
    mounted = menu(client.get("/dashboard", base_url="http://localhost/training"))
    assert mounted["Account"] == ("/training/account", False)
    assert mounted["My courses"] == ("/training/dashboard", True)
    assert menu(client.get("/dashboard"))["Account"] == ("/account", False)
