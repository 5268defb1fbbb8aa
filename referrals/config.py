"""Configuration read from the environment.

Every setting has a safe default except ``SECRET_KEY``, which must be set outside
debug and testing (``create_app`` refuses to start without it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

MISSING_KEY_HELP = (
    "SECRET_KEY is not set. Referral Pathways signs sessions and forms with it, so it "
    "refuses to start without one. Set it in the environment, for example:\n"
    "    export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"\n"
    "Keep the same value across restarts and across every worker and machine."
)


class ConfigError(click.ClickException, RuntimeError):
    """A setting in the environment is missing or malformed. On the command line it is
    shown as a plain error message, not a traceback."""


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
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}.")
    return raw


def settings_from_env(instance_path: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the app's settings from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    default_db = "sqlite:///" + str(Path(instance_path) / "referrals.sqlite")
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
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
        "TIMEZONE": env.get("TIMEZONE", "Europe/London"),
        # Measures (DESIGN.md section 6).
        "ENGAGEMENT_WINDOW_DAYS": _int(env, "ENGAGEMENT_WINDOW_DAYS", 28, minimum=1),
        "TREATMENT_WINDOW_DAYS": _int(env, "TREATMENT_WINDOW_DAYS", 84, minimum=1),
        "DISCLOSURE_THRESHOLD": _int(env, "DISCLOSURE_THRESHOLD", 5, minimum=1),
        "STALE_AFTER_DAYS": _int(env, "STALE_AFTER_DAYS", 180, minimum=1),
        "OVERDUE_WORKING_DAYS": _int(env, "OVERDUE_WORKING_DAYS", 5, minimum=1),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 20 * 1024 * 1024, minimum=1024),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies always (they are anyway whenever a request arrives over HTTPS).
        "SESSION_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", False),
        # How many reverse proxies in front to believe X-Forwarded-* headers from (0: none).
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        # Rate limits per client address; counted per worker unless RATELIMIT_STORAGE_URI
        # points at shared storage (for example redis://).
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SIGN_IN_RATE_LIMIT": env.get("SIGN_IN_RATE_LIMIT", "30 per minute"),
        "SEARCH_RATE_LIMIT": env.get("SEARCH_RATE_LIMIT", "300 per minute"),
        # The public-sector pages (accessibility, privacy, cookies, contact) and the banner.
        "SERVICE_PHASE": _choice(env, "SERVICE_PHASE", "beta", ("alpha", "beta", "live")),
        "OPERATOR_NAME": env.get("OPERATOR_NAME", "").strip(),
        "CONTACT_EMAIL": env.get("CONTACT_EMAIL", "").strip(),
        "DATA_PROTECTION_EMAIL": env.get("DATA_PROTECTION_EMAIL", "").strip(),
        # Contact details and notes of finished referrals are erased after this many days
        # (purge-personal-data's default; the privacy notice says so).
        "PERSONAL_DATA_RETENTION_DAYS": _int(env, "PERSONAL_DATA_RETENTION_DAYS", 180, minimum=1),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Test each pooled connection before use, so that after the database restarts the
        # first requests get a fresh connection instead of an error.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
