"""The summary tables always add up to the referrals, and reports built from them publish
exactly what reports built from the referrals themselves would."""

import datetime as dt
import random
from collections import Counter

import pytest
import sqlalchemy as sa

from referrals.choices import CloseReason, DeclineReason, ReferralStatus
from referrals.extensions import db
from referrals.models import CouncilArea, Referral
from referrals.reports import figures, measures, summaries
from referrals.reports.figures import Settings, build
from referrals.reports.measures import Window
from referrals.seed.demo import load_demo

AS_OF = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC)
WINDOW = Window(last=2026 * 12 + 4)  # May 2026, the last complete month
KEYS = (Referral.council_area_id, Referral.custody_suite_id, Referral.service_id)


def raw_and_summarised(session, window=WINDOW) -> list[tuple[Counter, Counter]]:
    """Every row the reports read, from the referrals and from the summaries."""
    pairs = []
    for key in KEYS:
        for raw, summed in (
            (measures.unit_rows, summaries.unit_rows),
            (measures.wait_rows, summaries.wait_rows),
        ):
            pairs.append((_tally(raw(session, key, window)), _tally(summed(session, key, window))))
    pairs.append(
        (
            _tally(measures.reason_rows(session, window)),
            _tally(summaries.reason_rows(session, window)),
        )
    )
    return pairs


def _tally(rows) -> Counter:
    tally: Counter = Counter()
    for *key, n in rows:
        tally[tuple(key)] += n
    return tally


def assert_summaries_match(session, window=WINDOW) -> None:
    for raw, summed in raw_and_summarised(session, window):
        assert summed == raw
        assert sum(raw.values()) > 0


def change_at_random(session, rng: random.Random, changes: int = 60) -> set[dt.date]:
    """Change referrals the ways the product does (stages recorded, declined, closed in
    error, moved to another council or day, removed), returning the days touched."""
    ids = list(session.scalars(sa.select(Referral.id)))
    councils = list(session.scalars(sa.select(CouncilArea.id)))
    touched: set[dt.date] = set()
    for referral_id in rng.sample(ids, changes):
        referral = session.get(Referral, referral_id)
        day = referral.referred_on
        what = rng.choice(["stage", "stage", "decline", "error", "move", "council", "delete"])
        if what == "stage" and referral.accepted_on is None and referral.declined_on is None:
            referral.accepted_on = referral.referred_on + dt.timedelta(days=1)
            referral.status = ReferralStatus.ACCEPTED
        elif what == "stage" and referral.engaged_on is None and referral.accepted_on:
            referral.engaged_on = referral.accepted_on + dt.timedelta(days=rng.randint(1, 40))
            referral.days_to_engagement = (referral.engaged_on - referral.referred_on).days
            referral.status = ReferralStatus.ENGAGED
        elif what == "stage" and referral.engaged_on and not referral.treatment_started_on:
            referral.treatment_started_on = referral.engaged_on + dt.timedelta(days=3)
            referral.days_to_treatment = (
                referral.treatment_started_on - referral.referred_on
            ).days
            referral.status = ReferralStatus.TREATMENT_STARTED
        elif what == "decline" and referral.accepted_on is None and referral.declined_on is None:
            referral.declined_on = referral.referred_on + dt.timedelta(days=2)
            referral.decline_reason = DeclineReason.NO_CAPACITY
            referral.status = ReferralStatus.DECLINED
        elif what == "error" and referral.closed_on is None:
            referral.closed_on = referral.referred_on + dt.timedelta(days=1)
            referral.close_reason = CloseReason.ENTERED_IN_ERROR
            referral.status = ReferralStatus.CLOSED
        elif what == "move":
            referral.referred_on -= dt.timedelta(days=rng.randint(1, 60))
            touched.add(referral.referred_on)
            referral.days_to_engagement = None
            referral.days_to_treatment = None
            referral.engaged_on = referral.treatment_started_on = None
        elif what == "council":
            referral.council_area_id = rng.choice(councils)
        elif what == "delete":
            _delete(session, referral_id)
            touched.add(day)
        if referral in session and session.is_modified(referral):
            touched.add(day)
        session.flush()
    session.commit()
    return touched


def _delete(session, referral_id: int) -> None:
    """Remove a referral with every row that refers to it."""
    session.expunge_all()
    for table in reversed(db.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name == "referrals":
                session.execute(sa.delete(table).where(fk.parent == referral_id))
    session.execute(sa.delete(Referral.__table__).where(Referral.id == referral_id))


@pytest.fixture
def demo(session):
    load_demo(session, referrals=2500, seed=3, as_of=AS_OF, now=NOW)
    session.commit()
    return session


def test_summaries_equal_the_referrals_after_loading_and_after_random_changes(demo):
    session = demo
    # Loaded in bulk: every day is marked, and the first refresh adds up everything.
    first = summaries.refresh(session)
    session.commit()
    assert first.everything and first.days > 300
    assert_summaries_match(session)
    assert summaries.refresh(session).days == 0

    rng = random.Random(16)
    for _ in range(3):
        touched = change_at_random(session, rng)
        marked = set(session.scalars(sa.select(summaries.changes.c.day)))
        assert touched <= marked  # the deleted, moved and changed ones' days alike
        again = summaries.refresh(session)
        session.commit()
        assert not again.everything and again.days == len(marked)
        assert session.scalar(sa.select(sa.func.count()).select_from(summaries.changes)) == 0
        assert_summaries_match(session)

    # A statement typed by hand, outside the app, is seen as well.
    with session.get_bind().begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE referrals SET naloxone_supplied = NOT naloxone_supplied "
                "WHERE naloxone_offered AND referred_on >= :day"
            ),
            {"day": dt.date(2026, 5, 1)},
        )
    assert_summaries_match(session)


def test_published_figures_from_summaries_equal_those_from_the_referrals(demo, monkeypatch):
    session = demo
    change_at_random(session, random.Random(12), changes=40)
    settings = Settings(as_of=AS_OF)
    from_summaries = build(session, settings)
    session.commit()
    for name in ("unit_rows", "wait_rows", "reason_rows"):
        monkeypatch.setattr(figures, name, getattr(measures, name))
    from_referrals = build(session, settings)
    assert from_summaries.parts and from_summaries.parts == from_referrals.parts
    assert from_summaries.reasons == from_referrals.reasons
    assert from_summaries.ongoing == from_referrals.ongoing
    assert from_summaries.periods == from_referrals.periods


def test_a_new_fact_or_window_rebuilds_every_day(demo):
    session = demo
    summaries.refresh(session)
    session.commit()
    # Another engagement window makes other profiles: everything is added up again.
    wider = summaries.refresh(session, engagement_days=42)
    session.commit()
    assert wider.everything
    assert_summaries_match(session, Window(last=WINDOW.last, engagement_days=42))


def test_rebuild_summaries_command_says_what_it_did(demo, runner):
    result = runner.invoke(args=["rebuild-summaries"])
    assert result.exit_code == 0, result.output
    assert "rebuilt for every day" in result.output
    assert "already up to date" in runner.invoke(args=["rebuild-summaries"]).output
    forced = runner.invoke(args=["rebuild-summaries", "--all"])
    assert "rebuilt for every day" in forced.output
    referral = demo.scalar(sa.select(Referral).order_by(Referral.id).limit(1))
    referral.naloxone_supplied = referral.naloxone_offered and not referral.naloxone_supplied
    referral.version += 1
    demo.commit()
    assert "1 day added up again" in runner.invoke(args=["rebuild-summaries"]).output


def test_a_change_saved_while_the_summaries_are_refreshed_is_not_lost(demo, monkeypatch):
    session = demo
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite lets no other writer in while a refresh runs")
    summaries.refresh(session)
    session.commit()
    referral = session.scalar(
        sa.select(Referral).where(Referral.accepted_on.is_(None)).order_by(Referral.id).limit(1)
    )
    day, referral_id = referral.referred_on, referral.id
    referral.version += 1
    session.commit()  # the day is marked: the refresh below adds it up again
    fill = summaries._fill

    def meanwhile_a_provider_accepts(*args):
        # Another server saves an acceptance after the refresh has read the marks.
        with session.get_bind().begin() as connection:
            connection.execute(
                sa.update(Referral.__table__)
                .where(Referral.id == referral_id)
                .values(accepted_on=day + dt.timedelta(days=1), status="accepted")
            )
        monkeypatch.setattr(summaries, "_fill", fill)
        fill(*args)

    monkeypatch.setattr(summaries, "_fill", meanwhile_a_provider_accepts)
    summaries.refresh(session)
    session.commit()
    assert day in set(session.scalars(sa.select(summaries.changes.c.day)))
    assert_summaries_match(session)


def test_every_referral_is_counted_whatever_its_sex_or_age_band(demo):
    """Men and people whose sex is not recorded, and the youngest and oldest age bands,
    share a group in the disclosure control: each of them still counts once."""
    session = demo
    published = build(session, Settings(as_of=AS_OF))
    years = [p for p in published.periods.values() if p["kind"] == "rolling_year"]
    assert years
    r = Referral
    for period in years:
        within = (
            r.referred_on >= dt.date.fromisoformat(period["start"]),
            r.referred_on <= dt.date.fromisoformat(period["end"]),
            measures.counted(),
        )
        made = session.scalar(sa.select(sa.func.count()).where(*within))
        shared = sa.or_(r.sex == "not_known", r.age_band.in_(["under_18", "65_plus"]))
        assert session.scalar(sa.select(sa.func.count()).where(*within, shared)) > 0
        for family in ("area", "suite", "service"):
            national = published.parts[(family, period["code"], "all")]["national"]
            assert national["referrals"] == made, (family, period["code"])
