"""HR: employees by hand and by CSV import (a dry run first, then apply)."""

from __future__ import annotations

import base64
import binascii

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.dates import format_datetime
from app.db import get_or_404, get_session, utcnow
from app.errors import DomainError
from app.fields import page_number
from app.hr.forms import EmployeeForm, ImportForm
from app.hr.views import bp
from app.mail.smtp import MailSettings, mail_settings
from app.models import User
from app.people.accounts import deactivate_account, reactivate_account
from app.people.directory import (
    apply_import,
    create_employee,
    plan_import,
    read_employee_csv,
    replan_import,
    update_employee,
)
from app.people.directory_queries import not_activated, search_people
from app.people.invitations import revoke_invitations, send_invitation


def _base_url() -> str:
    return current_app.config["BASE_URL"]


def _mail() -> MailSettings:
    return mail_settings(current_app.config)


def _fields(form: EmployeeForm) -> dict:
    """The form's values as the directory service takes them (empty text, never None)."""
    return {
        "email": form.email.data,
        "name": form.name.data,
        "employee_id": form.employee_id.data or "",
        "department": form.department.data or "",
        "manager_email": form.manager_email.data or "",
        "roles": form.roles.data,
    }


@bp.get("/employees")
def employees():
    page = page_number(request.args.get("page"))
    found = search_people(get_session(), request.args.get("q", ""), page)
    return render_template(
        "hr/employees.html",
        people=found.people,
        q=found.text,
        page=found.page,
        total=found.total,
        page_size=found.page_size,
    )


@bp.route("/employees/new", methods=["GET", "POST"])
def new_employee():
    form = EmployeeForm()
    if not form.validate_on_submit():
        return render_template(
            "hr/employee_form.html", form=form, person=None
        ), 400 if request.method == "POST" else 200
    db = get_session()
    try:
        created = create_employee(
            db, current_user, **_fields(form), invite_base_url=_base_url(), mail=_mail()
        )
    except DomainError as error:
        form.form_errors.append(error.message)
        return render_template("hr/employee_form.html", form=form, person=None), error.status
    db.commit()
    return render_template(
        "hr/employee_created.html", person=created.user, invitation=created.invitation
    )


@bp.route("/employees/<int:user_id>/edit", methods=["GET", "POST"])
def edit_employee(user_id: int):
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    form = EmployeeForm(
        obj=None if request.method == "POST" else person,
        manager_email=person.manager.email if person.manager else "",
        roles=sorted(r.value for r in person.roles),
    )
    if request.method == "GET" or not form.validate_on_submit():
        return render_template(
            "hr/employee_form.html", form=form, person=person
        ), 400 if request.method == "POST" else 200
    try:
        update_employee(db, current_user, person.id, **_fields(form))
    except DomainError as error:
        form.form_errors.append(error.message)
        return render_template("hr/employee_form.html", form=form, person=person), error.status
    db.commit()
    flash(f"Saved the changes to {person.name}.", "info")
    return redirect(url_for("hr.person", user_id=person.id), code=303)


@bp.post("/employees/<int:user_id>/deactivate")
def deactivate(user_id: int):
    user = deactivate_account(get_session(), current_user, user_id)
    get_session().commit()
    flash(f"{user.name} is deactivated: they cannot sign in, and their records stay.", "info")
    return redirect(url_for("hr.person", user_id=user.id), code=303)


@bp.post("/employees/<int:user_id>/reactivate")
def reactivate(user_id: int):
    user = reactivate_account(get_session(), current_user, user_id)
    get_session().commit()
    flash(f"{user.name} can sign in again.", "info")
    return redirect(url_for("hr.person", user_id=user.id), code=303)


@bp.route("/import", methods=["GET", "POST"])
def import_employees():
    """Step 1: upload and check. Nothing is written; the plan is shown with every problem."""
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template(
            "hr/import.html", form=form, plan=None
        ), 400 if request.method == "POST" else 200
    data = form.file.data.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    plan = plan_import(
        get_session(),
        read_employee_csv(data, form.file.data.filename or "csv"),
        actor=current_user,
        deactivate_missing=form.deactivate_missing.data,
    )
    return render_template(
        "hr/import.html", form=form, plan=plan, data=base64.b64encode(data).decode("ascii")
    )


@bp.post("/import/apply")
def apply_employees():
    """Step 2: apply exactly the plan that was shown, or nothing if anything has changed."""
    # The checked file comes back base64-encoded (a third larger) beside the form's fields.
    request.max_content_length = current_app.config["MAX_CONTENT_LENGTH"] * 4 // 3 + 65536
    db = get_session()
    try:
        data = base64.b64decode(request.form.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("The checked file did not come back intact; upload it again.") from None
    plan = replan_import(
        db,
        data,
        request.form.get("source", "csv")[:200],
        actor=current_user,
        deactivate_missing=request.form.get("deactivate_missing") == "1",
        fingerprint=request.form.get("fingerprint", ""),
    )
    result = apply_import(db, current_user, plan, invite_base_url=_base_url(), mail=_mail())
    db.commit()
    return render_template("hr/import_done.html", result=result)


@bp.get("/not-activated")
def not_activated_people():
    """Who has never signed in: they need a new invitation link, not a reminder."""
    page = page_number(request.args.get("page"))
    return render_template(
        "hr/not_activated.html", found=not_activated(get_session(), page), now=utcnow()
    )


@bp.post("/people/<int:user_id>/invitation")
def new_invitation(user_id: int):
    """E-mail a fresh invitation to someone who never set a password (older links stop)."""
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    link = send_invitation(db, person, _mail(), actor=current_user)
    db.commit()
    flash(
        f"A new invitation is on its way to {person.email}, valid until "
        f"{format_datetime(link.expires_at)}; any earlier link no longer works.",
        "info",
    )
    return redirect(url_for("hr.not_activated_people"), code=303)


@bp.post("/people/<int:user_id>/invitation/revoke")
def revoke_invitation(user_id: int):
    """Stop every open invitation link of someone (a mistyped address, someone who left)."""
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    revoke_invitations(db, person, actor=current_user)
    db.commit()
    flash(f"{person.name}'s invitation links no longer work.", "info")
    return redirect(url_for("hr.not_activated_people"), code=303)
