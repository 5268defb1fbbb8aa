"""Form pieces shared across capabilities."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from .clock import today_local
from .database import hold_row
from .dates import DateProblem, parse_date, short_date

# Said when a record was changed by someone else while the form was open: the form comes
# back with the record as it now is, and nothing is saved.
CHANGED_MEANWHILE = (
    "Someone else changed this while you had it open, so nothing was saved. The form now "
    "shows it as it is: make your changes again and save."
)


def state_mark(values: dict) -> str:
    """A short digest of what an edit form was filled with (its record's editable values),
    sent back with the form in a hidden field: a record changed meanwhile by someone
    else has another mark, and saving the form over it would undo their change."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def changed_meanwhile(session, shown: str | None, row, values_of: Callable[[Any], dict]) -> bool:
    """Whether ``row`` (an ORM object whose editable values, ``values_of(row)``, the form
    shows) changed since the form was filled with mark ``shown`` (``state_mark``). Its
    row is held until the save commits and read again, so no other save comes between
    this check and the save. A form sent without its mark (a page shown before marks
    were sent) is not checked."""
    if not shown:
        return False
    hold_row(session, row)
    # Everything read again, not only the row: its values may come from rows it links
    # to (a system's organisation, through its account). Nothing is pending yet.
    session.expire_all()
    return shown != state_mark(values_of(row))


def options(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as choices for select, radio and checkbox fields."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (rendered by ``macros/forms.html``)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        known = {str(c.value) for c in self.choices or []}
        if any(str(value) not in known for value in self.data or []):
            raise ValidationError("Choose only from the options listed.")


class UKDateField(DateField):
    """One box for a date, read day first (``1/12/2026``, ``1 Dec 2026``, ``2026-12-01``;
    see ``dates.py``), shown as ``1/12/2026``. A plain text box: browsers' date pickers
    show their own local format, which contradicts the hints."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        text = "".join(valuelist or []).strip()
        self.data = None
        if not text:
            return
        try:
            self.data = parse_date(text, today_local())
        except DateProblem as problem:
            raise ValueError(str(problem)) from None

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return short_date(self.data) if self.data else ""


class PlainMessages:
    """WTForms' built-in messages, reworded to say how to put the problem right."""

    REWORDED = {
        "Not a valid choice.": "Choose one of the options listed.",
        "Not a valid integer value.": "Enter a whole number, like 25.",
    }

    def gettext(self, string: str) -> str:
        return self.REWORDED.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


class QueryForm(FlaskForm):
    """A GET form: no CSRF token (it changes nothing) and no prefix on field names.
    Its values often come from links and bookmarks, so its messages say what to choose."""

    class Meta:
        csrf = False

        def get_translations(self, form):
            return PlainMessages()

        def bind_field(self, form, unbound_field, options):
            # Surrounding spaces never mean anything in a query: " " is no choice at all.
            filters = [_strip, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, filters=filters, **options)


def _strip(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [v.strip() if isinstance(v, str) else v for v in value]
    return value


def yes(value: object) -> bool:
    """Whether a query-string flag is set: ``1``, ``y``, ``yes``, ``true``, ``on``."""
    return str(value or "").strip().lower() in {"1", "y", "yes", "true", "on"}


def form_errors(form) -> list[tuple[str, str]]:
    """Every error message in ``form`` as ``(field id, message)``, including those in
    nested forms and those added after validation."""
    found: list[tuple[str, str]] = []
    for field in form:
        entries = getattr(field, "entries", None)
        if entries is not None:  # a FieldList
            for entry in entries:
                if hasattr(entry, "form"):
                    found += form_errors(entry.form)
                else:
                    found += [(entry.id, message) for message in entry.errors]
            found += [(field.id, m) for m in field.errors if isinstance(m, str)]
        elif hasattr(field, "form") and field.type == "FormField":
            found += form_errors(field.form)
        elif field.type in ("RadioField", "MultiCheckboxField") and field.choices:
            # A group's fieldset takes no focus: the link goes to its first choice (when
            # it has one; else to the fieldset).
            found += [(f"{field.id}-0", message) for message in field.errors]
        else:
            found += [(field.id, message) for message in field.errors]
    return found
