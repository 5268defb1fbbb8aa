"""Referrals: recording them from custody and following them to treatment."""

from flask import Blueprint, Flask

bp = Blueprint("tracking", __name__)


def init_app(app: Flask) -> None:
    from . import (  # noqa: F401
        followup_views,
        list_html,
        models,
        outcome_views,
        views,
        worklist_html,
    )

    app.register_blueprint(bp)
