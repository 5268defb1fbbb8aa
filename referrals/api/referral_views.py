"""``/api/v1/referrals``: registered systems make, read and follow referrals.

A custody system makes referrals for its suites through the referral form's own code
(``ReferralMaker``), so the same checks and consent rule apply; providers' case systems
record what happens through the lifecycle (``tracking/lifecycle.py``), with the same
version check (409 when someone else changed the referral first). Each system sees
exactly what a person in its role sees: anything else answers 404, as if it did not
exist. Every call is written to the audit log as the system's own account.

A request sent again after its answer was lost is answered as the first time, and
changes nothing: a new referral named by its ``Idempotency-Key`` (``referral_io.py``), and
a status change this system made to the referral a moment ago, as ``made_just_now``
judges the form sent twice on the referral's page.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..audit import record
from ..choices import ReferralStatus, Role
from ..clock import now_utc, today_local
from ..extensions import db
from ..models import Referral, Service
from ..tracking.lifecycle import ACTIONS, StaleReferral, TransitionError, apply
from ..tracking.making import ReferralMaker
from ..tracking.scope import find_referral
from ..tracking.undo import made_just_now
from . import bp
from .auth import client_required, current_client
from .clients import client_scope
from .cursors import cursor_arg, page_after, settled_before
from .fhir import FHIR_JSON, bundle
from .params import (
    ApiError,
    Paging,
    choice_arg,
    datetime_arg,
    json_body,
    page_body,
    parse_uuid,
)
from .referral_io import (
    IDEMPOTENCY_KEY,
    form_errors,
    idempotency_token,
    new_referral_form,
    referral_full,
    referral_summary,
)
from .status_changes import read_status_change

STALE = (
    "Someone else changed this referral first, so the change was not recorded. Read it "
    "again and send the change with its current version if it is still needed."
)


def _in_scope(referral_id: str) -> Referral:
    key = parse_uuid(referral_id)
    referral = key and find_referral(
        db.session, Referral.uuid == key, client_scope(current_client())
    )
    if not referral:
        raise ApiError(404, "No referral with that id.")
    return referral


def _made_with_key(token: str | None) -> Referral | None:
    """The referral this system already made with the request's ``Idempotency-Key``."""
    if not token:
        return None
    return find_referral(db.session, Referral.form_token == token, client_scope(current_client()))


def _made_before(referral: Referral) -> Response:
    """A create sent again: the first answer, and an audit row saying it was read."""
    record(
        "referral_viewed",
        referral,
        user=current_client().user,
        detail={"via": "api", "repeat_of": "referral_created"},
    )
    db.session.commit()
    return _created(referral)


def _created(referral: Referral) -> Response:
    response = jsonify(referral_full(referral))
    response.status_code = 201
    response.headers["Location"] = url_for("api.referral", referral_id=referral.uuid)
    return response


@bp.post("/referrals")
@client_required(Role.CUSTODY)
def create_referral():
    client = current_client()
    token = idempotency_token(client, request.headers.get(IDEMPOTENCY_KEY))
    formdata, suite = new_referral_form(db.session, client, json_body(), token)
    already = _made_with_key(token)
    if already is not None:
        return _made_before(already)
    # The one place the API makes a referral: the form's own maker, given the fields.
    maker = ReferralMaker(
        db.session,
        client.user,
        today_local(),
        formdata=formdata,
        suite=suite,
        seen_suites=[s.id for s in client.suites],
    )
    try:
        referral = maker.submit()
    except IntegrityError:
        # The same request, sent again at the same moment, made the referral first.
        db.session.rollback()
        already = _made_with_key(token)
        if already is None:
            raise
        return _made_before(already)
    if referral is None and maker.duplicate is not None and not maker.form.confirm_duplicate.data:
        earlier = maker.duplicate
        db.session.rollback()
        raise ApiError(
            409,
            "This person was referred to this service on "
            f"{earlier.referred_on:%-d %B %Y} ({earlier.reference}). If this is a new "
            "referral, send it again with confirm_duplicate set to true.",
            {"confirm_duplicate": earlier.reference},
        )
    if referral is None and maker.ineligible is not None:
        db.session.rollback()
        raise ApiError(
            409,
            f"{maker.ineligible} If the service will take them, send it again with "
            "confirm_eligibility set to true.",
            {"confirm_eligibility": maker.ineligible},
        )
    if referral is None:
        db.session.rollback()
        errors = form_errors(maker.form, maker.service_problem)
        raise ApiError(422, "The referral was not made: " + " ".join(errors.values()), errors)
    return _created(_in_scope(str(referral.uuid)))


@bp.get("/referrals")
@client_required()
def referrals():
    client = current_client()
    paging = Paging.from_request()
    cursor = cursor_arg(timed=True)
    changed_since = datetime_arg("changed_since")
    status = choice_arg("status", ReferralStatus.values())
    ids = (
        sa.select(Referral.id)
        .where(client_scope(client), Referral.updated_at < settled_before())
        .order_by(Referral.updated_at, Referral.id)
    )
    if changed_since is not None:
        ids = ids.where(Referral.updated_at >= changed_since)
    if status is not None:
        ids = ids.where(Referral.status == status)
    page = page_after(db.session, ids, Referral.updated_at, Referral.id, paging, cursor)
    page_ids = page.ids
    found = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Referral)
            .where(Referral.id.in_(page_ids))
            .options(
                selectinload(Referral.service).selectinload(Service.organisation),
                selectinload(Referral.custody_suite),
            )
        )
    }
    contents = [referral_summary(found[i]) for i in page_ids]
    record(
        "api_referrals_listed",
        object_type="referrals",
        user=client.user,
        detail={
            "changed_since": changed_since,
            "status": status,
            "page": page.paging.page,
            "references": [item["reference"] for item in contents],
        },
    )
    db.session.commit()
    body = page_body(page.total, page.paging, contents)
    body["next_cursor"] = page.next.token() if page.next else None
    body["last_page"] = page.next is None
    return jsonify(body)


@bp.get("/referrals/<referral_id>")
@client_required()
def referral(referral_id: str):
    found = _in_scope(referral_id)
    record("referral_viewed", found, user=current_client().user, detail={"via": "api"})
    db.session.commit()
    return jsonify(referral_full(found))


@bp.get("/referrals/<referral_id>/fhir")
@client_required()
def referral_fhir(referral_id: str):
    found = _in_scope(referral_id)
    record(
        "referral_viewed", found, user=current_client().user, detail={"via": "api", "as": "fhir"}
    )
    db.session.commit()
    response = jsonify(bundle(found, now_utc()))
    response.mimetype = FHIR_JSON
    return response


@bp.post("/referrals/<referral_id>/events")
@client_required()
def change_referral(referral_id: str):
    found = _in_scope(referral_id)
    change = read_status_change(json_body(), today_local())
    user = current_client().user
    if user.role not in ACTIONS[change.action].roles:
        raise ApiError(403, "This system's role cannot make that change.")
    try:
        event = apply(
            db.session,
            found,
            change.action,
            user,
            on=change.on,
            today=today_local(),
            expected_version=change.version,
            reason=change.reason,
            declined_by=change.declined_by,
            note=change.note,
        )
        record(
            f"referral_{change.action}",
            found,
            user=user,
            detail={
                "to": event.to_status.value,
                "date": event.event_date.isoformat(),
                "via": "api",
            },
        )
        db.session.commit()
    except (StaleReferral, StaleDataError):
        db.session.rollback()
        db.session.expire_all()
        current = _in_scope(referral_id)
        if made_just_now(current, change.action, user, change.version, now_utc()):
            return _created(current)  # this change, sent again: already recorded
        raise ApiError(409, STALE, {"version": current.version}) from None
    except TransitionError as exc:
        db.session.rollback()
        raise ApiError(422, str(exc), {exc.field or "action": str(exc)}) from None
    return _created(_in_scope(referral_id))
