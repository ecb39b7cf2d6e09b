"""HR's Reminders page: who would be reminded (counts, paged), the cadence form, "Send now"
as a run for the job workers, and the history of runs; refused to managers and learners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import csrf_token, login, run_jobs
from sqlalchemy import select

from app.db import utcnow
from app.models import AuditEvent, OutboxMessage, ReminderRun, ReminderSettings, Role
from app.training import reminders as service
from app.training.assignments import assign

FLAGSHIP = "ai-in-the-contact-center"


@pytest.fixture
def hr(client, make_user):
    user = make_user(roles={Role.HR}, name="Harriet HR", email="hr@example.test")
    assert login(client, user).status_code == 303
    return user


@pytest.fixture
def late_team(db, make_user, hr, courses):
    """Mia manages Ben and Bea, both late; Ann is due in a week; Nev never signed in."""
    mia = make_user(name="Mia Manager", email="mia@example.test")
    ben = make_user(name="Ben Late", email="ben@example.test", manager_id=mia.id)
    bea = make_user(name="Bea Late", email="bea@example.test", manager_id=mia.id, employee_id="E7")
    ann = make_user(name="Ann Soon", email="ann@example.test")
    nev = make_user(name="Nev Never", email="nev@example.test")
    nev.password_hash = None
    db.commit()
    now = utcnow()
    assign(
        db,
        hr,
        courses[FLAGSHIP],
        "people",
        user_ids=[ben.id, bea.id, nev.id],
        due_days=1,
        now=now - timedelta(days=3),
    )
    assign(db, hr, courses[FLAGSHIP], "people", user_ids=[ann.id], due_days=7, now=now)
    db.commit()
    return {"mia": mia, "ben": ben, "bea": bea, "ann": ann, "nev": nev}


def test_the_page_shows_who_would_be_reminded_with_counts(client, late_team):
    response = client.get("/hr/reminders")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Reminders go 7 days before and 1 day before the due date" in page
    assert '<span class="big">3</span> people (3 courses)' in page
    assert '<span class="big">2</span> of them late' in page
    assert '<span class="big">1</span> manager summary' in page
    assert "1 never signed in" in page and "Nev Never" not in page
    for name in ("Ann Soon", "Bea Late", "Ben Late"):
        assert name in page
    assert page.index("Ann Soon") < page.index("Bea Late") < page.index("Ben Late")
    assert "E7" in page and "reminder: late" in page and "reminder: 7 days before" in page


def test_the_preview_is_paged(client, late_team, monkeypatch):
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    first = client.get("/hr/reminders").get_data(as_text=True)
    assert "Ann Soon" in first and "Bea Late" in first and "Ben Late" not in first
    assert "Page 1 of 2" in first
    second = client.get("/hr/reminders?page=2").get_data(as_text=True)
    assert "Ben Late" in second and "Ann Soon" not in second
    assert client.get("/hr/reminders?page=²").status_code == 400


def test_send_now_queues_a_run_that_a_worker_sends_and_the_history_shows(
    app, client, db, hr, late_team
):
    response = client.post("/hr/reminders/send", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    run = db.scalar(select(ReminderRun))
    assert response.location == f"/hr/reminders/runs/{run.id}"
    queued = client.get(response.location).get_data(as_text=True)
    assert "Queued" in queued and 'http-equiv="refresh"' in queued
    # A second press while the first is under way is refused.
    again = client.post("/hr/reminders/send", data={"csrf_token": csrf_token(client)})
    assert again.status_code == 409 and "already under way" in again.get_data(as_text=True)

    assert run_jobs(app) >= 1
    db.rollback()  # see what the worker committed
    assert (run.state.value, run.reminders, run.courses, run.digests) == ("done", 3, 3, 1)
    assert (run.not_activated, run.started_by_id) == (1, hr.id)
    kinds = sorted(m.kind for m in db.scalars(select(OutboxMessage)))
    assert kinds == ["digest", "reminder", "reminder", "reminder"]
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "reminders.sent"))
    assert event.actor_id == hr.id and event.details["reminders"] == 3

    page = client.get(f"/hr/reminders/runs/{run.id}").get_data(as_text=True)
    assert "Done" in page and "Harriet HR, from the Reminders page" in page
    assert "3 reminders naming 3 courses, 1 manager summary" in page
    assert "Ben Late" in page and "Mia Manager</a>: 2 people late" in page
    history = client.get("/hr/reminders/runs").get_data(as_text=True)
    assert f"Run {run.id}" in history and "Harriet HR" in history
    # Each step reminded of is done with: the preview is empty now, but for Nev.
    after = client.get("/hr/reminders").get_data(as_text=True)
    assert "Nobody is due a reminder now." in after and "1 never signed in" in after


def test_the_cadence_is_saved_audited_and_followed(client, db, hr, late_team):
    response = client.post(
        "/hr/reminders/cadence",
        data={"csrf_token": csrf_token(client), "days_before": "1 14", "overdue_every_days": "3"},
    )
    assert response.status_code == 303
    [row] = db.scalars(select(ReminderSettings))
    assert (row.days_before, row.overdue_every_days, row.updated_by_id) == ([14, 1], 3, hr.id)
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "reminders.cadence_changed"))
    assert event.details["was_days_before"] == [7, 1] and event.details["days_before"] == [14, 1]
    page = client.get("/hr/reminders").get_data(as_text=True)
    assert (
        "Reminders go 14 days before and 1 day before the due date, then on the first day "
        "late and every 3 days while late." in page
    )
    assert 'value="14, 1"' in page


@pytest.mark.parametrize(
    ("days_before", "every", "problem"),
    [
        ("7, x", "7", "“x” is not a whole number of days"),
        ("7, 7", "7", "may appear only once"),
        ("400", "7", "between 0 and 365"),
        ("7", "", "give a whole number of days"),
        ("7", "-1", "give a whole number of days"),
        ("7", "999", "between 0 and 365"),
        ("1 2 3 4 5 6 7 8 9 10 11", "7", "at most 10 reminders"),
    ],
)
def test_a_bad_cadence_is_refused_with_a_clear_error(client, db, hr, days_before, every, problem):
    response = client.post(
        "/hr/reminders/cadence",
        data={
            "csrf_token": csrf_token(client),
            "days_before": days_before,
            "overdue_every_days": every,
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The cadence was not saved" in page and problem in page
    assert db.scalar(select(ReminderSettings)) is None


@pytest.mark.parametrize("who", ["manager", "learner"])
def test_managers_and_learners_are_refused(client, db, make_user, courses, who):
    user = make_user(roles={Role.LEARNER}, email="me@example.test")
    if who == "manager":
        make_user(email="report@example.test", manager_id=user.id)
    assert login(client, user).status_code == 303
    for path in ("/hr/reminders", "/hr/reminders/runs"):
        assert client.get(path).status_code == 403
    for path in ("/hr/reminders/send", "/hr/reminders/cadence"):
        response = client.post(
            path,
            data={"csrf_token": csrf_token(client), "days_before": "1", "overdue_every_days": "1"},
        )
        assert response.status_code == 403
    assert db.scalar(select(ReminderRun)) is None and db.scalar(select(ReminderSettings)) is None


def test_a_missing_run_is_a_404(client, hr):
    assert client.get("/hr/reminders/runs/999").status_code == 404


def _maintain(app, db) -> None:
    """The workers' every-minute maintenance, with anything older than now counting as stale."""
    app.config["JOBS_STALE_SECONDS"] = 0
    with app.app_context():
        app.extensions["candor.jobs"].maintain()
    db.rollback()
    db.expire_all()


def test_a_run_whose_queue_message_was_lost_is_handed_out_again(app, client, db, hr, late_team):
    client.post("/hr/reminders/send", data={"csrf_token": csrf_token(client)})
    app.extensions["candor.jobs"].huey.storage.flush_queue()  # say the queue was restarted
    assert run_jobs(app) == 0
    run = db.scalar(select(ReminderRun))
    assert run.state.value == "queued"

    _maintain(app, db)
    assert run_jobs(app) >= 1
    db.rollback()
    assert (run.state.value, run.reminders) == ("done", 3)
    # The button is free again, and a second message for a finished run does nothing.
    app.extensions["candor.jobs"].enqueue_reminder_run(run.id)
    assert run_jobs(app) == 1
    assert len(db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all()) == 3
    again = client.post("/hr/reminders/send", data={"csrf_token": csrf_token(client)})
    assert again.status_code == 303


def test_a_run_whose_worker_stopped_is_failed_saying_so_and_frees_the_button(
    app, client, db, hr, late_team
):
    from app.training.reminder_runs import claim_run

    client.post("/hr/reminders/send", data={"csrf_token": csrf_token(client)})
    run = db.scalar(select(ReminderRun))
    assert claim_run(db, run.id)  # a worker took it, then died before its first batch
    db.commit()
    app.extensions["candor.jobs"].huey.storage.flush_queue()

    _maintain(app, db)
    assert run.state.value == "failed"
    page = client.get(f"/hr/reminders/runs/{run.id}").get_data(as_text=True)
    assert "The worker running it stopped" in page
    assert (
        client.post("/hr/reminders/send", data={"csrf_token": csrf_token(client)}).status_code
        == 303
    )
