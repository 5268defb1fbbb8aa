"""What every template gets: navigation for the signed-in role, the demo banner flag,
and display filters for dates, times and coded values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for
from flask_login import current_user
from jinja2 import StrictUndefined

from .choices import Role
from .clock import local_zone, now_utc, today_local
from .dates import example_hint
from .forms import form_errors
from .nation import demo_data_loaded
from .phones import dialable


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: frozenset[str] | None = None  # None: everyone, signed in or not


NAV = [
    NavItem("directory.search", "Find a service"),
    NavItem("directory.services_map", "Services map"),
    NavItem("tracking.new_referral", "New referral", frozenset({Role.CUSTODY})),
    NavItem("tracking.referral_list", "Referrals", frozenset({Role.CUSTODY, Role.ADMIN})),
    NavItem("contacts.contact_list", "Contacts", frozenset({Role.CUSTODY, Role.ADMIN})),
    NavItem("tracking.worklist", "Worklist", frozenset({Role.PROVIDER})),
    NavItem("directory.my_listings", "Our listings", frozenset({Role.PROVIDER})),
    NavItem("reports.dashboard", "Reports", frozenset({Role.LEAD, Role.ADMIN})),
    NavItem("admin.index", "Admin", frozenset({Role.ADMIN})),
    NavItem("notifications.settings", "Settings", frozenset(Role)),
]


# The role as the header shows it: short, so the name, role and "Sign out" keep to one
# row beside the links at 1280 px and beside the name of the service on a phone.
ROLE_TAGS = {
    Role.CUSTODY: "Custody",
    Role.PROVIDER: "Provider",
    Role.LEAD: "Lead",
    Role.ADMIN: "Admin",
}


def role_tag(role: Role) -> str:
    return ROLE_TAGS.get(role, label(role))


def role_label(value: str | None) -> str:
    """The label of a role stored as its code: ``"lead"`` -> ``Area lead``."""
    try:
        return Role(value).label
    except ValueError:
        return str(value or "")


FIXED_URLS_KEPT = 512


def fixed_url(endpoint: str, filename: str | None = None) -> str:
    """``url_for`` for a link that takes no arguments (or a static file): the same for
    every request through one script root, so it is built once per app and root."""
    urls = current_app.extensions.setdefault("fixed_urls", {})
    key = (endpoint, filename, request.script_root)
    url = urls.get(key)
    if url is None:
        if len(urls) >= FIXED_URLS_KEPT:  # a proxy passing odd script roots on: start again
            urls.clear()
        url = urls[key] = url_for(endpoint, filename=filename) if filename else url_for(endpoint)
    return url


def nav_items() -> list[dict]:
    """The navigation links for the current user, limited to pages this app serves."""
    role = current_user.role if current_user.is_authenticated else None
    items = []
    for item in NAV:
        if item.endpoint not in current_app.view_functions:
            continue
        if item.roles is not None and role not in item.roles:
            continue
        current = request.endpoint == item.endpoint
        items.append({"url": fixed_url(item.endpoint), "label": item.label, "current": current})
    return items


def format_date(value: dt.date | dt.datetime | None) -> str:
    """``2026-11-22`` -> ``22 Nov 2026`` (datetimes in local time)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(local_zone()).date()
    return f"{value.day} {value:%b %Y}"


def format_datetime(value: dt.datetime | None) -> str:
    """A timestamp in local time: ``22 Nov 2026, 14:05``."""
    if value is None:
        return ""
    local = value.astimezone(local_zone())
    return f"{local.day} {local:%b %Y, %H:%M}"


def label(value: object) -> str:
    """The human label of a coded value (a ``Choice`` member); other values as text."""
    if value is None:
        return ""
    return getattr(value, "label", str(value))


def web_link(url: str | None) -> str:
    """``url`` if it is an http(s) address safe to link to; otherwise empty."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def date_example() -> str:
    """The hint under every date box: "For example, 27/11/2026 for last Friday."."""
    return example_hint(today_local())


# What a page sent back with a form's problems answers with: refused (400), a wrong code
# (401), changed meanwhile (409), not made (422).
REFUSED = frozenset({400, 401, 409, 422})


def init_app(app: Flask) -> None:
    # A misspelt name in a template is an error, not a silently empty page section.
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.globals["form_errors"] = form_errors
    app.jinja_env.globals["now_utc"] = now_utc
    app.jinja_env.globals["date_example"] = date_example
    app.jinja_env.filters.update(
        date=format_date,
        datetime=format_datetime,
        label=label,
        web_link=web_link,
        role_label=role_label,
        tel=dialable,
    )

    @app.after_request
    def refused_title(response):
        """A page answering a form (or a search) with what is wrong in it says so first
        in its title, "Error: New referral", which a screen reader reads first."""
        if (
            response.status_code in REFUSED
            and response.mimetype == "text/html"
            and not response.is_streamed
        ):
            page = response.get_data()
            if b"<title>Error: " not in page:
                response.set_data(page.replace(b"<title>", b"<title>Error: ", 1))
        return response

    @app.context_processor
    def inject() -> dict:
        return {
            "nav_items": nav_items,
            "fixed_url": fixed_url,
            "role_tag": role_tag,
            "demo_data_loaded": demo_data_loaded,
            "Role": Role,
        }
