"""Two-step sign-in: the code asked after the password, and the account's own page to set up
an authenticator app (QR code and key), renew recovery codes or turn it off."""

from __future__ import annotations

import segno
from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user

from app.auth.forms import CodeForm, FirstCodeForm, RemoveTwoFactorForm
from app.auth.views import bp, complete_sign_in
from app.db import get_session
from app.errors import DomainError
from app.models import STAFF_ROLES
from app.people import two_factor as factors
from app.people.two_factor import CodeRefused, Sealer
from app.security import (
    MUST_ENROL,
    SECOND_STEP,
    count_second_step_attempt,
    public,
    second_step_user,
)


def _sealer() -> Sealer:
    return Sealer(current_app.config["SECRET_KEY"])


def _private(template: str, code: int = 200, **context):
    """A page showing a secret (a key, recovery codes): never stored by a cache."""
    response = make_response(render_template(template, **context), code)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login/second-step", methods=["GET", "POST"])
@public
def second_step():
    pending = second_step_user()
    if pending is None:  # never asked, or too late: say so, with the way back
        session.pop(SECOND_STEP, None)
        status = 409 if request.method == "POST" else 200
        return render_template("auth/second_step.html", form=None), status
    user, next_target = pending
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("auth/second_step.html", form=form), status
    count_second_step_attempt(user)  # 429 when the account's budget is spent
    db = get_session()
    try:
        factors.verify_second_step(db, user, form.code.data, _sealer())
    except CodeRefused as error:
        db.commit()  # keep the audit record of the failure
        form.code.errors.append(error.message)
        return render_template("auth/second_step.html", form=form), 400
    db.commit()
    return complete_sign_in(user, next_target)


def _status_page(code: int = 200, **forms):
    db = get_session()
    factor = factors.confirmed_factor(db, current_user)
    enrolment = (
        None
        if factor is not None
        else factors.pending_enrolment(
            db, current_user, _sealer(), current_app.config["ORGANISATION_NAME"]
        )
    )
    qr_html = (
        segno.make(enrolment.uri, error="m").svg_inline(scale=5, title="QR code to scan")
        if enrolment is not None
        else None
    )
    return _private(
        "auth/two_factor.html",
        code,
        factor=factor,
        enrolment=enrolment,
        qr_html=qr_html,
        left=factors.recovery_codes_left(db, current_user) if factor else 0,
        required=factors.must_enrol(db, current_user) or session.get(MUST_ENROL, False),
        locked_on=bool(current_user.roles & STAFF_ROLES) and factors.required_for_staff(db),
        first_code=forms.get("first_code") or FirstCodeForm(),
        renew=forms.get("renew") or CodeForm(),
        remove=forms.get("remove") or RemoveTwoFactorForm(),
    )


@bp.get("/account/two-factor")
def two_factor():
    return _status_page()


@bp.post("/account/two-factor/start")
def two_factor_start():
    factors.start_enrolment(get_session(), current_user, _sealer())
    get_session().commit()
    return redirect(url_for("auth.two_factor"), code=303)


@bp.post("/account/two-factor/confirm")
def two_factor_confirm():
    form = FirstCodeForm()
    if not form.validate_on_submit():
        return _status_page(400, first_code=form)
    db = get_session()
    try:
        codes = factors.confirm_enrolment(db, current_user, form.code.data, _sealer())
    except CodeRefused as error:
        form.code.errors.append(error.message)
        return _status_page(400, first_code=form)
    db.commit()
    # This session carries on, with the account's new generation (the others have ended).
    login_user(current_user._get_current_object())
    session.pop(MUST_ENROL, None)
    return _private("auth/recovery_codes.html", codes=codes, first=True)


@bp.post("/account/two-factor/recovery-codes")
def two_factor_renew():
    form = CodeForm()
    if not form.validate_on_submit():
        return _status_page(400, renew=form)
    db = get_session()
    try:
        codes = factors.renew_recovery_codes(db, current_user, form.code.data, _sealer())
    except CodeRefused as error:
        form.code.errors.append(error.message)
        return _status_page(400, renew=form)
    db.commit()
    return _private("auth/recovery_codes.html", codes=codes, first=False)


@bp.post("/account/two-factor/remove")
def two_factor_remove():
    form = RemoveTwoFactorForm()
    if not form.validate_on_submit():
        return _status_page(400, remove=form)
    try:
        factors.remove_own(get_session(), current_user, form.password.data)
    except DomainError as error:
        form.password.errors.append(error.message)
        return _status_page(error.status, remove=form)
    get_session().commit()
    flash("Two-step sign-in is off: your password alone signs you in.", "info")
    return redirect(url_for("auth.two_factor"), code=303)
