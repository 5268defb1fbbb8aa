"""Arrest referral schemes: provider teams serving sets of custody suites (administered
by admins, who also make users scheme leads)."""

from flask import Blueprint, Flask

bp = Blueprint("schemes", __name__, url_prefix="/admin/schemes")


def init_app(app: Flask) -> None:
    from . import models, views  # noqa: F401  (register tables and routes)

    app.register_blueprint(bp)
