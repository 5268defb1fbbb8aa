"""The scheme form: name, code, the provider organisation, its custody suites."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ..forms import MultiCheckboxField


class SchemeForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the scheme's name."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )
    code = StringField(
        "Short code",
        validators=[
            DataRequired("Enter a short code, like ARS-G1."),
            Length(max=32, message="Use at most 32 characters."),
            Regexp(
                r"^\s*[A-Za-z0-9][A-Za-z0-9-]*\s*$",
                message="Use letters, numbers and hyphens only, like ARS-G1.",
            ),
        ],
    )
    organisation_id = SelectField(
        "Provider organisation", choices=[], validators=[DataRequired("Choose the provider.")]
    )
    suite_ids = MultiCheckboxField("Custody suites served", choices=[])
    active = BooleanField("Scheme active")
