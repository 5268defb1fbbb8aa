"""Fixtures: one database per test session (SQLite, or PostgreSQL when
``TEST_DATABASE_URL`` is set), built by the migrations with the reference data loaded;
a fresh app per test; and every table but the reference ones emptied after each test.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from referrals import create_app
from referrals.config import normalise_database_url
from referrals.database import reset_schema
from referrals.extensions import db
from referrals.seed.reference import load_reference

REFERENCE_TABLES = (
    "service_types",
    "area_groups",
    "council_areas",
    "postcode_districts",
    "places",
    "custody_suites",
    "nation_settings",
    "area_tiles",
)


# A fixed key for the tests' personal data (every app of a test run reads the same rows).
TEST_DATA_KEY = "SatPuvNgSCVRLZ0PF8Vs65idQEkitcW9tCX4DwvSdic="


def make_app(database_url: str, **overrides) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATA_ENCRYPTION_KEYS": TEST_DATA_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "MAP_TILES_URL": "",
        "GEOCODER": "",
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        reset_schema(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    app = make_app(url)
    with app.app_context():
        upgrade()
        load_reference(db.session)
        db.session.commit()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def reference_counts(database_url) -> dict[str, int]:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in REFERENCE_TABLES
        }
    engine.dispose()
    return counts


def _clean(reference_counts: dict[str, int]) -> None:
    """Empty every table except the reference ones; reload those if a test changed them."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    keep = set(REFERENCE_TABLES)
    with db.engine.begin() as connection:
        current = {
            t: connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in REFERENCE_TABLES
        }
        reference_changed = current != reference_counts
        doomed = [t.name for t in tables if reference_changed or t.name not in keep]
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {', '.join(doomed)} RESTART IDENTITY CASCADE"))
        else:
            for name in doomed:
                connection.execute(sa.text(f"DELETE FROM {name}"))
    if reference_changed:
        load_reference(db.session)
        db.session.commit()


@pytest.fixture
def app(database_url, reference_counts) -> Iterator[Flask]:
    app = make_app(database_url)
    yield app
    with app.app_context():
        db.session.remove()
        _clean(reference_counts)
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url):
    """Make extra apps (e.g. with other settings); their connections close afterwards."""
    made: list[Flask] = []

    def factory(url: str | None = None, **overrides) -> Flask:
        new = make_app(url or database_url, **overrides)
        made.append(new)
        return new

    yield factory
    for made_app in made:
        with made_app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app, database_url):
    """A database session for the test itself.

    It belongs to a separate app instance, so the test's app context never leaks into
    the requests the test makes (each request gets a fresh context and ``g``, exactly
    as in production). Expire objects to see what a request changed.
    """
    own = make_app(database_url)
    with own.app_context():
        yield db.session
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def today() -> dt.date:
    return dt.date.today()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)
