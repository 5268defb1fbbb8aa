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
    AttemptMethod,
    AttemptOutcome,
    CloseReason,
    ContactMethod,
    DeclinedBy,
    DeclineReason,
    Need,
    Pathway,
    Sex,
    Substance,
)
from ..form_html import QuickRendering
from ..forms import MultiCheckboxField, PlainMessages, QueryForm, UKDateField, options
from ..once import OnceForm


class PlainQuickRendering(QuickRendering):
    """Controls written by ``form_html``, and WTForms' own messages in plain words (a
    crafted post's "Not a valid choice." reads "Choose one of the options listed.")."""

    def get_translations(self, form):
        return PlainMessages()


class ReferralForm(FlaskForm):
    """The fields in the order the page shows them, so errors are listed in that order."""

    class Meta(PlainQuickRendering):
        pass

    service_id = HiddenField()
    # Issued with the blank form: a second submit of the same form finds the referral
    # the first one made instead of making another.
    form_token = HiddenField()
    # Asked only when the same custody record number went to the same service lately.
    confirm_duplicate = BooleanField("Yes, this is a new referral: make it anyway")
    # Asked only when the person clearly does not fit who the service takes.
    confirm_eligibility = BooleanField("Refer anyway: the service may still take them")
    contact_id = HiddenField()  # the custody contact this referral comes from, if any
    # Its choices are the suggestions worked out after validation, so it is checked by
    # the referral maker, not here.
    chosen_service = RadioField(
        "Service to refer to",
        choices=[],
        coerce=str,
        validate_choice=False,
        validators=[Optional()],
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
        # No length check here: the referral's checks say what a district looks like.
        validators=[Optional()],
    )
    no_fixed_abode = BooleanField("No fixed abode")
    council_area_id = SelectField(
        "Council area of residence", choices=[], coerce=str, validators=[Optional()]
    )
    # The district the council above was filled in from, while nobody has changed it: a
    # corrected district then fills it in again.
    council_filled_for = HiddenField()
    pathway = RadioField(
        "Pathway",
        choices=options(Pathway.choices()),
        validators=[InputRequired("Choose the pathway.")],
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
    contact_name = StringField(
        "Name",
        validators=[Optional(), Length(max=200, message="Keep the name under 200 characters.")],
    )
    contact_phone = StringField(
        "Phone number",
        validators=[Optional(), Length(max=40, message="Use at most 40 characters.")],
    )
    notes = TextAreaField(
        "Notes for the service",
        validators=[Optional(), Length(max=4000, message="Keep notes under 4,000 characters.")],
    )


# A status change's fields, made once and shared by the forms below: WTForms orders a
# form's fields by when they were made, so every form lists them in this order.
_version = IntegerField(validators=[InputRequired()])
_on = UKDateField("Date", validators=[Optional()])
_reason = SelectField("Reason", choices=[], validators=[Optional()])
_declined_by = RadioField(
    "Who declined", choices=options(DeclinedBy.choices()), validators=[Optional()]
)
_note = TextAreaField(
    "Note (optional)",
    validators=[Optional(), Length(max=2000, message="Keep the note under 2,000 characters.")],
)


class DatedChangeForm(FlaskForm):
    """A status change that asks only its date and a note (accept, attend, start
    treatment, reopen), with the version the page showed."""

    class Meta(PlainQuickRendering):
        pass

    version = _version
    on = _on
    note = _note


class ClosingForm(DatedChangeForm):
    """Closing: a change with a reason."""

    reason = _reason


class TransitionForm(ClosingForm):
    """Every field any status change may send (declining asks them all)."""

    declined_by = _declined_by


# Each change's form: only the fields its form on the page shows, so that a page with
# several changes on offer builds no field it does not show.
TRANSITION_FORMS = {"decline": TransitionForm, "close": ClosingForm}


def transition_form(action: str, **kwargs) -> DatedChangeForm:
    """The form of the change ``action`` (its fields named with the action's prefix),
    with its reasons to choose from when it asks for one."""
    form = TRANSITION_FORMS.get(action, DatedChangeForm)(prefix=action, **kwargs)
    if "reason" in form:
        form.reason.choices = reason_choices(action)
    return form


def given(form: DatedChangeForm, name: str) -> str | None:
    """What was sent in the field ``name``, or None if it was empty or the change's
    form has no such field."""
    field = form._fields.get(name)
    return (field.data or None) if field is not None else None


def reason_choices(action: str):
    if action == "decline":
        return options([("", "Choose a reason"), *DeclineReason.choices()])
    if action == "close":
        # "Referred on" is set by passing the referral on, never chosen here.
        reasons = [c for c in CloseReason.choices() if c[0] != CloseReason.REFERRED_ON]
        return options([("", "Choose a reason"), *reasons])
    return options([("", "")])


class VersionForm(FlaskForm):
    """A change with nothing to fill in (undo): only the version the page showed."""

    class Meta(PlainQuickRendering):
        pass

    version = IntegerField(validators=[InputRequired()])


class ContactAttemptForm(OnceForm):
    class Meta(PlainQuickRendering):
        pass

    attempted_on = UKDateField(
        "Date of the attempt", validators=[InputRequired("Enter the date of the attempt.")]
    )
    method = RadioField(
        "How",
        choices=options(AttemptMethod.choices()),
        validators=[InputRequired("Choose how you tried to make contact.")],
    )
    outcome = RadioField(
        "What happened",
        choices=options(AttemptOutcome.choices()),
        validators=[InputRequired("Choose what happened.")],
    )
    note = TextAreaField(
        "Note (optional)",
        validators=[Optional(), Length(max=2000, message="Keep the note under 2,000 characters.")],
    )


class UpdateForm(OnceForm):
    class Meta(PlainQuickRendering):
        pass

    # A new phone number replaces the one on the referral: sent from a page shown before
    # a colleague changed the referral, it would overwrite what the sender never saw.
    version = IntegerField(validators=[InputRequired("The page was out of date. Try again.")])
    release_on = UKDateField("Release date", validators=[Optional()])
    new_phone = StringField(
        "New phone number",
        validators=[Optional(), Length(max=40, message="Use at most 40 characters.")],
    )
    message = TextAreaField(
        "Message for the service",
        validators=[
            Optional(),
            Length(max=2000, message="Keep the message under 2,000 characters."),
        ],
    )


class ReferOnForm(FlaskForm):
    class Meta(PlainQuickRendering):
        pass

    version = IntegerField(validators=[InputRequired()])
    service = RadioField(
        "Service to pass the referral to",
        choices=[],
        coerce=str,
        validate_choice=False,
        validators=[InputRequired("Choose the service to pass the referral to.")],
    )
    consent = BooleanField(
        "The person agreed to be referred to this service and to their details going to it"
    )
    note = TextAreaField(
        "Why, and anything the new service should know",
        validators=[
            DataRequired("Say why the referral is being passed on."),
            Length(max=2000, message="Keep the note under 2,000 characters."),
        ],
    )


class ReferralSearchForm(QueryForm):
    class Meta(PlainQuickRendering):
        pass

    reference = StringField(
        "Reference or custody record number",
        validators=[Optional(), Length(max=40, message="Use at most 40 characters.")],
    )
    date_from = UKDateField("Made from", validators=[Optional()])
    date_to = UKDateField("Made to", validators=[Optional()])
    status = SelectField("Status", choices=[], validators=[Optional()])
    overdue = BooleanField("Overdue only", false_values=("false", "", "0", "no", "off"))
    # Where a page starts: after (older than) or before (newer than) a referral's id.
    after = IntegerField(validators=[Optional()])
    before = IntegerField(validators=[Optional()])
