"""Preview as a learner: the learner's templates, the same sanitiser and CSP, and a trial
assessment, conversation included, that is graded and stored nowhere."""

from __future__ import annotations

import re

from helpers import csrf_token, list_courses, login, post
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG
from sqlalchemy import func, select

from app.content.sync import sync_courses
from app.models import AuditEvent, QuizAttempt, Role

REVISION = re.compile(r'name="revision" value="(\d+)"')
TRIAL = re.compile(r'name="trial" value="([^"]+)"')
RIGHT = {Q_PASTE: "2", Q_PERSONAL: ["1", "2"], Q_SCREEN: "2"}
HOSTILE = (
    '# Cards\n\n<script>alert(1)</script>\n\n<div onclick="alert(2)">tap</div>\n\n'
    '<svg onload="alert(3)"></svg>\n\n<iframe srcdoc="<script>alert(4)</script>"></iframe>\n\n'
    "<style>body{display:none}</style>\n\n**Bold** text.\n"
)


def revision(client, path):
    return REVISION.search(client.get(path).get_data(as_text=True)).group(1)


def test_hostile_markdown_cannot_run_script_in_the_preview(client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    editor = "/author/courses/chat-cards/draft/files/01-introduction.md"
    post(client, editor, {"text": HOSTILE, "revision": revision(client, editor)})
    # raw HTML passes the check (it is stripped, never shown), so the draft previews
    response = client.get("/author/courses/chat-cards/preview/01-introduction")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>Bold</strong>" in page
    for unsafe in ("alert(", "onclick", "onload", "<iframe", "<style", "<svg"):
        assert unsafe not in page, unsafe
    learner_page = client.get("/login")  # any page: the same headers everywhere
    assert (
        response.headers["Content-Security-Policy"]
        == learner_page.headers["Content-Security-Policy"]
    )
    assert "Mark as read" not in page and "Nothing you do here is recorded" in page


def test_a_trial_assessment_is_graded_and_stored_nowhere(client, db, quiz_demo, make_user):
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()
    login(client, make_user(roles={Role.TRAINER}))
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    trial_url = f"/author/courses/{SLUG}/preview/assessment"
    page = client.get(trial_url).get_data(as_text=True)
    assert "Trial assessment" in page
    for position in ("1", "1"):  # the recommended replies, as shown (no shuffling)
        token = TRIAL.search(page).group(1)
        response = post(
            client,
            f"{trial_url}/conversations/{CONVERSATION}",
            {"choice": position, "trial": token},
        )
        assert response.status_code == 303
        page = client.get(response.location).get_data(as_text=True)
    assert "This conversation has ended" in page
    token = TRIAL.search(page).group(1)
    incomplete = client.post(
        f"{trial_url}/submit", data={"trial": token, "csrf_token": csrf_token(client)}
    )
    assert incomplete.status_code == 400 and "still" in incomplete.get_data(as_text=True)
    result = client.post(
        f"{trial_url}/submit", data={**RIGHT, "trial": token, "csrf_token": csrf_token(client)}
    )
    assert result.status_code == 200
    text = result.get_data(as_text=True)
    assert "Trial assessment: passed" in text and "recorded nowhere" in text
    assert "Correct answer" in text  # all the feedback
    assert db.scalar(select(func.count()).select_from(QuizAttempt)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_tampered_trial_is_refused(client, db, quiz_demo, make_user):
    sync_courses(db, quiz_demo)
    db.commit()
    login(client, make_user(roles={Role.TRAINER}))
    response = client.post(
        f"/author/courses/{SLUG}/preview/assessment/submit",
        data={"trial": "forged", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 400 and "start another trial" in response.get_data(as_text=True)


def test_the_live_preview_renders_unsaved_text_safely_and_checks_it(client, db, make_user):
    login(client, make_user(roles={Role.TRAINER}))
    post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    editor = "/author/courses/chat-cards/draft/files/01-introduction.md"
    before = revision(client, editor)
    response = client.post(
        "/author/courses/chat-cards/draft/render/01-introduction.md",
        data={"text": HOSTILE + "\n![](assets/none.png)\n"},
        headers={"X-CSRFToken": csrf_token(client, editor)},
    )
    assert response.status_code == 200
    result = response.get_json()
    assert "<strong>Bold</strong>" in result["html"]
    for unsafe in ("alert(", "onclick", "onload", "<iframe", "<style", "<svg"):
        assert unsafe not in result["html"], unsafe
    lines = HOSTILE.count("\n") + 2
    assert result["problems"] == [
        {
            "line": lines,
            "text": f"01-introduction.md:{lines}: broken image: assets/none.png is not in this "
            "course's assets/",
        }
    ]
    assert revision(client, editor) == before  # nothing was saved
    refused = client.post(
        "/author/courses/chat-cards/draft/render/01-introduction.md", data={"text": "x"}
    )
    assert refused.status_code == 400  # no CSRF token


def test_the_live_preview_never_renders_text_past_the_rendering_budget(
    client, db, make_user, monkeypatch
):
    from app.content import markdown

    login(client, make_user(roles={Role.TRAINER}))
    post(client, "/author/courses/new", {"slug": "chat-cards", "title": "Cards in chat"})
    editor = "/author/courses/chat-cards/draft/files/01-introduction.md"
    token = csrf_token(client, editor)
    rendered = []
    monkeypatch.setattr(markdown, "_converter", lambda: rendered.append(1) or None)
    response = client.post(
        "/author/courses/chat-cards/draft/render/01-introduction.md",
        data={"text": "# Cards\n\n" + "x <a " * 5000 + "\n"},
        headers={"X-CSRFToken": token},
    )
    result = response.get_json()
    assert response.status_code == 200 and result["html"] == ""
    assert "5,000 '<' characters" in result["problems"][0]["text"]
    assert rendered == []  # quadratic in python-markdown: refused before any rendering
