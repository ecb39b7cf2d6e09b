"""Signing in and out, and the user's own account."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user

from app.auth.forms import ChangePasswordForm, LoginForm
from app.db import get_session
from app.errors import DomainError
from app.models import Role
from app.people.accounts import InvalidCredentials, authenticate, change_password
from app.people.accounts import sign_out_everywhere as end_sessions
from app.security import (
    count_sign_in_attempt,
    public,
    restrict_to,
    safe_next,
    set_device_cookie,
    sign_out_here,
)

bp = Blueprint("auth", __name__)
restrict_to(bp)  # any signed-in user; the sign-in pages are marked @public


def home_for(user) -> str:
    """Where a user lands after signing in."""
    if user.has_role(Role.LEARNER):
        return url_for("learn.dashboard")
    if user.has_role(Role.HR):
        return url_for("hr.dashboard")
    if user.has_role(Role.TRAINER):
        return url_for("author.courses")
    return url_for("auth.account")


@bp.get("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user), code=303)
    return redirect(url_for("auth.login"), code=303)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    attempt = count_sign_in_attempt()  # before the password is checked (429 when spent)
    db = get_session()
    try:
        user = authenticate(db, form.email.data, form.password.data)
    except InvalidCredentials as error:
        db.commit()  # keep the audit record of the failure
        # Said once, above the form: it is about the pair, not one field.
        return render_template("auth/login.html", form=form, failure=error.message), 401
    db.commit()
    attempt.refund()  # a successful sign-in costs no budget
    session.clear()  # a fresh session on sign-in (no fixation)
    session.permanent = True
    session["signed_in_at"] = int(time.time())
    login_user(user)
    response = redirect(safe_next(form.next.data) or home_for(user), code=303)
    set_device_cookie(response, user)
    return response


@bp.post("/logout")
def logout():
    end_sessions(get_session(), current_user, action="user.logout")
    get_session().commit()
    sign_out_here()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.get("/account")
def account():
    return render_template("auth/account.html", password_form=ChangePasswordForm())


@bp.post("/account/password")
def password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/account.html", password_form=form), 400
    try:
        change_password(get_session(), current_user, form.current.data, form.new.data)
    except DomainError as error:
        form.current.errors.append(error.message)
        return render_template("auth/account.html", password_form=form), 400
    get_session().commit()
    sign_out_here()
    flash(
        "Your password is changed and every session has ended. Sign in with the new password.",
        "info",
    )
    return redirect(url_for("auth.login"), code=303)


@bp.post("/account/sign-out-everywhere")
def sign_out_everywhere():
    end_sessions(get_session(), current_user, action="user.signed_out_everywhere")
    get_session().commit()
    sign_out_here()
    flash("Every session of your account has ended, including this one.", "info")
    return redirect(url_for("auth.login"), code=303)
