"""HR: the blueprint, the dashboard, a person's page and transcript, and revocations.

The other HR screens register on this ``bp``: matrix_page, assignment_pages, employees,
downloads.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from app.audit.events import record
from app.certificates.codes import grouped
from app.certificates.service import list_certificates, status_of
from app.dates import format_date
from app.db import get_or_404, get_session
from app.errors import DomainError
from app.headers import attachment
from app.hr.forms import DueDateForm, ExtraAttemptForm, RevokeForm
from app.models import Certificate, Role, User
from app.organisation.details import organisation_name
from app.organisation.logo import current_logo
from app.security import restrict_to
from app.training.filters import EVERYONE
from app.training.matrix import status_rows, summary
from app.training.reports import completions_by_week
from app.training.support import (
    extend_due_date,
    find_course_enrollment,
    grant_extra_attempt,
    revoke_and_reopen,
)
from app.training.transcript import transcript_context

bp = Blueprint("hr", __name__, url_prefix="/hr")
restrict_to(bp, Role.HR)


@bp.get("/")
def dashboard():
    db = get_session()
    return render_template("hr/dashboard.html", summary=summary(db), weeks=completions_by_week(db))


@bp.get("/people/<int:user_id>")
def person(user_id: int):
    db = get_session()
    user = get_or_404(db, User, user_id, "There is no such person.")
    return render_template(
        "hr/person.html",
        person=user,
        courses=status_rows(db, EVERYONE, user_id=user.id).rows,
        certificates=list_certificates(db, user.id),
        status_of=status_of,
        grouped=grouped,
        form=RevokeForm(),
        attempt_form=ExtraAttemptForm(),
        due_form=DueDateForm(),
    )


def _form_problem(form) -> str:
    """The first thing wrong with a submitted form, as a sentence naming its field."""
    for name, errors in form.errors.items():
        label = getattr(form, name).label.text if hasattr(form, name) else name
        return f"{label}: {errors[0]}"
    return "Check the form."


@bp.post("/people/<int:user_id>/courses/<int:course_id>/extra-attempt")
def extra_attempt(user_id: int, course_id: int):
    db = get_session()
    user = get_or_404(db, User, user_id, "There is no such person.")
    enrollment = find_course_enrollment(db, user.id, course_id)
    form = ExtraAttemptForm()
    if not form.validate_on_submit():
        raise DomainError(_form_problem(form))
    grant_extra_attempt(db, current_user, enrollment, form.reason.data or "")
    db.commit()
    flash(f"{user.name} can take the assessment once more.", "info")
    return redirect(url_for("hr.person", user_id=user.id), code=303)


@bp.post("/people/<int:user_id>/courses/<int:course_id>/due-date")
def due_date(user_id: int, course_id: int):
    db = get_session()
    user = get_or_404(db, User, user_id, "There is no such person.")
    enrollment = find_course_enrollment(db, user.id, course_id)
    form = DueDateForm()
    if not form.validate_on_submit():
        raise DomainError(_form_problem(form))
    assert form.due_on.data is not None  # noqa: S101 (DataRequired)
    extend_due_date(db, current_user, enrollment, form.due_on.data, form.reason.data or "")
    db.commit()
    flash(f"{user.name}'s new due date is {format_date(form.due_on.data)}.", "info")
    return redirect(url_for("hr.person", user_id=user.id), code=303)


@bp.post("/certificates/<int:certificate_id>/revoke")
def revoke(certificate_id: int):
    db = get_session()
    certificate = get_or_404(db, Certificate, certificate_id, "There is no such certificate.")
    form = RevokeForm()
    if not form.validate_on_submit():
        flash("Choose a reason for the revocation.", "error")
        return redirect(url_for("hr.person", user_id=certificate.user_id), code=303)
    revoke_and_reopen(db, current_user, certificate.id, form.reason.data, form.note.data or "")
    db.commit()
    flash(f"Certificate {grouped(certificate.code)} is revoked: the course is due again.", "info")
    return redirect(url_for("hr.person", user_id=certificate.user_id), code=303)


@bp.post("/people/<int:user_id>/transcript.pdf")
def transcript(user_id: int):
    from app.certificates.pdf import render_transcript  # WeasyPrint loads only when needed

    db = get_session()
    user = get_or_404(db, User, user_id, "There is no such person.")
    logo = current_logo(db)
    pdf = render_transcript(
        transcript_context(
            db,
            user,
            organisation=organisation_name(db, current_app.config["ORGANISATION_NAME"]),
            base_url=current_app.config["BASE_URL"],
        ),
        logo.png if logo is not None else None,
    )
    # A transcript is personal data leaving the app: on record, as exports are.
    record(db, "transcript.downloaded", actor=current_user, subject=user)
    db.commit()
    response = current_app.response_class(pdf, mimetype="application/pdf")
    return attachment(response, f"transcript-{user.id}.pdf")
