"""The home page: one search box and the main tasks for the signed-in role."""

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user

from . import nation
from .choices import Role
from .reports.own import has_own_figures, lead_areas

bp = Blueprint("home", __name__)

# (endpoint, title, description) per role; shown only when the page exists.
TASKS = {
    None: [
        (
            "directory.search",
            "Find a service",
            "Treatment and harm-reduction services near a postcode or town, nearest first.",
        ),
        ("directory.services_map", "See services on a map", "Every active service, by type."),
    ],
    Role.CUSTODY: [
        (
            "tracking.new_referral",
            "Make a referral",
            "Refer someone in custody to a service: one page, about two minutes.",
        ),
        (
            "contacts.new_contact",
            "Record a custody contact",
            "Everyone seen about drugs or alcohol, referred or not: a few answers, or a "
            "batch at the end of a shift.",
        ),
        (
            "tracking.referral_list",
            "Follow up your suite's referrals",
            "See which referrals were accepted, attended or are overdue.",
        ),
        ("directory.search", "Find a service", "Nearest suitable services to a postcode."),
    ],
    Role.PROVIDER: [
        (
            "tracking.worklist",
            "Open your worklist",
            "New and overdue referrals to your "
            "services, and people awaiting first appointment or treatment.",
        ),
        (
            "directory.my_listings",
            "Keep your listings right",
            "Confirm or correct your services' details, and deal with reported problems.",
        ),
    ],
    Role.LEAD: [
        (
            "reports.area_report",
            "Compare areas",
            "Engagement and conversion by area, against {national} and your targets.",
        ),
        ("reports.area_map", "See the map", "The postcode lottery, area by area."),
        ("reports.dashboard", "National picture", "The referral funnel and headline measures."),
    ],
    Role.ADMIN: [
        ("admin.index", "Administration", "Users, imports, boundaries and the audit log."),
        ("reports.dashboard", "Reports", "Engagement and conversion by area."),
        ("tracking.referral_list", "All referrals", "Every referral, with its timeline."),
    ],
}


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def index():
    role = current_user.role if current_user.is_authenticated else None
    national = nation.current().name
    tasks = [
        {"url": url_for(endpoint), "title": title, "text": text.format(national=national)}
        for endpoint, title, text in TASKS.get(role, TASKS[None])
        if endpoint in current_app.view_functions
    ]
    if "reports.mine" in current_app.view_functions and has_own_figures(current_user):
        national = nation.current().name
        title = f"Your area against {national}" if lead_areas(current_user) else "Your figures"
        tasks.insert(
            0 if current_user.role == Role.LEAD else len(tasks),
            {
                "url": url_for("reports.mine"),
                "title": title,
                "text": "Every measure for your "
                + ("areas" if lead_areas(current_user) else "units")
                + f" beside {national}: published figures only, never people.",
            },
        )
    can_search = "directory.search" in current_app.view_functions
    return render_template("home.html", tasks=tasks, can_search=can_search)
