"""Referral Pathways: maps treatment services, tracks custody referrals, reports by area."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .config import MISSING_KEY_HELP, ConfigError, settings_from_env
from .encryption import (
    KEYS_SETTING,
    MISSING_KEYS_HELP,
    EncryptionKeyError,
    new_key,
    parse_keys,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` overrides settings read from the environment."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(settings_from_env(app.instance_path))
    if config:
        app.config.update(config)
    from . import cli

    try:
        app.config[KEYS_SETTING] = parse_keys(app.config.get(KEYS_SETTING))
    except EncryptionKeyError as exc:
        raise ConfigError(str(exc)) from None
    help_only = False
    if app.testing:
        # Tests that set none get keys of their own, never ones written in the code.
        app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or secrets.token_hex(32)
        app.config[KEYS_SETTING] = app.config.get(KEYS_SETTING) or (new_key(),)
    elif not (app.config.get("SECRET_KEY") and app.config.get(KEYS_SETTING)):
        if not cli.help_requested():
            raise ConfigError(
                MISSING_KEY_HELP if not app.config.get("SECRET_KEY") else MISSING_KEYS_HELP
            )
        help_only = True  # `flask --app referrals COMMAND --help` needs no keys
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import database, errors, form_html, nation, security, templating
    from .extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    form_html.init_app(app)
    nation.init_app(app)
    cli.init_app(app)

    from . import (
        about,
        admin,
        api,
        auth,
        contacts,
        directory,
        health,
        home,
        notifications,
        privacy,
        reports,
        schemes,
        tracking,
        vendor,
        webhooks,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(vendor.bp)
    api.init_app(app)
    about.init_app(app)
    auth.init_app(app)
    directory.init_app(app)
    tracking.init_app(app)
    contacts.init_app(app)
    schemes.init_app(app)
    reports.init_app(app)
    admin.init_app(app)
    notifications.init_app(app)
    webhooks.init_app(app)
    privacy.init_app(app)
    if help_only:
        cli.help_only(app)
    return app
