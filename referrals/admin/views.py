from flask import current_app, render_template

from ..auth.access import role_required
from ..choices import Role
from . import bp

# (endpoint, title, description): shown when the page exists.
TASKS = [
    ("admin.users", "Users", "Create accounts, set roles, reset passwords, deactivate."),
    (
        "admin.areas",
        "Areas",
        "Council areas with their ADP, police division and health board: names, codes, "
        "population.",
    ),
    (
        "schemes.index",
        "Arrest referral schemes",
        "Provider teams, the custody suites they serve, and their leads.",
    ),
    ("admin.import_services", "Import services", "Load or update listings from a CSV file."),
    ("directory.my_listings", "Directory upkeep", "Stale listings and reported problems."),
    ("admin.boundaries", "Area boundaries", "Boundaries for the area map."),
    ("reports.targets", "Targets", "Local targets per area and measure."),
    (
        "api_clients.index",
        "API clients",
        "Systems that make and follow referrals through the API, and their tokens.",
    ),
    ("admin.audit", "Audit log", "Who viewed and changed what, and when."),
    ("admin.feedback", "Feedback", "What people told us through the contact page."),
    ("notifications.outbox", "Outbox", "Messages that could not be sent, to try again."),
    (
        "privacy.subject_access",
        "Subject access",
        "Everything held about one person, by custody record number.",
    ),
]


@bp.before_request
@role_required(Role.ADMIN)
def admins_only():
    return None


@bp.get("/")
def index():
    tasks = [t for t in TASKS if t[0] in current_app.view_functions]
    return render_template("admin/index.html", tasks=tasks)
