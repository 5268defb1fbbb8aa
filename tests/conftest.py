"""Fixtures: one database per test process (SQLite, or PostgreSQL when
``TEST_DATABASE_URL`` is set), built by the migrations with the reference data loaded;
an app whose settings and extensions are restored after each test; and every table but
the reference ones emptied after each test.

Building an app takes longer than most tests (its URL rules are compiled), so each test
process builds two and keeps them: the one the test's requests go to, and the one behind
the test's own ``session``. Tests that need other settings or a fresh app use
``app_factory``.

Under pytest-xdist each worker has a database of its own: a SQLite file in the worker's
temporary folder, or on PostgreSQL a database named after ``TEST_DATABASE_URL``'s with
the worker's id added (``referrals_test_gw0``), dropped and created afresh at the start.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from referrals import create_app
from referrals.config import normalise_database_url
from referrals.database import reset_schema
from referrals.extensions import db
from referrals.security import limiter
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
        "SENDER_DAILY_WORK": False,
    }
    config.update(overrides)
    return create_app(config)


def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist with ``--dist loadgroup`` (as ``make test`` runs it), each file
    of browser tests stays on one worker (a journey follows one referral from custody to
    the provider; each worker running browser tests starts a live server and a browser of
    its own); every other test goes to whichever worker is free."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class BrowserFilesTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith("tests/browser/"):
                return nodeid.split("::", 1)[0]
            return super()._split_scope(nodeid)

    return BrowserFilesTogether(config, log)


def worker_database(url: str, worker: str) -> str:
    """A new, empty PostgreSQL database for one xdist worker, beside the one in ``url``."""
    given = sa.engine.make_url(url)
    name = f"{given.database}_{worker}"
    engine = sa.create_engine(given, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker and url.startswith("postgresql"):
            url = worker_database(url, worker)
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


# Areas an administrator edited (at /admin/areas) carry the time of the edit.
EDITED_AREAS = (
    "SELECT (SELECT COUNT(*) FROM council_areas WHERE edited_at IS NOT NULL)"
    " + (SELECT COUNT(*) FROM area_groups WHERE edited_at IS NOT NULL)"
)


def _reference_state(connection) -> dict[str, int]:
    state = {
        t: connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
        for t in REFERENCE_TABLES
    }
    state["edited areas"] = connection.execute(sa.text(EDITED_AREAS)).scalar_one()
    return state


@pytest.fixture(scope="session")
def reference_counts(database_url) -> dict[str, int]:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        counts = _reference_state(connection)
    engine.dispose()
    return counts


def _clean(reference_counts: dict[str, int]) -> None:
    """Empty every table except the reference ones; reload those if a test changed them."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    keep = set(REFERENCE_TABLES)
    with db.engine.begin() as connection:
        reference_changed = _reference_state(connection) != reference_counts
        doomed = [t.name for t in tables if reference_changed or t.name not in keep]
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {', '.join(doomed)} RESTART IDENTITY CASCADE"))
        else:
            for name in doomed:
                connection.execute(sa.text(f"DELETE FROM {name}"))
    if reference_changed:
        load_reference(db.session)
        db.session.commit()


@pytest.fixture(scope="session")
def _kept_apps(database_url) -> Iterator[tuple[Flask, Flask]]:
    apps = (make_app(database_url), make_app(database_url))
    yield apps
    for kept in apps:
        with kept.app_context():
            db.engine.dispose()


@pytest.fixture
def app(_kept_apps, reference_counts) -> Iterator[Flask]:
    app = _kept_apps[0]
    settings, extensions = dict(app.config), dict(app.extensions)
    # The rate limiter is one object for the process: the last app built (perhaps one
    # with limits on, from app_factory) switched it on or off. Start each test afresh.
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    if limiter.enabled:
        limiter.reset()
    yield app
    app.config.clear()
    app.config.update(settings)
    app.extensions.clear()  # a test may swap one in, like a fake geocoder
    app.extensions.update(extensions)
    with app.app_context():
        db.session.remove()
        _clean(reference_counts)


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
def changes_listed_at_once(app) -> None:
    """The API's lists of changes end now, not ``API_CHANGES_SETTLE_SECONDS`` ago: for
    tests of other things about lists of what they changed a moment before."""
    app.config["API_CHANGES_SETTLE_SECONDS"] = 0


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app, _kept_apps):
    """A database session for the test itself.

    It belongs to a separate app instance, so the test's app context never leaks into
    the requests the test makes (each request gets a fresh context and ``g``, exactly
    as in production). Expire objects to see what a request changed.
    """
    with _kept_apps[1].app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def today() -> dt.date:
    return dt.date.today()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def form_as_shown(html: str, action: str) -> dict[str, list[str]]:
    """The fields of the page's form posting to ``action`` as a browser would send them
    unchanged: text and hidden inputs, ticked boxes, chosen options."""
    start = html.index(f'action="{action}"')
    form = html[start : html.index("</form>", start)]
    data: dict[str, list[str]] = {}
    for tag in re.finditer(r"<input([^>]*)>", form):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))
        name, kind = attrs.get("name"), attrs.get("type", "text")
        if not name or kind in ("submit", "button"):
            continue
        if kind in ("checkbox", "radio"):
            if re.search(r"\bchecked\b", tag.group(1)):
                data.setdefault(name, []).append(attrs.get("value", "y"))
        else:
            data[name] = [unescape(attrs.get("value", ""))]
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = [
            re.search(r'value="([^"]*)"', option).group(1)
            for option in re.findall(r"<option([^>]*)>", select.group(2))
            if re.search(r"\bselected\b", option)
        ]
        if chosen:
            data[select.group(1)] = chosen
    return data
