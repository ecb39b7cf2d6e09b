"""Signing in and out, and the user's own account."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user

from app.auth.forms import ChangePasswordForm, LoginForm, SetPasswordForm
from app.db import get_session
from app.errors import DomainError
from app.models import Role
from app.people.accounts import InvalidCredentials, authenticate, change_password
from app.people.accounts import sign_out_everywhere as end_sessions
from app.people.invitations import (
    InvitationExpired,
    InvitationForInactiveAccount,
    InvitationInvalid,
    find_invitation,
    redeem_invitation,
)
from app.security import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE,
    device_cookie_for,
    login_limits,
    public,
    restrict_to,
    safe_next,
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
@login_limits
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    db = get_session()
    try:
        user = authenticate(db, form.email.data, form.password.data)
    except InvalidCredentials as error:
        db.commit()  # keep the audit record of the failure
        form.password.errors.append(error.message)
        return render_template("auth/login.html", form=form), 401
    db.commit()
    session.clear()  # a fresh session on sign-in (no fixation)
    session.permanent = True
    session["signed_in_at"] = int(time.time())
    login_user(user)
    response = redirect(safe_next(form.next.data) or home_for(user), code=303)
    response.set_cookie(
        DEVICE_COOKIE,
        device_cookie_for(user),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
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


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def invitation(token: str):
    db = get_session()
    find_invitation(db, token)  # the same refusal for unknown, used and expired links
    form = SetPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        response = make_response(render_template("auth/invitation.html", form=form), status)
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
        return response
    try:
        redeem_invitation(db, token, form.new.data)
    except (InvitationInvalid, InvitationExpired, InvitationForInactiveAccount):
        raise  # shown as the error page, like a bad link
    except DomainError as error:  # the password policy
        form.new.errors.append(error.message)
        return render_template("auth/invitation.html", form=form), 400
    db.commit()
    flash("Your password is set. Sign in with your work e-mail and the new password.", "info")
    return redirect(url_for("auth.login"), code=303)
