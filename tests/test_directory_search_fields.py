"""The search form's fields, written once per process with marks for what the user typed
and chose: filled in, they read exactly as the ``field`` macro writes them afresh."""

import pytest
from flask import get_template_attribute
from werkzeug.datastructures import MultiDict

from referrals.directory import search_fields as kept
from referrals.directory.forms import SearchForm
from referrals.forms import options

HINT = "A postcode (like G31 2AB), & a town <Perth> or “naloxone”"
TYPES = options(
    [
        ("naloxone", "Naloxone"),
        ("ost", "Opioid substitution: checked <weekly>"),
        ('x" checked', "Drug checking & 'testing'"),
        ("selected", "selected"),
    ]
)

SUBMITTED = [
    {},
    {"q": ["G31"]},
    {"q": [""]},
    {"q": ["  naloxone near Perth  "], "radius_km": [" 30 "], "age": [" 20 "]},
    {"q": ["\"<b>&'x checked"], "type": ["ost", 'x" checked'], "gender": ["female"]},
    {"q": ["EH1"], "same_day": ["y"], "open_now": ["true"], "custody": ["on"], "veterans": ["1"]},
    {"q": ["EH1"], "same_day": ["n"], "open_now": ["off"], "custody": [""], "veterans": ["no"]},
    {"q": ["G31"], "same_day": ['<"y">'], "gender": ["male"], "type": ["selected"]},
    {"q": ["G31"], "type": ["naloxone", "ost", 'x" checked', "selected"], "gender": [""]},
    {"q": ["G31"], "radius_km": ["1000"], "age": ["0"], "page": ["3"]},
    # refused: each written afresh, errors and all
    {"q": ["x" * 101]},
    {"q": ["G31"], "age": ["<abc>"]},
    {"q": ["G31"], "age": ["200"], "radius_km": ["0"]},
    {"q": ["G31"], "radius_km": ['"far"']},
    {"q": ["G31"], "gender": ["<x>"]},
    {"q": ["G31"], "type": ["bogus", "ost"], "same_day": ["y"]},
]


def afresh(form: SearchForm) -> dict[str, str]:
    """Each field as the search page's template wrote it, macro by macro."""
    field = get_template_attribute("macros/forms.html", "field")
    return {
        "q": field(form.q, hint=HINT, autocomplete="off"),
        "type": field(form.type, class_="choices-columns"),
        "same_day": field(form.same_day),
        "open_now": field(form.open_now, hint="Open at this moment, UK time"),
        "custody": field(form.custody),
        "veterans": field(form.veterans),
        "age": field(
            form.age, class_="short", hint="Shows only services that take someone of this age"
        ),
        "gender": field(form.gender, class_="short"),
        "radius_km": field(form.radius_km, class_="short", hint="Default 25 km"),
    }


def search_form(args: dict) -> SearchForm:
    form = SearchForm(MultiDict([(k, v) for k, values in args.items() for v in values]))
    form.type.choices = TYPES
    if args:
        form.validate()
    return form


@pytest.mark.parametrize("args", SUBMITTED)
def test_kept_fields_filled_in_read_as_fields_written_afresh(app, args):
    with app.test_request_context():
        kept._blank.clear()
        for _ in range(2):  # the first writes the blank, the second only fills it in
            form = search_form(args)
            shown = kept.search_fields(form, HINT)
            assert {name: str(html) for name, html in shown.items()} == {
                name: str(html) for name, html in afresh(form).items()
            }
        in_error = any(form.errors.values())
        assert bool(kept._blank) is not in_error
        assert None not in kept._blank.values()


def test_each_list_of_types_has_its_own_blank(app):
    with app.test_request_context():
        kept._blank.clear()
        for types in (TYPES, TYPES[:2], []):
            chosen = [("type", "naloxone")] if types else []
            form = SearchForm(MultiDict([("q", "G31"), *chosen]))
            form.type.choices = types
            form.validate()
            assert {n: str(h) for n, h in kept.search_fields(form, HINT).items()} == {
                n: str(h) for n, h in afresh(form).items()
            }
        assert len(kept._blank) == 3
        assert None not in kept._blank.values()
