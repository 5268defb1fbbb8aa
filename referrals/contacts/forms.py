"""Contact forms: one contact, a batch of rows for the end of a shift, and the list's
filters. The forms check each answer on its own; ``recording.py`` checks how the
answers fit together."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..choices import AgeBand, Sex
from ..forms import PlainMessages, QueryForm, UKDateField, options
from ..once import OnceForm
from .choices import ContactDeclineReason, ContactOutcome, NaloxoneStatus, NotSuitableReason

YES_NO = [("yes", "Yes"), ("no", "No")]
VETERAN = [("", "Not asked"), ("yes", "Yes"), ("no", "No")]
DISTRICT_HINT = "The first part of their home postcode, like G31. NFA for no fixed abode."
# The batch's reason column holds both kinds of reason, told apart by their prefix.
DECLINED_PREFIX, NOT_SUITABLE_PREFIX = "declined:", "not_suitable:"
MAX_BATCH_ROWS = 40


def _age_band(label: str = "Age band") -> SelectField:
    return SelectField(
        label,
        choices=options([("", "Choose"), *AgeBand.choices()]),
        validators=[DataRequired("Choose the person's age band.")],
    )


def _district(label: str = "Home postcode district") -> StringField:
    return StringField(
        label,
        validators=[
            Optional(),
            # The checker says what is wrong with a district (and reads "No fixed abode").
            Length(max=40, message="Use 2 to 4 letters and numbers, like G31."),
        ],
    )


class PlainForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return PlainMessages()


class ContactForm(PlainForm, OnceForm):
    """One contact (``/contacts/new`` and editing a contact)."""

    version = HiddenField()
    custody_suite_id = SelectField("Custody suite", choices=[], validators=[Optional()])
    contact_on = UKDateField("Date seen", validators=[Optional()])
    age_band = _age_band()
    sex = RadioField(
        "Sex",
        choices=options(Sex.choices()),
        validators=[InputRequired("Choose the person's sex.")],
    )
    postcode_district = _district()
    no_fixed_abode = BooleanField("No fixed abode")
    offered = RadioField(
        "Offered arrest referral?", choices=options(YES_NO), validators=[Optional()]
    )
    outcome = RadioField(
        "Outcome",
        choices=options(ContactOutcome.choices()),
        validators=[InputRequired("Choose what happened.")],
    )
    decline_reason = SelectField(
        "Why they declined",
        choices=options([("", "Choose a reason"), *ContactDeclineReason.choices()]),
        validators=[Optional()],
    )
    not_suitable_reason = SelectField(
        "Why not suitable",
        choices=options([("", "Choose a reason"), *NotSuitableReason.choices()]),
        validators=[Optional()],
    )
    treatment_service_id = SelectField(
        "With which service (optional)", choices=[], validators=[Optional()]
    )
    naloxone = RadioField(
        "Naloxone",
        choices=options(NaloxoneStatus.choices()),
        validators=[InputRequired("Say whether naloxone was offered.")],
    )
    veteran = RadioField("Veteran (optional)", choices=options(VETERAN), validators=[Optional()])


class ContactRow(Form):
    """One row of the batch form: the same answers, in a compact table row."""

    class Meta:
        def get_translations(self, form):
            return PlainMessages()

    contact_on = UKDateField("Date seen", validators=[Optional()])
    age_band = _age_band("Age")
    sex = SelectField(
        "Sex",
        choices=options([("", "Choose"), *Sex.choices()]),
        validators=[DataRequired("Choose the person's sex.")],
    )
    postcode_district = _district("Postcode district")
    offered = SelectField(
        "Offered referral?",
        choices=options([("", "From outcome"), *YES_NO]),
        validators=[Optional()],
    )
    outcome = SelectField(
        "Outcome",
        choices=options([("", "Choose"), *ContactOutcome.choices()]),
        validators=[DataRequired("Choose what happened.")],
    )
    reason = SelectField(
        "Reason (declined or not suitable)",
        choices=options(
            [
                ("", "None"),
                *[
                    (DECLINED_PREFIX + v, f"Declined: {t}")
                    for v, t in ContactDeclineReason.choices()
                ],
                *[
                    (NOT_SUITABLE_PREFIX + v, f"Not suitable: {t}")
                    for v, t in NotSuitableReason.choices()
                ],
            ]
        ),
        validators=[Optional()],
    )
    naloxone = SelectField(
        "Naloxone",
        choices=options([("", "Choose"), *NaloxoneStatus.choices()]),
        validators=[DataRequired("Say whether naloxone was offered.")],
    )
    veteran = SelectField("Veteran", choices=options(VETERAN), validators=[Optional()])

    ANSWERS = ("age_band", "sex", "postcode_district", "offered", "outcome", "reason", "naloxone")

    def is_blank(self) -> bool:
        """Nothing typed or chosen but the defaults: the row is ignored."""
        return not any((getattr(self, name).data or "").strip() for name in self.ANSWERS)


class BatchForm(PlainForm, OnceForm):
    """Several contacts at the end of a shift, saved all together or not at all."""

    custody_suite_id = SelectField("Custody suite", choices=[], validators=[Optional()])
    rows = FieldList(FormField(ContactRow), min_entries=1, max_entries=MAX_BATCH_ROWS)


class ContactFilterForm(QueryForm):
    outcome = SelectField("Outcome", choices=[], validators=[Optional()])
    suite = SelectField("Custody suite", choices=[], validators=[Optional()])
    on_or_before = UKDateField("Seen on or before", validators=[Optional()])
    before = StringField(validators=[Optional(), Length(max=30)])  # older than this
    newer = StringField(validators=[Optional(), Length(max=30)])  # newer than this
