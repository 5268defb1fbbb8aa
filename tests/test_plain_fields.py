"""The referral page's forms write their controls without WTForms' widgets (their
``QuickRendering`` meta, and ``macros/plain_fields.html`` for hidden fields and the CSRF
token): the HTML must be the same as WTForms' own widgets write through ``field`` in
``macros/forms.html`` (labels, hints, errors tied by aria-describedby, required and
maxlength, the chosen option), blank, filled in and with errors, and the CSRF token the
same as ``hidden_tag``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from werkzeug.datastructures import MultiDict
from wtforms.meta import DefaultMeta

from referrals.form_html import QuickRendering
from referrals.tracking.forms import (
    ContactAttemptForm,
    TransitionForm,
    UpdateForm,
    VersionForm,
    reason_choices,
)

MACROS = """
{%- from "macros/forms.html" import field -%}
{%- from "macros/plain_fields.html" import hidden_input, csrf_input -%}
{%- macro pair(f, hint=None, class_="", autocomplete=None) -%}
{{ field(f, hint=hint, class_=class_, autocomplete=autocomplete) }}
{%- endmacro -%}
"""


def normalised(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def assert_same(app, source: str, f, **context) -> None:
    """``source`` written as the page writes it, and again by WTForms' own widgets."""
    template = app.jinja_env.from_string(MACROS + source)
    quick = template.render(f=f, **context)
    meta = f.meta
    assert isinstance(meta, QuickRendering)  # the page's forms skip WTForms' widgets
    meta.render_field = DefaultMeta.render_field.__get__(meta)
    try:
        widgets = template.render(f=f, **context)
    finally:
        del meta.render_field
    assert normalised(quick) and normalised(quick) == normalised(widgets)


def transition(action: str, data: dict | None = None) -> TransitionForm:
    form = TransitionForm(prefix=action, formdata=MultiDict(data) if data is not None else None)
    form.reason.choices = reason_choices(action)
    if data is None:
        form.version.data = 4
        form.on.data = dt.date(2026, 11, 27)
        form.on.label.text = "Date declined"
    else:
        form.validate()
    return form


FIELDS = {
    "on": {"class_": "short", "hint": "For example, 27/11/2026.", "autocomplete": "off"},
    "reason": {},
    "declined_by": {},
    "note": {"hint": "Why it is being reopened (required)"},
}


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"decline-on": "31/02/2026", "decline-reason": "nonsense", "decline-note": "x" * 2001},
        {
            "decline-on": "2/12/2026",
            "decline-reason": "capacity",
            "decline-declined_by": "service",
            "decline-note": 'She said "no" & <left>',
            "decline-version": "3",
        },
    ],
    ids=["blank", "errors", "filled-in"],
)
def test_the_referral_page_fields_write_what_wtforms_widgets_write(app, data):
    with app.test_request_context("/"):
        form = transition("decline", data)
        for name, options in FIELDS.items():
            assert_same(app, "{{ pair(f, **options) }}", f=form[name], options=options)
        html = app.jinja_env.from_string(MACROS + "{{ hidden_input(f) }}").render(f=form.version)
        assert html == str(form.version(type="hidden"))


def test_the_follow_up_forms_write_the_same_html_blank_and_with_errors(app):
    with app.test_request_context("/"):
        blank = ContactAttemptForm(formdata=None)
        blank.attempted_on.data = dt.date(2026, 12, 1)
        wrong = ContactAttemptForm(formdata=MultiDict({"attempted_on": "yesterday-ish"}))
        wrong.validate()
        update = UpdateForm(formdata=MultiDict({"new_phone": "0" * 41, "message": "Out <soon>"}))
        update.validate()
        for form in (blank, wrong):
            assert_same(app, "{{ pair(f.attempted_on, hint='Hint', class_='short') }}", f=form)
            assert_same(app, "{{ pair(f.method) }}", f=form)
            assert_same(app, "{{ pair(f.outcome) }}", f=form)
            assert_same(app, "{{ pair(f.note) }}", f=form)
        for form in (UpdateForm(formdata=None), update):
            assert_same(app, "{{ pair(f.release_on, hint='Hint', class_='short') }}", f=form)
            assert_same(app, "{{ pair(f.new_phone, hint='Hint', autocomplete='off') }}", f=form)
            assert_same(app, "{{ pair(f.message) }}", f=form)


def test_the_csrf_token_is_written_as_hidden_tag_writes_it(app):
    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_request_context("/"):
        for form in (
            TransitionForm(prefix="accept", formdata=None),
            VersionForm(formdata=None),
            ContactAttemptForm(formdata=None),
        ):
            html = app.jinja_env.from_string(
                '{% from "macros/plain_fields.html" import csrf_input %}{{ csrf_input(f) }}'
            ).render(f=form)
            assert 'type="hidden"' in html and form.csrf_token.current_token in html
            assert html == str(form.hidden_tag("csrf_token"))
    app.config["WTF_CSRF_ENABLED"] = False
    with app.test_request_context("/"):
        form = TransitionForm(prefix="accept", formdata=None)
        html = app.jinja_env.from_string(
            '{% from "macros/plain_fields.html" import csrf_input %}{{ csrf_input(f) }}'
        ).render(f=form)
        assert html == str(form.hidden_tag()) == ""
