"""The funnel measures, against figures worked out by hand on small, deliberate data:
custody contacts (offer rate, referral success, naloxone supply), retention at 12 weeks,
diversion completion, children affected, and referrals referred on left out."""

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import Referral
from referrals.reports.figures import Settings, build

from . import test_measures as by_hand
from .factories import council, make_contact, make_organisation, make_user, suite
from .test_measures import AS_OF, MAY, figures, pattern

maker = by_hand.maker  # the same referral maker, as a fixture here

FEBRUARY = dt.date(2026, 2, 10)


def entry(published, period, key, family="area", group="all"):
    return published.parts[(family, period, group)][key]


@pytest.fixture
def officer(session):
    return make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))


def contacts_by_hand(session, officer, referrals, day=MAY):
    """60 contacts: 25 referred (to the first 25 ``referrals``, if given) and 15 declining of 40
    offered, 10 not suitable and 10 released before being seen; 12 already carry
    naloxone, 20 of the other 48 were supplied a kit, 8 declined one and 20 were not
    offered one."""
    outcomes = ["referral_made"] * 25 + ["declined"] * 15
    outcomes += ["not_suitable"] * 10 + ["released_before_seen"] * 10
    naloxone = ["already_carries"] * 12 + ["supplied"] * 20 + ["declined"] * 8
    naloxone += ["not_offered"] * 20
    linked = iter(referrals[:25])
    for outcome, kit in zip(outcomes, naloxone, strict=True):
        referral = next(linked, None) if outcome == "referral_made" else None
        make_contact(
            session,
            recorder=officer,
            contact_on=day,
            outcome=outcome,
            naloxone=kit,
            referral_id=referral.id if referral else None,
        )


def referrals_of(session, day=MAY):
    """The referrals made on ``day``, in the order they were made."""
    return session.scalars(
        sa.select(Referral).where(Referral.referred_on == day).order_by(Referral.id)
    ).all()


def test_contacts_alone_publish_nothing_until_referrals_are_made(session, officer):
    contacts_by_hand(session, officer, [])
    make_organisation(session)
    session.commit()
    published = build(session, Settings(as_of=AS_OF))
    assert not published.parts, "contacts alone publish nothing until referrals are made"


def test_contact_measures_for_areas_suites_and_scotland(session, maker, officer):
    pattern(maker, referred=dt.date(2026, 1, 5))  # the data begin in January
    pattern(maker)
    contacts_by_hand(session, officer, referrals_of(session))
    published = figures(session)
    glasgow = f"council:{council(session, 'Glasgow City').code}"
    suite_key = "custody_suite:GLA-LR"
    for family, key in (("area", glasgow), ("area", "national"), ("suite", suite_key)):
        year = entry(published, "12m-2026-09", key, family)
        assert year["contacts"] == 60
        assert year["offer_rate"] == [40, 60]
        assert year["referral_success_rate"] == [25, 40]
        assert year["naloxone_supply_rate"] == [20, 48]  # the 12 carrying are left out
        assert year["referrals"] == 72  # beside the referral figures
    # Scotland has them by quarter and month too; a council area's quarter does not.
    assert entry(published, "2026Q2", "national")["offer_rate"] == [40, 60]
    assert entry(published, "2026-05", "national")["contacts"] == 60
    assert "offer_rate" not in entry(published, "2026Q2", glasgow)


def test_contact_rates_on_small_numbers_are_hidden(session, maker, officer):
    pattern(maker)
    referred = iter(referrals_of(session))
    for outcome in ["referral_made"] * 3 + ["declined"] * 9:
        referral_id = next(referred).id if outcome == "referral_made" else None
        make_contact(
            session, recorder=officer, contact_on=MAY, outcome=outcome, referral_id=referral_id
        )
    published = figures(session)
    year = entry(published, "12m-2026-09", "national")
    assert year["contacts"] == 12
    assert year["offer_rate"] == [12, 12]  # everybody offered: nobody to single out
    assert year["referral_success_rate"] == "<5"  # 3 of 12
    assert year["naloxone_supply_rate"] == [0, 12]


def test_referral_success_counts_the_referrals_saved_and_not_entered_in_error(
    session, maker, officer
):
    """20 offered: 10 referrals saved, 3 "referral made" whose referral is not typed in
    yet, 2 whose referral was closed as entered in error, and 5 declining. Referrals /
    offers is 10 of 20; a referral closed as entered in error later leaves the rate,
    and comes back when the closing is taken back."""
    pattern(maker)
    referred = referrals_of(session)
    in_error = referred[10:12]
    for referral in in_error:
        referral.status, referral.close_reason = "closed", "entered_in_error"
        referral.closed_on = MAY
    linked = [r.id for r in referred[:12]] + [None] * 3
    for referral_id in linked:
        make_contact(
            session,
            recorder=officer,
            contact_on=MAY,
            outcome="referral_made",
            referral_id=referral_id,
        )
    for _ in range(5):
        make_contact(session, recorder=officer, contact_on=MAY, outcome="declined")
    year = entry(figures(session), "12m-2026-09", "national")
    assert year["offer_rate"] == [20, 20]
    assert year["referral_success_rate"] == [10, 20]

    # Closing one more as entered in error changes only the referral: its contact's day
    # is marked all the same, and the contact no longer counts.
    wrong = referred[0]
    wrong.status, wrong.close_reason, wrong.closed_on = "closed", "entered_in_error", MAY
    assert entry(figures(session), "12m-2026-09", "national")["referral_success_rate"] == [
        9,
        20,
    ]
    wrong.status, wrong.close_reason, wrong.closed_on = "made", None, None
    assert entry(figures(session), "12m-2026-09", "national")["referral_success_rate"] == [
        10,
        20,
    ]


def test_retention_at_12_weeks_waits_for_every_start_to_reach_12_weeks(session, maker):
    """February: 14 started within 84 days, of whom 6 were still in treatment and 3 had
    completed at 12 weeks, 3 dropped out and 2 have no answer; 2 more started after 100
    days (outside the treatment window, so not in the rate)."""
    outcomes = ["retained"] * 6 + ["completed"] * 3 + ["dropped_out"] * 3 + [None] * 2
    for outcome in outcomes:
        started = FEBRUARY + dt.timedelta(days=20)
        maker(
            referred=FEBRUARY,
            accepted=1,
            engaged=10,
            started=20,
            retention_outcome=outcome,
            retention_outcome_on=started + dt.timedelta(days=84) if outcome else None,
        )
    for _ in range(2):
        maker(
            referred=FEBRUARY,
            accepted=1,
            engaged=10,
            started=100,
            retention_outcome="retained",
            retention_outcome_on=FEBRUARY + dt.timedelta(days=184),
        )
    pattern(maker)
    published = figures(session)
    # Every start in the 12 months to March 2026 was by late June, 84 days + 84 days
    # before the as-of date; the 12 months to June have starts up to late September.
    assert published.settings["latest_for"]["retention_12_weeks"] == "12m-2026-03"
    year = entry(published, "12m-2026-03", "national")
    assert year["retention_12_weeks"] == [9, 14]
    assert "retention_12_weeks" not in entry(published, "12m-2026-06", "national")
    assert "retention_12_weeks" not in entry(published, "12m-2026-09", "national")


def test_a_referral_closed_as_completed_counts_as_retained_unless_the_check_said_otherwise(
    session, maker
):
    """February, all starting within 84 days: 6 retained at the check; 3 with nothing
    recorded at the check but closed as completed (one before the check, two after); 1
    recorded as dropped out, then closed as completed; 2 closed as disengaged, 2 with
    nothing recorded, and 10 on the diversion pathway closed by their diversion completed.
    Retained or completed: 9 of 24."""
    started = FEBRUARY + dt.timedelta(days=20)
    check = started + dt.timedelta(days=84)
    for _ in range(6):
        maker(
            referred=FEBRUARY,
            accepted=1,
            engaged=10,
            started=20,
            retention_outcome="retained",
            retention_outcome_on=check,
        )
    for closed in (started + dt.timedelta(days=40), check, check + dt.timedelta(days=30)):
        maker(
            referred=FEBRUARY,
            accepted=1,
            engaged=10,
            started=20,
            status="closed",
            close_reason="completed",
            closed_on=closed,
        )
    maker(
        referred=FEBRUARY,
        accepted=1,
        engaged=10,
        started=20,
        retention_outcome="dropped_out",
        retention_outcome_on=check,
        status="closed",
        close_reason="completed",
        closed_on=check,
    )
    for _ in range(2):
        maker(
            referred=FEBRUARY,
            accepted=1,
            engaged=10,
            started=20,
            status="closed",
            close_reason="disengaged",
            closed_on=check,
        )
    for _ in range(2):
        maker(referred=FEBRUARY, accepted=1, engaged=10, started=20)
    # A diversion completed closes its referral as completed: not a treatment completed
    # (ten of them, so that the diversion pathway's own figure is not too small to show).
    for _ in range(10):
        maker(
            referred=FEBRUARY,
            pathway="diversion",
            accepted=1,
            engaged=10,
            started=20,
            diversion_outcome="completed",
            diversion_outcome_on=check,
            status="closed",
            close_reason="completed",
            closed_on=check,
        )
    pattern(maker)
    year = entry(figures(session), "12m-2026-03", "national")
    assert year["retention_12_weeks"] == [9, 24]


def test_diversion_completion_and_children_affected(session, maker):
    for i in range(18):
        outcome = "completed" if i < 10 else ("not_completed" if i < 15 else None)
        maker(
            pathway="diversion",
            accepted=1,
            engaged=5,
            diversion_outcome=outcome,
            diversion_outcome_on=MAY + dt.timedelta(days=30) if outcome else None,
            children_in_household=i < 7,
        )
    pattern(maker)
    published = figures(session)
    glasgow = f"council:{council(session, 'Glasgow City').code}"
    for key in ("national", glasgow):
        year = entry(published, "12m-2026-09", key)
        assert year["diversion_completion"] == [10, 15]  # of the 15 with an outcome
        assert year["children_affected"] == 7
        assert year["referrals"] == 54


def test_referrals_referred_on_are_left_out_of_the_measures(session, maker):
    pattern(maker)
    for _ in range(5):
        maker(accepted=1, status="closed", close_reason="referred_on", closed_on=MAY)
    published = figures(session)
    year = entry(published, "12m-2026-09", "national")
    assert year["referrals"] == 36
    assert year["within_3_weeks"] == [12, 18]
    assert published.reasons[("closed", "12m-2026-09")]["referred_on"] == 5


def test_a_referral_referred_on_counts_while_the_ones_it_went_to_are_entered_in_error(
    session, maker
):
    """Four referrals accepted, then referred on to another service, where the new ones
    wait unaccepted. Two of the new ones are closed as entered in error: the person was
    referred once all the same, and the first referral counts again. One was passed on
    twice (after an undo withdrew the first it went to): only the second counts. So
    acceptance is 30 + 2 of 36 + 4, not 30 of 38, and changes back as a closing is taken
    back; every chain counts once."""
    pattern(maker)
    firsts = [
        maker(accepted=1, status="closed", close_reason="referred_on", closed_on=MAY)
        for _ in range(4)
    ]
    later = MAY + dt.timedelta(days=3)  # passed on a few days on: a day of its own
    nexts = [maker(referred=later, referred_from_id=first.id) for first in firsts]
    withdrawn = dict(status="closed", close_reason="entered_in_error", closed_on=later)
    maker(referred=later, referred_from_id=firsts[2].id, **withdrawn)  # an undo's
    followed = entry(figures(session), "12m-2026-06", "national")
    assert followed["acceptance_rate"] == [30, 40]
    for wrong in nexts[:2]:
        for column, value in withdrawn.items():
            setattr(wrong, column, value)
    followed = entry(figures(session), "12m-2026-06", "national")
    assert followed["acceptance_rate"] == [32, 40]
    nexts[0].status, nexts[0].close_reason, nexts[0].closed_on = "made", None, None
    followed = entry(figures(session), "12m-2026-06", "national")
    assert followed["acceptance_rate"] == [31, 40]
    # One more referred on whose next referral is not in yet, then comes in already
    # closed as entered in error (as an import brings it): the first counts from then.
    fifth = maker(accepted=1, status="closed", close_reason="referred_on", closed_on=MAY)
    assert entry(figures(session), "12m-2026-06", "national")["acceptance_rate"] == [31, 40]
    maker(referred=later, referred_from_id=fifth.id, **withdrawn)
    assert entry(figures(session), "12m-2026-06", "national")["acceptance_rate"] == [32, 41]


def test_referrals_entered_in_error_are_counted_in_closures(session, maker):
    pattern(maker)
    for _ in range(6):
        maker(status="closed", close_reason="entered_in_error", closed_on=MAY)
    published = figures(session)
    assert entry(published, "12m-2026-09", "national")["referrals"] == 36
    closures = published.reasons[("closed", "12m-2026-09")]
    assert closures["entered_in_error"] == 6


@pytest.fixture
def recent(session, maker, officer):
    """The hand-made contacts and referrals at least 150 days ago, so in the latest 12
    months: on the first day of that day's quarter, so that the data cover the quarter
    whole and it is published, whatever the date the tests run on."""
    back = dt.date.today() - dt.timedelta(days=150)
    day = dt.date(back.year, 3 * ((back.month - 1) // 3) + 1, 1)
    pattern(maker, referred=day, copies=5)  # 5 declined, 5 waiting over 6 weeks: shown
    for _ in range(10):  # all attending, none started yet: no rate to hide among them
        maker(
            referred=day,
            pathway="near_fatal_overdose",
            children_in_household=True,
            accepted=1,
            engaged=5,
        )
    contacts_by_hand(session, officer, referrals_of(session, day), day=day)
    make_user(session, Role.ADMIN, email="admin@t.example")
    session.commit()
    return day


def test_the_pages_show_the_contact_measures(client, session, recent):
    from .test_auth import sign_in

    sign_in(client, "admin@t.example")
    scotland = client.get("/reports/").get_data(as_text=True)
    assert "From custody contact to referral" in scotland
    assert "offered arrest referral" in scotland and "66.7%" in scotland  # 40 of 60
    assert "62.5%" in scotland  # referral success: 25 of 40
    assert "41.7%" in scotland  # naloxone: 20 of the 48 not carrying
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/areas.csv").text)))
    glasgow = {r["measure"]: r for r in rows if r["area"] == "Glasgow City"}
    assert (glasgow["offer_rate"]["numerator"], glasgow["offer_rate"]["denominator"]) == (
        "40",
        "60",
    )
    assert glasgow["contacts"]["value"] == "60"
    assert glasgow["children_affected"]["value"] == "10"
    assert glasgow["near_fatal_overdose"]["value"] == "10"
    page = client.get("/reports/areas?measure=referral_success_rate").get_data(as_text=True)
    assert "Referral success rate" in page and "62.5%" in page
    funnel = client.get("/reports/funnel?measure=offer_rate").get_data(as_text=True)
    assert "Offer rate against number of contacts" in funnel
    definitions = client.get("/reports/definitions").get_data(as_text=True)
    for words in (
        "Offer rate",
        "Referral success rate",
        "Naloxone supply rate",
        "Retained at 12 weeks",
        "Diversion completion",
        "Referrals with children in the household",
        "referred on to another service",
        "Arrest referral schemes",
    ):
        assert words in definitions


def test_trends_show_near_fatal_overdoses_by_quarter(client, session, recent):
    from .test_auth import sign_in

    sign_in(client, "admin@t.example")
    code = council(session, "Glasgow City").code
    page = client.get(f"/reports/trends?group=council&area={code}").get_data(as_text=True)
    quarters = page.split("<h2>By quarter</h2>")[1]
    assert "Near-fatal overdose follow-ups" in quarters
    quarter = [q for q in quarters.split("<tr>") if "<td" in q]
    # Glasgow is too small for its own quarterly overdose count: Scotland's is beside it.
    assert any('<td class="num">10</td>' in q for q in quarter)
    years = page.split("<h2>By year</h2>")[1].split("<h2>")[0]
    assert '<td class="num">10</td>' in years  # Glasgow's own, for the 12 months
