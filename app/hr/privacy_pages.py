"""Privacy requests HR handles for a person: a copy of everything Candor keeps about them, and
their erasure (confirmed on its own page, with a reason)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.db import get_or_404, get_session
from app.errors import DomainError
from app.hr.forms import EraseForm
from app.hr.views import bp
from app.models import User
from app.privacy.erasure import erase_person, erasure_problem
from app.privacy.subject_access import start_subject_access
from app.tasks import get_queue


@bp.post("/people/<int:user_id>/personal-data")
def subject_access(user_id: int):
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    job = start_subject_access(db, current_user, person)
    db.commit()
    get_queue().enqueue_job(job.id)
    return redirect(url_for("hr.job", job_id=job.id), code=303)


@bp.route("/people/<int:user_id>/erase", methods=["GET", "POST"])
def erase(user_id: int):
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    form = EraseForm()
    problem = erasure_problem(current_user, person)
    if request.method == "GET" or problem or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("hr/erase.html", form=form, person=person, problem=problem), (
            409 if problem and request.method == "POST" else status
        )
    try:
        erased = erase_person(db, current_user, person.id, form.reason.data or "")
    except DomainError as error:
        form.form_errors.append(error.message)
        return render_template("hr/erase.html", form=form, person=person), error.status
    db.commit()
    flash(
        f"Erased: this person is now {erased.user.name}. Their records and "
        f"{erased.certificates} certificate(s) are kept under that name.",
        "info",
    )
    return redirect(url_for("hr.person", user_id=person.id), code=303)
