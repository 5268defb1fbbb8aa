"""Referrals: recording them from custody and following them to treatment."""

from flask import Blueprint, Flask

bp = Blueprint("tracking", __name__)


def init_app(app: Flask) -> None:
    from . import followup_views, models, outcome_views, views  # noqa: F401  (routes, tables)

    app.register_blueprint(bp)
