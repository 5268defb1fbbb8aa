"""Administration: users, areas, imports, boundaries, feedback and the audit log (admins
only)."""

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__, url_prefix="/admin")


def init_app(app: Flask) -> None:
    from . import areas, audit_log, boundaries, feedback, imports, user_access, users, views  # noqa: F401

    app.register_blueprint(bp)
