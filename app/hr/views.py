"""HR: the people, their certificates, and revocations."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.certificates.codes import grouped
from app.certificates.service import list_certificates, revoke_certificate, status_of
from app.dates import format_date
from app.db import get_session, utcnow
from app.errors import NotFound
from app.hr.filters import PAGE_SIZE, MatrixQuery
from app.hr.forms import RevokeForm
from app.models import Certificate, Role, User
from app.people.directory_queries import list_courses, list_departments, list_managers
from app.quizzes.attempts import list_submitted_attempts
from app.security import restrict_to
from app.training.assignments import status_rows, summary
from app.training.reports import completions_by_week
from app.training.status import Status

bp = Blueprint("hr", __name__, url_prefix="/hr")
restrict_to(bp, Role.HR)


@bp.get("/")
def dashboard():
    db = get_session()
    return render_template("hr/dashboard.html", summary=summary(db),
                           weeks=completions_by_week(db), courses=list_courses(db))


@bp.get("/status")
def matrix():
    db = get_session()
    query = MatrixQuery.from_args(request.args)
    page = status_rows(db, course_id=query.course_id, department=query.department,
                       manager_id=query.manager_id, status=query.status, sort=query.sort,
                       limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE)
    return render_template("hr/matrix.html", page=page, query=query, page_size=PAGE_SIZE,
                           courses=list_courses(db), departments=list_departments(db),
                           managers=list_managers(db), statuses=list(Status))


@bp.get("/people/<int:user_id>")
def person(user_id: int):
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    return render_template("hr/person.html", person=user,
                           courses=status_rows(db, user_id=user.id).rows,
                           certificates=list_certificates(db, user.id), status_of=status_of,
                           grouped=grouped, form=RevokeForm())


@bp.post("/certificates/<int:certificate_id>/revoke")
def revoke(certificate_id: int):
    db = get_session()
    certificate = db.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("There is no such certificate.")
    form = RevokeForm()
    if not form.validate_on_submit():
        flash("Choose a reason for the revocation.", "error")
        return redirect(url_for("hr.person", user_id=certificate.user_id), code=303)
    revoke_certificate(db, current_user, certificate.id, form.reason.data, form.note.data or "")
    db.commit()
    flash(f"Certificate {grouped(certificate.code)} is revoked.", "info")
    return redirect(url_for("hr.person", user_id=certificate.user_id), code=303)


@bp.get("/people/<int:user_id>/transcript.pdf")
def transcript(user_id: int):
    from app.certificates.pdf import render_transcript  # WeasyPrint loads only when needed

    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    pdf = render_transcript({
        "person": user, "courses": status_rows(db, user_id=user.id).rows,
        "certificates": list_certificates(db, user.id), "status_of": status_of,
        "attempts": list_submitted_attempts(db, user.id),
        "organisation": current_app.config["ORGANISATION_NAME"],
        "base_url": current_app.config["BASE_URL"], "generated": format_date(utcnow()),
    })
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="transcript-{user.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
