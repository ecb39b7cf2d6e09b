"""Sign-in and password forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.fields import EMAIL_MAX
from app.models.user import PASSWORD_MAX, PASSWORD_MIN


class LoginForm(FlaskForm):
    email = EmailField("Work e-mail", validators=[DataRequired(), Length(max=EMAIL_MAX)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    next = HiddenField()  # hidden; checked by safe_next, never trusted


def _new_password(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        description=f"{PASSWORD_MIN} to {PASSWORD_MAX} characters. A few unrelated words "
        "make a strong password.",
    )


def _repeated(label: str, message: str) -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), EqualTo("new", message=message)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = _new_password("New password")
    confirm = _repeated("Repeat the new password", "The two new passwords differ.")

    def validate_new(self, field) -> None:
        if field.data == self.current.data:
            raise ValidationError("Choose a password different from the current one.")


class SetPasswordForm(FlaskForm):
    new = _new_password("Choose a password")
    confirm = _repeated("Repeat the password", "The two passwords differ.")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Work e-mail", validators=[DataRequired(), Length(max=EMAIL_MAX)])
