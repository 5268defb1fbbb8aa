"""Referral forms: the new referral, and the changes providers record."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..choices import (
    AgeBand,
    CloseReason,
    ContactMethod,
    DeclinedBy,
    DeclineReason,
    Need,
    Pathway,
    Sex,
    Substance,
)
from ..forms import MultiCheckboxField, QueryForm, UKDateField, options

# UKDateField lives in ..forms; the report forms still import it from here.
__all__ = ["ReferralForm", "ReferralSearchForm", "TransitionForm", "UKDateField"]


class ReferralForm(FlaskForm):
    service_id = HiddenField()
    # Its choices are the suggestions worked out after validation, so it is checked by
    # the referral maker, not here.
    chosen_service = RadioField(
        "Service to refer to",
        choices=[],
        coerce=str,
        validate_choice=False,
        validators=[Optional()],
    )
    pathway = RadioField(
        "Pathway",
        choices=options(Pathway.choices()),
        validators=[InputRequired("Choose the pathway.")],
    )
    person_ref = StringField(
        "Custody record number",
        validators=[
            DataRequired("Enter the custody record number."),
            Length(max=40, message="Use at most 40 characters."),
        ],
    )
    age_band = SelectField(
        "Age",
        choices=options([("", "Choose an age band"), *AgeBand.choices()]),
        validators=[DataRequired("Choose the person's age band.")],
    )
    sex = RadioField(
        "Sex",
        choices=options(Sex.choices()),
        validators=[InputRequired("Choose the person's sex.")],
    )
    postcode_district = StringField(
        "Postcode district where the person lives",
        validators=[Optional(), Length(max=8)],
    )
    no_fixed_abode = BooleanField("No fixed abode")
    council_area_id = SelectField(
        "Council area of residence", choices=[], coerce=str, validators=[Optional()]
    )
    consent_recorded = BooleanField(
        "The person consented to this referral and to sharing these details with the service"
    )
    consent_date = UKDateField("Date consent was given", validators=[Optional()])
    substances = MultiCheckboxField("Substances", choices=options(Substance.choices()))
    needs = MultiCheckboxField("Needs", choices=options(Need.choices()))
    naloxone_offered = BooleanField("Naloxone kit offered")
    naloxone_supplied = BooleanField("Naloxone kit supplied")
    children_in_household = BooleanField("Children live in the household")
    same_day_urgent = BooleanField("Urgent: the person should be seen the same day")
    contact_method = RadioField(
        "How the service should make contact",
        choices=options(ContactMethod.choices()),
        validators=[InputRequired("Choose how the service should make contact.")],
    )
    contact_name = StringField("Name", validators=[Optional(), Length(max=200)])
    contact_phone = StringField("Phone number", validators=[Optional(), Length(max=40)])
    notes = TextAreaField(
        "Notes for the service",
        validators=[Optional(), Length(max=4000, message="Keep notes under 4,000 characters.")],
    )


class TransitionForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    on = UKDateField("Date", validators=[Optional()])
    reason = SelectField("Reason", choices=[], validators=[Optional()])
    declined_by = RadioField(
        "Who declined", choices=options(DeclinedBy.choices()), validators=[Optional()]
    )
    note = TextAreaField(
        "Note (optional)",
        validators=[Optional(), Length(max=2000, message="Keep the note under 2,000 characters.")],
    )


def reason_choices(action: str):
    if action == "decline":
        return options([("", "Choose a reason"), *DeclineReason.choices()])
    if action == "close":
        return options([("", "Choose a reason"), *CloseReason.choices()])
    return options([("", "")])


class ReferralSearchForm(QueryForm):
    reference = StringField(
        "Reference or custody record number", validators=[Optional(), Length(max=40)]
    )
    date_from = UKDateField("Made from", validators=[Optional()])
    date_to = UKDateField("Made to", validators=[Optional()])
    status = SelectField("Status", choices=[], validators=[Optional()])
    overdue = BooleanField("Overdue only", false_values=("false", "", "0", "no", "off"))
    page = IntegerField(validators=[Optional()])
