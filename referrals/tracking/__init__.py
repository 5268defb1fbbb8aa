"""Referrals: recording them from custody and following them to treatment."""

from flask import Blueprint, Flask

bp = Blueprint("tracking", __name__)


def init_app(app: Flask) -> None:
    from . import views  # noqa: F401  (register routes)

    app.register_blueprint(bp)
