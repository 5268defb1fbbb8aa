"""Form controls written as plain strings: the same HTML as WTForms' own widgets, at a
fraction of the cost.

WTForms writes every attribute through ``Markup.format`` (``string.Formatter`` under
the hood), so a long form such as the new referral's spends most of its time there.
``QuickRendering`` is a form ``Meta`` mix-in that writes the standard text, hidden,
checkbox and radio inputs, selects, text areas and labels directly: the attributes are
the same, in the same (sorted) order, escaped the same way. Any other widget (or a
select with option groups, or an input with a data list) is left to WTForms. Labels,
hints, errors and their ``aria-describedby`` links are still written by
``templates/macros/forms.html``; only the controls themselves are made here.

    class SomeForm(FlaskForm):
        class Meta(QuickRendering):
            pass
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup, escape
from wtforms.fields.core import Label
from wtforms.widgets import (
    CheckboxInput,
    HiddenInput,
    RadioInput,
    Select,
    TextArea,
    TextInput,
)
from wtforms.widgets.core import clean_key


def attributes(params: dict) -> str:
    """``html_params``: sorted by name, ``True`` as a bare name, ``False`` left out,
    values escaped (quotes as ``&quot;``)."""
    parts = []
    for key, value in sorted(params.items()):
        key = clean_key(key)
        if value is True:
            parts.append(key)
        elif value is not False:
            parts.append(f'{escape(key)}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return " ".join(parts)


def _flags(field, names, kwargs: dict) -> None:
    """The validation attributes (``required``, ``maxlength``...) the field's
    validators set, unless given."""
    flags = vars(field.flags)
    for name in names:
        if name in flags and name not in kwargs:
            value = flags[name]
            kwargs[name] = value() if callable(value) else value


def _input(field, widget, kwargs: dict) -> str:
    kwargs.setdefault("id", field.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = field._value()
    _flags(field, widget.validation_attrs, kwargs)
    kwargs["name"] = field.name
    return f"<input {attributes(kwargs)}>"


def _text(field, widget, kwargs):
    return _input(field, widget, kwargs)


def _checkbox(field, widget, kwargs):
    if getattr(field, "checked", field.data):
        kwargs.setdefault("checked", True)
    return _input(field, widget, kwargs)


def _radio(field, widget, kwargs):
    if field.checked:
        kwargs.setdefault("checked", True)
    return _input(field, widget, kwargs)


def _textarea(field, widget, kwargs):
    kwargs.setdefault("id", field.id)
    _flags(field, widget.validation_attrs, kwargs)
    kwargs["name"] = field.name
    return f"<textarea {attributes(kwargs)}>\r\n{escape(field._value())}</textarea>"


def _select(field, widget, kwargs):
    kwargs.setdefault("id", field.id)
    if widget.multiple:
        kwargs["multiple"] = True
    _flags(field, widget.validation_attrs, kwargs)
    kwargs["name"] = field.name
    html = [f"<select {attributes(kwargs)}>"]
    for choice in field._iter_choices_normalized():
        value = choice.value
        if isinstance(value, bool):
            value = str(value)
        option = {"value": value, **(choice.render_kw or {})}
        if choice.selected:
            option["selected"] = True
        label = escape(choice.label or choice.value)
        html.append(f"<option {attributes(option)}>{label}</option>")
    html.append("</select>")
    return "".join(html)


# Exactly these classes: a subclass may write something else.
WRITERS = {
    TextInput: _text,
    HiddenInput: _text,
    CheckboxInput: _checkbox,
    RadioInput: _radio,
    TextArea: _textarea,
    Select: _select,
}


class QuickLabel(Label):
    """WTForms' ``Label``, written directly."""

    def __call__(self, text=None, **kwargs):
        if "for_" in kwargs:
            kwargs["for"] = kwargs.pop("for_")
        else:
            kwargs.setdefault("for", self.field_id)
        params = attributes(kwargs)
        params = f" {params}" if params else ""
        return Markup(f"<label{params}>{escape(text or self.text)}</label>")  # noqa: S704 - escaped as written


@cache
def _quick_option(option_class: type) -> type:
    """A choice field's option (one radio button or checkbox) with a ``QuickLabel``."""

    class QuickOption(option_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.label = QuickLabel(self.label.field_id, self.label.text)

    return QuickOption


class QuickRendering:
    """A form ``Meta`` mix-in: the form's controls and labels written by this module."""

    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)
        field.label = QuickLabel(field.label.field_id, field.label.text)
        option_class = getattr(field, "_Option", None)
        if option_class is not None:
            field._Option = _quick_option(option_class)
        return field

    def render_field(self, field, render_kw):
        kwargs = {clean_key(k): v for k, v in render_kw.items()}
        if own := getattr(field, "render_kw", None):
            kwargs = {**{clean_key(k): v for k, v in own.items()}, **kwargs}
        widget = field.widget
        writer = WRITERS.get(type(widget))
        if (
            writer is None
            or getattr(field, "_datalist", None) is not None
            or (writer is _select and field.has_groups())
        ):
            return widget(field, **kwargs)
        return Markup(writer(field, widget, kwargs))  # noqa: S704 - escaped as written
