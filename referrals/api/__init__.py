"""``/api/v1``: the public directory (Open Referral HSDS 3.0, UK profile), the referral
API for registered systems (bearer tokens, FHIR R4), and its OpenAPI description; and
``/admin/api-clients``, where administrators register those systems."""

from flask import Blueprint, Flask, Response, request

from ..errors import problem
from ..extensions import csrf
from .params import ApiError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    return problem(exc.status, exc.detail, exc.errors, exc.headers)


PUBLIC_PREFIX = "/api/v1"
PRIVATE_PREFIXES = ("/api/v1/referrals", "/api/v1/reports")


def is_public(path: str) -> bool:
    """The directory and the API description: open to any web page. The referral and
    report APIs are not: they never answer a browser's cross-origin request."""
    return path.startswith(PUBLIC_PREFIX) and not path.startswith(PRIVATE_PREFIXES)


def _cors(response: Response) -> Response:
    if is_public(request.path):
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _not_stored(response: Response) -> Response:
    """The referral and report APIs answer with person-level data: no browser or proxy
    may keep a copy of any answer there, errors included (SECURITY.md)."""
    if request.path.startswith(PRIVATE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    from . import (  # noqa: F401
        admin_views,
        cli,
        directory_views,
        openapi,
        referral_views,
        report_views,
    )

    app.after_request(_cors)
    app.after_request(_not_stored)
    app.register_blueprint(bp)
    app.register_blueprint(admin_views.admin_bp)
    cli.init_app(app)
