"""Administration: the people with accounts (searched and paged), switching accounts off
(after a confirmation) and on, and the audit trail (filtered, paged, as CSV)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from app.audit.events import record
from app.audit.ledger import head_of
from app.audit.viewer import CSV_COLUMNS, PAGE_SIZE, AuditFilter, audit_page, audit_rows
from app.db import get_or_404, get_session, utcnow
from app.exports.csv import csv_stream
from app.fields import page_number
from app.headers import attachment
from app.models import Role, User
from app.people.accounts import deactivate_account, reactivate_account, set_roles
from app.people.directory_queries import search_people
from app.security import restrict_to

bp = Blueprint("admin", __name__, url_prefix="/admin")
restrict_to(bp, Role.ADMIN)


@bp.get("/users")
def users():
    found = search_people(
        get_session(), request.args.get("q", ""), page_number(request.args.get("page"))
    )
    return render_template(
        "admin/users.html",
        people=found.people,
        q=found.text,
        page=found.page,
        total=found.total,
        page_size=found.page_size,
    )


@bp.get("/users/<int:user_id>/deactivate")
def confirm_deactivate(user_id: int):
    """What deactivating does, and the button that does it."""
    person = get_or_404(get_session(), User, user_id, "There is no such person.")
    return render_template("admin/confirm_deactivate.html", person=person)


@bp.route("/users/<int:user_id>/roles", methods=["GET", "POST"])
def roles(user_id: int):
    """An account's roles, on a page of their own."""
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    if request.method == "POST":
        set_roles(db, current_user, person.id, request.form.getlist("roles"))
        db.commit()
        flash(f"{person.name}'s roles are saved.", "info")
        return redirect(url_for("admin.roles", user_id=person.id), code=303)
    return render_template("admin/roles.html", person=person, all_roles=list(Role))


@bp.get("/audit")
def audit():
    audit_filter = AuditFilter.from_args(request.args)
    return render_template(
        "admin/audit.html",
        found=audit_page(get_session(), audit_filter),
        query=audit_filter,
        page_size=PAGE_SIZE,
        head=head_of(get_session()),
    )


@bp.post("/audit.csv")
def audit_csv():
    db = get_session()
    audit_filter = AuditFilter.from_args(
        {k: v for k, v in request.form.items() if k != "csrf_token"}
    )
    now = utcnow()
    record(db, "audit.exported", actor=current_user, filter=audit_filter.args(page=1))
    db.commit()  # the export is itself on record before its first byte
    response = Response(
        stream_with_context(csv_stream(audit_rows(db, audit_filter), CSV_COLUMNS)),
        mimetype="text/csv",
    )
    return attachment(response, f"candor-audit-{now:%Y%m%dT%H%M%SZ}.csv")


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    user = deactivate_account(get_session(), current_user, user_id)
    get_session().commit()
    flash(f"{user.name} is deactivated: they cannot sign in, and their records stay.", "info")
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    user = reactivate_account(get_session(), current_user, user_id)
    get_session().commit()
    flash(f"{user.name} can sign in again.", "info")
    return redirect(url_for("admin.users"), code=303)
