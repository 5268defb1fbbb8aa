"""The application factory and the configuration rules."""

import pytest

from referrals import create_app
from referrals.config import ConfigError, normalise_database_url, settings_from_env

from .conftest import TEST_DATA_KEY


def test_refuses_to_start_without_secret_key_outside_debug_and_testing(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError) as excinfo:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    message = str(excinfo.value)
    assert "SECRET_KEY is not set" in message
    assert "export SECRET_KEY=" in message


def test_starts_with_secret_key_from_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", TEST_DATA_KEY)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["DATA_ENCRYPTION_KEYS"] == (TEST_DATA_KEY,)
    assert not app.testing


def test_debug_mode_refuses_to_start_without_secret_key(monkeypatch):
    """It used to sign sessions with a key written in the code, so anyone could forge
    an administrator's session."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", TEST_DATA_KEY)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_tests_without_a_secret_key_get_a_random_one(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    keys = {
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
        for _ in range(2)
    }
    assert len(keys) == 2 and all(len(k) >= 32 for k in keys)


def test_a_forged_debug_session_cookie_is_not_an_administrator(app_factory, session):
    """A cookie signed with the key the code once held gets nowhere."""
    from flask.sessions import SecureCookieSessionInterface

    from referrals.choices import Role

    from .factories import make_user

    admin = make_user(session, Role.ADMIN, email="forged@test.example")
    session.commit()
    app = app_factory(SECRET_KEY=None)  # as when run without one
    forger = app_factory(SECRET_KEY="insecure-key-for-debug-and-tests-only")
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    cookie = serializer.dumps({"_user_id": f"{admin.id}:1", "_fresh": True})
    client = app.test_client()
    client.set_cookie("session", cookie)
    assert client.get("/admin/users").status_code == 302  # sent to sign in


def test_refuses_to_start_without_encryption_keys(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(ConfigError, match="DATA_ENCRYPTION_KEYS is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_malformed_encryption_key_is_reported(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", f"{TEST_DATA_KEY}, not-a-key")
    with pytest.raises(ConfigError, match="Key 2 in DATA_ENCRYPTION_KEYS is not a Fernet key"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_database_defaults_to_sqlite_file_in_instance_folder(tmp_path):
    settings = settings_from_env(str(tmp_path), env={})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/referrals.sqlite"


def test_database_url_from_environment_uses_psycopg_driver(tmp_path):
    settings = settings_from_env(str(tmp_path), env={"DATABASE_URL": "postgres://u:p@db/rp"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/rp"
    assert normalise_database_url("postgresql://db/rp") == "postgresql+psycopg://db/rp"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_defaults_follow_the_design(tmp_path):
    settings = settings_from_env(str(tmp_path), env={})
    assert settings["ENGAGEMENT_WINDOW_DAYS"] == 28
    assert settings["TREATMENT_WINDOW_DAYS"] == 84
    assert settings["DISCLOSURE_THRESHOLD"] == 5
    assert settings["STALE_AFTER_DAYS"] == 180
    assert settings["SESSION_IDLE_MINUTES"] == 30
    assert settings["GEOCODER"] == ""


def test_malformed_number_in_environment_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="SESSION_IDLE_MINUTES must be a whole number"):
        settings_from_env(str(tmp_path), env={"SESSION_IDLE_MINUTES": "half an hour"})
    with pytest.raises(ConfigError, match="at least 1"):
        settings_from_env(str(tmp_path), env={"DISCLOSURE_THRESHOLD": "0"})


def test_empty_tiles_url_means_no_tiles(tmp_path):
    assert settings_from_env(str(tmp_path), env={"MAP_TILES_URL": ""})["MAP_TILES_URL"] == ""


def test_explicit_config_overrides_environment(monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "45")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_IDLE_MINUTES"] == 45
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SESSION_IDLE_MINUTES": 5}
    )
    assert app.config["SESSION_IDLE_MINUTES"] == 5
