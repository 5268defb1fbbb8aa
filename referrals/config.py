"""Configuration read from the environment.

Every setting has a safe default except ``SECRET_KEY`` and ``DATA_ENCRYPTION_KEYS``,
which must be set outside testing (``create_app`` refuses to start without them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from .encryption import FORM_SETTING, FORMS, KEYS_SETTING, EncryptionKeyError, parse_keys

MISSING_KEY_HELP = (
    "SECRET_KEY is not set. Referral Pathways signs sessions and forms with it, so it "
    "refuses to start without one. Set it in the environment, for example:\n"
    "    export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"\n"
    "Keep the same value across restarts and across every worker and machine."
)


BANK_HOLIDAY_REGIONS = ("SCT", "ENG", "WLS", "NIR")


class ConfigError(click.ClickException, RuntimeError):
    """A setting in the environment is missing or malformed. On the command line it is
    shown as a plain error message, not a traceback."""


def _keys(env: dict[str, str]) -> tuple[str, ...]:
    try:
        return parse_keys(env.get(KEYS_SETTING))
    except EncryptionKeyError as exc:
        raise ConfigError(str(exc)) from None


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
    return value


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}.") from None


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def _choice(env: dict[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    for value in allowed:
        if raw.lower() == value.lower():
            return value
    raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}.")


def _base_url(env: dict[str, str], backend: str) -> str:
    """The app's public address. Messages that really leave (smtp, notify) need it set:
    left to the development default, every link in them would point at the reader's own
    machine."""
    raw = (env.get("BASE_URL") or "").strip().rstrip("/")
    if not raw:
        if backend != "log":
            raise ConfigError(
                f"BASE_URL must be set to the app's public address (for example "
                f"https://referrals.example.org) when NOTIFICATIONS_BACKEND is {backend}: "
                "the links in the messages start with it."
            )
        return "http://127.0.0.1:5000"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"BASE_URL must be an address starting http:// or https://, not {raw!r}."
        )
    return raw


def notification_settings(env: dict[str, str]) -> dict[str, Any]:
    """How messages are sent (see the README's "Notifications")."""
    templates = {
        key: value.strip()
        for key, value in env.items()
        if key.startswith("NOTIFY_TEMPLATE_") and value.strip()
    }
    # log (print to the sender's log; development), smtp or notify (GOV.UK Notify).
    backend = _choice(env, "NOTIFICATIONS_BACKEND", "log", ("log", "smtp", "notify"))
    return {
        "NOTIFICATIONS_BACKEND": backend,
        # The address links in messages start with, e.g. https://referrals.example.org
        "BASE_URL": _base_url(env, backend),
        "NOTIFY_MAX_ATTEMPTS": _int(env, "NOTIFY_MAX_ATTEMPTS", 8, minimum=1),
        "NOTIFY_RETRY_SECONDS": _int(env, "NOTIFY_RETRY_SECONDS", 60, minimum=1),
        "NOTIFY_RETRY_MAX_SECONDS": _int(env, "NOTIFY_RETRY_MAX_SECONDS", 3600, minimum=1),
        "NOTIFY_DIGEST_HOUR": _int(env, "NOTIFY_DIGEST_HOUR", 8, minimum=0),
        # The sender also runs the day's retention purge and report figures.
        "SENDER_DAILY_WORK": _bool(env, "SENDER_DAILY_WORK", True),
        "SMTP_HOST": env.get("SMTP_HOST", "localhost").strip(),
        "SMTP_PORT": _int(env, "SMTP_PORT", 587, minimum=1),
        "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env, "SMTP_STARTTLS", True),
        "SMTP_CA_FILE": env.get("SMTP_CA_FILE", "").strip(),
        "SMTP_TIMEOUT": _float(env, "SMTP_TIMEOUT", 20.0),
        # However the server trickles its answers, one message gives up after this long.
        "SMTP_DEADLINE": _float(env, "SMTP_DEADLINE", 60.0),
        "MAIL_FROM": env.get("MAIL_FROM", "Referral Pathways <no-reply@localhost>").strip(),
        "NOTIFY_API_KEY": env.get("NOTIFY_API_KEY", "").strip(),
        "NOTIFY_BASE_URL": (
            env.get("NOTIFY_BASE_URL") or "https://api.notifications.service.gov.uk"
        ).strip(),
        "NOTIFY_REPLY_TO_ID": env.get("NOTIFY_REPLY_TO_ID", "").strip(),
        # NOTIFY_TEMPLATE_<KIND> per kind of message, or NOTIFY_TEMPLATE_DEFAULT for all.
        "NOTIFY_TEMPLATES": templates,
        # Webhooks (delivered by the same sender): seconds to wait for a system's answer,
        # and whether plain http:// to this machine may be registered (development).
        "WEBHOOK_TIMEOUT": _float(env, "WEBHOOK_TIMEOUT", 10.0),
        "WEBHOOK_DEADLINE": _float(env, "WEBHOOK_DEADLINE", 30.0),
        "WEBHOOK_ALLOW_HTTP_LOOPBACK": _bool(env, "WEBHOOK_ALLOW_HTTP_LOOPBACK", False),
    }


def settings_from_env(instance_path: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the app's settings from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    default_db = "sqlite:///" + str(Path(instance_path) / "referrals.sqlite")
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        # Fernet keys for personal data at rest, newest first, and how new values are
        # written: AES-GCM, or Fernet while servers of an earlier release run (see
        # encryption.py).
        KEYS_SETTING: _keys(env),
        FORM_SETTING: _choice(env, FORM_SETTING, FORMS[0], FORMS),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(env.get("DATABASE_URL") or default_db),
        # Map tiles: an empty MAP_TILES_URL draws maps with no background tiles.
        "MAP_TILES_URL": env.get(
            "MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        ).strip(),
        "MAP_TILES_ATTRIBUTION": env.get(
            "MAP_TILES_ATTRIBUTION",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
            "contributors",
        ),
        # Online geocoder for places the shipped tables do not know: "" (off) or "nominatim".
        "GEOCODER": env.get("GEOCODER", "").strip().lower(),
        "GEOCODER_USER_AGENT": env.get("GEOCODER_USER_AGENT", "referral-pathways"),
        "GEOCODER_TIMEOUT": _float(env, "GEOCODER_TIMEOUT", 3.0),
        "SESSION_IDLE_MINUTES": _int(env, "SESSION_IDLE_MINUTES", 30, minimum=1),
        # However active, a session ends this long after signing in.
        "SESSION_LIFETIME_HOURS": _int(env, "SESSION_LIFETIME_HOURS", 12, minimum=1),
        # The name a sign-in app shows beside the six-digit codes.
        "MFA_ISSUER": env.get("MFA_ISSUER", "Referral Pathways"),
        # Retention (the scheduled purge): referrals finished this long ago lose their
        # personal data; a problem reporter's contact goes this long after it is resolved.
        "PERSONAL_DATA_RETENTION_DAYS": _int(env, "PERSONAL_DATA_RETENTION_DAYS", 730, minimum=1),
        "PROBLEM_CONTACT_RETENTION_DAYS": _int(
            env, "PROBLEM_CONTACT_RETENTION_DAYS", 90, minimum=1
        ),
        # Messages and webhook events (the outbox) are deleted this long after they were
        # made: they name referrals and why they closed, and staff email addresses.
        "OUTBOX_RETENTION_DAYS": _int(env, "OUTBOX_RETENTION_DAYS", 90, minimum=1),
        "TIMEZONE": env.get("TIMEZONE", "Europe/London"),
        # Measures (DESIGN.md section 6).
        "ENGAGEMENT_WINDOW_DAYS": _int(env, "ENGAGEMENT_WINDOW_DAYS", 28, minimum=1),
        "TREATMENT_WINDOW_DAYS": _int(env, "TREATMENT_WINDOW_DAYS", 84, minimum=1),
        "DISCLOSURE_THRESHOLD": _int(env, "DISCLOSURE_THRESHOLD", 5, minimum=1),
        # Rates on fewer referrals than this are hidden ("fewer than 10").
        "DISCLOSURE_MIN_DENOMINATOR": _int(env, "DISCLOSURE_MIN_DENOMINATOR", 10, minimum=1),
        # Police divisions and health boards with at least this many referrals in 12 months
        # also get quarterly rates and figures for groups of people.
        "REPORT_LARGE_AREA": _int(env, "REPORT_LARGE_AREA", 200, minimum=1),
        "STALE_AFTER_DAYS": _int(env, "STALE_AFTER_DAYS", 180, minimum=1),
        "OVERDUE_WORKING_DAYS": _int(env, "OVERDUE_WORKING_DAYS", 5, minimum=1),
        # Bank holidays left out of working days: SCT, ENG, WLS or NIR. Unset, the data
        # pack's region (nation.csv) applies.
        "BANK_HOLIDAY_REGION": _choice(env, "BANK_HOLIDAY_REGION", "", BANK_HOLIDAY_REGIONS),
        **notification_settings(env),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 20 * 1024 * 1024, minimum=1024),
        # What the services upload page imports within one request's time limit
        # (GUNICORN_TIMEOUT) on a busy server; bigger files go through import-services.
        "IMPORT_PAGE_MAX_ROWS": _int(env, "IMPORT_PAGE_MAX_ROWS", 5000, minimum=1),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies always (they are anyway whenever a request arrives over HTTPS).
        "SESSION_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", False),
        # How many reverse proxies in front to believe X-Forwarded-* headers from (0: none).
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        # Rate limits per client address, counted in the app's own database by default
        # (shared by every worker and machine), or in Redis (redis://host:6379).
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "database://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SIGN_IN_RATE_LIMIT": env.get("SIGN_IN_RATE_LIMIT", "20 per minute"),
        "SEARCH_RATE_LIMIT": env.get("SEARCH_RATE_LIMIT", "300 per minute"),
        # The public-sector pages (accessibility, privacy, cookies, contact) and the banner.
        "SERVICE_PHASE": _choice(env, "SERVICE_PHASE", "beta", ("alpha", "beta", "live")),
        "OPERATOR_NAME": env.get("OPERATOR_NAME", "").strip(),
        "CONTACT_EMAIL": env.get("CONTACT_EMAIL", "").strip(),
        "DATA_PROTECTION_EMAIL": env.get("DATA_PROTECTION_EMAIL", "").strip(),
        # Downloading the whole directory is heavy: a few times a minute is plenty.
        "EXPORT_RATE_LIMIT": env.get("EXPORT_RATE_LIMIT", "5 per minute"),
        # Pages of the public directory API's lists (a whole list at once counts as a
        # download of the directory, above).
        "DIRECTORY_API_RATE_LIMIT": env.get("DIRECTORY_API_RATE_LIMIT", "120 per minute"),
        # The API's lists of changes (referrals, and directory services by modified_after)
        # end this many seconds ago: a change is stamped when it is written and visible
        # when committed, so a later stamp can be visible first; a list that ended at the
        # newest would move a reader past a change that then appears behind it. Longer
        # than any save takes and than the clocks of the app's machines differ.
        "API_CHANGES_SETTLE_SECONDS": _float(env, "API_CHANGES_SETTLE_SECONDS", 10.0),
        # Base URI of the identifier and code systems in the FHIR resources the referral
        # API gives; empty: this site's own /api/v1/fhir/.
        "FHIR_SYSTEM_BASE": env.get("FHIR_SYSTEM_BASE", "").strip(),
        "PUBLIC_FORM_RATE_LIMIT": env.get("PUBLIC_FORM_RATE_LIMIT", "5 per 10 minutes"),
        # Failed sign-ins (see auth/throttle.py): for one account from one address or
        # recognised device; for one account from all unrecognised devices; from one
        # address for any accounts.
        "SIGN_IN_FAILURES_PER_ACCOUNT": env.get(
            "SIGN_IN_FAILURES_PER_ACCOUNT", "5 per 15 minutes"
        ),
        "SIGN_IN_FAILURES_PER_ACCOUNT_ANYWHERE": env.get(
            "SIGN_IN_FAILURES_PER_ACCOUNT_ANYWHERE", "20 per hour"
        ),
        "SIGN_IN_FAILURES_PER_ADDRESS": env.get("SIGN_IN_FAILURES_PER_ADDRESS", "50 per hour"),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Pooled connections idle a while are tested before use (database.py), so that
        # after the database restarts the first requests get a fresh connection instead
        # of an error. A statement's parameters (names, phone numbers, addresses) are
        # never written into a database error's text, which goes to the logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
    }
