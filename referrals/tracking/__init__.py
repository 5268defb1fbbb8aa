"""Referrals: recording them from custody and following them to treatment."""

from flask import Blueprint, Flask

bp = Blueprint("tracking", __name__)


def init_app(app: Flask) -> None:
    from . import followup_views, models, outcome_views, views, worklist_html  # noqa: F401

    app.register_blueprint(bp)
