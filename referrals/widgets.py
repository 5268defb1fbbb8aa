"""Form widgets that write the same HTML as WTForms' own, for fields with long lists of
options shown on busy pages (a report's period, measure and group of people).

WTForms' ``Select`` formats every option's attributes through ``Markup.format``; here each
option is one f-string of escaped text. The output is byte for byte WTForms' (attributes in
sorted order, so ``selected`` before ``value``), which the tests check.
"""

from __future__ import annotations

from markupsafe import Markup, escape
from wtforms.widgets import Select, html_params


class PlainSelect(Select):
    """A single ``select`` of plain options (no option groups or per-option attributes;
    other fields fall back to WTForms' rendering)."""

    def __call__(self, field, **kwargs):
        choices = field.choices or []
        if self.multiple or callable(choices) or any(_fancy(c) for c in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for key in self.validation_attrs:
            if key not in kwargs and getattr(flags, key, False):
                kwargs[key] = getattr(flags, key)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        coerce, data = field.coerce, field.data
        for choice in choices:
            value, label = _pair(choice)
            text = escape(label if label else value)
            shown = escape(str(value) if isinstance(value, bool) else value)
            selected = "selected " if coerce(value) == data else ""
            html.append(f'<option {selected}value="{shown}">{text}</option>')
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - every value and label escaped above


def _pair(choice) -> tuple:
    if isinstance(choice, tuple):
        return choice[0], choice[1] if len(choice) > 1 else choice[0]
    return choice.value, choice.label


def _fancy(choice) -> bool:
    """Whether a choice needs WTForms' own rendering (an option group or attributes)."""
    if isinstance(choice, tuple):
        return len(choice) > 2
    return not isinstance(getattr(choice, "value", None), str | int) or bool(
        getattr(choice, "render_kw", None) or getattr(choice, "optgroup", None)
    )
