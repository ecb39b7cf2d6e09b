"""HR forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import NumberInput

from app.certificates.service import REVOCATION_REASONS
from app.dates import day_problem
from app.fields import (
    DEPARTMENT_MAX,
    EMAIL_MAX,
    EMPLOYEE_ID_MAX,
    NAME_MAX,
    NOTE_MAX,
    sentence,
    whole_number_problem,
)
from app.models import Role
from app.training.assignments import MAX_DUE_DAYS

REASON_LABELS = {
    "issued_in_error": "Issued in error",
    "training_invalidated": "The training was not valid",
    "holder_request": "The holder asked for it",
    "other": "Other",
}


def within_calendar(form, field) -> None:
    """A date field's value is a day Candor can reckon with (dates.day_problem)."""
    if field.data is not None and (problem := day_problem("the date", field.data)):
        raise ValidationError(sentence(problem))


def whole_days(form, field) -> None:
    """A number of days, if given, is plain digits from 1 to MAX_DUE_DAYS (fields.whole_number,
    the one rule for numbers from outside: never int(), which takes "+5", "5_0" or "５")."""
    text = (field.data or "").strip()
    if text and (problem := whole_number_problem("number of days", text, 1, MAX_DUE_DAYS)):
        raise ValidationError(sentence(problem))


class RevokeForm(FlaskForm):
    reason = SelectField(
        "Reason (shown in general terms on the verification page)",
        choices=[SelectChoice(k, REASON_LABELS[k]) for k in REVOCATION_REASONS],
        validators=[DataRequired()],
    )
    note = TextAreaField(
        "Note for the audit trail (not shown publicly)", validators=[Length(max=NOTE_MAX)]
    )


class EmployeeForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=NAME_MAX)])
    email = EmailField("Work e-mail", validators=[DataRequired(), Length(max=EMAIL_MAX)])
    employee_id = StringField("Employee id", validators=[Length(max=EMPLOYEE_ID_MAX)])
    department = StringField("Department", validators=[Length(max=DEPARTMENT_MAX)])
    manager_email = EmailField("Manager's e-mail", validators=[Length(max=EMAIL_MAX)])
    roles = SelectMultipleField(
        "Roles",
        choices=[SelectChoice(r.value, r.value.capitalize()) for r in Role],
        default=[Role.LEARNER.value],
    )


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired()],
        description="Columns: email, name, employee_id, department, manager_email, "
        "roles (header required; comma or semicolon; UTF-8).",
    )
    deactivate_missing = BooleanField("Deactivate active people who are not in the file")


class AssignmentForm(FlaskForm):
    course = SelectField("Course", validators=[DataRequired()])
    audience = SelectField(
        "Who",
        choices=[
            SelectChoice("everyone", "Everyone"),
            SelectChoice("department", "A department"),
            SelectChoice("people", "Chosen people"),
        ],
    )
    department = SelectField("Department", validate_choice=False)
    people = SelectMultipleField("People", validate_choice=False)
    due_kind = SelectField(
        "Due",
        choices=[
            SelectChoice("days", "A number of days after assignment"),
            SelectChoice("date", "On a date"),
        ],
    )
    due_days = StringField(
        "Days",
        default="30",
        widget=NumberInput(min=1, max=MAX_DUE_DAYS),
        validators=[whole_days],
    )
    due_on = DateField("Date", validators=[Optional(), within_calendar])


class ExtraAttemptForm(FlaskForm):
    reason = TextAreaField(
        "Why (kept in the audit trail)", validators=[DataRequired(), Length(max=NOTE_MAX)]
    )


class DueDateForm(FlaskForm):
    due_on = DateField("New due date", validators=[DataRequired(), within_calendar])
    reason = TextAreaField(
        "Why (kept in the audit trail)", validators=[DataRequired(), Length(max=NOTE_MAX)]
    )


class EraseForm(FlaskForm):
    reason = TextAreaField(
        "Why is this person erased? (kept in the audit trail: do not write their name)",
        validators=[DataRequired(message="Give the reason."), Length(max=NOTE_MAX)],
    )
    confirm = BooleanField(
        "I understand: their name, e-mail and employee id are replaced for good, and they can "
        "no longer sign in.",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
