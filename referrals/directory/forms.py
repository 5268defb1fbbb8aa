"""Directory forms: search, report a problem, edit a listing."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..choices import Gender, ProblemCategory, ServiceStatus
from ..form_html import QuickRendering
from ..forms import MultiCheckboxField, QueryForm, options
from ..once import OnceForm
from .filters import DEFAULT_RADIUS_KM, MAX_RADIUS_KM
from .listings import website_problem

FALSE_VALUES = ("false", "", "0", "no", "off", "n")


class WholeNumberField(IntegerField):
    """An integer field whose error says what to type."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError("Enter a whole number, like 25.") from None


class DecimalNumberField(FloatField):
    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = float(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError("Enter a number, like 55.8642.") from None


def web_address(_form, field) -> None:
    if problem := website_problem((field.data or "").strip()):
        raise ValidationError(problem)


class SearchForm(QueryForm):
    class Meta(QuickRendering):
        pass

    q = StringField(
        "Postcode or town",
        validators=[Optional(), Length(max=100, message="Enter at most 100 characters.")],
    )
    type = MultiCheckboxField("Type of service", choices=[])
    same_day = BooleanField("Same-day access", false_values=FALSE_VALUES)
    open_now = BooleanField("Open now", false_values=FALSE_VALUES)
    custody = BooleanField("Accepts custody referrals", false_values=FALSE_VALUES)
    age = WholeNumberField(
        "Age of the person",
        validators=[Optional(), NumberRange(0, 120, "Enter an age from 0 to 120.")],
    )
    gender = SelectField(
        "Services for",
        choices=options([("", "Anyone"), ("female", "A woman"), ("male", "A man")]),
        default="",
    )
    veterans = BooleanField("Services for veterans only", false_values=FALSE_VALUES)
    radius_km = WholeNumberField(
        "Within (km)",
        default=DEFAULT_RADIUS_KM,
        validators=[
            Optional(),
            NumberRange(1, MAX_RADIUS_KM, f"Enter a distance from 1 to {MAX_RADIUS_KM} km."),
        ],
    )
    page = WholeNumberField(
        "Page", validators=[Optional(), NumberRange(min=1, message="Pages start at 1.")]
    )


class ProblemForm(OnceForm):
    category = RadioField(
        "What is wrong?",
        choices=options(ProblemCategory.choices()),
        validators=[DataRequired("Choose what is wrong with the listing.")],
    )
    description = TextAreaField(
        "Tell us more",
        validators=[
            DataRequired("Say what is wrong, for example the right phone number."),
            Length(max=2000, message="Keep it under 2,000 characters."),
        ],
    )
    reporter_contact = StringField(
        "Your email or phone (optional)",
        validators=[Optional(), Length(max=200, message="Keep it under 200 characters.")],
    )


class LocationForm(Form):
    address_1 = StringField(
        "Address line 1",
        validators=[DataRequired("Enter the first line of the address."), Length(max=200)],
    )
    address_2 = StringField("Address line 2 (optional)", validators=[Optional(), Length(max=200)])
    town = StringField("Town", validators=[DataRequired("Enter the town."), Length(max=120)])
    postcode = StringField("Postcode", validators=[DataRequired("Enter the postcode.")])
    latitude = DecimalNumberField(
        "Latitude (optional)",
        validators=[Optional(), NumberRange(-90, 90, "Latitude runs from -90 to 90.")],
    )
    longitude = DecimalNumberField(
        "Longitude (optional)",
        validators=[Optional(), NumberRange(-180, 180, "Longitude runs from -180 to 180.")],
    )
    # The postcode and position the form was filled in with ("postcode|lat|lon"): a new
    # postcode sent with that position unchanged is placed afresh.
    placed_for = HiddenField()


class ServiceForm(OnceForm):
    # When the listing was last changed as the form was opened: a save that finds it
    # changed since then is stopped, so that it does not undo a colleague's edit.
    edited_from = HiddenField()
    name = StringField(
        "Service name", validators=[DataRequired("Enter the service's name."), Length(max=200)]
    )
    description = TextAreaField("What the service does", validators=[Optional(), Length(max=5000)])
    types = MultiCheckboxField(
        "Types of service", choices=[], validators=[DataRequired("Choose at least one type.")]
    )
    primary_type = SelectField(
        "Main type (sets the map colour)",
        choices=[],
        validators=[DataRequired("Choose the main type.")],
    )
    status = RadioField("Status", choices=options(ServiceStatus.choices()), default="active")
    alert = StringField(
        "Alert (optional)",
        validators=[Optional(), Length(max=500, message="Keep the alert under 500 characters.")],
    )
    min_age = WholeNumberField(
        "Youngest age accepted (optional)",
        validators=[Optional(), NumberRange(0, 120, "Enter an age from 0 to 120.")],
    )
    max_age = WholeNumberField(
        "Oldest age accepted (optional)",
        validators=[Optional(), NumberRange(0, 120, "Enter an age from 0 to 120.")],
    )
    gender = RadioField("Who it is for", choices=options(Gender.choices()), default="any")
    veterans_only = BooleanField("For veterans only")
    self_referral = BooleanField("People can refer themselves")
    accepts_custody_referrals = BooleanField("Accepts referrals from custody")
    same_day_access = BooleanField("Same-day access (MAT standard 1)")
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    email = StringField(
        "Email",
        validators=[
            Optional(),
            Email("Enter an email address like name@example.org."),
            Length(max=254),
        ],
    )
    website = StringField(
        "Website",
        validators=[Optional(), web_address, Length(max=500)],
    )
    referral_email = StringField(
        "Referral inbox (not shown to the public)",
        validators=[
            Optional(),
            Email("Enter an email address like referrals@example.org."),
            Length(max=254),
        ],
    )
    referral_method = TextAreaField("How to refer", validators=[Optional(), Length(max=2000)])
    typical_wait_days = WholeNumberField(
        "Typical wait (days, optional)",
        validators=[Optional(), NumberRange(0, 365, "Enter a wait from 0 to 365 days.")],
    )
    confidential_address = BooleanField(
        "The address is confidential (shown only to signed-in referrers and providers)"
    )
    opening_hours = TextAreaField(
        "Opening hours",
        validators=[Optional(), Length(max=1000)],
        description="One part per day or range of days, separated by semicolons, e.g. "
        "Mon-Fri 09:00-17:00; Sat 10:00-13:00. A closing time before the opening time "
        "runs past midnight (Fri 20:00-02:00); 00:00 as a closing time is midnight (Fri "
        "18:00-00:00). Leave empty if there are no set hours: the listing then says so.",
    )
    areas_served = MultiCheckboxField("Council areas served", choices=[], coerce=int)
    locations = FieldList(FormField(LocationForm), min_entries=1, max_entries=10)
