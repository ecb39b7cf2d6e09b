"""The organisation page: its named details, which course text refers to, and its logo."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin.views import bp
from app.content.details import DETAIL_NAMES, DETAILS
from app.content.images import ImageRefused
from app.db import get_session
from app.errors import NotFound
from app.organisation.details import DetailsError, current_values
from app.organisation.logo import MAX_LOGO_BYTES, current_logo, remove_logo, store_logo
from app.organisation.publishing import update_details


def _page(values, problems=None, logo_error=None, status=200):
    return render_template(
        "admin/organisation.html",
        details=DETAILS,
        values=values,
        problems=problems or {},
        logo=current_logo(get_session()),
        logo_error=logo_error,
        max_logo_kib=MAX_LOGO_BYTES // 1024,
    ), status


@bp.get("/organisation")
def organisation():
    return _page(current_values(get_session()))


@bp.post("/organisation")
def save_organisation():
    submitted = {name: request.form.get(name, "") for name in DETAIL_NAMES}
    try:
        changed, published = update_details(get_session(), current_user, submitted)
    except DetailsError as error:
        return _page(submitted, problems=error.problems, status=400)
    get_session().commit()
    if not changed:
        flash("Nothing changed.", "info")
    else:
        courses = ", ".join(f"{v.title} (version {v.number})" for v in published)
        flash(
            "Saved. "
            + (
                f"New minor versions published: {courses}."
                if published
                else "No course uses it yet."
            ),
            "info",
        )
    return redirect(url_for("admin.organisation"), code=303)


@bp.post("/organisation/logo")
def upload_logo():
    upload = request.files.get("logo")
    try:
        store_logo(get_session(), current_user, upload.read() if upload else b"")
    except ImageRefused as error:
        return _page(current_values(get_session()), logo_error=error.message, status=400)
    get_session().commit()
    flash("The logo is saved: new certificates and transcripts carry it.", "info")
    return redirect(url_for("admin.organisation"), code=303)


@bp.post("/organisation/logo/remove")
def delete_logo():
    remove_logo(get_session(), current_user)
    get_session().commit()
    flash("The logo is removed from new certificates and transcripts.", "info")
    return redirect(url_for("admin.organisation"), code=303)


@bp.get("/organisation/logo.png")
def logo_png():
    logo = current_logo(get_session())
    if logo is None:
        raise NotFound("No logo has been uploaded.")
    return Response(logo.png, mimetype="image/png", headers={"Cache-Control": "no-store"})
