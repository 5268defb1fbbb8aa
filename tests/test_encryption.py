"""Personal data at rest: a database dump without the key shows no contact name, phone,
notes or custody record number; searching still works through the keyed hash; keys
rotate; the migration encrypts rows that were there before; values written as Fernet
tokens (before AES-GCM) still read, and rotating keys rewrites them."""

import base64
import datetime as dt

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask_migrate import upgrade

from referrals.choices import Role
from referrals.encryption import EncryptionKeyError, Keyring
from referrals.extensions import db
from referrals.models import ListingProblem, Referral, ReferralEvent
from referrals.privacy.keys import rotate_keys

from .conftest import TEST_DATA_KEY, make_app
from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in

SECRETS = ["Jo Bloggs-Secret", "07700 900777", "Lives above the chip shop", "GLA/26/9999"]


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    service = make_service(session, organisation=org, name="Service X")
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    make_user(session, Role.PROVIDER, email="p@t.example", organisation=org)
    make_user(session, Role.ADMIN, email="a@t.example")
    referral = make_referral(
        session,
        service=service,
        referrer=custody,
        contact_name=SECRETS[0],
        contact_phone=SECRETS[1],
        notes=SECRETS[2],
        person_ref=SECRETS[3],
    )
    session.add(
        ReferralEvent(
            referral=referral, to_status="made", event_date=dt.date.today(), note="Sister: Ann"
        )
    )
    session.add(
        ListingProblem(
            service=service,
            category="wrong_phone",
            description="d",
            reporter_contact="reporter@home.example",
        )
    )
    session.commit()
    return {"referral": referral.id, "service": service.id}


def raw_dump(database_url: str) -> str:
    """Every row of every table as stored, as a dump or a stolen backup would show."""
    engine = sa.create_engine(database_url)
    lines = []
    with engine.connect() as connection:
        for table in sa.inspect(engine).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                lines.append(repr(tuple(row)))
    engine.dispose()
    return "\n".join(lines)


def test_a_dump_without_the_key_shows_no_personal_data(database_url, people):
    dump = raw_dump(database_url)
    for secret in [*SECRETS, "Sister: Ann", "reporter@home.example", "GLA/26"]:
        assert secret not in dump, secret
    # AES-GCM values instead, under the first key: each says so in its first bytes.
    referral_id = people["referral"]
    stored = [_stored(database_url, c, referral_id) for c in ("contact_name", "person_ref")]
    header = bytes([2]) + _key_id(TEST_DATA_KEY)
    for token in stored:
        assert base64.urlsafe_b64decode(token)[:5] == header
    assert stored[0] != Keyring([TEST_DATA_KEY]).encrypt(SECRETS[0])  # a fresh nonce each time


def _key_id(key: str) -> bytes:
    token = Keyring([key]).encrypt("x")
    return base64.urlsafe_b64decode(token)[1:5]


def _stored(database_url: str, column: str, referral_id: int) -> str:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        value = connection.execute(
            sa.text(f"SELECT {column} FROM referrals WHERE id = :id"), {"id": referral_id}
        ).scalar()
    engine.dispose()
    return value


def _store(database_url: str, column: str, referral_id: int, token: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"UPDATE referrals SET {column} = :token WHERE id = :id"),
            {"token": token, "id": referral_id},
        )
    engine.dispose()


def test_a_value_written_as_a_fernet_token_still_reads_and_rotates(
    client, app_factory, database_url, session, people
):
    """Values saved before AES-GCM are Fernet tokens under the same key: the page shows
    them, and rotate-keys (with the key unchanged) rewrites them in the new form."""
    referral_id = people["referral"]
    _store(
        database_url,
        "contact_name",
        referral_id,
        Fernet(TEST_DATA_KEY).encrypt(b"Old Form").decode(),
    )
    sign_in(client, "p@t.example")
    assert "Old Form" in client.get(f"/referrals/{referral_id}").text
    same = app_factory(DATA_ENCRYPTION_KEYS=TEST_DATA_KEY)
    with same.app_context():
        assert rotate_keys(db.session) == {"referrals.contact_name": 1}
        assert rotate_keys(db.session) == {}
    token = _stored(database_url, "contact_name", referral_id)
    assert base64.urlsafe_b64decode(token)[:5] == bytes([2]) + _key_id(TEST_DATA_KEY)
    assert "Old Form" in client.get(f"/referrals/{referral_id}").text


def test_fernet_tokens_are_written_while_servers_of_an_earlier_release_run(
    app_factory, database_url, session, people
):
    """DATA_ENCRYPTION_FORM=fernet writes what an earlier release reads (a rolling
    upgrade), and rotate-keys with it rewrites every value as a Fernet token again (the
    way back to such a release); the other servers read both meanwhile."""
    referral_id = people["referral"]
    old_release = Fernet(TEST_DATA_KEY)  # how a release before AES-GCM reads a value
    both = app_factory(DATA_ENCRYPTION_FORM="fernet")
    with both.app_context():
        db.session.get(Referral, referral_id).notes = "Written during the upgrade"
        db.session.commit()
    assert old_release.decrypt(_stored(database_url, "notes", referral_id).encode()) == (
        b"Written during the upgrade"
    )
    with pytest.raises(InvalidToken):  # written before, as AES-GCM
        old_release.decrypt(_stored(database_url, "contact_name", referral_id).encode())
    with both.app_context():
        changed = rotate_keys(db.session)
        assert changed["referrals.contact_name"] == 1 and "referrals.notes" not in changed
        assert rotate_keys(db.session) == {}
    for column, value in (("contact_name", SECRETS[0]), ("notes", "Written during the upgrade")):
        token = _stored(database_url, column, referral_id).encode()
        assert old_release.decrypt(token).decode() == value
    # This release reads them as they are, and writes AES-GCM again without the setting.
    with app_factory().app_context():
        assert db.session.get(Referral, referral_id).contact_name == SECRETS[0]
        assert rotate_keys(db.session)["referrals.contact_name"] == 1


def test_a_value_changed_in_the_database_is_refused_clearly(app, database_url, people):
    referral_id = people["referral"]
    raw = bytearray(base64.urlsafe_b64decode(_stored(database_url, "contact_phone", referral_id)))
    raw[-20] ^= 1  # one bit of the ciphertext
    _store(database_url, "contact_phone", referral_id, base64.urlsafe_b64encode(raw).decode())
    with app.app_context():
        db.session.expire_all()
        with pytest.raises(EncryptionKeyError, match="or the value was changed"):
            db.session.get(Referral, referral_id).contact_phone  # noqa: B018


def test_the_pages_still_show_them_to_people_in_scope(client, people):
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{people['referral']}").get_data(as_text=True)
    for secret in SECRETS:
        assert secret in page
    assert "Sister: Ann" in page


def test_searching_by_custody_record_number_uses_the_keyed_hash(client, session, people):
    saved = session.get(Referral, people["referral"])
    assert saved.person_ref_hash == Keyring([TEST_DATA_KEY]).search_hash("GLA/26/9999")
    assert saved.person_ref_hash != Keyring([Fernet.generate_key().decode()]).search_hash(
        "GLA/26/9999"
    )
    sign_in(client, "c@t.example")
    found = client.post("/referrals", data={"reference": " gla/26/9999 "}).get_data(as_text=True)
    assert "1 referral." in found and "GLA/26/9999" in found
    missed = client.post("/referrals", data={"reference": "GLA/26/9998"}).get_data(as_text=True)
    assert "0 referrals" in missed


def test_a_value_written_under_another_key_is_refused_clearly(app_factory, people):
    stranger = app_factory(DATA_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    with stranger.app_context(), pytest.raises(EncryptionKeyError, match="key that encrypted"):
        db.session.get(Referral, people["referral"]).contact_name  # noqa: B018


def test_rotate_keys_re_encrypts_everything_under_the_new_key(
    app_factory, database_url, session, people
):
    new = Fernet.generate_key().decode()
    both = app_factory(DATA_ENCRYPTION_KEYS=f"{new},{TEST_DATA_KEY}")
    before = raw_dump(database_url)
    # (The command runs this; the test's own app context would stand in for the app's.)
    with both.app_context():
        changed = rotate_keys(db.session)
        assert changed["referrals.contact_name"] == 1
        assert changed["referrals.person_ref_hash"] == 1
        assert changed["referral_events.note"] == 1
        assert changed["users.totp_secret"] == 3
        assert raw_dump(database_url) != before
        assert rotate_keys(db.session) == {}  # a second run has nothing to do
    # Only the new key is needed now, for reading and for searching.
    only_new = app_factory(DATA_ENCRYPTION_KEYS=new)
    client = only_new.test_client()
    sign_in(client, "c@t.example")
    found = client.post("/referrals", data={"reference": "GLA/26/9999"}).get_data(as_text=True)
    assert "1 referral." in found
    page = client.get(f"/referrals/{people['referral']}").get_data(as_text=True)
    assert SECRETS[0] in page
    with only_new.app_context():
        problem = db.session.scalar(sa.select(ListingProblem))
        assert problem.reporter_contact == "reporter@home.example"


class _EditsAfterReading:
    """The command's session, through which a colleague (another worker) saves new
    notes on ``referral_id`` just after the command has read the notes to rotate."""

    def __init__(self, session, colleague):
        self.session, self.colleague, self.done = session, colleague, False

    def execute(self, statement, *args, **kwargs):
        result = self.session.execute(statement, *args, **kwargs)
        if not self.done and str(statement).startswith("SELECT") and "notes" in str(statement):
            rows = result.all()
            self.done = True
            self.colleague()
            return _Rows(rows)
        return result

    def commit(self):
        self.session.commit()


class _Rows:
    def __init__(self, rows):
        self.rows = rows

    def all(self):
        return self.rows


def test_rotate_keys_keeps_a_value_saved_while_it_runs(app_factory, session, people):
    new = Fernet.generate_key().decode()
    command = app_factory(DATA_ENCRYPTION_KEYS=f"{new},{TEST_DATA_KEY}")
    worker = app_factory(DATA_ENCRYPTION_KEYS=f"{new},{TEST_DATA_KEY}")
    referral_id = people["referral"]
    session.get(Referral, referral_id).notes = "old notes"  # under the old key
    session.commit()

    def colleague_saves():
        with worker.app_context():
            db.session.get(Referral, referral_id).notes = "new notes: phone after 10"
            db.session.commit()

    with command.app_context():
        changed = rotate_keys(_EditsAfterReading(db.session, colleague_saves))
        assert changed["referrals.notes"] == 1
    only_new = app_factory(DATA_ENCRYPTION_KEYS=new)
    with only_new.app_context():
        assert db.session.get(Referral, referral_id).notes == "new notes: phone after 10"
        assert rotate_keys(db.session) == {}


def test_the_migration_encrypts_rows_that_were_there_before(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    app = make_app(url)
    with app.app_context():
        upgrade(revision="12c1c4de6baf")  # before encryption
        connection = db.session.connection()
        # The reference data as the schema then held it (today's loader writes columns
        # added since).
        for statement in (
            "INSERT INTO area_groups (id, kind, code, name) VALUES (1, 'adp', 'A', 'A'), "
            "(2, 'police_division', 'P', 'P'), (3, 'health_board', 'H', 'H')",
            "INSERT INTO council_areas (id, code, name, adp_id, police_division_id, "
            "health_board_id, latitude, longitude) VALUES "
            "(1, 'S12000049', 'Glasgow City', 1, 2, 3, 55.86, -4.25)",
            "INSERT INTO custody_suites (id, code, name, town, council_area_id, latitude, "
            "longitude) VALUES (1, 'GLA', 'Glasgow', 'Glasgow', 1, 55.86, -4.25)",
            "INSERT INTO service_types (id, code, name, colour, sort_order, abbreviation) "
            "VALUES (1, 'ost', 'Opioid substitution', '#000000', 1, 'OST')",
        ):
            connection.execute(sa.text(statement))
        suite_id, area_id = connection.execute(
            sa.text("SELECT id, council_area_id FROM custody_suites LIMIT 1")
        ).one()
        type_id = connection.execute(sa.text("SELECT id FROM service_types LIMIT 1")).scalar()
        now = "2026-01-05 10:00:00"
        connection.execute(
            sa.text(
                "INSERT INTO users (id, email, name, password_hash, role, custody_suite_id, "
                "active, session_version, failed_logins, created_at) VALUES "
                "(1, 'c@x.example', 'C', '!', 'custody', :s, 1, 1, 0, :now)"
            ),
            {"s": suite_id, "now": now},
        )
        connection.execute(sa.text("INSERT INTO organisations (id, name) VALUES (1, 'O');"))
        connection.execute(
            sa.text(
                "INSERT INTO services (id, organisation_id, name, primary_type_id, gender, "
                "veterans_only, self_referral, accepts_custody_referrals, same_day_access, "
                "status, confidential_address, created_at, updated_at) VALUES "
                "(1, 1, 'S', :t, 'any', 0, 1, 1, 0, 'active', 0, :now, :now)"
            ),
            {"t": type_id, "now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO referrals (id, reference, made_at, referred_on, custody_suite_id, "
                "referrer_id, pathway, service_id, person_ref, age_band, sex, council_area_id, "
                "consent_recorded, consent_date, substances, needs, naloxone_offered, "
                "naloxone_supplied, children_in_household, same_day_urgent, notes, "
                "contact_name, contact_phone, contact_method, status, version, created_at, "
                "updated_at) VALUES (1, 'RP-0000-0001', :now, '2026-01-05', :s, 1, "
                "'arrest_referral', 1, 'OLD/26/0001', '25_34', 'male', :a, 1, '2026-01-05', "
                "'', '', 0, 0, 0, 0, 'Old note', 'Old Name', '07700 900001', 'phone', 'made', "
                "1, :now, :now)"
            ),
            {"now": now, "s": suite_id, "a": area_id},
        )
        connection.execute(
            sa.text(
                "INSERT INTO audit_events (at, actor, action, ip) VALUES "
                "(:now, 'typed-by-someone@private.example', 'sign_in_failed', '127.0.0.1')"
            ),
            {"now": now},
        )
        db.session.commit()
        upgrade()
        dump = raw_dump(url)
        for secret in ("OLD/26/0001", "Old note", "Old Name", "07700 900001", "private.example"):
            assert secret not in dump, secret
        referral = db.session.get(Referral, 1)
        assert (referral.person_ref, referral.contact_name, referral.notes) == (
            "OLD/26/0001",
            "Old Name",
            "Old note",
        )
        assert referral.person_ref_hash == Keyring([TEST_DATA_KEY]).search_hash("old/26/0001")
        db.session.remove()
        db.engine.dispose()


def test_the_demo_generator_writes_encrypted_values(app, session, runner, database_url):
    result = runner.invoke(args=["seed-demo", "--referrals", "50", "--seed", "3"])
    assert result.exit_code == 0, result.output
    names = session.scalars(sa.select(Referral.contact_name)).all()
    assert any(n and " " in n for n in names)  # read back in clear through the app
    dump = raw_dump(database_url)
    some = next(n for n in names if n)
    assert some not in dump
    ref = session.scalars(sa.select(Referral.person_ref)).first()
    found = session.scalars(
        sa.select(Referral).where(
            Referral.person_ref_hash == Keyring([TEST_DATA_KEY]).search_hash(ref)
        )
    ).all()
    assert len(found) >= 1


def test_a_user_secret_for_the_sign_in_app_is_encrypted(database_url, session):
    user = make_user(session, Role.ADMIN, email="x@t.example")
    session.commit()
    assert user.totp_secret and user.totp_secret not in raw_dump(database_url)
