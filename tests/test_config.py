"""The application factory and the configuration rules."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from referrals import create_app
from referrals.cli import _refuse
from referrals.config import ConfigError, normalise_database_url, settings_from_env

from .conftest import TEST_DATA_KEY

ROOT = Path(__file__).resolve().parent.parent


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


def test_the_form_new_values_are_written_in_is_checked(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", TEST_DATA_KEY)
    monkeypatch.setenv("DATA_ENCRYPTION_FORM", "aes")
    with pytest.raises(ConfigError, match="DATA_ENCRYPTION_FORM must be one of aes-gcm, fernet"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("DATA_ENCRYPTION_FORM", "Fernet")
    assert (
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["DATA_ENCRYPTION_FORM"]
        == "fernet"
    )


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


def _flask_without_key(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FLASK_DEBUG")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "referrals", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_command_help_needs_no_secret_key(tmp_path):
    shown = _flask_without_key("seed-demo", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "Usage: flask seed-demo [OPTIONS]" in shown.stdout
    assert "--referrals INTEGER RANGE" in shown.stdout
    assert "Traceback" not in shown.stderr


def flask_command_line(monkeypatch, *args: str):
    """``flask --app referrals ARGS`` in this process, without a secret key."""
    from click.testing import CliRunner
    from flask.cli import cli

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "")  # the command line sets it: undo after
    monkeypatch.setattr(sys, "argv", ["flask", "--app", "referrals", *args])
    return CliRunner().invoke(cli, ["--app", "referrals", *args])


def test_the_command_list_needs_no_secret_key_but_running_a_command_does(monkeypatch):
    listed = flask_command_line(monkeypatch, "--help")
    assert listed.exit_code == 0, listed.output
    assert "seed-reference" in listed.output and "purge-personal-data" in listed.output
    assert "Traceback" not in listed.output

    refused = flask_command_line(monkeypatch, "seed-reference")
    assert refused.exit_code == 1
    assert "Error: SECRET_KEY is not set" in refused.output
    assert "Traceback" not in refused.output


def test_an_app_without_a_key_built_for_help_refuses_every_command_and_request(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    # Even when "--help" is the value of an option, the command itself must not run.
    monkeypatch.setattr(sys, "argv", ["flask", "create-user", "--name", "--help"])
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    result = app.test_cli_runner().invoke(args=["seed-reference"])
    assert result.exit_code == 1
    assert "SECRET_KEY is not set" in result.output
    assert app.test_client().get("/healthz").status_code == 500
    # The shared command objects are untouched: an app with a key runs them.
    monkeypatch.setenv("SECRET_KEY", "now-set")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", TEST_DATA_KEY)
    keyed = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert keyed.cli.get_command(None, "seed-reference").callback is not _refuse


@pytest.mark.parametrize("backend", ["smtp", "notify"])
def test_messages_that_leave_need_the_public_address(tmp_path, backend):
    """Left to the development default, every link in a real email would point at the
    reader's own machine."""
    with pytest.raises(
        ConfigError, match=f"BASE_URL must be set .* NOTIFICATIONS_BACKEND is {backend}"
    ):
        settings_from_env(str(tmp_path), env={"NOTIFICATIONS_BACKEND": backend})
    settings = settings_from_env(
        str(tmp_path),
        env={"NOTIFICATIONS_BACKEND": backend, "BASE_URL": "https://referrals.example.org/"},
    )
    assert settings["BASE_URL"] == "https://referrals.example.org"


def test_public_address_must_be_a_web_address(tmp_path):
    with pytest.raises(ConfigError, match="BASE_URL must be an address starting http"):
        settings_from_env(str(tmp_path), env={"BASE_URL": "referrals.example.org"})
    # Printing messages to the log (development) keeps the local default.
    assert settings_from_env(str(tmp_path), env={})["BASE_URL"] == "http://127.0.0.1:5000"
