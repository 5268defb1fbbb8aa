"""The worklist's cards written as HTML by Python: each referral in a section (its flags,
facts, one-click button and contact-attempt link), each referral with outcomes to
record (a form per question), and each change the user may still undo.

A full worklist showed about 150 cards (at 25 a section); written by the template's
loops, Jinja escaped some 3,700 values one by one and most of the page's time went
there. Here each card is one f-string, the same markup byte for byte as the loops in
``tracking/worklist.html`` and ``tracking/_outcomes_due.html`` wrote (the tests compare
them). Only what can hold text (references, names, phone numbers, services, areas,
addresses) is escaped per card (by ``form_html.escape_text``, markupsafe's C loop);
numbers, ids and the dates the worklist puts in words need none, and the fixed labels
(contact methods, attempt outcomes, questions and their choices) are escaped once per
process.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

from ..form_html import escape_text
from . import bp
from .actions import Action
from .outcomes import Question
from .recent_changes import Undoable
from .worklist import SectionPage
from .worklist_rows import Item, OutcomeItem


@lru_cache(maxsize=256)
def fixed(label: str) -> str:
    """A label from a fixed set (a coded value's words, a question's title), escaped once
    per process."""
    return str(escape(label))


@bp.app_template_global("worklist_cards_html")
def worklist_cards(
    referrals: list[Item], action: Action | None, csrf: str, at: SectionPage | None = None
):
    """A section's referrals, each in its ``<li>``, laid out as the template's loop was
    (a new line and indent either side of each); ``at``, the page of the section they
    are on, where their buttons return."""
    form = None
    if action is not None:
        form = _form_fields(action, escape_text(csrf), _return_fields(at, "\n          "))
    return Markup("".join([_card(r, form) for r in referrals]))  # noqa: S704 - escaped in _card


def _return_fields(at: SectionPage | None, indent: str) -> str:
    """The hidden fields that bring a form back to ``at``, this page of the section it
    was sent from (after "back", which says it was sent from the worklist)."""
    values = at.values() if at is not None else {}
    return "".join(
        f'{indent}<input type="hidden" name="{name}" value="{escape_text(value)}">'
        for name, value in values.items()
    )


def _form_fields(action: Action, csrf: str, returns: str) -> tuple[str, str]:
    """The one-click button's form, around its version field: the same for every card
    of a section but for the version and the reference (both put in by ``_card``). It
    sends no date: the change is recorded on the day the click arrives, so a page left
    open over midnight does not record yesterday."""
    name = fixed(action.name)
    before = (
        f'\n          <input type="hidden" name="csrf_token" value="{csrf}">'
        f'\n          <input type="hidden" name="{name}-version" value="'
    )
    after = (
        f'">\n          <input type="hidden" name="back" value="worklist">{returns}'
        f'\n          <button type="submit" class="button-secondary">{fixed(action.label)}'
        ' today<span class="visually-hidden"> for '
    )
    return before, after


def _card(r: Item, form: tuple[str, str] | None) -> str:
    reference = escape_text(r.reference)
    detail = escape_text(r.detail_url)
    return (
        f'\n    <li class="worklist-item" aria-labelledby="ref-{r.id}">'
        '\n      <div class="worklist-head">'
        f'\n        <h3 id="ref-{r.id}"><a href="{detail}">{reference}</a></h3>'
        f'\n        <p class="worklist-flags">{_flags(r)}'
        "\n        </p>"
        "\n      </div>"
        '\n      <dl class="worklist-facts">'
        f"\n        <div><dt>Made</dt><dd>{r.made}"
        f"{f', respond by {r.respond_by}' if r.respond_by else ''}</dd></div>"
        f"\n        <div><dt>Service</dt><dd>{escape_text(r.service)}</dd></div>"
        f"\n        <div><dt>Lives in</dt><dd>{escape_text(r.lives_in)}</dd></div>"
        f"\n        <div><dt>Contact</dt><dd>{_contact(r)}</dd></div>"
        "\n        "
        f"{f'<div><dt>Release date</dt><dd>{r.release_on}</dd></div>' if r.release_on else ''}"
        f"\n        <div><dt>Attempts</dt><dd>{_attempts(r)}</dd></div>"
        "\n      </dl>"
        "\n      "
        f"{_suggestion(r, detail)}"
        '\n      <div class="worklist-actions">'
        "\n        "
        f"{_button(r, form, reference)}"
        f'\n        <a href="{detail}#attempt">Log a contact attempt'
        f'<span class="visually-hidden"> for {reference}</span></a>'
        "\n      </div>"
        "\n    </li>"
        "\n    "
    )


def _flags(r: Item) -> str:
    """The flags' tags, each on its own line (an empty line where a flag is not set)."""
    urgent = '<span class="tag tag-warning">Urgent</span>' if r.urgent else ""
    children = '<span class="tag tag-warning">Children in household</span>' if r.children else ""
    duplicate = (
        f'<span class="tag tag-warning">Possible duplicate of {escape_text(r.duplicate_of)}</span>'
        if r.duplicate_of
        else ""
    )
    passed_on = (
        f'<span class="tag">Passed on from {escape_text(r.passed_on_from)}</span>'
        if r.passed_on_from
        else ""
    )
    return (
        f"\n          {urgent}\n          {children}\n          {duplicate}\n          {passed_on}"
    )


def _contact(r: Item) -> str:
    """How to reach the person: the method, and the name and phone number given."""
    if r.erased:
        return "Erased"
    html = fixed(r.contact_method)
    if r.contact_name:
        html += f": {escape_text(r.contact_name)}"
    if r.phone:
        html += f', <a href="tel:{escape_text(r.tel)}">{escape_text(r.phone)}</a>'
    return html


def _attempts(r: Item) -> str:
    if r.last_attempt:
        return f"{r.attempts}; last {escape_text(r.last_attempt)}"
    return "None yet"


def _suggestion(r: Item, detail: str) -> str:
    if not r.suggest_closing:
        return ""
    return (
        '\n      <p class="notice notice-warning suggestion">'
        f"{r.streak} attempts in a row without reaching the person: consider "
        f'<a href="{detail}#action-close">closing it as not contactable</a>.</p>'
        "\n      "
    )


def _button(r: Item, form: tuple[str, str] | None, reference: str) -> str:
    """The section's one-click button ("Accept today"...), where it has one."""
    if not r.action_url or form is None:
        return ""
    before, after = form
    return (
        f'\n        <form method="post" action="{escape_text(r.action_url)}" class="inline-form">'
        f"{before}{r.version}{after}{reference}</span></button>"
        "\n        </form>"
        "\n        "
    )


@bp.app_template_global("outcome_cards_html")
def outcome_cards(
    referrals: list[OutcomeItem],
    csrf: str,
    date_box: str,
    example: str,
    at: SectionPage | None = None,
):
    """The referrals with outcomes to record, each in its ``<li>`` with a form per
    question, laid out as the template's loop was; ``at``, the page of them shown,
    where the forms return."""
    returns = _return_fields(at, "\n  ")
    page = (escape_text(csrf), escape_text(date_box), escape_text(example), returns)
    return Markup("".join([_outcome_card(r, page) for r in referrals]))  # noqa: S704


def _outcome_card(referral: OutcomeItem, page: tuple[str, str, str]) -> str:
    reference = escape_text(referral.reference)
    forms = "".join(
        [
            _outcome_form(question, prefix, action, referral.version, reference, page)
            for question, prefix, action in referral.questions
        ]
    )
    return (
        "\n    <li>"
        f'\n      <h3><a href="{escape_text(referral.detail_url)}">{reference}</a> '
        f'<span class="muted">{escape_text(referral.service)}, referred {referral.referred_on}'
        "</span></h3>"
        f"\n      {forms}"
        "\n    </li>"
        "\n    "
    )


def _outcome_form(
    question: Question, p: str, action: str, version: int, reference: str, page
) -> str:
    """One question's form, as ``tracking/_outcome_forms.html`` lays it out (``p``, the
    fields' prefix, is made of the referral's id and the question's kind)."""
    csrf, date_box, example, returns = page
    title = fixed(question.title)
    return (
        f'\n<form method="post" action="{escape_text(action)}" novalidate class="outcome-form">'
        f'\n  <input id="{p}-csrf_token" name="{p}-csrf_token" type="hidden" value="{csrf}">'
        f'\n  <input id="{p}-version" name="{p}-version" required type="hidden"'
        f' value="{version}">'
        f'\n  <input type="hidden" name="back" value="worklist">{returns}'
        f'\n  <fieldset id="{p}-value" aria-describedby="{p}-value-hint">'
        f'\n    <legend>{title}<span class="visually-hidden"> for {reference}</span></legend>'
        f'\n    <span class="hint" id="{p}-value-hint">{escape_text(question.hint)}</span>'
        '\n    <div class="inline-choices">'
        f"\n    {_radios(p, question.choices)}"
        "\n    </div>"
        "\n  </fieldset>"
        '\n  <div class="outcome-date">'
        f'\n    <label for="{p}-on">Date</label>'
        f'\n    <input aria-describedby="{p}-on-hint" autocomplete="off" class="short"'
        f' id="{p}-on" name="{p}-on" type="text" value="{date_box}">'
        f'\n    <span class="hint" id="{p}-on-hint">When it happened. {example}</span>'
        "\n  </div>"
        '\n  <button type="submit" class="button-secondary">Save<span class="visually-hidden">'
        f" the {fixed(question.title.lower())} for {reference}</span></button>"
        "\n</form>"
        "\n      "
    )


def _radios(p: str, choices: list[tuple[str, str]]) -> str:
    return "".join(
        [
            f'\n      <div class="radio"><input id="{p}-value-{n}" name="{p}-value" required'
            f' type="radio" value="{fixed(value)}"> <label for="{p}-value-{n}">{fixed(text)}'
            "</label></div>\n    "
            for n, (value, text) in enumerate(choices)
        ]
    )


@bp.app_template_global("undo_items_html")
def undo_items(undoable: list[Undoable], csrf: str):
    """The user's changes of the last 15 minutes, each in its ``<li>`` with its "Undo"
    button, laid out as the template's loop was."""
    token = escape_text(csrf)
    return Markup("".join([_undo_item(change, token) for change in undoable]))  # noqa: S704


def _undo_item(change: Undoable, csrf: str) -> str:
    reference = escape_text(change.reference)
    what = fixed(change.change)
    return (
        "\n    <li>"
        f'\n      <form method="post" action="{escape_text(change.undo_url)}" class="inline-form">'
        f'\n        <input type="hidden" name="csrf_token" value="{csrf}">'
        f'\n        <input type="hidden" name="version" value="{change.version}">'
        '\n        <input type="hidden" name="back" value="worklist">'
        f"\n        {reference}: {what} at {change.at}."
        '\n        <button type="submit" class="link-button">Undo<span class="visually-hidden">'
        f" {what} for {reference}</span></button>"
        "\n      </form>"
        "\n    </li>"
        "\n    "
    )
