"""The migrations build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from referrals.extensions import db
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


def test_migrations_run_down_and_up_again_on_an_empty_database(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"referrals", "referral_events", "services", "audit_events"} <= tables
        with db.engine.connect() as connection:
            assert drift(connection) == []
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade()
        with db.engine.connect() as connection:
            assert drift(connection) == []
        db.engine.dispose()
