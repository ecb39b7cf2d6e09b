"""The question statistics page and CSV: aggregates of real attempts, withheld under five,
never a name."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from helpers import list_courses, login
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG

from app.content.sync import sync_courses
from app.db import utcnow
from app.models import Role
from app.progress.reading import current_version, find_course, mark_read
from app.quizzes.attempts import choose, start_attempt, submit_attempt

RIGHT = {
    Q_PASTE: [f"{Q_PASTE}.b"],
    Q_PERSONAL: [f"{Q_PERSONAL}.a", f"{Q_PERSONAL}.b"],
    Q_SCREEN: [f"{Q_SCREEN}.b"],
}
WRONG = {Q_PASTE: [f"{Q_PASTE}.a"], Q_PERSONAL: [f"{Q_PERSONAL}.a"], Q_SCREEN: [f"{Q_SCREEN}.a"]}


def take(db, make_user, number, answers):
    user = make_user(name=f"Learner Number {number}")
    course = find_course(db, SLUG)
    for module in current_version(db, user, course).modules:
        mark_read(db, user, module, opened_at=utcnow() - timedelta(minutes=5))
    attempt = start_attempt(db, user, course)
    for choice in ("start.a", "opt-out.a"):
        choose(db, attempt, CONVERSATION, f"{CONVERSATION}.{choice}")
    submit_attempt(db, attempt, answers)
    db.commit()


def test_statistics_are_withheld_then_shown_and_exported(client, db, quiz_demo, make_user):
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()
    for number in range(4):
        take(db, make_user, number, RIGHT if number % 2 else WRONG)
    login(client, make_user(roles={Role.TRAINER}))
    url = f"/author/courses/{SLUG}/v1/statistics"
    page = client.get(url).get_data(as_text=True)
    assert "4 attempts counted" in page and "figures withheld" in page
    assert "Facility index" not in page
    take(db, make_user, 4, RIGHT)
    page = client.get(url).get_data(as_text=True)
    assert "5 attempts counted" in page and "Facility index" in page
    assert "60.0%" in page  # three of five right on each question
    assert "Learner Number" not in page  # aggregates only
    response = client.get(f"{url}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    paste = [r for r in rows if r["item"] == Q_PASTE]
    assert {r["facility_percent"] for r in paste} == {"60.0"}
    assert sum(int(r["chosen"]) for r in paste) == 5
    assert "Learner Number" not in response.get_data(as_text=True)
