"""Signing in and out, and the user's own account."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
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
from app.models import Role, User
from app.people.accounts import (
    InvalidCredentials,
    PasswordSignInOff,
    authenticate,
    change_password,
)
from app.people.accounts import sign_out_everywhere as end_sessions
from app.people.single_sign_on import password_sign_in_allowed, sso_settings
from app.people.two_factor import confirmed_factor, must_enrol
from app.security import (
    MUST_ENROL,
    begin_second_step,
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
        return _login_page(form, None, 400 if request.method == "POST" else 200)
    attempt = count_sign_in_attempt()  # before the password is checked (429 when spent)
    db = get_session()
    try:
        user = authenticate(db, form.email.data, form.password.data, allowed=password_allowed)
    except PasswordSignInOff as error:
        db.commit()
        attempt.refund()  # the password was right: the person only needs the other button
        return _login_page(form, error.message, 403)
    except InvalidCredentials as error:
        db.commit()  # keep the audit record of the failure
        # Said once, above the form: it is about the pair, not one field.
        return _login_page(form, error.message, 401)
    db.commit()
    attempt.refund()  # a right password costs no budget (the second step has its own)
    if confirmed_factor(db, user) is not None:
        begin_second_step(user, form.next.data)
        return redirect(url_for("auth.second_step"), code=303)
    return complete_sign_in(user, form.next.data)


def password_allowed(user: User) -> bool:
    """Whether ``user`` may sign in (or reset) with a password under the SSO settings."""
    return password_sign_in_allowed(user, sso_settings(current_app.config))


def _login_page(form: LoginForm, failure: str | None, status: int):
    return render_template(
        "auth/login.html",
        form=form,
        failure=failure,
        sso=current_app.config["OIDC_ISSUER"] is not None,
    ), status


def complete_sign_in(user: User, next_target: str | None, *, by_provider: bool = False):
    """Sign ``user`` in on a fresh session and send them on: to ``next_target`` if it is one
    of our pages, else home; to enrol an authenticator app first if their role requires one
    (not after single sign-on, where the provider answers for the second factor)."""
    session.clear()  # a fresh session on sign-in (no fixation)
    session.permanent = True
    session["signed_in_at"] = int(time.time())
    login_user(user)
    target = safe_next(next_target) or home_for(user)
    if not by_provider and must_enrol(get_session(), user):
        session[MUST_ENROL] = True
        flash(
            "Your organisation requires two-step sign-in for your role: set it up to go on.",
            "info",
        )
        target = url_for("auth.two_factor")
    response = redirect(target, code=303)
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
