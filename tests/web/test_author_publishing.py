"""Publishing from the studio's pages, the history with its diff, and the learner's notice."""

from __future__ import annotations

import re
from datetime import date, timedelta

from helpers import login, post, record_completion

from app.content.versions import find_version
from app.db import utcnow
from app.models import Role

REVISION = re.compile(r'name="revision" value="(\d+)"')


def revision(client, path):
    return REVISION.search(client.get(path).get_data(as_text=True)).group(1)


def test_a_trainer_publishes_then_a_material_version_reaches_the_learner(
    app, client, db, make_user
):
    login(client, make_user(roles={Role.TRAINER}, name="Tess Trainer"))
    post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    publish = "/author/courses/chat-cards/publish"
    page = client.get(publish).get_data(as_text=True)
    assert "Files of the first version" in page and "01-introduction.md" in page
    missing = post(client, publish, {"revision": revision(client, publish), "material": "yes"})
    assert missing.status_code == 400
    assert "Write release notes" in missing.get_data(as_text=True)
    done = post(
        client,
        publish,
        {"revision": revision(client, publish), "notes": "First edition.", "material": "yes"},
    )
    assert done.status_code == 303 and done.location == "/author/courses/chat-cards/history"
    post(client, "/author/courses/chat-cards/visibility", {"visibility": "listed"})
    v1 = find_version(db, "chat-cards", 1)
    learner = make_user(name="Lee Learner")
    record_completion(db, learner, v1, utcnow() - timedelta(days=3))
    db.commit()

    editor = "/author/courses/chat-cards/draft/files/01-introduction.md"
    post(
        client,
        editor,
        {
            "text": "# Cards in chat\n\nNever repeat card numbers.\n",
            "revision": revision(client, editor),
        },
    )
    page = client.get(publish).get_data(as_text=True)
    assert "Changes since version 1" in page and "Never repeat card numbers." in page
    due = (date.today() + timedelta(days=20)).isoformat()
    done = post(
        client,
        publish,
        {
            "revision": revision(client, publish),
            "notes": "Card numbers: never repeat them.",
            "material": "yes",
            "retrain": "date",
            "due_on": due,
        },
    )
    assert done.status_code == 303
    history = client.get(done.location).get_data(as_text=True)
    assert "Published version 2 of chat-cards. 1 people must retrain" in history
    assert "Tess Trainer" in history and "Card numbers: never repeat them." in history
    compared = client.get("/author/courses/chat-cards/history?from=1&to=2").get_data(as_text=True)
    assert "Version 1 to version 2" in compared and "Never repeat card numbers." in compared
    assert "Lee Learner" not in history + compared  # trainers see no personal records
    for odd in ("from=1&to=99999999999", "from=%D9%A1&to=2", "from=x&to=2"):
        refused = client.get(f"/author/courses/chat-cards/history?{odd}")
        assert refused.status_code == 400, odd
        assert "Choose two versions to compare." in refused.get_data(as_text=True)

    learner_client = app.test_client()
    login(learner_client, learner)
    course = learner_client.get("/courses/chat-cards").get_data(as_text=True)
    assert "This course has changed: please retrain by" in course
    assert "Card numbers: never repeat them." in course
    assert "Changed modules" in course and "Cards in chat" in course


def test_a_draft_with_problems_offers_no_publish_button(client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    editor = "/author/courses/chat-cards/draft/files/01-introduction.md"
    post(client, editor, {"text": "no title\n", "revision": revision(client, editor)})
    page = client.get("/author/courses/chat-cards/publish").get_data(as_text=True)
    assert "fix them in the draft" in page and "Publish version 1" not in page
    refused = post(
        client,
        "/author/courses/chat-cards/publish",
        {"revision": "1", "notes": "x", "material": "yes"},
    )
    assert refused.status_code == 409 and "problem" in refused.get_data(as_text=True)
