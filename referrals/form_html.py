"""Form fields written as plain strings: the same HTML as WTForms' own widgets, at a
fraction of the cost, and each field's whole block (label, hint, error, control) as
``templates/macros/forms.html`` lays it out.

WTForms writes every attribute through ``Markup.format`` (``string.Formatter`` under
the hood), so a long form such as the new referral's spends most of its time there.
``QuickRendering`` is a form ``Meta`` mix-in that writes the standard text, hidden,
number, checkbox and radio inputs, selects and text areas directly: the attributes are
the same, in the same (sorted) order, escaped the same way. Any other widget (or a
select with option groups, or an input with a data list) is left to WTForms.

    class SomeForm(FlaskForm):
        class Meta(QuickRendering):
            pass

``field_html`` writes one field's block, which the ``field`` macro of
``macros/forms.html`` calls: every control labelled, its hint and error tied to it with
``aria-describedby`` (and ``aria-invalid`` when in error), a group of radio buttons or
checkboxes in a ``fieldset`` whose ``legend`` names it. Labels, radio buttons and
checkboxes are written straight from the field and its choices, without WTForms making
a field object for each choice; the markup is WTForms' own.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape
from wtforms.fields.core import Label
from wtforms.widgets import (
    CheckboxInput,
    HiddenInput,
    NumberInput,
    RadioInput,
    Select,
    TextArea,
    TextInput,
)
from wtforms.widgets.core import clean_key

# markupsafe's escapes, applied by ``str.translate`` (one call, no ``Markup`` made).
ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def _translated(value: str) -> str:
    return value.translate(ESCAPES)


try:
    from markupsafe._speedups import _escape_inner
except ImportError:  # markupsafe without its C speedups
    _escape_inner = _translated

# Plain text escaped exactly as Jinja's autoescape (markupsafe) escapes it, for HTML
# written in Python: every page's writers call this one. It is markupsafe's own loop, in
# C, without the ``Markup`` it wraps its result in: the same five replacements as
# ``ESCAPES``, some twenty times faster than ``str.translate`` on a line of text (a
# worklist escapes hundreds a page).
escape_text: Callable[[str], str] = _escape_inner


def attributes(params: dict) -> str:
    """``html_params``: sorted by name, ``True`` as a bare name, ``False`` left out,
    values escaped (quotes as ``&quot;``)."""
    parts = []
    for key, value in sorted(params.items()):
        if key[-1] == "_" or key.startswith(("data_", "aria_")):
            key = clean_key(key)
        if value is True:
            parts.append(key.translate(ESCAPES))
        elif value is not False:
            if type(value) is str:
                value = value.translate(ESCAPES)
            else:  # markup is kept as it is; anything else is written as text
                value = str(escape(value)).replace('"', "&quot;")
            parts.append(f'{key.translate(ESCAPES)}="{value}"')
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


def _number(field, widget, kwargs):
    """A number box: its widget's own step, min and max, unless given."""
    for name in ("step", "min", "max"):
        if getattr(widget, name) is not None:
            kwargs.setdefault(name, getattr(widget, name))
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
    choices = tuple(
        (
            _typed(choice.value),
            _choice_label(choice),
            choice.selected,
            _typed_items(choice.render_kw),
        )
        for choice in field._iter_choices_normalized()
    )
    return f"<select {attributes(kwargs)}>{_remembered(_option_tags, choices)}</select>"


def _option_tags(choices: tuple) -> str:
    """A select's ``<option>`` tags for its choices, as ``_select`` gives them."""
    html = []
    for (_type, value), label, selected, render_kw in choices:
        if isinstance(value, bool):
            value = str(value)
        option = {"value": value, **{k: v for k, (_t, v) in render_kw}}
        if selected:
            option["selected"] = True
        html.append(f"<option {attributes(option)}>{label}</option>")
    return "".join(html)


# -- choices written once per process ----------------------------------------------------
#
# The same lists of choices (age bands, councils, reasons, substances...) are written on
# page after page, so their HTML is kept, keyed by everything it is written from. Each
# value is keyed with its type, since equal values of different types (``1`` and
# ``True``, a string and ``Markup``) are written differently; labels are escaped first.

_written: dict = {}
_WRITTEN_MAX = 1000  # more lists than the forms have: start again


def _remembered(write, *key):
    """``write(*key)``, kept for the next call with an equal key."""
    try:
        return _written[write, key]
    except KeyError:
        pass
    except TypeError:  # a value that cannot be a key: written afresh each time
        return write(*key)
    if len(_written) >= _WRITTEN_MAX:
        _written.clear()
    html = _written[write, key] = write(*key)
    return html


def _typed(value) -> tuple:
    return type(value), value


def _typed_items(attrs: dict | None) -> tuple:
    return tuple((k, _typed(v)) for k, v in attrs.items()) if attrs else ()


def _choice_label(choice) -> str:
    """A choice's label (its value when it has none), escaped."""
    return str(escape(choice.label or choice.value))


# Exactly these classes: a subclass may write something else.
WRITERS = {
    TextInput: _text,
    HiddenInput: _text,
    NumberInput: _number,
    CheckboxInput: _checkbox,
    RadioInput: _radio,
    TextArea: _textarea,
    Select: _select,
}


class QuickRendering:
    """A form ``Meta`` mix-in: the form's controls written by this module."""

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


# -- a field's whole block -------------------------------------------------------------

CHOICE_TYPES = ("RadioField", "MultiCheckboxField")


def field_html(field, hint=None, class_="", autocomplete=None) -> Markup:
    """One field as ``{{ field(f, hint=..., class_=..., autocomplete=...) }}`` shows it."""
    errors = field.errors
    fid = field.id
    described = " ".join(([f"{fid}-hint"] if hint else []) + ([f"{fid}-error"] if errors else []))
    hint_html = f'<span class="hint" id="{escape(fid)}-hint">{escape(hint)}</span>' if hint else ""
    error_html = (
        f'<span class="field-error" id="{escape(fid)}-error"><span class="visually-hidden">'
        f"Error:</span> {' '.join(str(escape(e)) for e in errors)}</span>"
        if errors
        else ""
    )
    html = [f'<div class="field{" has-error" if errors else ""}">\n']
    if field.type == "BooleanField":
        control = field(**({"aria-describedby": described} if described else {}))
        html.append(f'<div class="checkbox">\n{control}\n{_label(field)}\n</div>\n')
        html.append(_lines(hint_html, error_html))
    elif field.type in CHOICE_TYPES:
        described_attr = f' aria-describedby="{escape(described)}"' if described else ""
        html.append(f'<fieldset{described_attr} id="{escape(fid)}">\n')
        html.append(f"<legend>{escape(field.label.text)}</legend>\n")
        html.append(_lines(hint_html, error_html))
        html.append(f'<div class="{escape(class_)}">\n')
        kind = "radio" if field.type == "RadioField" else "checkbox"
        for control, label in _options(field):
            html.append(f'<div class="{kind}">{control} {label}</div>\n')
        html.append("</div>\n</fieldset>\n")
    else:
        html.append(f"{_label(field)}\n")
        html.append(_lines(hint_html, error_html))
        attrs = {}
        if described:
            attrs["aria-describedby"] = described
        if errors:
            attrs["aria-invalid"] = "true"
        if class_:
            attrs["class"] = class_
        if autocomplete:
            attrs["autocomplete"] = autocomplete
        html.append(f"{field(**attrs)}\n")
    html.append("</div>")
    return Markup("".join(html))  # noqa: S704 - escaped as written


def _label(field) -> str:
    """``field.label()``, as WTForms' ``Label`` writes it."""
    label = field.label
    if type(label) is not Label:
        return str(label())
    return f'<label for="{escape(label.field_id)}">{escape(label.text)}</label>'


def _lines(*parts: str) -> str:
    return "".join(f"{part}\n" for part in parts if part)


def _options(field):
    """Each choice's ``(control, label)``: written from the choices directly when the
    field's options are WTForms' plain radio buttons or checkboxes, else by WTForms."""
    widget = field.option_widget
    writer = WRITERS.get(type(widget))
    if writer not in (_radio, _checkbox) or field.has_groups():
        for option in field:
            yield option(), option.label()
        return
    shared = {clean_key(k): v for k, v in (field.render_kw or {}).items()}
    _flags(field, widget.validation_attrs, shared)
    choices = tuple(
        (_typed(choice.value), _choice_label(choice), choice.selected)
        for choice in field._iter_choices_normalized()
    )
    yield from _remembered(
        _choice_inputs, widget.input_type, field.id, field.name, _typed_items(shared), choices
    )


def _choice_inputs(
    input_type: str, field_id: str, name: str, shared: tuple, choices: tuple
) -> tuple[tuple[str, str], ...]:
    """Each choice's ``(control, label)`` in a group of radio buttons or checkboxes, as
    ``_options`` gives them, with the attributes ``shared`` by them all."""
    written = []
    for i, ((_type, value), label, selected) in enumerate(choices):
        oid = f"{field_id}-{i}"
        attrs = {"id": oid, "type": input_type, "value": str(value)}
        attrs |= {k: v for k, (_t, v) in shared}
        if selected:
            attrs.setdefault("checked", True)
        attrs["name"] = name
        control = f"<input {attributes(attrs)}>"
        written.append((control, f'<label for="{escape(oid)}">{label}</label>'))
    return tuple(written)


def init_app(app) -> None:
    app.jinja_env.globals["field_html"] = field_html
