"""The administrators' forms for API clients."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import MultiCheckboxField, options
from .clients import CLIENT_ROLES, ROLE_LABELS


class ApiClientForm(FlaskForm):
    name = StringField(
        "Name of the system",
        validators=[
            DataRequired("Enter the name of the system, like “Custody system, West”."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )
    contact_email = EmailField(
        "Contact email for the system (optional)",
        validators=[Optional(), Length(max=254, message="Use at most 254 characters.")],
    )
    suite_ids = MultiCheckboxField("Custody suites (custody systems)", choices=[])
    organisation_id = SelectField(
        "Organisation (provider case systems)", choices=[], validators=[Optional()]
    )
    # The system as the form was filled (``state_mark`` of ``clients.client_values``).
    shown = HiddenField()


class NewApiClientForm(ApiClientForm):
    role = RadioField(
        "Kind of system",
        choices=options((role.value, ROLE_LABELS[role]) for role in CLIENT_ROLES),
        validators=[InputRequired("Choose the kind of system.")],
    )


class RevokeForm(FlaskForm):
    confirm = BooleanField(
        "I understand the system will stop working at once and cannot be turned back on"
    )


class RotateForm(FlaskForm):
    """Only the CSRF token: a new token is issued on submit."""
