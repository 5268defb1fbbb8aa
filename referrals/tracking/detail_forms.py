"""The referral page's forms, their fields written by Python: each status change the
user may make now, the contact attempt, the update from the referrer and the offer to
undo. The template writes around them (the ``<form>``, its heading and its button).

A blank form differs from one referral's page to the next only in its CSRF token, the
referral's version and (for the attempt and the update) its one-time token: its labels,
choices, today's date and the hint under it are the same for every page shown that day.
Building a WTForms form per change and writing its fields took about a quarter of the
page's time, so each blank form is written once per process and day, with marks where
those values go, and each page puts its values in. A form shown again with what the user
sent and why it was refused is written afresh by the same functions, so both read alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app, get_template_attribute
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from ..choices import CloseReason, Role
from ..form_html import escape_text, field_html
from ..forms import options
from ..kept import Kept
from ..once import new_token
from ..templating import date_example
from .actions import ENTERED_IN_ERROR_ROLES, Action
from .forms import (
    ContactAttemptForm,
    DatedChangeForm,
    UpdateForm,
    VersionForm,
    reason_choices,
    transition_form,
)

# Where a page's own values go in a blank form: nothing escaping changes, nothing a
# label or choice holds.
CSRF_MARK = "\x00csrf\x00"
VERSION_MARK = "\x00version\x00"
ONCE_MARK = "\x00once\x00"

_blank: Kept[str] = Kept(200)


def _kept(key: tuple, write: Callable[[], str]) -> str:
    """``write()``, kept for the next page with the same key."""
    return _blank.get(key, write)


def _csrf_on() -> bool:
    """Whether forms carry a CSRF token (``FlaskForm``'s own test)."""
    return current_app.config.get("WTF_CSRF_ENABLED", True)


def _filled(html: str, version: int | None = None, token: str | None = None) -> Markup:
    """A blank form's ``html`` with this page's CSRF token, version and one-time token."""
    if _csrf_on():
        html = html.replace(CSRF_MARK, escape_text(generate_csrf()))
    if version is not None:
        html = html.replace(VERSION_MARK, str(version))
    if token is not None:
        html = html.replace(ONCE_MARK, escape_text(token))
    return Markup(html)  # noqa: S704 - written by field_html and the macros, values escaped


def _plain(name: str, *args) -> str:
    """A macro of ``macros/plain_fields.html`` (the CSRF and hidden inputs)."""
    return str(get_template_attribute("macros/plain_fields.html", name)(*args))


def _mark_blank(form) -> None:
    if form.meta.csrf:
        form.csrf_token.current_token = CSRF_MARK


# -- status changes ----------------------------------------------------------------------


def change_reasons(action: str, role: str):
    """The reasons a user of ``role`` may give for ``action`` (decline or close):
    custody staff only withdraw a referral entered in error, which only some roles may
    say of a referral."""
    if action == "close" and role == Role.CUSTODY:
        return options([("entered_in_error", "Entered in error")])
    choices = reason_choices(action)
    if action == "close" and role not in ENTERED_IN_ERROR_ROLES:
        choices = [c for c in choices if c.value != CloseReason.ENTERED_IN_ERROR]
    return choices


def change_fields(name: str, form: DatedChangeForm) -> Markup:
    """A change's CSRF token, version and fields, one to a line as the page lays them
    out (a line left empty for a field the change does not ask)."""
    asks_reason = name in ("decline", "close")
    note_hint = "Why it is being reopened (required)" if name == "reopen" else None
    return Markup(  # noqa: S704 - written by the macros and field_html
        "\n    ".join(
            [
                _plain("csrf_input", form),
                _plain("hidden_input", form.version),
                field_html(form.on, class_="short", hint=date_example(), autocomplete="off"),
                field_html(form.reason) if asks_reason else "",
                field_html(form.declined_by) if name == "decline" else "",
                field_html(form.note, hint=note_hint),
            ]
        )
    )


def change_forms(
    referral,
    actions: list[Action],
    role: str,
    today: dt.date,
    closing_reason: str | None = None,
    failed: str | None = None,
    failed_form: DatedChangeForm | None = None,
) -> dict[str, Markup]:
    """Each change's fields by its name, for the changes in ``actions``: blank, but for
    ``failed``'s, shown again from ``failed_form``; ``closing_reason`` is the reason the
    close form suggests."""
    forms = {}
    for action in actions:
        name = action.name
        reason = closing_reason if name == "close" else None
        if name == failed and failed_form is not None:
            failed_form.version.data = referral.version
            if "reason" in failed_form:
                failed_form.reason.choices = change_reasons(name, role)
                if reason and not failed_form.reason.data:  # the one chosen is kept
                    failed_form.reason.data = reason
            failed_form.on.label.text = action.date_label
            forms[name] = change_fields(name, failed_form)
            continue
        variant = (role == Role.CUSTODY, role in ENTERED_IN_ERROR_ROLES) if name == "close" else ()
        key = ("change", name, variant, reason, today, _csrf_on())
        html = _kept(key, lambda a=action, r=reason: _blank_change(a, role, today, r))
        forms[name] = _filled(html, version=referral.version)
    return forms


def _blank_change(action: Action, role: str, today: dt.date, reason: str | None) -> str:
    form = transition_form(action.name, formdata=None)
    _mark_blank(form)
    form.version.raw_data = [VERSION_MARK]
    form.on.data = today
    form.on.label.text = action.date_label
    if "reason" in form:
        form.reason.choices = change_reasons(action.name, role)
        if reason:
            form.reason.data = reason
    return str(change_fields(action.name, form))


# -- following a referral through ----------------------------------------------------------


def attempt_fields(form: ContactAttemptForm) -> Markup:
    """The contact attempt's CSRF token, one-time token and fields."""
    return Markup(  # noqa: S704 - written by the macros and field_html, the token escaped
        "\n    ".join(
            [
                _plain("csrf_input", form),
                _once_input(form),
                field_html(form.attempted_on, class_="short", hint=date_example()),
                field_html(form.method),
                field_html(form.outcome),
                field_html(form.note),
            ]
        )
    )


def update_fields(form: UpdateForm) -> Markup:
    """The referrer's update's CSRF token, one-time token and fields."""
    return Markup(  # noqa: S704 - written by the macros and field_html, the token escaped
        "\n    ".join(
            [
                _plain("csrf_input", form),
                _once_input(form),
                field_html(form.release_on, class_="short", hint=date_example()),
                field_html(
                    form.new_phone,
                    class_="short",
                    hint="Replaces the number on the referral.",
                    autocomplete="off",
                ),
                field_html(form.message),
            ]
        )
    )


def _once_input(form) -> str:
    return f'<input type="hidden" name="form_token" value="{escape(form.form_token.data)}">'


def blank_attempt(today: dt.date) -> Markup:
    """A blank contact attempt, dated today, with a fresh one-time token."""
    key = ("attempt", today, _csrf_on())
    return _filled(_kept(key, lambda: _blank_once(ContactAttemptForm, today)), token=new_token())


def blank_update(today: dt.date) -> Markup:
    """A blank update from the referrer, with a fresh one-time token."""
    key = ("update", today, _csrf_on())
    return _filled(_kept(key, lambda: _blank_once(UpdateForm, today)), token=new_token())


def _blank_once(form_class, today: dt.date) -> str:
    form = form_class(formdata=None)
    _mark_blank(form)
    form.form_token.data = ONCE_MARK
    if form_class is ContactAttemptForm:
        form.attempted_on.data = today
        return str(attempt_fields(form))
    return str(update_fields(form))


def undo_fields(version: int) -> Markup:
    """The offer to undo's CSRF token and version (nothing to fill in)."""
    return _filled(_kept(("undo", _csrf_on()), _blank_undo), version=version)


def _blank_undo() -> str:
    form = VersionForm(formdata=None)
    _mark_blank(form)
    form.version.raw_data = [VERSION_MARK]
    return _plain("csrf_input", form) + _plain("hidden_input", form.version)
