"""HR: the people, their certificates, and revocations."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.certificates.codes import grouped
from app.certificates.service import list_certificates, revoke_certificate, status_of
from app.db import get_session
from app.errors import NotFound
from app.hr.forms import RevokeForm
from app.models import Certificate, Role, User
from app.security import restrict_to

bp = Blueprint("hr", __name__, url_prefix="/hr")
restrict_to(bp, Role.HR)


@bp.get("/people")
def people():
    everyone = get_session().scalars(select(User).order_by(User.name, User.id)).all()
    return render_template("hr/people.html", people=everyone)


@bp.get("/people/<int:user_id>")
def person(user_id: int):
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    return render_template("hr/person.html", person=user,
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
