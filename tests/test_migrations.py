"""The migrations build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from referrals.extensions import db
from referrals.reports.contact_marks import CONTACTS, IN_ERROR_TRIGGER, PASSED_ON_TRIGGERS
from referrals.reports.summary_marks import REFERRALS
from referrals.spatial import include_name

from .conftest import make_app


def drift(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_name}
    )
    return compare_metadata(context, db.metadata)


def test_migrated_database_matches_the_models(app):
    # The session database was built by running the migrations (see conftest).
    with app.app_context(), db.engine.connect() as connection:
        assert drift(connection) == []


# The triggers that mark the days the summaries must add up again: schema comparison
# does not see them, and SQLite loses a table's triggers when a migration makes it again.
MARKING = {*REFERRALS.triggers, *CONTACTS.triggers}
# and the referrals' closings in error, and the referrals passed on added or removed
HEAD_MARKING = {*MARKING, IN_ERROR_TRIGGER, *PASSED_ON_TRIGGERS}


def triggers(connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return set(connection.exec_driver_sql(query).scalars())


def marks_passed_on_from(connection) -> bool:
    """Whether closing a referral as entered in error marks, on SQLite, the day of the
    referral it was passed on from (which may count again)."""
    sql = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE name = ?", (IN_ERROR_TRIGGER,)
    ).scalar()
    return "WHERE id = NEW.referred_from_id" in sql


def test_migrated_database_marks_the_days_changes_touch(app):
    with app.app_context(), db.engine.connect() as connection:
        assert triggers(connection) >= HEAD_MARKING


def test_migrations_run_down_and_up_again_on_an_empty_database(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"referrals", "referral_events", "services", "audit_events"} <= tables
        with db.engine.connect() as connection:
            assert drift(connection) == []
            assert triggers(connection) >= HEAD_MARKING
            assert marks_passed_on_from(connection)
        downgrade(revision="8d2f5a1c3e47")  # before a referral referred on could count
        with db.engine.connect() as connection:
            assert IN_ERROR_TRIGGER in triggers(connection)
            assert not marks_passed_on_from(connection)
            assert not set(PASSED_ON_TRIGGERS) & triggers(connection)
        downgrade(revision="4c8e1f6a2b93")  # before the referrals' closings were marked
        with db.engine.connect() as connection:
            assert IN_ERROR_TRIGGER not in triggers(connection)
            assert triggers(connection) >= MARKING
        downgrade(revision="9e2c4a7b1d05")  # the one undone made the referrals table again
        with db.engine.connect() as connection:
            assert triggers(connection) >= MARKING
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade()
        with db.engine.connect() as connection:
            assert drift(connection) == []
            assert triggers(connection) >= HEAD_MARKING
            assert marks_passed_on_from(connection)
        db.engine.dispose()


def test_referrals_passed_on_before_take_the_custody_kit_from_the_one_they_came_from(tmp_path):
    """The data migration that gives referrals passed on before the naloxone kit of
    the one they came from, along chains passed on more than once, and no other."""
    from referrals.choices import Role
    from referrals.models import Referral
    from referrals.seed.reference import load_reference

    from .factories import make_organisation, make_referral, make_service, make_user, suite

    app = make_app(f"sqlite:///{tmp_path / 'chains.sqlite'}")
    with app.app_context():
        # Built at the head (the models are), then taken back to before the migration.
        upgrade()
        session = db.session
        load_reference(session)
        service = make_service(session, organisation=make_organisation(session, "Harbour"))
        custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))

        def chain(steps: int, supplied: bool) -> list[int]:
            made = [make_referral(session, service=service, referrer=custody)]
            made[0].naloxone_offered = made[0].naloxone_supplied = supplied
            for _ in range(steps):
                made[-1].status, made[-1].close_reason = "closed", "referred_on"
                made.append(
                    make_referral(
                        session, service=service, referrer=custody, referred_from_id=made[-1].id
                    )
                )
            session.flush()
            return [r.id for r in made]

        twice, once, without = chain(2, True), chain(1, True), chain(1, False)
        lone = make_referral(session, service=service, referrer=custody).id
        session.commit()
        before = {r.id: (r.version, r.updated_at) for r in session.scalars(sa.select(Referral))}
        session.close()
        downgrade(revision="6b1d8e3f5a20")
        upgrade()
        session.expire_all()
        kits = {
            r.id: (r.naloxone_offered, r.naloxone_supplied)
            for r in session.scalars(sa.select(Referral))
        }
        # Those given a kit are a new version, changed now (systems keeping copies see
        # them); the rest are untouched.
        changed = {
            r.id
            for r in session.scalars(sa.select(Referral))
            if r.version == before[r.id][0] + 1 and r.updated_at > before[r.id][1]
        }
        assert changed == {*twice[1:], *once[1:]}
        assert [kits[i] for i in twice] == [(True, True)] * 3
        assert [kits[i] for i in once] == [(True, True)] * 2
        assert [kits[i] for i in without] == [(False, False)] * 2
        assert kits[lone] == (False, False)
        db.engine.dispose()


def test_referrals_erased_before_lose_how_the_person_asked_to_be_contacted(tmp_path):
    """The migration that lets the retention job erase the preferred contact method
    erases it from the referrals erased before, as a new version; the rest keep theirs."""
    import datetime as dt

    from referrals.choices import Role
    from referrals.models import Referral
    from referrals.seed.reference import load_reference

    from .factories import make_organisation, make_referral, make_service, make_user, suite

    app = make_app(f"sqlite:///{tmp_path / 'erased.sqlite'}")
    with app.app_context():
        upgrade()
        session = db.session
        load_reference(session)
        service = make_service(session, organisation=make_organisation(session, "Harbour"))
        custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
        erased = make_referral(
            session,
            service=service,
            referrer=custody,
            contact_method="self_present",
            personal_data_erased_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        )
        kept = make_referral(session, service=service, referrer=custody, contact_method="text")
        session.commit()
        versions = {erased.id: erased.version, kept.id: kept.version}
        session.close()
        downgrade(revision="9e2c4a7b1d05")
        upgrade()
        found = {r.id: r for r in session.scalars(sa.select(Referral))}
        assert found[erased.id].contact_method is None
        assert found[erased.id].version == versions[erased.id] + 1
        assert found[kept.id].contact_method == "text"
        assert found[kept.id].version == versions[kept.id]
        db.engine.dispose()
