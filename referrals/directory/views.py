"""Finding services: search, a service's page, reporting a problem with a listing."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from ..audit import record
from ..choices import Role
from ..clock import now_local, today_local
from ..extensions import db
from ..forms import options
from ..models import ListingProblem, Service
from ..once import commit_once, sent
from ..security import limiter
from . import bp, cards
from .access import address_viewer, can_edit
from .export import export_count, export_stream
from .finding import find_services
from .forms import ProblemForm, SearchForm
from .geocoder import current_geocoder
from .hours import holiday_note, open_now_holiday_note, today_text, week
from .locate import Origin
from .search import DEFAULT_RADIUS_KM, Filters
from .search_fields import search_fields
from .taxonomy import TypeRow, service_types


def type_choices(types: list[TypeRow] | None = None) -> list[SelectChoice]:
    """The service types as the filter's choices (``types`` if already read)."""
    return options((t.code, t.name) for t in (types or service_types(db.session)))


def is_stale(service: Service) -> bool:
    return cards.is_stale(
        service.last_verified_on, today_local(), current_app.config["STALE_AFTER_DAYS"]
    )


def filters_from(form: SearchForm) -> Filters:
    return Filters(
        types=list(form.type.data or []),
        same_day=bool(form.same_day.data),
        custody=bool(form.custody.data),
        open_now=bool(form.open_now.data),
        age=form.age.data,
        gender=form.gender.data or None,
        veterans=bool(form.veterans.data),
        radius_km=form.radius_km.data or DEFAULT_RADIUS_KM,
    )


def query_with(**changes) -> str:
    """The current query string with some parameters changed (``None`` removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    return urlencode(args, doseq=True)


@bp.app_context_processor
def directory_helpers() -> dict:
    return {"is_stale": is_stale, "today_hours": today_hours}


def today_hours(service: Service) -> str:
    now = now_local()
    return today_text(service.opening_hours, now, holiday_note(now.date()))


@bp.get("/services")
@limiter.limit(lambda: current_app.config["SEARCH_RATE_LIMIT"])
def search():
    types = service_types(db.session)
    form = SearchForm(request.args)
    form.type.choices = type_choices(types)
    submitted = bool(request.args)
    status = 200
    found = None
    local = now_local()
    if submitted and not form.validate():
        status = 400
    elif submitted and form.q.data:
        found = find_services(
            db.session,
            form.q.data,
            filters_from(form),
            geocoder=current_geocoder(current_app),
            now_local=local,
            viewer=address_viewer(),
            page=form.page.data or 1,
            home=_custody_home(),
            types=types,
            load=_card_loader(local),
        )
    result = found.result if found else None
    open_now_note = open_now_holiday_note(local.date()) if form.open_now.data else None
    wider = None
    if result is not None and result.total == 0 and result.nearest_outside_km is not None:
        steps = (25, 50, 100, 200, 500, 1000)
        wider = next((s for s in steps if s >= result.nearest_outside_km), 1000)
    return (
        render_template(
            "directory/search.html",
            form=form,
            origin=found.origin if found else None,
            understood=found.understood if found else None,
            result=result,
            submitted=submitted,
            wider=wider,
            open_now_note=open_now_note,
            query_with=query_with,
            service_card=cards.card_html,
            search_fields=search_fields,
        ),
        status,
    )


def _card_loader(local: dt.datetime) -> cards.CardLoader:
    """How the search page shows a page of services, for the current viewer, at local
    time ``local``."""
    placeholder = int(cards.ID_PLACEHOLDER)
    return cards.CardLoader(
        now_local=local,
        stale_after_days=current_app.config["STALE_AFTER_DAYS"],
        detail_url=url_for("directory.service_detail", service_id=placeholder),
        refer_url=(
            url_for("tracking.new_referral", service=placeholder) if _can_refer() else None
        ),
    )


def _custody_home() -> Origin | None:
    """Where a custody worker's search by need alone is measured from: their suite."""
    if not (current_user.is_authenticated and current_user.role == Role.CUSTODY):
        return None
    suite = current_user.custody_suite
    if suite is None:
        return None
    return Origin(
        suite.latitude,
        suite.longitude,
        f"your custody suite ({suite.name})",
        council_area_id=suite.council_area_id,
    )


def _can_refer() -> bool:
    return (
        current_user.is_authenticated
        and current_user.role == Role.CUSTODY
        and "tracking.new_referral" in current_app.view_functions
    )


def load_service(service_id: int) -> Service:
    service = db.session.scalar(
        sa.select(Service)
        .where(Service.id == service_id)
        .options(
            selectinload(Service.types),
            selectinload(Service.opening_hours),
            selectinload(Service.locations),
            selectinload(Service.areas_served),
            selectinload(Service.organisation),
            selectinload(Service.last_verified_by),
        )
    )
    if service is None:
        abort(404)
    return service


@bp.get("/services/<int:service_id>")
def service_detail(service_id: int):
    service = load_service(service_id)
    now = now_local()
    return render_template(
        "directory/service.html",
        service=service,
        week=week(service.opening_hours),
        today=now.weekday(),
        holiday=holiday_note(now.date()),
        show_address=address_viewer().reveals_service(service),
        can_edit=can_edit(service),
        can_refer=_can_refer(),
    )


# A problem report is a few lines of text: anything much bigger is refused unread.
PUBLIC_FORM_MAX_BYTES = 64 * 1024


@bp.route("/services/<int:service_id>/report-problem", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PUBLIC_FORM_RATE_LIMIT"], methods=["POST"])
def report_problem(service_id: int):
    request.max_content_length = PUBLIC_FORM_MAX_BYTES
    if (request.content_length or 0) > PUBLIC_FORM_MAX_BYTES:
        abort(413, "That is too long for a problem report: keep it under 2,000 characters.")
    service = load_service(service_id)
    form = ProblemForm()
    if form.validate_on_submit():
        problem = ListingProblem(
            service=service,
            category=form.category.data,
            description=form.description.data.strip(),
            reporter_contact=(form.reporter_contact.data or "").strip() or None,
        )
        db.session.add(problem)
        db.session.flush()
        record("problem_reported", problem, detail={"service_id": service.id})
        commit_once(db.session, form.form_token.data, "problem_reported", problem.id, sent(None))
        flash(
            "Thank you. The service's provider and the directory's administrators will check "
            "the listing.",
            "success",
        )
        return redirect(url_for("directory.service_detail", service_id=service.id))
    status = 400 if form.is_submitted() else 200
    return render_template("directory/report_problem.html", service=service, form=form), status


@bp.get("/services.csv")
@limiter.limit(lambda: current_app.config["EXPORT_RATE_LIMIT"])
def export_csv():
    """Every listed service as CSV, in the format ``import-services`` reads, streamed a
    batch of services at a time."""
    admin = current_user.is_authenticated and current_user.role == Role.ADMIN
    if current_user.is_authenticated:
        rows = export_count(db.session, include_inactive=admin)
        record("services_exported", object_type="services", detail={"rows": rows})
        db.session.commit()
    stream = export_stream(db.engine, include_inactive=admin, viewer=address_viewer())
    response = Response(stream_with_context(stream), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="services-{today_local().isoformat()}.csv"'
    )
    return response
