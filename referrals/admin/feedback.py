"""Feedback sent from the contact page, for administrators to read and deal with."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..about.feedback import feedback_page, mark_dealt_with
from ..about.models import Feedback
from ..audit import record
from ..clock import now_utc
from ..extensions import db
from ..forms import yes
from . import bp


def _kept() -> dict[str, str]:
    """The page's own query parameters, for its links: any other is dropped (``url_for``
    takes some, like ``_method``, as its own)."""
    return {k: v for k in ("waiting", "page") if (v := request.args.get(k))}


@bp.get("/feedback")
def feedback():
    waiting_only = yes(request.args.get("waiting"))
    listing = feedback_page(
        db.session, waiting_only=waiting_only, page=request.args.get("page", 1, type=int)
    )
    shown = render_template(
        "admin/feedback.html", listing=listing, waiting_only=waiting_only, kept=_kept()
    )
    # The reply addresses shown (given to be answered).
    if repliers := [item.id for item in listing.items if item.reply_to]:
        record("feedback_viewed", object_type="feedback", detail={"ids": repliers})
        db.session.commit()
    return shown


@bp.post("/feedback/<int:feedback_id>/dealt-with")
def feedback_dealt_with(feedback_id: int):
    item = db.session.get(Feedback, feedback_id)
    if item is None:
        abort(404)
    if mark_dealt_with(db.session, item, current_user._get_current_object(), now_utc()):
        record("feedback_dealt_with", item)
        db.session.commit()
        flash("Marked as dealt with.", "success")
    else:
        flash("Someone had already marked that feedback as dealt with.", "info")
    return redirect(url_for("admin.feedback", **_kept()))
