"""Area reports: engagement and conversion by area, the map, the funnel plot, trends,
targets and the quarterly paper."""

from flask import Blueprint, Flask

bp = Blueprint("reports", __name__, url_prefix="/reports")


def init_app(app: Flask) -> None:
    from . import (  # noqa: F401
        cells,
        cli,
        map_views,
        pack_views,
        pdf_copies,
        profile_views,
        quarterly,
        snapshot,
        targets,
        trends,
        views,
    )

    cli.init_app(app)
    app.register_blueprint(bp)
