"""Notifications: the outbox, the sender process, people's choice of messages, and the
administrators' view of deliveries that failed."""

from flask import Blueprint, Flask

bp = Blueprint("notifications", __name__)


def init_app(app: Flask) -> None:
    from . import cli, models, views  # noqa: F401  (register tables and routes)

    cli.init_app(app)
    app.register_blueprint(bp)
