"""Demo data for the whole funnel: custody contacts consistent with the referrals they
lead to, offers declined at rates that differ by suite, outcomes after treatment starts
consistent with each referral's lifecycle, and schemes serving every suite."""

import datetime as dt
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from referrals.contacts.choices import NALOXONE_FLAGS
from referrals.contacts.models import CustodyContact
from referrals.extensions import db
from referrals.models import AreaGroup, CouncilArea, CustodySuite, Referral, ReferralEvent
from referrals.schemes.models import Scheme, scheme_suites
from referrals.seed.demo import load_demo

from .conftest import _clean as clean
from .conftest import make_app

AS_OF = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(database_url, reference_counts):
    """The demo loaded once for the module's read-only checks, and removed afterwards."""
    app = make_app(database_url)
    with app.app_context():
        load_demo(db.session, referrals=1500, seed=4, as_of=AS_OF, now=NOW)
        db.session.commit()
        yield db.session
        db.session.remove()
        clean(reference_counts)
        db.engine.dispose()


def test_every_referral_comes_from_one_contact_that_agrees_with_it(demo):
    referrals = {r.id: r for r in demo.scalars(sa.select(Referral))}
    linked = demo.scalars(
        sa.select(CustodyContact).where(CustodyContact.referral_id.is_not(None))
    ).all()
    assert sorted(c.referral_id for c in linked) == sorted(referrals)
    for contact in linked:
        referral = referrals[contact.referral_id]
        assert contact.outcome == "referral_made" and contact.offered
        assert contact.custody_suite_id == referral.custody_suite_id
        assert contact.contact_on == referral.referred_on
        assert contact.recorded_by_id == referral.referrer_id
        assert (contact.age_band, contact.sex) == (referral.age_band, referral.sex)
        assert contact.postcode_district == referral.postcode_district
        assert contact.council_area_id == referral.council_area_id
        flags = NALOXONE_FLAGS[contact.naloxone]
        assert flags == (referral.naloxone_offered, referral.naloxone_supplied)
    unlinked = demo.scalar(
        sa.select(sa.func.count())
        .select_from(CustodyContact)
        .where(CustodyContact.outcome == "referral_made", CustodyContact.referral_id.is_(None))
    )
    assert unlinked == 0


def test_contacts_not_referred_cover_every_outcome_with_consistent_answers(demo):
    contacts = demo.scalars(
        sa.select(CustodyContact).where(CustodyContact.referral_id.is_(None))
    ).all()
    total = demo.scalar(sa.select(sa.func.count()).select_from(CustodyContact))
    assert 2.2 * 1500 < total < 3.6 * 1500  # about three contacts for each referral
    outcomes = Counter(c.outcome for c in contacts)
    assert set(outcomes) == {
        "declined",
        "not_suitable",
        "already_in_treatment",
        "released_before_seen",
    }
    assert outcomes["declined"] > outcomes["not_suitable"] > outcomes["released_before_seen"]
    first = AS_OF - dt.timedelta(days=730)
    for c in contacts:
        assert first < c.contact_on <= AS_OF
        assert (c.decline_reason is not None) == (c.outcome == "declined")
        assert (c.not_suitable_reason is not None) == (c.outcome == "not_suitable")
        assert c.treatment_service_id is None or c.outcome == "already_in_treatment"
        if c.outcome == "declined":
            assert c.offered
        if c.outcome in ("not_suitable", "released_before_seen"):
            assert not c.offered
        if c.postcode_district is None:  # no fixed abode: the suite's council
            assert c.council_area_id == demo.get(CustodySuite, c.custody_suite_id).council_area_id
        assert c.recorded_at <= NOW
    assert {c.naloxone for c in contacts} == {
        "supplied",
        "declined",
        "offered",
        "already_carries",
        "not_offered",
    }
    veterans = Counter(c.veteran for c in contacts)
    assert set(veterans) == {True, False, None} and veterans[True] < veterans[False] / 10
    assert any(c.treatment_service_id for c in contacts)
    assert any(c.outcome == "already_in_treatment" and c.offered for c in contacts)


def test_outcomes_after_treatment_are_consistent_with_each_lifecycle(demo):
    events = defaultdict(list)
    for e in demo.scalars(sa.select(ReferralEvent).order_by(ReferralEvent.id)):
        events[e.referral_id].append(e)
    referrals = demo.scalars(sa.select(Referral)).all()
    seen = Counter()
    for r in referrals:
        reasons = [e.reason for e in events[r.id] if e.reason and ":" in e.reason]
        if r.retention_outcome:
            seen[f"retention:{r.retention_outcome}"] += 1
            assert r.treatment_started_on is not None
            assert r.retention_outcome_on >= r.treatment_started_on + dt.timedelta(days=84)
            assert f"retention:{r.retention_outcome}" in reasons
            closing = {"completed": "completed", "dropped_out": "disengaged"}
            closing["transferred"] = "transferred"
            if r.retention_outcome in closing:
                assert r.status == "closed" and r.close_reason == closing[r.retention_outcome]
                assert r.closed_on == r.retention_outcome_on
        else:
            assert r.retention_outcome_on is None
        if r.diversion_outcome:
            seen[f"diversion:{r.diversion_outcome}"] += 1
            assert r.pathway == "diversion" and r.engaged_on <= r.diversion_outcome_on
            assert r.status == "closed" and r.closed_on == r.diversion_outcome_on
        if r.bbv_test_offered_on:
            seen["bbv:offered"] += 1
            assert "bbv" in r.needs.split(",") and r.engaged_on <= r.bbv_test_offered_on
        if r.bbv_test_taken_on:
            seen["bbv:taken"] += 1
            assert r.bbv_test_offered_on <= r.bbv_test_taken_on
        recorded = (("retention", r.retention_outcome), ("diversion", r.diversion_outcome))
        for kind, value in recorded:
            assert sum(x.startswith(f"{kind}:") for x in reasons) == (1 if value else 0)
        if r.status == "treatment_started" and r.treatment_started_on <= AS_OF - dt.timedelta(
            days=120
        ):
            assert r.retention_outcome == "retained"
    for key in (
        "retention:retained",
        "retention:completed",
        "retention:dropped_out",
        "retention:transferred",
        "diversion:completed",
        "diversion:not_completed",
        "bbv:offered",
        "bbv:taken",
    ):
        assert seen[key] > 0, key
    # Some 12-week checks are still to do, so the worklist has something to ask.
    due = [
        r
        for r in referrals
        if r.status == "treatment_started"
        and r.retention_outcome is None
        and r.treatment_started_on <= AS_OF - dt.timedelta(days=84)
    ]
    assert due


def test_schemes_serve_every_suite_once_in_every_police_division(demo):
    served = Counter(s for (s,) in demo.execute(sa.select(scheme_suites.c.custody_suite_id)))
    suites = demo.scalars(sa.select(CustodySuite)).all()
    assert set(served) == {s.id for s in suites} and set(served.values()) == {1}
    divisions = {
        division
        for (division,) in demo.execute(
            sa.select(AreaGroup.code)
            .join(CouncilArea, CouncilArea.police_division_id == AreaGroup.id)
            .join(CustodySuite, CustodySuite.council_area_id == CouncilArea.id)
        )
    }
    codes = demo.scalars(sa.select(Scheme.code)).all()
    assert {code.removeprefix("ARS-")[0] for code in codes} == divisions
    glasgow = demo.scalar(sa.select(Scheme).where(Scheme.name.like("Greater Glasgow%")))
    assert {s.code for s in glasgow.suites} == {"GLA-LR", "GLA-CA", "GLA-GV"}
    assert glasgow.organisation.name == demo.scalar(
        sa.text(
            "SELECT o.name FROM organisations o JOIN users u ON u.organisation_id = o.id "
            "WHERE u.email = 'provider@demo.test'"
        )
    )
