"""Keeping listings right: providers edit their organisation's services (admins any),
confirm a listing is still accurate, work through stale listings and problem reports."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from ..audit import record
from ..auth.access import role_required
from ..choices import Role
from ..clock import now_utc, today_local
from ..database import as_id
from ..extensions import db
from ..forms import options
from ..models import CouncilArea, ListingProblem, Organisation, Service
from ..once import commit_once, done, sent
from ..phones import phone_problem
from ..postcodes import normalise_postcode
from . import bp
from .access import editable_services, service_to_edit
from .forms import ServiceForm
from .hours import format_hours, parse_hours
from .listings import (
    LocationData,
    ServiceData,
    apply_service_data,
    nearest_council_id,
    position_for_postcode,
)
from .views import type_choices


def _council_choices() -> list[SelectChoice]:
    return options(
        (c.id, c.name)
        for c in db.session.scalars(sa.select(CouncilArea).order_by(CouncilArea.name))
    )


def _prepare(form: ServiceForm) -> None:
    choices = type_choices()
    form.types.choices = choices
    form.primary_type.choices = [SelectChoice("", "Choose the main type"), *choices]
    form.areas_served.choices = _council_choices()


def _fill(form: ServiceForm, service: Service) -> None:
    """Put a service's current values into an unsubmitted form."""
    for name in (
        "name",
        "description",
        "alert",
        "min_age",
        "max_age",
        "veterans_only",
        "self_referral",
        "accepts_custody_referrals",
        "same_day_access",
        "phone",
        "email",
        "website",
        "referral_method",
        "typical_wait_days",
        "confidential_address",
        "referral_email",
    ):
        getattr(form, name).data = getattr(service, name)
    form.status.data = service.status.value
    form.gender.data = service.gender.value
    form.types.data = [t.code for t in service.types]
    form.primary_type.data = service.primary_type.code
    form.opening_hours.data = format_hours(service.opening_hours)
    form.areas_served.data = [a.id for a in service.areas_served]
    while len(form.locations.entries):
        form.locations.pop_entry()
    for location in service.locations:
        form.locations.append_entry(
            {
                "address_1": location.address_1,
                "address_2": location.address_2,
                "town": location.town,
                "postcode": location.postcode,
                "latitude": location.latitude,
                "longitude": location.longitude,
                "placed_for": f"{location.postcode}|{location.latitude}|{location.longitude}",
            }
        )


def _placed_for_another(placed_for: str | None, postcode: str, lat, lon) -> bool:
    """Whether the position sent is the one the form was filled in with for another
    postcode: the postcode was changed and the position left as it was."""
    old_postcode, _, position = (placed_for or "").partition("|")
    old_lat, _, old_lon = position.partition("|")
    try:
        same = abs(float(lat) - float(old_lat)) < 1e-6 and abs(float(lon) - float(old_lon)) < 1e-6
    except ValueError:
        return False
    return same and normalise_postcode(old_postcode) != postcode


def _checked_data(form: ServiceForm) -> ServiceData | None:
    """Check what WTForms cannot (hours, postcodes, phone, ages) and build the data to
    save; add messages to the form's fields and return ``None`` when something is wrong."""
    ok = True
    try:
        hours = parse_hours(form.opening_hours.data or "")
    except ValueError as exc:
        form.opening_hours.errors.append(str(exc))
        hours, ok = [], False
    if form.phone.data and (problem := phone_problem(form.phone.data.strip())):
        form.phone.errors.append(problem)
        ok = False
    if (
        form.min_age.data is not None
        and form.max_age.data is not None
        and form.min_age.data > form.max_age.data
    ):
        form.max_age.errors.append("The oldest age must not be lower than the youngest.")
        ok = False
    if form.primary_type.data and form.primary_type.data not in (form.types.data or []):
        form.types.data = [form.primary_type.data, *(form.types.data or [])]
    locations = []
    for entry in form.locations.entries:
        sub = entry.form
        postcode = normalise_postcode(sub.postcode.data or "")
        if postcode is None:
            sub.postcode.errors.append("Enter a full postcode, like G31 2AB.")
            ok = False
            continue
        position = position_for_postcode(db.session, postcode)
        lat, lon = sub.latitude.data, sub.longitude.data
        if (lat is None) != (lon is None):
            sub.longitude.errors.append("Give both latitude and longitude, or neither.")
            ok = False
            continue
        if lat is not None and _placed_for_another(sub.placed_for.data, postcode, lat, lon):
            lat = lon = None  # it came with the old postcode: the new one places it
        if lat is None:
            if position is None:
                sub.postcode.errors.append(
                    "We cannot place this postcode on the map. Check it, or enter the "
                    "latitude and longitude."
                )
                ok = False
                continue
            lat, lon = position.latitude, position.longitude
        council_id = position.council_area_id if position else None
        if council_id is None:
            council_id = nearest_council_id(db.session, lat, lon)
        locations.append(
            LocationData(
                address_1=sub.address_1.data.strip(),
                address_2=(sub.address_2.data or "").strip() or None,
                town=sub.town.data.strip(),
                postcode=postcode,
                latitude=lat,
                longitude=lon,
                council_area_id=council_id,
            )
        )
    if not ok:
        return None
    return ServiceData(
        name=form.name.data.strip(),
        description=(form.description.data or "").strip() or None,
        type_codes=list(form.types.data),
        primary_type_code=form.primary_type.data,
        locations=locations,
        min_age=form.min_age.data,
        max_age=form.max_age.data,
        gender=form.gender.data,
        veterans_only=form.veterans_only.data,
        self_referral=form.self_referral.data,
        accepts_custody_referrals=form.accepts_custody_referrals.data,
        same_day_access=form.same_day_access.data,
        phone=(form.phone.data or "").strip() or None,
        email=(form.email.data or "").strip() or None,
        website=(form.website.data or "").strip() or None,
        referral_method=(form.referral_method.data or "").strip() or None,
        typical_wait_days=form.typical_wait_days.data,
        status=form.status.data,
        alert=(form.alert.data or "").strip() or None,
        confidential_address=form.confidential_address.data,
        hours=hours,
        area_ids=list(form.areas_served.data or []),
    )


def _save(form: ServiceForm, service: Service, organisation: Organisation, action: str):
    data = _checked_data(form)
    if data is None:
        return None
    apply_service_data(db.session, service, data, organisation)
    # Kept apart from the CSV's fields, so an import never clears a team's inbox.
    service.referral_email = (form.referral_email.data or "").strip() or None
    service.last_verified_on = today_local()
    service.last_verified_by_id = current_user.id
    record(action, service)
    db.session.flush()
    # The same form sent twice (a double click) saves once: the second is answered as the
    # first was.
    earlier = commit_once(
        db.session, form.form_token.data, action, service.id, sent(current_user.id)
    )
    return service if earlier is None else db.session.get(Service, earlier.object_id)


def _last_saved(service: Service, lock: bool) -> str:
    """When the listing was last saved, as the form carries it (``edited_from``). For a
    save, read again with the row locked until this one commits: a colleague's save
    committed since the listing was loaded is seen, and none can come between the check
    and this save (two at once would otherwise both pass it, and one undo the other)."""
    if not lock:
        return service.updated_at.isoformat()
    saved = db.session.scalar(
        sa.select(Service.updated_at).where(Service.id == service.id).with_for_update()
    )
    if saved != service.updated_at:  # saved meanwhile: the form is shown as it now is
        db.session.refresh(service)
    return saved.isoformat()


@bp.route("/services/<int:service_id>/edit", methods=["GET", "POST"])
@role_required(Role.PROVIDER, Role.ADMIN)
def edit_service(service_id: int):
    service = service_to_edit(db.session, service_id)
    form = ServiceForm()
    _prepare(form)
    changed = _last_saved(service, lock=form.is_submitted())
    changed_meanwhile = False
    if not form.is_submitted():
        _fill(form, service)
        form.edited_from.data = changed
    elif done(db.session, form.form_token.data, "service_updated", sent(current_user.id)):
        # This very form was saved already (a double click): not someone else's change.
        flash("The listing is saved and marked as checked today.", "success")
        return redirect(url_for("directory.service_detail", service_id=service.id))
    elif form.validate():
        if form.edited_from.data and form.edited_from.data != changed:
            # Someone saved the listing after this form was opened. What was typed is
            # shown again, unsaved; saving it again (now knowingly) goes through.
            changed_meanwhile = True
            form.edited_from.data = changed
        elif _save(form, service, service.organisation, "service_updated"):
            flash("The listing is saved and marked as checked today.", "success")
            return redirect(url_for("directory.service_detail", service_id=service.id))
    status = 409 if changed_meanwhile else 400 if form.is_submitted() else 200
    page = render_template(
        "directory/edit.html", form=form, service=service, changed_meanwhile=changed_meanwhile
    )
    return page, status


@bp.route("/services/new", methods=["GET", "POST"])
@role_required(Role.PROVIDER, Role.ADMIN)
def new_service():
    organisations = _organisations_for_new()
    form = ServiceForm()
    _prepare(form)
    if not form.is_submitted():
        form.self_referral.data = True
        form.accepts_custody_referrals.data = True
    org_id = as_id(request.form.get("organisation_id"))
    organisation = (
        organisations.get(org_id)
        if len(organisations) > 1
        else next(iter(organisations.values()), None)
    )
    if form.is_submitted() and form.validate():
        if organisation is None:
            flash("Choose the organisation that runs the service.", "error")
        else:
            service = _save(form, Service(), organisation, "service_created")
            if service is not None:
                flash("The new listing is saved.", "success")
                return redirect(url_for("directory.service_detail", service_id=service.id))
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "directory/edit.html",
            form=form,
            service=None,
            organisations=list(organisations.values()),
            organisation_id=org_id,
        ),
        status,
    )


def _organisations_for_new() -> dict[int, Organisation]:
    query = sa.select(Organisation).order_by(Organisation.name)
    if current_user.role == Role.PROVIDER:
        query = query.where(Organisation.id == current_user.organisation_id)
    return {o.id: o for o in db.session.scalars(query)}


@bp.post("/services/<int:service_id>/verify")
@role_required(Role.PROVIDER, Role.ADMIN)
def verify_service(service_id: int):
    service = service_to_edit(db.session, service_id)
    service.last_verified_on = today_local()
    service.last_verified_by_id = current_user.id
    record("service_verified", service)
    db.session.commit()
    flash(f"“{service.name}” is marked as checked today.", "success")
    target = request.form.get("next")
    if target == "listings":
        return redirect(url_for("directory.my_listings"))
    return redirect(url_for("directory.service_detail", service_id=service.id))


@bp.get("/listings")
@role_required(Role.PROVIDER, Role.ADMIN)
def my_listings():
    stale_days = current_app.config["STALE_AFTER_DAYS"]
    cutoff = today_local().toordinal() - stale_days
    services = list(
        db.session.scalars(
            editable_services()
            .options(selectinload(Service.primary_type), selectinload(Service.last_verified_by))
            .order_by(Service.last_verified_on.asc().nulls_first(), Service.name)
        )
    )
    stale = [
        s
        for s in services
        if s.last_verified_on is None or s.last_verified_on.toordinal() < cutoff
    ]
    service_ids = sa.select(editable_services().subquery().c.id)
    problems = list(
        db.session.scalars(
            sa.select(ListingProblem)
            .where(
                ListingProblem.resolved_at.is_(None), ListingProblem.service_id.in_(service_ids)
            )
            .options(selectinload(ListingProblem.service))
            .order_by(ListingProblem.created_at)
        )
    )
    shown = render_template(
        "directory/listings.html",
        services=services,
        stale=stale,
        problems=problems,
        stale_days=stale_days,
    )
    # The reporters' contact details shown (given to be contacted about the report).
    if reporters := [p.id for p in problems if p.reporter_contact]:
        record(
            "listing_problems_viewed",
            object_type="listing_problems",
            detail={"ids": reporters},
        )
        db.session.commit()
    return shown


@bp.post("/problems/<int:problem_id>/resolve")
@role_required(Role.PROVIDER, Role.ADMIN)
def resolve_problem(problem_id: int):
    service_ids = sa.select(editable_services().subquery().c.id)
    problem = db.session.scalar(
        sa.select(ListingProblem).where(
            ListingProblem.id == problem_id, ListingProblem.service_id.in_(service_ids)
        )
    )
    if problem is None:
        abort(404)
    if problem.resolved_at is not None:
        flash("That report was already resolved.", "info")
        return redirect(url_for("directory.my_listings"))
    note = (request.form.get("resolution_note") or "").strip()[:2000]
    if not note:
        flash("Say what was done about the report before marking it resolved.", "error")
        return redirect(url_for("directory.my_listings") + f"#problem-{problem.id}")
    problem.resolved_at = now_utc()
    problem.resolved_by_id = current_user.id
    problem.resolution_note = note
    record("problem_resolved", problem, detail={"service_id": problem.service_id})
    db.session.commit()
    flash("The report is marked as resolved.", "success")
    return redirect(url_for("directory.my_listings"))
