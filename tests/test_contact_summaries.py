"""The contact summary always adds up to the custody contacts, and the contact figures
published from it are exactly those worked out from the contacts themselves."""

import datetime as dt
import random
from collections import Counter

import pytest
import sqlalchemy as sa

from referrals.contacts.choices import ContactDeclineReason, NaloxoneStatus, NotSuitableReason
from referrals.contacts.models import CustodyContact
from referrals.models import CouncilArea
from referrals.reports import contact_measures, contact_summaries, figures
from referrals.reports.figures import Settings, build
from referrals.seed.demo import load_demo
from referrals.seed.referral_generator import generate_referrals

from .test_summaries import AS_OF, NOW, WINDOW

KEYS = (CustodyContact.council_area_id, CustodyContact.custody_suite_id)


def _tally(rows) -> Counter:
    tally: Counter = Counter()
    for *key, n in rows:
        tally[tuple(key)] += n
    return tally


def assert_summary_matches(session) -> None:
    for key in KEYS:
        raw = _tally(contact_measures.contact_unit_rows(session, key, WINDOW))
        summed = _tally(contact_summaries.contact_unit_rows(session, key, WINDOW))
        assert sum(raw.values()) > 1000
        assert summed == raw


def marked(session) -> set[dt.date]:
    return set(session.scalars(sa.select(contact_summaries.changes.c.day)))


def change_at_random(session, rng: random.Random, changes: int = 60) -> set[dt.date]:
    """Change contacts the ways people do (an outcome or naloxone corrected, another
    day, council or age band, a contact removed or added), returning the days touched."""
    ids = list(session.scalars(sa.select(CustodyContact.id)))
    councils = list(session.scalars(sa.select(CouncilArea.id)))
    touched: set[dt.date] = set()
    for contact_id in rng.sample(ids, changes):
        contact = session.get(CustodyContact, contact_id)
        day = contact.contact_on
        what = rng.choice(["outcome", "naloxone", "move", "council", "age", "delete", "add"])
        if what == "outcome" and contact.outcome == "declined":
            contact.outcome, contact.offered = "not_suitable", False
            contact.decline_reason, contact.not_suitable_reason = None, NotSuitableReason.OTHER
        elif what == "outcome" and contact.outcome == "not_suitable":
            contact.outcome, contact.offered = "declined", True
            contact.decline_reason = ContactDeclineReason.NOT_READY
            contact.not_suitable_reason = None
        elif what == "naloxone":
            contact.naloxone = rng.choice(list(NaloxoneStatus))
        elif what == "move":
            contact.contact_on -= dt.timedelta(days=rng.randint(1, 60))
            touched.add(contact.contact_on)
        elif what == "council":
            contact.council_area_id = rng.choice(councils)
        elif what == "age":
            contact.age_band = rng.choice(["18_24", "35_44", "55_64"])
        elif what == "delete":
            session.execute(sa.delete(CustodyContact).where(CustodyContact.id == contact_id))
            session.expunge(contact)
            touched.add(day)
            continue
        elif what == "add":
            added = CustodyContact(
                custody_suite_id=contact.custody_suite_id,
                contact_on=day - dt.timedelta(days=rng.randint(0, 30)),
                recorded_by_id=contact.recorded_by_id,
                age_band="45_54",
                sex="female",
                postcode_district=None,
                council_area_id=contact.council_area_id,
                offered=True,
                outcome="declined",
                decline_reason=ContactDeclineReason.DISTRUST,
                naloxone=NaloxoneStatus.SUPPLIED,
            )
            session.add(added)
            touched.add(added.contact_on)
        if session.is_modified(contact):
            touched.add(day)
        session.flush()
    session.commit()
    return touched


@pytest.fixture
def demo(session):
    load_demo(session, referrals=2500, seed=5, as_of=AS_OF, now=NOW)
    session.commit()
    return session


def test_the_contact_summary_equals_the_contacts_after_loads_edits_and_hand_typed_sql(demo):
    session = demo
    # Loaded in bulk: every day the contacts hold is marked once, and the first refresh
    # adds up everything.
    days = set(session.scalars(sa.select(CustodyContact.contact_on).distinct()))
    assert days and days <= marked(session)
    first = contact_summaries.refresh(session)
    session.commit()
    assert first.everything and first.days == len(days)
    assert_summary_matches(session)
    assert contact_summaries.refresh(session).days == 0

    # A second bulk load on top (the triggers were back on in between, and are again).
    generate_referrals(session, 300, 9, AS_OF, NOW)
    session.commit()
    assert_summary_matches(session)
    assert not marked(session)

    rng = random.Random(21)
    for _ in range(3):
        touched = change_at_random(session, rng)
        waiting = marked(session)
        assert touched and touched <= waiting
        again = contact_summaries.refresh(session)
        session.commit()
        assert not again.everything and again.days == len(waiting)
        assert not marked(session)
        assert_summary_matches(session)

    # A statement typed by hand, outside the app, is seen as well.
    with session.get_bind().begin() as connection:
        changed = connection.execute(
            sa.text(
                "UPDATE custody_contacts SET naloxone = 'supplied' "
                "WHERE naloxone = 'declined' AND contact_on >= :day"
            ),
            {"day": dt.date(2026, 4, 1)},
        )
        assert changed.rowcount > 0
    assert marked(session)
    assert_summary_matches(session)


def test_published_contact_figures_from_the_summary_equal_those_from_the_contacts(
    demo, monkeypatch
):
    session = demo
    change_at_random(session, random.Random(8), changes=40)
    settings = Settings(as_of=AS_OF)
    from_summary = build(session, settings)
    session.commit()
    monkeypatch.setattr(figures, "contact_unit_rows", contact_measures.contact_unit_rows)
    from_contacts = build(session, settings)
    contact_parts = [
        entries
        for (family, _, _), entries in from_summary.parts.items()
        if family in contact_measures.CONTACT_KEYS
        and any("offer_rate" in figure for figure in entries.values())
    ]
    assert contact_parts
    assert from_summary.parts == from_contacts.parts
    assert from_summary.periods == from_contacts.periods


def test_a_changed_fact_rebuilds_every_day(demo):
    session = demo
    contact_summaries.refresh(session)
    session.commit()
    # As when a fact is added to the contact measures: the summary was built by other SQL.
    session.execute(
        sa.update(contact_summaries.state)
        .where(contact_summaries.state.c.id == contact_summaries.STATE_ID)
        .values(signature="built by an earlier release")
    )
    session.commit()
    assert contact_summaries.pending(session)
    rebuilt = contact_summaries.refresh(session)
    session.commit()
    assert rebuilt.everything
    assert_summary_matches(session)


def test_rebuild_summaries_command_covers_the_contacts(demo, runner):
    result = runner.invoke(args=["rebuild-summaries"])
    assert result.exit_code == 0, result.output
    assert "Contact summary rebuilt for every day" in result.output
    assert "Contact summary already up to date" in runner.invoke(args=["rebuild-summaries"]).output
    contact = demo.scalar(sa.select(CustodyContact).order_by(CustodyContact.id).limit(1))
    contact.age_band = "65_plus" if contact.age_band != "65_plus" else "18_24"
    demo.commit()
    output = runner.invoke(args=["rebuild-summaries"]).output
    assert "Summaries already up to date" in output
    assert "Contact summary brought up to date: 1 day added up again" in output
    forced = runner.invoke(args=["rebuild-summaries", "--all"]).output
    assert "Contact summary rebuilt for every day" in forced
    assert_summary_matches(demo)


def test_every_contact_is_counted_whatever_its_sex_or_age_band(demo):
    """Men and people whose sex is not recorded, and the youngest and oldest age bands,
    share a group in the disclosure control: each of them still counts once."""
    session = demo
    published = build(session, Settings(as_of=AS_OF))
    years = [p for p in published.periods.values() if p["kind"] == "rolling_year"]
    assert years
    c = CustodyContact
    for period in years:
        start, end = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
        seen = session.scalar(
            sa.select(sa.func.count()).where(c.contact_on >= start, c.contact_on <= end)
        )
        shared = session.scalar(
            sa.select(sa.func.count()).where(
                c.contact_on >= start,
                c.contact_on <= end,
                sa.or_(c.sex == "not_known", c.age_band.in_(["under_18", "65_plus"])),
            )
        )
        assert shared > 0  # the demo data has people of the groups that share
        for family in contact_measures.CONTACT_KEYS:
            national = published.parts[(family, period["code"], "all")]["national"]
            assert national["contacts"] == seen, (family, period["code"])
