"""Error pages in the site's own look, and 503 when the database does not answer.

Under ``/api/`` the same errors answer as JSON problem documents (RFC 9457) instead of
pages, since a program, not a person, reads them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

MESSAGES = {
    400: (
        "Something in that request was not right",
        "Go back, check what you entered and try again.",
    ),
    403: (
        "You do not have access to this page",
        "If you think you should, ask your administrator to check your role.",
    ),
    404: (
        "Page not found",
        "The address may be mistyped, or the page may have moved. "
        "Check the address, or start again from the home page.",
    ),
    405: ("That action is not allowed here", "Go back and use the buttons on the page."),
    413: ("That file is too large", "Upload a smaller file, or split it into parts."),
    429: ("Too many attempts", "Wait a few minutes, then try again."),
    500: (
        "Sorry, something went wrong",
        "The problem has been logged. Try again in a "
        "moment; if it keeps happening, tell your administrator.",
    ),
    503: (
        "The service is unavailable",
        "The database is not answering at the moment. "
        "Nothing you were doing has been half-saved. Try again in a minute.",
    ),
}


# The database answers but refuses to write: it is read-only, or its disk is full.
CANNOT_SAVE = (
    "Changes cannot be saved at the moment",
    "The database is refusing to save anything (it is read-only or out of disk space). "
    "Nothing you entered has been saved: keep a note of it and try again later. "
    "Looking things up still works. Tell your administrator.",
)
# SQLSTATEs (PostgreSQL) and messages (SQLite) that mean "cannot write".
_CANNOT_SAVE_STATES = {"25006", "53100"}  # read_only_sql_transaction, disk_full
_CANNOT_SAVE_TEXT = (
    "readonly database",
    "read-only",
    "database or disk is full",
    "disk is full",
    "no space left",
    "could not extend file",
)


def cannot_save(exc: DBAPIError) -> bool:
    """Whether a database error means it cannot write (read-only or disk full)."""
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if state in _CANNOT_SAVE_STATES:
        return True
    text = str(exc.orig).lower()
    return any(fragment in text for fragment in _CANNOT_SAVE_TEXT)


PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/"


def problem(
    status: int,
    detail: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON problem document: the status, its title, what went wrong and, for a
    request that failed validation, a message per field."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def render_error(code: int, detail: str | None = None, message: tuple[str, str] | None = None):
    title, advice = message or MESSAGES.get(code, MESSAGES[500])
    if request.path.startswith(API_PREFIX):
        return problem(code, detail or f"{title}. {advice}")
    return (
        render_template("error.html", code=code, title=title, advice=advice, detail=detail),
        code,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        detail = None
        if isinstance(exc, CSRFError):
            detail = (
                "The form had expired or was sent from another page, so nothing was saved. "
                "Reload the page and submit it again."
            )
        elif exc.code in (400, 403, 413, 429) and exc.description != type(exc).description:
            detail = exc.description
        page = render_error(exc.code, detail)
        if isinstance(page, Response) and "Allow" in (allowed := dict(exc.get_headers())):
            page.headers["Allow"] = allowed["Allow"]  # a 405 says which methods would do
        return page

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        db.session.rollback()
        if cannot_save(exc):
            app.logger.error("Database cannot save: %s", exc.orig)
            return render_error(503, message=CANNOT_SAVE)
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            app.logger.error("Database unavailable: %s", exc.orig)
            return render_error(503)
        app.logger.exception("Database error")
        return render_error(500)

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError):
        # Database errors never get here: database_error above answers them.
        db.session.rollback()
        return render_error(500)
