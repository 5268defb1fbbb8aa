"""The service directory: search, service pages, the services map, listings upkeep,
imports and exports."""

from flask import Blueprint, Flask

bp = Blueprint("directory", __name__)


def init_app(app: Flask) -> None:
    from . import cli, geocoder, map_views, upkeep, views  # noqa: F401  (register routes)

    geocoder.init_app(app)
    cli.init_app(app)
    app.register_blueprint(bp)
