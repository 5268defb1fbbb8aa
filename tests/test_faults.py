"""Faults the app will meet in service: the database going away and coming back, a worker
killed in the middle of saving a referral, an import failing half way, two providers
changing one referral at the same moment, and a database that cannot write."""

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from referrals.choices import Role
from referrals.errors import cannot_save
from referrals.extensions import db
from referrals.models import AuditEvent, Organisation, Referral, ReferralEvent, Service

from .conftest import TEST_DATA_KEY, make_app
from .factories import PASSWORD, make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in
from .test_directory_import import GOOD, csv_file, upload_services, write
from .test_referrals import referral_form

ROOT = Path(__file__).resolve().parent.parent


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    data = SimpleNamespace(
        service=make_service(session, organisation=org, name="Glasgow MAT"),
        custody=make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
        provider=make_user(session, Role.PROVIDER, email="p@t.example", organisation=org),
        colleague=make_user(session, Role.PROVIDER, email="q@t.example", organisation=org),
    )
    session.commit()
    return data


# -- the database goes away and comes back ---------------------------------------------


def _check_down_then_up(client, take_down, bring_back):
    assert client.get("/healthz").status_code == 200
    take_down()
    try:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json == {"status": "unavailable", "database": "not answering"}
        page = client.post("/login", data={"email": "nobody@t.example", "password": "x"})
        assert page.status_code == 503
        assert "The database is not answering" in page.get_data(as_text=True)
    finally:
        bring_back()
    # the same app, not restarted, answers again
    assert client.get("/healthz").status_code == 200
    page = client.post("/login", data={"email": "nobody@t.example", "password": "x"})
    assert page.status_code == 401  # an ordinary wrong sign-in again


def _drop_cut_connections(kept_apps) -> None:
    """The suite's own apps held connections the cut ended too: let them start afresh,
    as every worker's pool does after the first request that meets a cut connection."""
    for kept in kept_apps:
        with kept.app_context():
            db.session.remove()
            db.engine.dispose()


def test_database_goes_away_and_comes_back(database_url, app_factory, tmp_path, _kept_apps):
    if is_postgresql(database_url):
        app = app_factory()
        url = sa.engine.make_url(database_url)
        name = url.database
        # from the server's maintenance database: a database cannot shut itself
        control_url = url.set(database="postgres")
        control = sa.create_engine(control_url, isolation_level="AUTOCOMMIT").connect()

        def take_down():  # as a restart does: connections cut, new ones refused
            control.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            control.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )

        def bring_back():
            control.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))

        try:
            _check_down_then_up(app.test_client(), take_down, bring_back)
        finally:
            control.close()
            control.engine.dispose()
            _drop_cut_connections(_kept_apps)
    else:
        # A database file on a volume that disappears and comes back. Each request opens
        # the file afresh, as it must after such an outage.
        folder = tmp_path / "volume"
        folder.mkdir()
        url = f"sqlite:///{folder}/referrals.sqlite"
        app = app_factory(url, SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool})
        with app.app_context():
            db.create_all()
        away = tmp_path / "unmounted"
        _check_down_then_up(
            app.test_client(), lambda: folder.rename(away), lambda: away.rename(folder)
        )


def _cut_connections(database_url: str) -> None:
    """End every connection to the test database from outside, as a restart of the
    database or a firewall dropping idle connections does."""
    url = sa.engine.make_url(database_url)
    control = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with control.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": url.database},
            )
    finally:
        control.dispose()


def test_a_connection_cut_while_the_app_was_quiet_is_replaced_unseen(
    database_url, app_factory, monkeypatch, _kept_apps
):
    """The database restarted while nobody used the app: the next request gets a fresh
    connection, not an error page. A connection in steady use is not tested each time."""
    if not is_postgresql(database_url):
        pytest.skip("each SQLite request opens the file itself")
    from referrals import database

    app = app_factory()
    client = app.test_client()
    with app.app_context():
        dialect = db.engine.dialect
    pings = []
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda c: pings.append(1) or real_ping(c))
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 60.0)  # however slow the run
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert pings == []  # reused at once: not tested
    _cut_connections(database_url)
    _drop_cut_connections(_kept_apps)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # as after a quiet spell
    assert client.get("/healthz").status_code == 200
    page = client.post("/login", data={"email": "nobody@t.example", "password": "x"})
    assert page.status_code == 401  # an ordinary wrong sign-in, not "not answering"
    assert pings


# -- a worker is killed while saving a referral ------------------------------------------

SAVER = """
import json, sys, time
import sqlalchemy as sa
from sqlalchemy.orm import Session
from referrals import create_app
from referrals.models import Referral

url, email, password, form, moment = sys.argv[1:6]
app = create_app({
    "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url,
    "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "MAP_TILES_URL": "",
    "GEOCODER": "", "DATA_ENCRYPTION_KEYS": sys.argv[6],
})

def stop_here(session, *args):
    print("STOPPED", flush=True)
    time.sleep(120)

if moment == "after_flush":
    @sa.event.listens_for(Session, "after_flush")
    def after_flush(session, context):
        if any(isinstance(o, Referral) for o in session.new):
            stop_here(session)
else:
    @sa.event.listens_for(Session, "after_commit")
    def after_commit(session):
        if session.info.pop("saving_referral", False):
            stop_here(session)

    @sa.event.listens_for(Session, "after_flush")
    def mark(session, context):
        if any(isinstance(o, Referral) for o in session.new):
            session.info["saving_referral"] = True

client = app.test_client()
assert client.post("/login", data={"email": email, "password": password}).status_code == 302
from tests.test_auth import next_code
code = next_code(app, email)
assert client.post("/login/verify", data={"code": code}).status_code == 302
response = client.post("/referrals/new", data=json.loads(form))
print("ANSWERED", response.status_code, flush=True)
"""


def _kill_while_saving(database_url: str, people, moment: str) -> None:
    form = json.dumps(referral_form(people.service.id))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SAVER,
            database_url,
            "c@t.example",
            PASSWORD,
            form,
            moment,
            TEST_DATA_KEY,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in child.stdout], daemon=True)
    reader.start()
    try:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            line = "(nothing)"
        if line.strip() != "STOPPED":
            child.kill()
            pytest.fail(f"the save did not reach the moment to stop: {line}{child.stderr.read()}")
        child.send_signal(signal.SIGKILL)  # no clean-up, no rollback: the process is gone
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        reader.join(timeout=10)
        child.stdout.close()
        child.stderr.close()


def test_worker_killed_mid_save_leaves_no_trace(database_url, client, session, people):
    _kill_while_saving(database_url, people, "after_flush")
    assert count(session, Referral) == 0
    assert count(session, ReferralEvent) == 0
    assert "referral_created" not in session.scalars(sa.select(AuditEvent.action)).all()
    # nothing is left locked: the next referral is saved normally
    sign_in(client, "c@t.example")
    response = client.post("/referrals/new", data=referral_form(people.service.id))
    assert response.status_code == 302
    assert count(session, Referral) == 1 and count(session, ReferralEvent) == 1


def test_worker_killed_just_after_the_save_leaves_the_whole_referral(
    database_url, session, people
):
    _kill_while_saving(database_url, people, "after_commit")
    referral = session.scalar(sa.select(Referral))
    assert referral is not None and referral.status == "made"
    assert [e.to_status for e in referral.events] == ["made"]
    assert "referral_created" in session.scalars(sa.select(AuditEvent.action)).all()


# -- an import fails half way -------------------------------------------------------------


def _fail_on_insert(engine, table: str, after: int):
    """Make the database fail on the INSERT that brings the rows inserted into ``table`` to
    ``after`` (as a full disk or a dropped connection would)."""
    seen = {"n": 0}

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            # Rows, not statements: an import sends many rows in one INSERT.
            seen["n"] += statement.count("), (") + 1
            if seen["n"] >= after:
                raise OperationalError(statement, parameters, RuntimeError("disk I/O error"))

    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    return seen


def run_command(url: str, args: list[str], prepare=None):
    """Run a command-line command against the database at ``url`` (in an app of its own)."""
    app = make_app(url)
    with app.app_context():
        if prepare:
            prepare(db.engine)
        try:
            return app.test_cli_runner().invoke(args=args)
        finally:
            db.session.remove()
            db.engine.dispose()


def _thirty_services(tmp_path) -> str:
    rows = [GOOD | {"external_id": f"ext-{n}", "name": f"Imported Service {n}"} for n in range(30)]
    return write(tmp_path, csv_file(rows))


def test_command_line_import_failing_half_way_imports_nothing(database_url, session, tmp_path):
    seen = {}
    result = run_command(
        database_url,
        ["import-services", _thirty_services(tmp_path)],
        prepare=lambda engine: seen.update(counts=_fail_on_insert(engine, "locations", 15)),
    )
    seen = seen["counts"]
    assert seen["n"] >= 15  # the failure really came half way through
    assert result.exit_code == 1
    assert "Nothing was imported: the database stopped the import (disk I/O error)" in (
        result.output
    )
    assert count(session, Service) == 0 and count(session, Organisation) == 0


def test_upload_failing_half_way_imports_nothing(app_factory, session, tmp_path):
    app = app_factory()  # an app of its own: its database is made to fail
    client = app.test_client()
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    sign_in(client, "a@t.example")
    path = _thirty_services(tmp_path)
    with app.app_context():
        _fail_on_insert(db.engine, "locations", after=15)
    with open(path, "rb") as handle:
        response = upload_services(client, handle)
    assert response.status_code == 503
    assert "Nothing you were doing has been half-saved" in response.get_data(as_text=True)
    assert count(session, Service) == 0 and count(session, Organisation) == 0


# -- two providers change the same referral at the same moment ------------------------------


def test_two_providers_at_once_one_wins_the_other_is_told(app, session, people, today):
    referral_id = make_referral(session, service=people.service, referrer=people.custody).id
    session.commit()
    first, second = app.test_client(), app.test_client()
    sign_in(first, "p@t.example")
    sign_in(second, "q@t.example")
    # Hold both requests just before they write, after both have read version 1, so that
    # they really do collide.
    both_read = threading.Barrier(2, timeout=20)

    @sa.event.listens_for(Session, "before_flush")
    def wait_for_the_other(flushing, context, instances):
        if any(isinstance(o, Referral) for o in flushing.dirty):
            both_read.wait()

    answers: dict[str, object] = {}

    def post(name, client, action, extra):
        data = {f"{action}-version": "1", f"{action}-on": today.isoformat(), **extra}
        answers[name] = client.post(f"/referrals/{referral_id}/{action}", data=data)

    threads = [
        threading.Thread(target=post, args=("accept", first, "accept", {})),
        threading.Thread(
            target=post,
            args=(
                "decline",
                second,
                "decline",
                {"decline-reason": "no_capacity", "decline-declined_by": "provider"},
            ),
        ),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sa.event.remove(Session, "before_flush", wait_for_the_other)
    codes = sorted(answers[name].status_code for name in ("accept", "decline"))
    assert codes == [302, 409]
    loser = next(a for a in answers.values() if a.status_code == 409)
    html = loser.get_data(as_text=True)
    assert "This referral was changed by someone else" in html
    session.expire_all()
    saved = session.get(Referral, referral_id)
    winner = "accept" if answers["accept"].status_code == 302 else "decline"
    assert saved.status == {"accept": "accepted", "decline": "declined"}[winner]
    assert saved.version == 2
    assert [e.to_status for e in saved.events] == ["made", saved.status]


# -- the database cannot write (read-only, or disk full) -------------------------------------


def _read_only_url(database_url: str) -> str:
    if is_postgresql(database_url):
        joiner = "&" if "?" in database_url else "?"
        return f"{database_url}{joiner}options=-c%20default_transaction_read_only%3Don"
    path = sa.engine.make_url(database_url).database
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def test_read_only_database_gives_a_clear_error_and_reading_still_works(
    database_url, app_factory, session, people
):
    app = app_factory(_read_only_url(database_url))
    client = app.test_client()
    search = client.get("/services?q=G31")
    assert search.status_code == 200 and "Glasgow MAT" in search.get_data(as_text=True)
    response = sign_in(client, "c@t.example")  # signing in records the sign-in
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "Changes cannot be saved at the moment" in html
    assert "read-only or out of disk space" in html
    assert "Nothing you entered has been saved" in html


def test_read_only_database_refuses_an_import_clearly(database_url, session, tmp_path):
    result = run_command(
        _read_only_url(database_url), ["import-services", _thirty_services(tmp_path)]
    )
    assert result.exit_code == 1
    assert "Nothing was imported: the database stopped the import" in result.output
    assert "read" in result.output.lower()  # the database's own words: read-only
    assert count(session, Service) == 0


@pytest.mark.parametrize(
    "orig, expected",
    [
        (SimpleNamespace(sqlstate="53100"), True),  # PostgreSQL: disk full
        (SimpleNamespace(sqlstate="25006"), True),  # PostgreSQL: read-only transaction
        (RuntimeError("database or disk is full"), True),  # SQLite
        (RuntimeError("attempt to write a readonly database"), True),  # SQLite
        (RuntimeError("unable to open database file"), False),  # unavailable, not full
        (SimpleNamespace(sqlstate="57P01"), False),  # PostgreSQL: shut down
    ],
)
def test_disk_full_and_read_only_are_told_apart_from_an_outage(orig, expected):
    assert cannot_save(SimpleNamespace(orig=orig)) is expected


def test_a_database_error_never_carries_the_values_sent_with_it(app):
    """A statement that fails raises an error whose text, as the error log writes it,
    names no value sent with the statement (a person's email address or phone)."""
    with app.app_context():
        with pytest.raises(sa.exc.StatementError) as raised:
            db.session.execute(
                sa.text("SELECT no_such_column FROM users WHERE email = :email OR name = :phone"),
                {"email": "person@example.org", "phone": "07700 900123"},
            )
        db.session.rollback()
    text = str(raised.value)
    assert "no_such_column" in text
    assert "07700" not in text and "person@example.org" not in text
