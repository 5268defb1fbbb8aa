"""The worklist's cards, written by ``tracking/worklist_html.py``: the same HTML, byte for
byte, as the template loops that wrote them before (kept here as they were), for cards
with every flag, fact and button and none, text that needs escaping, and outcome
questions of each kind."""

# ruff: noqa: E501 - the former template lines are kept as they were

from __future__ import annotations

import dataclasses

import pytest
from markupsafe import Markup

from referrals.tracking.actions import ACTIONS
from referrals.tracking.outcomes import OUTCOME_CHOICES, OUTCOME_TITLES, Question
from referrals.tracking.recent_changes import Undoable
from referrals.tracking.worklist_html import outcome_cards, undo_items, worklist_cards
from referrals.tracking.worklist_rows import Item, OutcomeItem

# The loops of ``tracking/worklist.html`` and ``tracking/_outcomes_due.html`` as they were.
FORMER_CARDS = """    {% for r in section.referrals %}
    <li class="worklist-item" aria-labelledby="ref-{{ r.id }}">
      <div class="worklist-head">
        <h3 id="ref-{{ r.id }}"><a href="{{ r.detail_url }}">{{ r.reference }}</a></h3>
        <p class="worklist-flags">
          {% if r.urgent %}<span class="tag tag-warning">Urgent</span>{% endif %}
          {% if r.children %}<span class="tag tag-warning">Children in household</span>{% endif %}
          {% if r.duplicate_of %}<span class="tag tag-warning">Possible duplicate of {{ r.duplicate_of }}</span>{% endif %}
          {% if r.passed_on_from %}<span class="tag">Passed on from {{ r.passed_on_from }}</span>{% endif %}
        </p>
      </div>
      <dl class="worklist-facts">
        <div><dt>Made</dt><dd>{{ r.made }}{% if r.respond_by %}, respond by {{ r.respond_by }}{% endif %}</dd></div>
        <div><dt>Service</dt><dd>{{ r.service }}</dd></div>
        <div><dt>Lives in</dt><dd>{{ r.lives_in }}</dd></div>
        <div><dt>Contact</dt><dd>{% if r.erased %}Erased{% else %}{{ r.contact_method }}{% if r.contact_name %}: {{ r.contact_name }}{% endif %}{% if r.phone %}, <a href="tel:{{ r.tel }}">{{ r.phone }}</a>{% endif %}{% endif %}</dd></div>
        {% if r.release_on %}<div><dt>Release date</dt><dd>{{ r.release_on }}</dd></div>{% endif %}
        <div><dt>Attempts</dt><dd>{% if r.last_attempt %}{{ r.attempts }}; last {{ r.last_attempt }}{% else %}None yet{% endif %}</dd></div>
      </dl>
      {% if r.suggest_closing %}
      <p class="notice notice-warning suggestion">{{ r.streak }} attempts in a row without reaching the person: consider <a href="{{ r.detail_url }}#action-close">closing it as not contactable</a>.</p>
      {% endif %}
      <div class="worklist-actions">
        {% if r.action_url %}
        <form method="post" action="{{ r.action_url }}" class="inline-form">
          <input type="hidden" name="csrf_token" value="{{ csrf }}">
          <input type="hidden" name="{{ section.action.name }}-version" value="{{ r.version }}">
          <input type="hidden" name="back" value="worklist">
          <button type="submit" class="button-secondary">{{ section.action.label }} today<span class="visually-hidden"> for {{ r.reference }}</span></button>
        </form>
        {% endif %}
        <a href="{{ r.detail_url }}#attempt">Log a contact attempt<span class="visually-hidden"> for {{ r.reference }}</span></a>
      </div>
    </li>
    {% endfor %}
"""
FORMER_UNDO = """    {% for change in worklist.undoable %}
    <li>
      <form method="post" action="{{ change.undo_url }}" class="inline-form">
        <input type="hidden" name="csrf_token" value="{{ csrf }}">
        <input type="hidden" name="version" value="{{ change.version }}">
        <input type="hidden" name="back" value="worklist">
        {{ change.reference }}: {{ change.change }} at {{ change.at }}.
        <button type="submit" class="link-button">Undo<span class="visually-hidden"> {{ change.change }} for {{ change.reference }}</span></button>
      </form>
    </li>
    {% endfor %}
"""
FORMER_OUTCOMES = """    {% for referral in due.referrals %}
    <li>
      <h3><a href="{{ referral.detail_url }}">{{ referral.reference }}</a> <span class="muted">{{ referral.service }}, referred {{ referral.referred_on }}</span></h3>
      {% for question, p, action in referral.questions %}
<form method="post" action="{{ action }}" novalidate class="outcome-form">
  <input id="{{ p }}-csrf_token" name="{{ p }}-csrf_token" type="hidden" value="{{ csrf }}">
  <input id="{{ p }}-version" name="{{ p }}-version" required type="hidden" value="{{ referral.version }}">
  <input type="hidden" name="back" value="worklist">
  <fieldset id="{{ p }}-value" aria-describedby="{{ p }}-value-hint">
    <legend>{{ question.title }}<span class="visually-hidden"> for {{ referral.reference }}</span></legend>
    <span class="hint" id="{{ p }}-value-hint">{{ question.hint }}</span>
    <div class="inline-choices">
    {% for value, text in question.choices %}
      <div class="radio"><input id="{{ p }}-value-{{ loop.index0 }}" name="{{ p }}-value" required type="radio" value="{{ value }}"> <label for="{{ p }}-value-{{ loop.index0 }}">{{ text }}</label></div>
    {% endfor %}
    </div>
  </fieldset>
  <div class="outcome-date">
    <label for="{{ p }}-on">Date</label>
    <input aria-describedby="{{ p }}-on-hint" autocomplete="off" class="short" id="{{ p }}-on" name="{{ p }}-on" type="text" value="{{ due.date_box }}">
    <span class="hint" id="{{ p }}-on-hint">When it happened. {{ example }}</span>
  </div>
  <button type="submit" class="button-secondary">Save<span class="visually-hidden"> the {{ question.title|lower }} for {{ referral.reference }}</span></button>
</form>
      {% endfor %}
    </li>
    {% endfor %}
"""

AWKWARD = 'O\'Brien <b>"Jo"</b> & Co'


def card(**changes) -> Item:
    plain = Item(
        id=41,
        reference="RP-2026-AB12",
        version=3,
        urgent=False,
        children=False,
        duplicate_of=None,
        passed_on_from=None,
        made="2 Dec 2026",
        respond_by=None,
        service="Glasgow MAT",
        lives_in="Glasgow City",
        erased=False,
        contact_method="Phone call",
        contact_name=None,
        phone=None,
        tel=None,
        release_on=None,
        attempts=0,
        last_attempt=None,
        streak=0,
        suggest_closing=False,
        detail_url="/referrals/41",
        action_url=None,
    )
    return dataclasses.replace(plain, **changes)


CARDS = [
    card(),
    card(
        id=7,
        reference="RP-2026-ZZ99",
        urgent=True,
        children=True,
        duplicate_of="RP-2026-AB12",
        passed_on_from="RP-2025-CD34",
        respond_by="4 Dec 2026",
        service=AWKWARD,
        lives_in="Argyll & Bute",
        contact_name=AWKWARD,
        phone="07700 900 123",
        tel="07700900123",
        release_on="5 Dec 2026",
        attempts=3,
        last_attempt="1 Dec 2026: no answer",
        streak=3,
        suggest_closing=True,
        detail_url="/referrals/7",
        action_url="/referrals/7/accept",
    ),
    card(erased=True, contact_name=None, phone=None, action_url="/referrals/41/accept"),
    card(
        contact_method="Do not contact: the person will self-present", phone="0141 1", tel="01411"
    ),
    card(contact_name="Sam", attempts=1, last_attempt="2 Dec 2026: spoke to the person"),
]


@pytest.mark.parametrize("action", [None, "accept", "attend", "start_treatment"])
def test_the_cards_are_the_html_the_template_loop_wrote(app, action):
    chosen = ACTIONS[action] if action else None
    referrals = CARDS if chosen else [dataclasses.replace(c, action_url=None) for c in CARDS]
    section = {"referrals": referrals, "action": chosen}
    with app.test_request_context("/worklist"):
        former = app.jinja_env.from_string(FORMER_CARDS).render(section=section, csrf="to&ken")
        written = worklist_cards(referrals, chosen, "to&ken")
    assert isinstance(written, Markup)
    assert "    " + str(written) == former.rstrip("\n")
    assert "O&#39;Brien &lt;b&gt;&#34;Jo&#34;&lt;/b&gt; &amp; Co" in written


def test_the_changes_to_undo_are_the_html_the_template_loop_wrote(app):
    undoable = [
        Undoable(5, "RP-2026-AB12", 4, "accepted", "2 Dec 2026, 12:18", "/referrals/5/undo"),
        Undoable(9, AWKWARD, 2, "engaged (attended)", "2 Dec 2026, 9:05", "/referrals/9/undo"),
    ]
    with app.test_request_context("/worklist"):
        former = app.jinja_env.from_string(FORMER_UNDO).render(
            worklist={"undoable": undoable}, csrf="to&ken"
        )
        written = undo_items(undoable, "to&ken")
    assert isinstance(written, Markup)
    assert "    " + str(written) == former.rstrip("\n")
    assert 'value="to&amp;ken"' in written


def questions() -> list[Question]:
    found = []
    for kind, choice in OUTCOME_CHOICES.items():
        hint = f"Treatment started 1 Sep 2026 & more: {kind}."
        found.append(Question(kind, OUTCOME_TITLES[kind], choice.choices(), hint))
    return found


def test_the_outcome_cards_are_the_html_the_template_loop_wrote(app):
    asked = questions()
    referrals = [
        OutcomeItem(
            id=n,
            reference=f"RP-2026-00{n}",
            version=n + 1,
            service=AWKWARD if n == 2 else "Glasgow MAT",
            referred_on="3 Sep 2026",
            detail_url=f"/referrals/{n}",
            questions=[
                (q, f"o{n}-{q.kind}", f"/referrals/{n}/outcome/{q.kind}") for q in asked[:n]
            ],
        )
        for n in range(4)
    ]
    example = "For example, 27/11/2026 for last Friday."
    due = {"referrals": referrals, "date_box": "2/12/2026"}
    with app.test_request_context("/worklist"):
        former = app.jinja_env.from_string(FORMER_OUTCOMES).render(
            due=due, csrf="to&ken", example=example
        )
        written = outcome_cards(referrals, "to&ken", "2/12/2026", example)
    assert isinstance(written, Markup)
    assert "    " + str(written) == former.rstrip("\n")
    assert written.count("<form ") == 6 and "&amp; more" in written
