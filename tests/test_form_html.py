"""Form controls written directly (``form_html.py``) are the very HTML WTForms writes:
same attributes, same order, same escaping, for every state a field can be in."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.core import Label
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

from referrals.form_html import (
    QuickRendering,
    _options,
    _translated,
    attributes,
    escape_text,
    field_html,
)
from referrals.forms import MultiCheckboxField, UKDateField, options
from referrals.tracking.forms import ReferralForm, ReferralSearchForm

AWKWARD = 'O\'Neil & "Sons" <b>'


def fields():
    return dict(
        token=HiddenField(),
        name=StringField(
            "Name & <title>",
            validators=[DataRequired("Enter it."), Length(min=2, max=40)],
            render_kw={"data_role": "who", "placeholder": 'e.g. "Al"'},
        ),
        agreed=BooleanField("Agreed", validators=[InputRequired()]),
        colour=RadioField(
            "Colour",
            choices=options([("red", "Red"), ("b&w", AWKWARD)]),
            validators=[InputRequired("Choose.")],
        ),
        kinds=MultiCheckboxField("Kinds", choices=options([("a", "A <1>"), ("b", "B")])),
        size=SelectField(
            "Size",
            choices=options([("", "Choose"), ("s", "Small"), ("l", AWKWARD)]),
            validators=[Optional()],
        ),
        on=UKDateField("On", validators=[Optional()]),
        notes=TextAreaField("Notes", validators=[Optional(), Length(max=10)]),
        age=IntegerField("Age", validators=[Optional(), NumberRange(0, 120)]),
        step=IntegerField(
            "Step",
            widget=NumberInput(step=5, min=0),
            validators=[InputRequired(), NumberRange(max=50)],
            render_kw={"placeholder": AWKWARD},
        ),
    )


class PlainForm(FlaskForm):
    locals().update(fields())


class QuickForm(FlaskForm):
    class Meta(QuickRendering):
        pass

    locals().update(fields())


POSTED = MultiDict(
    [
        ("token", 'x"y'),
        ("name", AWKWARD),
        ("agreed", "y"),
        ("colour", "b&w"),
        ("kinds", "a"),
        ("kinds", "b"),
        ("size", "l"),
        ("on", "32/1/2026"),
        ("notes", "</textarea><script>alert(1)</script> & more than ten"),
        ("age", "12x"),
        ("step", "55"),
    ]
)
RENDER_ARGS = [
    {},
    {"aria-describedby": "x-hint x-error", "aria-invalid": "true"},
    {"class_": "short", "autocomplete": "off"},
    {"disabled": True, "required": False, "id": "other"},
]


@pytest.fixture
def form_app():
    app = Flask(__name__, template_folder=str(Path(__file__).parent.parent / "templates"))
    app.config.update(SECRET_KEY="form-html", WTF_CSRF_ENABLED=True)
    app.jinja_env.globals["field_html"] = field_html
    return app


def rendered(form) -> list[str]:
    """Every control and label of ``form``, each option's too, with each set of
    render arguments."""
    out = [str(form.hidden_tag())]
    for field in form:
        out.append(str(field.label()))
        out.append(str(field.label("Other & text", class_="hidden")))
        for args in RENDER_ARGS:
            out.append(str(field(**args)))
        if field.type in ("RadioField", "MultiCheckboxField"):
            for option in field:
                out += [str(option()), str(option.label()), str(option(**RENDER_ARGS[1]))]
    return out


@pytest.mark.parametrize("posted", [None, POSTED], ids=["blank", "posted with errors"])
def test_controls_are_written_exactly_as_wtforms_writes_them(form_app, posted):
    path = "/" if posted is None else "/?x=1"
    with form_app.test_request_context(path, method="POST", data=posted or {}):
        plain, quick = PlainForm(formdata=posted), QuickForm(formdata=posted)
        # The same CSRF token for both: the session holds one per page.
        quick.csrf_token.current_token = plain.csrf_token.current_token
        if posted is not None:
            assert not plain.validate() and not quick.validate()
            assert quick.errors == plain.errors
        assert rendered(quick) == rendered(plain)


def test_every_referral_form_control_matches_wtforms(form_app):
    """The new-referral and referral-search forms' own fields, blank and filled in."""
    posted = MultiDict(
        [
            ("person_ref", AWKWARD),
            ("age_band", "25_34"),
            ("sex", "female"),
            ("council_area_id", "7"),
            ("substances", "opioids"),
            ("needs", "housing"),
            ("consent_recorded", "y"),
            ("consent_date", dt.date(2026, 11, 30).isoformat()),
            ("notes", "<b>x</b>"),
            ("status", "made"),
        ]
    )
    with form_app.test_request_context("/", method="POST"):
        for form in (
            ReferralForm(meta={"csrf": False}),
            ReferralForm(formdata=posted, meta={"csrf": False}),
            ReferralSearchForm(formdata=posted),
        ):
            if "council_area_id" in form:
                form.council_area_id.choices = options([("", "Choose"), ("7", AWKWARD)])
            if "status" in form:
                form.status.choices = options([("", "Any status"), ("made", "Made")])
            form.validate()
            for field in form:
                assert str(field.label()) == str(Label.__call__(field.label))
                for args in RENDER_ARGS:
                    assert str(field(**args)) == str(field.widget(field, **args)), field.name
                if field.type in ("RadioField", "MultiCheckboxField"):
                    for option in field:
                        assert str(option()) == str(option.widget(option))
                        assert str(option.label()) == str(Label.__call__(option.label))


def test_text_written_in_python_is_escaped_as_jinja_escapes_it():
    """Whichever escaping ``escape_text`` uses (markupsafe's C loop, or the translation
    without it), it writes what Jinja's autoescape writes."""
    from markupsafe import Markup, escape

    for text in (AWKWARD, "", "plain", "Ω & ü <é>", "\x00'\"&<>", Markup("<b>kept?</b>")):
        assert escape_text(text) == _translated(text) == str(escape(str(text))), text


def test_attribute_values_are_escaped_and_flags_written_bare():
    assert attributes({"value": AWKWARD, "checked": True, "readonly": False, "b_": 1}) == (
        'b="1" checked value="O&#39;Neil &amp; &#34;Sons&#34; &lt;b&gt;"'
    )


# The layout a field's block has always had (the Jinja macro ``field_html`` replaced):
# the page structure the accessibility checks and the stylesheet rely on.
LAYOUT = """
{% macro describedby(f, hint) -%}
{%- set ids = [] -%}
{%- if hint %}{% set _ = ids.append(f.id ~ '-hint') %}{% endif -%}
{%- if f.errors %}{% set _ = ids.append(f.id ~ '-error') %}{% endif -%}
{{ ids|join(' ') }}
{%- endmacro %}
{% macro field(f, hint=None, class_="", autocomplete=None) %}
{% set db = describedby(f, hint) %}
<div class="field{% if f.errors %} has-error{% endif %}">
  {% if f.type == 'BooleanField' %}
  <div class="checkbox">
    {{ f(**({'aria-describedby': db} if db else {})) }}
    {{ f.label() }}
  </div>
  {% if hint %}<span class="hint" id="{{ f.id }}-hint">{{ hint }}</span>{% endif %}
  {% if f.errors %}<span class="field-error" id="{{ f.id }}-error"><span class="visually-hidden">Error:</span> {{ f.errors|join(' ') }}</span>{% endif %}
  {% elif f.type in ('RadioField', 'MultiCheckboxField') %}
  <fieldset{% if db %} aria-describedby="{{ db }}"{% endif %} id="{{ f.id }}">
    <legend>{{ f.label.text }}</legend>
    {% if hint %}<span class="hint" id="{{ f.id }}-hint">{{ hint }}</span>{% endif %}
    {% if f.errors %}<span class="field-error" id="{{ f.id }}-error"><span class="visually-hidden">Error:</span> {{ f.errors|join(' ') }}</span>{% endif %}
    <div class="{{ class_ }}">
    {% for option in f %}
      <div class="{{ 'radio' if f.type == 'RadioField' else 'checkbox' }}">{{ option() }} {{ option.label() }}</div>
    {% endfor %}
    </div>
  </fieldset>
  {% else %}
  {{ f.label() }}
  {% if hint %}<span class="hint" id="{{ f.id }}-hint">{{ hint }}</span>{% endif %}
  {% if f.errors %}<span class="field-error" id="{{ f.id }}-error"><span class="visually-hidden">Error:</span> {{ f.errors|join(' ') }}</span>{% endif %}
  {% set attrs = {} %}
  {% if db %}{% set _ = attrs.update({'aria-describedby': db}) %}{% endif %}
  {% if f.errors %}{% set _ = attrs.update({'aria-invalid': 'true'}) %}{% endif %}
  {% if class_ %}{% set _ = attrs.update({'class': class_}) %}{% endif %}
  {% if autocomplete %}{% set _ = attrs.update({'autocomplete': autocomplete}) %}{% endif %}
  {{ f(**attrs) }}
  {% endif %}
</div>
{% endmacro %}
"""  # noqa: E501
CALL = "{{ field(f, hint=hint, class_=class_, autocomplete=autocomplete) }}"


def tags_only(html: str) -> str:
    """The markup with the white space between tags taken out."""
    return re.sub(r">\s+<", "><", str(html)).strip()


@pytest.mark.parametrize("form_class", [PlainForm, QuickForm], ids=["wtforms", "quick"])
@pytest.mark.parametrize("posted", [None, POSTED], ids=["blank", "posted with errors"])
def test_each_field_block_has_the_layout_the_pages_rely_on(form_app, form_class, posted):
    path = "/" if posted is None else "/?x=1"
    with form_app.test_request_context(path, method="POST", data=posted or {}):
        form = form_class(formdata=posted)
        if posted is not None:
            form.validate()
            form.agreed.errors.append('Tick "agreed" & <go>.')
        for f in form:
            for hint, class_, autocomplete in [
                (None, "", None),
                ('Like "G31" & <b>', "short wide", "off"),
            ]:
                args = dict(f=f, hint=hint, class_=class_, autocomplete=autocomplete)
                expected = render_template_string(LAYOUT + CALL, **args)
                written = render_template_string(
                    '{% from "macros/forms.html" import field %}' + CALL, **args
                )
                assert tags_only(written) == tags_only(expected), f.name


def test_choices_written_once_are_told_apart_by_type_and_selection(form_app):
    """Lists of choices are kept once written: equal values of different types
    (``True`` and ``1``), markup and the same text as a plain string, and another
    selection are each written as WTForms writes them, in whatever order they come."""
    from markupsafe import Markup

    lists = [
        [(True, "Yes"), (False, "No")],
        [(1, "Yes"), (0, "No")],
        [("a", Markup("<b>A</b>")), ("b", "B")],
        [("a", "<b>A</b>"), ("b", "B")],
    ]

    class Choices(FlaskForm):
        class Meta(QuickRendering):
            pass

        pick = SelectField("Pick", choices=[], validators=[Optional()])
        one = RadioField("One", choices=[], validators=[Optional()])
        many = MultiCheckboxField("Many", choices=[])

    with form_app.test_request_context("/", method="POST"):
        for _round in range(2):
            for pairs in lists:
                for chosen in (None, pairs[0][0], pairs[1][0]):
                    form = Choices(meta={"csrf": False})
                    for field in (form.pick, form.one, form.many):
                        field.choices = options(pairs)
                    form.pick.data = form.one.data = chosen
                    form.many.data = [chosen] if chosen is not None else []
                    for field in (form.pick, form.one, form.many):
                        if field.type == "SelectField":
                            assert str(field()) == str(field.widget(field)), pairs
                        else:
                            written = list(_options(field))
                            expected = [(str(o()), str(o.label())) for o in field]
                            assert [(str(c), str(lb)) for c, lb in written] == expected, pairs
