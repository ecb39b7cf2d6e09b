from helpers import login


def test_learner_signs_in_and_reads(client, make_user, synced):
    user = make_user()
    assert login(client, user).location == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    assert "AI in the contact centre" in page


def test_links_follow_the_path_the_app_is_served_under(client, make_user, synced):
    """Templates remember the links they build (app.templating): one served under a prefix
    (SCRIPT_NAME, behind a proxy) and one at the root never get each other's links."""
    login(client, make_user())
    for prefix in ("", "/candor", ""):
        served = client.get("/dashboard", base_url=f"http://localhost{prefix}")
        page = served.get_data(as_text=True)
        assert f'href="{prefix}/static/candor.css"' in page
        assert f'<a href="{prefix}/certificates"' in page
