"""HR forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.certificates.service import REVOCATION_REASONS

REASON_LABELS = {
    "issued_in_error": "Issued in error",
    "training_invalidated": "The training was not valid",
    "holder_request": "The holder asked for it",
    "other": "Other",
}


class RevokeForm(FlaskForm):
    reason = SelectField("Reason (shown in general terms on the verification page)",
                         choices=[SelectChoice(k, REASON_LABELS[k]) for k in REVOCATION_REASONS],
                         validators=[DataRequired()])
    note = TextAreaField("Note for the audit trail (not shown publicly)",
                         validators=[Length(max=1000)])
