"""Demo data: the fictional directory, the demo accounts and the referral generator."""

import datetime as dt
import hashlib
import itertools
import re
from collections import defaultdict

import pytest
import sqlalchemy as sa

from referrals.choices import Need, Role, ServiceStatus, Substance
from referrals.contacts.models import CustodyContact
from referrals.models import (
    CouncilArea,
    Location,
    Referral,
    ReferralEvent,
    Service,
    ServiceType,
    User,
    service_type_links,
)
from referrals.seed.demo import DemoRefused, load_demo
from referrals.seed.demo_directory import CITY_CODES, RURAL_CODES
from referrals.statistics import wilson

AS_OF = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC)


def load(session, referrals=300, seed=1, reset=False):
    report = load_demo(session, referrals=referrals, seed=seed, as_of=AS_OF, reset=reset, now=NOW)
    session.commit()
    return report


def table_digest(session, table, order_by="id"):
    digest = hashlib.sha256()
    rows = session.execute(sa.select(table).order_by(sa.text(order_by)))
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def referral_digest(session):
    referrals = Referral.__table__
    events = ReferralEvent.__table__
    contacts = CustodyContact.__table__
    return (
        table_digest(session, referrals),
        table_digest(
            session,
            sa.select(*[c for c in events.c if c.name != "id"]).subquery(),
            order_by="referral_id, at, to_status",
        ),
        table_digest(
            session,
            sa.select(*[c for c in contacts.c if c.name != "id"]).subquery(),
            order_by="custody_suite_id, contact_on, recorded_at, referral_id, age_band, sex, "
            "outcome, naloxone, council_area_id, postcode_district",
        ),
    )


def test_demo_directory_is_large_uneven_and_complete(session):
    load(session, referrals=0)
    services = session.scalars(sa.select(Service)).all()
    assert len(services) >= 200
    assert all("demo data" in s.description.lower() for s in services)
    # Every council area has at least one service located in it.
    located = set(session.scalars(sa.select(Location.council_area_id)))
    assert located == set(session.scalars(sa.select(CouncilArea.id)))
    # Every service type of the taxonomy is offered somewhere.
    offered = set(session.scalars(sa.select(service_type_links.c.service_type_id)))
    assert offered == set(session.scalars(sa.select(ServiceType.id)))
    # Rural areas are sparser than cities, per head of population.
    per_council = defaultdict(int)
    for council_id in session.scalars(sa.select(Location.council_area_id)):
        per_council[council_id] += 1
    councils = session.scalars(sa.select(CouncilArea)).all()

    def density(codes):
        chosen = [c for c in councils if c.code in codes]
        return sum(per_council[c.id] for c in chosen) / sum(c.population for c in chosen)

    assert density(RURAL_CODES) < 0.8 * density(CITY_CODES)
    # Statuses, stale listings, alerts and confidential addresses all occur.
    statuses = {s.status for s in services}
    assert statuses == set(ServiceStatus)
    assert any(s.confidential_address for s in services)
    assert any(s.alert for s in services)
    stale = [s for s in services if (AS_OF - s.last_verified_on).days > 180]
    assert 0 < len(stale) < len(services) / 2
    # Fictional contact details only.
    assert all(s.phone.startswith(("01632 960", "0141 496", "0131 496")) for s in services)
    assert all(s.email.endswith(".example") for s in services)


def test_demo_accounts_have_the_published_password_and_roles(session):
    load(session, referrals=0)
    for email, role in [
        ("custody@demo.test", Role.CUSTODY),
        ("provider@demo.test", Role.PROVIDER),
        ("lead@demo.test", Role.LEAD),
        ("admin@demo.test", Role.ADMIN),
    ]:
        user = session.scalar(sa.select(User).where(User.email == email))
        assert user.role == role and user.active
        assert user.check_password("demo-password")
        assert not user.check_password("wrong")
    custody = session.scalar(sa.select(User).where(User.email == "custody@demo.test"))
    assert custody.custody_suite.code == "GLA-LR"
    provider = session.scalar(sa.select(User).where(User.email == "provider@demo.test"))
    assert provider.organisation is not None
    lead = session.scalar(sa.select(User).where(User.email == "lead@demo.test"))
    assert [a.name for a in lead.areas] == ["Glasgow City"]
    # Stand-in accounts cannot sign in.
    stand_ins = session.scalars(sa.select(User).where(~User.active)).all()
    assert stand_ins and not any(u.check_password("demo-password") for u in stand_ins)


def test_seed_demo_twice_changes_nothing(session):
    first = load(session, referrals=200)
    assert first.changed
    services = table_digest(session, Service.__table__)
    users = table_digest(session, User.__table__)
    referrals = referral_digest(session)
    second = load(session, referrals=200)
    assert not second.changed
    assert "nothing changed" in second.lines[-1]
    session.expire_all()
    assert table_digest(session, Service.__table__) == services
    assert table_digest(session, User.__table__) == users
    assert referral_digest(session) == referrals


def test_seed_demo_command_prints_what_it_did(runner, app):
    result = runner.invoke(args=["seed-demo", "--referrals", "50", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Demo accounts: custody@demo.test" in result.output
    assert "Demo referrals: 50 referrals" in result.output
    again = runner.invoke(args=["seed-demo", "--referrals", "50", "--seed", "3"])
    assert again.exit_code == 0
    assert "already loaded" in again.output
    different = runner.invoke(args=["seed-demo", "--referrals", "60", "--seed", "3"])
    assert different.exit_code != 0
    assert "Add --reset to replace them" in different.output


def test_generator_is_deterministic_for_a_seed(session):
    load(session, referrals=400, seed=11)
    first = referral_digest(session)
    load(session, referrals=400, seed=11, reset=True)
    assert referral_digest(session) == first
    load(session, referrals=400, seed=12, reset=True)
    assert referral_digest(session) != first


def test_refuses_to_mix_demo_data_into_a_real_database(session):
    real = User(email="real.person@police.example", name="Real", role=Role.ADMIN)
    real.set_password("a long real password")
    session.add(real)
    session.commit()
    with pytest.raises(DemoRefused, match="real accounts"):
        load(session)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Service)) == 0


def test_generated_lifecycles_are_consistent(session):
    load(session, referrals=1500, seed=5)
    referrals = session.scalars(sa.select(Referral)).all()
    assert len(referrals) == 1500
    events = defaultdict(list)
    for event in session.scalars(sa.select(ReferralEvent).order_by(ReferralEvent.id)):
        events[event.referral_id].append(event)
    statuses = defaultdict(int)
    for r in referrals:
        statuses[r.status] += 1
        assert AS_OF - dt.timedelta(days=731) <= r.referred_on <= AS_OF
        assert r.consent_recorded and r.consent_date == r.referred_on
        dates = [
            r.referred_on,
            r.accepted_on or r.declined_on,
            r.engaged_on,
            r.treatment_started_on,
            r.closed_on,
        ]
        present = [d for d in dates if d is not None]
        assert present == sorted(present) and present[-1] <= AS_OF
        trail = events[r.id]
        assert trail[0].to_status == "made" and trail[0].from_status is None
        assert trail[-1].to_status == r.status
        assert r.version == len(trail)
        for before, after in itertools.pairwise(trail):
            assert after.from_status == before.to_status
            assert after.event_date >= before.event_date
            assert after.at >= before.at
        assert all(e.at <= NOW for e in trail)
        if r.engaged_on:
            assert r.accepted_on
        if r.treatment_started_on:
            assert r.engaged_on
        if r.status == "declined":
            assert r.declined_by and r.decline_reason
    # Every state of the lifecycle occurs, including recent referrals still awaiting
    # a response and some entered in error.
    assert set(statuses) == {
        "made",
        "accepted",
        "engaged",
        "treatment_started",
        "declined",
        "closed",
    }
    assert any(r.close_reason == "entered_in_error" for r in referrals)


def test_generated_codes_are_all_allowed_values(session):
    """The bulk load skips per-row CHECKs on SQLite, so check every coded column here."""
    load(session, referrals=3000, seed=9)
    for table in (Referral.__table__, ReferralEvent.__table__, CustodyContact.__table__):
        for column in table.columns:
            if not isinstance(column.type, sa.Enum):
                continue
            found = set(
                session.scalars(sa.text(f"SELECT DISTINCT {column.name} FROM {table.name}"))
            )
            assert found - {None} <= set(column.type.enums), (table.name, column.name)
    substances = {
        c for row in session.scalars(sa.select(Referral.substances)) for c in row.split(",")
    }
    assert substances <= set(Substance.values())
    needs = {c for row in session.scalars(sa.select(Referral.needs)) for c in row.split(",")}
    assert needs <= set(Need.values())


def test_engagement_genuinely_differs_between_areas(session):
    load(session, referrals=6000, seed=1)
    window_end = AS_OF - dt.timedelta(days=28)
    counts = defaultdict(lambda: [0, 0])
    for council_id, referred_on, engaged_on in session.execute(
        sa.select(Referral.council_area_id, Referral.referred_on, Referral.engaged_on).where(
            Referral.referred_on <= window_end
        )
    ):
        counts[council_id][0] += 1
        if engaged_on is not None and (engaged_on - referred_on).days <= 28:
            counts[council_id][1] += 1
    rows = [(council, n, x) for council, (n, x) in counts.items() if n >= 150]
    assert len(rows) >= 5
    intervals = [(wilson(x, n), x / n) for _, n, x in rows]
    lowest = min(intervals, key=lambda i: i[1])
    highest = max(intervals, key=lambda i: i[1])
    assert highest[1] - lowest[1] > 0.15
    # The intervals of the best and worst areas do not even overlap.
    assert lowest[0].high < highest[0].low


def test_the_share_of_offers_declined_differs_by_suite(session):
    load(session, referrals=4000, seed=1)
    offers = defaultdict(lambda: [0, 0])
    for suite_id, outcome in session.execute(
        sa.select(CustodyContact.custody_suite_id, CustodyContact.outcome).where(
            CustodyContact.offered
        )
    ):
        offers[suite_id][0] += 1
        offers[suite_id][1] += outcome == "referral_made"
    rows = [(n, x) for n, x in offers.values() if n >= 200]
    assert len(rows) >= 5
    rates = sorted((x / n, wilson(x, n)) for n, x in rows)
    (low, low_ci), (high, high_ci) = rates[0], rates[-1]
    assert high - low > 0.15
    assert low_ci.high < high_ci.low  # the lottery is real, not noise


def test_bulk_generation_leaves_database_checks_on(app):
    from referrals.extensions import db

    with app.app_context():
        load_demo(db.session, referrals=0, seed=1, as_of=AS_OF, now=NOW)
        db.session.commit()
        load_demo(db.session, referrals=60_000, seed=1, as_of=AS_OF, now=NOW, reset=True)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 60_000
        db.session.remove()
        # Indexes dropped for the load are back.
        names = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("referrals")}
        assert {"ix_referrals_measures", "ix_referrals_referrer_id"} <= names
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw.execute("PRAGMA foreign_keys").fetchone() == (1,)
                assert raw.execute("PRAGMA ignore_check_constraints").fetchone() == (0,)
                assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        # CHECK constraints are enforced again.
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE referrals SET status = 'bogus' WHERE id = 1"))


def test_demo_accounts_have_overdue_new_and_open_referrals_and_the_lead_has_targets(
    app, session, client
):
    from referrals.models import Target

    from .test_auth import sign_in

    today = dt.date.today()
    load_demo(session, referrals=300, seed=1, as_of=today, now=dt.datetime.now(dt.UTC))
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 300

    def count(html: str) -> int:
        return int(re.search(r"<p>(\d+) referrals?", html).group(1))

    for email in ("custody@demo.test", "provider@demo.test"):
        client.post("/logout")
        sign_in(client, email, password="demo-password")
        assert count(client.get("/referrals?overdue=y").get_data(as_text=True)) >= 3, email
        made = client.get("/referrals?status=made").get_data(as_text=True)
        assert count(made) >= 6 and "Overdue" in made
        assert count(client.get("/referrals?status=accepted").get_data(as_text=True)) >= 3
        assert count(client.get("/referrals?status=engaged").get_data(as_text=True)) >= 2
    # The showcase referrals go from the custody officer's suite to the provider.
    provider = session.scalar(sa.select(User).where(User.email == "provider@demo.test"))
    custody = session.scalar(sa.select(User).where(User.email == "custody@demo.test"))
    shared = session.scalar(
        sa.select(sa.func.count())
        .select_from(Referral)
        .join(Service)
        .where(
            Referral.custody_suite_id == custody.custody_suite_id,
            Service.organisation_id == provider.organisation_id,
            Referral.status == "made",
            Referral.referred_on >= today - dt.timedelta(days=2),
        )
    )
    assert shared >= 3

    targets = session.scalars(sa.select(Target)).all()
    areas = {(t.geography, t.area_code) for t in targets}
    assert len(areas) >= 8 and len({t.measure for t in targets}) >= 5
    assert {("council", "S12000049"), ("adp", "ADP-GC"), ("police_division", "G")} <= areas
    glasgow = [t for t in targets if t.area_code == "S12000049"]
    assert all(t.set_by.email == "lead@demo.test" for t in glasgow)
    assert any(t.period_start <= today <= t.period_end for t in glasgow)


def test_demo_service_names_are_unique_and_never_repeat_their_organisation(session):
    from referrals.models import Organisation

    load(session, referrals=0)
    rows = session.execute(sa.select(Service.name, Organisation.name).join(Organisation)).all()
    names = [name for name, _ in rows]
    assert len(set(names)) == len(names)
    for name, organisation in rows:
        assert f"({organisation.split()[0]})" not in name, name
    # Two services of the same kind in one town are told apart by their street.
    assert any(re.search(r"Glasgow .+, [A-Z][a-z]+ (Street|Road|Lane)$", n) for n in names)
