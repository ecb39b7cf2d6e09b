from helpers import login


def test_learner_signs_in_and_reads(client, make_user, synced):
    user = make_user()
    assert login(client, user).location == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    assert "AI in the contact centre" in page
