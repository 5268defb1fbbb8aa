"""About this service: the accessibility statement, the privacy notice, the cookies page,
and contact and feedback. A UK public body must publish these; every page's footer links
to them, and the phase banner asks for feedback."""

from flask import Blueprint, Flask

bp = Blueprint("about", __name__)


def init_app(app: Flask) -> None:
    from . import models, views  # noqa: F401

    app.register_blueprint(bp)
