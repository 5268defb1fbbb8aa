"""The search page's result cards: read as plain rows, they show what the services'
records hold (the location measured, types in the taxonomy's order, today's hours),
in two statements for a whole page."""

import datetime as dt

from referrals.directory.access import EVERYTHING, PUBLIC
from referrals.directory.cards import ID_PLACEHOLDER, CardLoader
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
    assert seen.count == 2, str(seen)

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
    assert secret.hours_today == "Closed today"
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
