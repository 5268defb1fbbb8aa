"""Data protection: the scheduled purge of personal data, key rotation and the
subject-access export."""

from flask import Blueprint, Flask

bp = Blueprint("privacy", __name__)


def init_app(app: Flask) -> None:
    from . import cli, views  # noqa: F401  (register routes)

    cli.init_app(app)
    app.register_blueprint(bp)
