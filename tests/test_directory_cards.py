"""The search page's result cards: read as plain rows, they show what the services'
records hold (the location measured, types in the taxonomy's order, today's hours),
in one statement for a whole page."""

import dataclasses
import datetime as dt

import pytest

from referrals.directory.access import EVERYTHING, PUBLIC
from referrals.directory.cards import ID_PLACEHOLDER, Address, Card, CardLoader, card_html
from referrals.directory.hours import today_text
from referrals.extensions import db
from referrals.models import Location
from referrals.statement_count import counting

from .factories import make_service, service_type

# A Tuesday evening.
NOW = dt.datetime(2026, 12, 1, 21, 30)


def loader(refer=True) -> CardLoader:
    return CardLoader(
        now_local=NOW,
        stale_after_days=180,
        detail_url=f"/services/{ID_PLACEHOLDER}",
        refer_url=f"/referrals/new?service={ID_PLACEHOLDER}" if refer else None,
    )


def test_cards_show_each_services_record(session):
    night = make_service(
        session,
        name="Night Outreach",
        type_code="naloxone",
        hours=[(1, "20:00", "02:00"), (1, "08:00", "10:00"), (4, "09:00", "17:00")],
        alert="Closed on 25 December",
        phone="0141 000 0000",
        last_verified_on=NOW.date() - dt.timedelta(days=400),
        accepts_custody_referrals=False,
    )
    night.types = [service_type(session, "naloxone"), service_type(session, "ost")]
    night.locations.append(
        Location(
            address_1="2 Far Road",
            address_2="Unit 4",
            town="Paisley",
            postcode="PA1 1AA",
            latitude=55.84,
            longitude=-4.42,
            council_area=night.locations[0].council_area,
        )
    )
    refuge = make_service(session, name="Refuge", confidential_address=True, hours=[])
    listed = make_service(session, name="Listed", hours=[(1, "00:00", "23:59")])
    session.commit()
    far = night.locations[1]
    exact = {night.id: (12.345, far.id), refuge.id: (3.0, refuge.locations[0].id)}
    ids = [night.id, refuge.id, listed.id]

    with counting(db.engine) as seen:
        cards = loader()(session, ids, exact, PUBLIC)
    assert seen.count == 1, str(seen)

    first, secret, unmeasured = cards
    assert [c.id for c in cards] == ids
    assert first.name == "Night Outreach" and first.url == f"/services/{night.id}"
    assert first.organisation == night.organisation.name
    assert first.alert == "Closed on 25 December"
    # In the taxonomy's order, whatever order they were given in.
    assert first.types == [t.name for t in sorted(night.types, key=lambda t: t.sort_order)]
    assert first.location == ("2 Far Road", "Unit 4", "Paisley", "PA1 1AA")
    assert first.distance_km == 12.345
    assert first.hours_today == "Today 08:00 to 10:00 and 20:00 to 02:00 (Wednesday) (open now)"
    assert first.hours_today == today_text(night.opening_hours, NOW)
    assert first.stale and first.phone == "0141 000 0000"
    assert first.refer_url is None  # it takes no custody referrals
    assert not first.address_hidden

    assert secret.address_hidden and secret.location.town == "Testtown"
    assert secret.hours_today == "No set hours: phone to check"
    assert secret.refer_url == f"/referrals/new?service={refuge.id}"
    assert not secret.stale

    # Not measured: at its first location, with no distance.
    assert unmeasured.location.address_1 == "1 Test Street"
    assert unmeasured.distance_km is None
    assert unmeasured.hours_today == "Open 24 hours today (open now)"

    everything = loader(refer=False)(session, ids, exact, EVERYTHING)
    assert not everything[1].address_hidden
    assert all(c.refer_url is None for c in everything)


def test_a_page_listed_by_name_shows_each_service_at_its_first_location(session):
    services = [make_service(session, name=f"By name {n}") for n in range(3)]
    session.commit()
    ids = [s.id for s in reversed(services)]
    cards = loader()(session, ids, {}, PUBLIC)
    assert [c.name for c in cards] == ["By name 2", "By name 1", "By name 0"]
    assert all(c.location.address_1 == "1 Test Street" for c in cards)
    assert loader()(session, [], {}, PUBLIC) == []


# The template macro that wrote each card before ``card_html`` did, kept to check that
# the cards' markup is unchanged.
FORMER_MACRO = """\
{% macro service_card(card) %}
<article class="result" aria-labelledby="service-{{ card.id }}-name">
  <h3 id="service-{{ card.id }}-name"><a href="{{ card.url }}">{{ card.name }}</a></h3>
  <p class="muted">{{ card.organisation }}</p>
  {% if card.alert %}<p class="notice notice-warning"><strong>Alert:</strong> {{ card.alert }}</p>{% endif %}
  <ul class="tag-list" aria-label="Types of service">
    {% for name in card.types %}<li class="tag">{{ name }}</li>{% endfor %}
    {% if card.same_day_access %}<li class="tag tag-ok">Same-day access</li>{% endif %}
    {% if card.gender == 'female' %}<li class="tag">Women only</li>{% elif card.gender == 'male' %}<li class="tag">Men only</li>{% endif %}
    {% if card.veterans_only %}<li class="tag">Veterans only</li>{% endif %}
    {% if not card.accepts_custody_referrals %}<li class="tag tag-warning">No custody referrals</li>{% endif %}
  </ul>
  <dl class="summary">
    {% if card.distance_km is not none %}<dt>Distance</dt><dd>{{ '%.1f'|format(card.distance_km) }} km{% if card.address_hidden %} (from the town centre){% endif %}</dd>{% endif %}
    <dt>Opening</dt><dd>{{ card.hours_today }}</dd>
    {% if card.location %}
    {% set location = card.location %}
    <dt>Address</dt>
    <dd>{% if card.address_hidden %}{{ location.town }}. The address is confidential: it is given to referrers.{% else %}{{ location.address_1 }}{% if location.address_2 %}, {{ location.address_2 }}{% endif %}, {{ location.town }} {{ location.postcode }}{% endif %}</dd>
    {% endif %}
    {% if card.phone %}<dt>Phone</dt><dd><a href="tel:{{ card.phone|replace(' ', '') }}">{{ card.phone }}</a></dd>{% endif %}
    <dt>Last checked</dt>
    <dd>{% if card.last_verified_on %}{{ card.last_verified_on|date }}{% else %}Never{% endif %}
      {% if card.stale %} <span class="tag tag-warning">Not checked for over 6 months: confirm details before relying on them</span>{% endif %}</dd>
  </dl>
</article>
{% if card.refer_url %}
<p><a class="button button-secondary" href="{{ card.refer_url }}">Refer to this service<span class="visually-hidden">: {{ card.name }}</span></a></p>
{% endif %}
{% endmacro %}
"""  # noqa: E501

CARD = Card(
    id=42,
    name='Night <Outreach> & "Friends"',
    url="/services/42?from=a&b",
    organisation="O'Brien & Sons",
    alert="Closed on 25 December <b>",
    types=["Naloxone", "Opioid <substitution>"],
    same_day_access=True,
    gender="female",
    veterans_only=True,
    accepts_custody_referrals=False,
    phone="0141 000 0000",
    last_verified_on=dt.date(2026, 3, 4),
    stale=True,
    hours_today="Today 08:00 to 10:00 (open now)",
    location=Address("2 Far Road", "Unit <4>", "Paisley & Renfrew", "PA1 1AA"),
    distance_km=12.345,
    address_hidden=False,
    refer_url='/referrals/new?service=42&x="y"',
)

VARIANTS = {
    "everything": {},
    "plain": dict(
        alert=None,
        types=[],
        same_day_access=False,
        gender="any",
        veterans_only=False,
        accepts_custody_referrals=True,
        stale=False,
        refer_url=None,
    ),
    "men, never checked, no phone": dict(gender="male", last_verified_on=None, phone=None),
    "address hidden": dict(address_hidden=True),
    "no second line": dict(location=Address("1 Test Street", None, "Testtown", "T1 1AA")),
    "no location, no distance": dict(location=None, distance_km=None),
    "distance rounds up": dict(distance_km=0.05),
    "empty alert and phone": dict(alert="", phone=""),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_cards_markup_is_the_former_macros(app, variant):
    card = dataclasses.replace(CARD, **VARIANTS[variant])
    with app.test_request_context():
        former = app.jinja_env.from_string(FORMER_MACRO).module.service_card(card)
        assert str(card_html(card)) == str(former)
