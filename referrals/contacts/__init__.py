"""Custody contacts: everyone seen in custody about drugs or alcohol, one at a time or
in a batch at the end of a shift, and the referrals that come from them."""

from flask import Blueprint, Flask

bp = Blueprint("contacts", __name__)


def init_app(app: Flask) -> None:
    from . import awaiting_html, models, views  # noqa: F401  (tables, routes, HTML)

    app.register_blueprint(bp)
