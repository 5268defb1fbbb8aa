"""Security on every response: headers, HTTPS-aware cookies, one trusted proxy, rate limits.

Normal pages run no inline script: the Content-Security-Policy allows scripts from this
site only. Map documents (folium's generated HTML, served on their own ``/map/frame``
routes and shown in an iframe) carry their own scripts inline, so they get a policy of
their own that allows that and nothing else from outside.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from . import rate_limits  # noqa: F401  (registers the database:// limiter storage)
from .errors import API_PREFIX, render_error

MAP_DOCUMENT_HEADER = "X-Map-Document"
# Pages never to be cached, even before signing in (sign-in steps, recovery codes).
PRIVATE_BLUEPRINTS = frozenset({"auth", "privacy", "tracking", "admin"})

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/worklist``), else None: never another
    site (``//evil.example``, ``https://...``), and nothing a browser would read as one."""
    if not target:
        return None
    target = target.strip().replace("\\", "/")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None  # browsers drop tabs and newlines: "/\t/evil.example" is "//evil..."
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def tile_source(tiles_url: str) -> str | None:
    """The CSP source for the map tile server (``{s}`` subdomains become ``*``)."""
    if not tiles_url:
        return None
    parts = urlsplit(tiles_url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


@functools.lru_cache(maxsize=16)
def content_security_policy(tiles_url: str, map_document: bool) -> str:
    """The policy for a page (``map_document``: folium's map documents), the same for every
    response with the same tile server: worked out once."""
    images = " ".join(filter(None, ["'self'", "data:", tile_source(tiles_url)]))
    if map_document:
        scripts, styles, ancestors = "'self' 'unsafe-inline'", "'self' 'unsafe-inline'", "'self'"
    else:
        scripts, styles, ancestors = "'self'", "'self'", "'none'"
    directives = [
        "default-src 'self'",
        f"script-src {scripts}",
        f"style-src {styles}",
        # colour swatches and legend badges set their colour in a style attribute
        "style-src-attr 'unsafe-inline'",
        f"img-src {images}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {ancestors}",
    ]
    return "; ".join(directives)


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Session cookies are marked Secure whenever the request came over HTTPS (directly or
    through the trusted proxy), or always when ``SESSION_COOKIE_SECURE`` is set."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def add_security_headers(response: Response, tiles_url: str, private: bool) -> Response:
    """``private``: the page is for one signed-in person (or part of signing in), so no
    browser or proxy may keep a copy of it."""
    map_document = response.headers.pop(MAP_DOCUMENT_HEADER, None) is not None
    headers = response.headers
    if private:
        headers["Cache-Control"] = "no-store"
    headers.setdefault("Content-Security-Policy", content_security_policy(tiles_url, map_document))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if map_document else "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


NUL_REFUSED = (
    "Something sent with this page holds a hidden control character (NUL) that cannot be "
    "stored or searched for. Go back, type it again and send it once more."
)


def _refuse_nul():
    """A page's query or form holding NUL (a character no text field may hold, and which
    PostgreSQL refuses) is answered 400 before any page uses it. The API checks its own
    parameters and fields, naming each."""
    if request.path.startswith(API_PREFIX):
        return None
    for values in (request.args, request.form):
        for name, given in values.lists():
            if "\x00" in name or any("\x00" in value for value in given):
                return render_error(400, NUL_REFUSED)
    return None


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Believe X-Forwarded-For/-Proto/-Host/-Port from this many proxies in front.
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.session_interface = HttpsAwareSessionInterface()
    limiter.init_app(app)

    app.before_request(_refuse_nul)

    @app.after_request
    def security_headers(response: Response) -> Response:
        private = request.blueprint in PRIVATE_BLUEPRINTS or (
            request.endpoint not in (None, "static") and current_user.is_authenticated
        )
        return add_security_headers(response, app.config["MAP_TILES_URL"], private)
