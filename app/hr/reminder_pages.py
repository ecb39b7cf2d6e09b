"""HR: reminders from the browser. Who would be reminded now (counts and a page of people),
"Send now" (a run for the job workers), the history of runs, and the cadence that every run
follows (this page's button, `flask reminders send` and the workers' schedule alike)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.db import get_or_404, get_session
from app.errors import DomainError
from app.fields import MAX_PAGE, whole_number
from app.hr.views import bp
from app.models import ReminderRun
from app.tasks import get_queue
from app.training.cadence import parse_cadence, read_cadence, save_cadence, step_text
from app.training.reminder_runs import list_runs, queue_run, run_people
from app.training.reminders import preview

RECENT_RUNS = 5


def _page() -> int:
    page = whole_number((request.args.get("page") or "1").strip(), 1, MAX_PAGE)
    if page is None:
        raise DomainError(f"page must be a whole number from 1 to {MAX_PAGE:,}.")
    return page


def _reminders_page(status: int = 200, error: str | None = None, form=None):
    db = get_session()
    cadence = read_cadence(db)
    return render_template(
        "hr/reminders.html",
        cadence=cadence,
        due=preview(db, cadence=cadence, page=_page()),
        recent=list_runs(db, 1, RECENT_RUNS),
        step_text=step_text,
        error=error,
        form=form
        or {
            "days_before": ", ".join(str(d) for d in cadence.days_before),
            "overdue_every_days": str(cadence.overdue_every_days),
        },
    ), status


@bp.get("/reminders")
def reminders():
    return _reminders_page()


@bp.post("/reminders/cadence")
def save_reminder_cadence():
    form = {
        "days_before": (request.form.get("days_before") or "")[:200],
        "overdue_every_days": (request.form.get("overdue_every_days") or "")[:20],
    }
    try:
        cadence = parse_cadence(form["days_before"], form["overdue_every_days"])
    except DomainError as error:
        return _reminders_page(400, error.message, form)
    save_cadence(get_session(), current_user, cadence)
    get_session().commit()
    flash(f"Saved. Reminders go {cadence.describe()}", "info")
    return redirect(url_for("hr.reminders"), code=303)


@bp.post("/reminders/send")
def send_reminders_now():
    """A run for the job workers, on record first so that the history shows it queued."""
    db = get_session()
    run = queue_run(db, current_user)
    db.commit()
    get_queue().enqueue_reminder_run(run.id)
    flash("Reminders are being sent: this page shows the run as it goes.", "info")
    return redirect(url_for("hr.reminder_run", run_id=run.id), code=303)


@bp.get("/reminders/runs")
def reminder_runs():
    return render_template("hr/reminder_runs.html", found=list_runs(get_session(), _page()))


@bp.get("/reminders/runs/<int:run_id>")
def reminder_run(run_id: int):
    db = get_session()
    run = get_or_404(db, ReminderRun, run_id, "There is no such reminder run.")
    return render_template("hr/reminder_run.html", run=run, found=run_people(db, run.id, _page()))
