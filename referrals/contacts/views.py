"""Custody contacts: the suite's list, one contact, a batch, one contact's page."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from ..audit import record, record_together
from ..auth.access import role_required
from ..choices import ReferralStatus, Role
from ..clock import today_local
from ..database import as_id
from ..extensions import db
from ..forms import options
from ..once import commit_once, sent
from . import bp
from .choices import ContactOutcome
from .forms import MAX_BATCH_ROWS, BatchForm, ContactFilterForm, ContactForm
from .linking import awaiting_referral
from .listing import (
    contact_for,
    contacts_page,
    parse_cursor,
    service_options,
    suite_options,
)
from .models import CustodyContact
from .recording import ContactChecker, add_contact, update_contact
from .rows import answers_of, apply_problems, batch_values, fill_contact_form

ROLES = (Role.CUSTODY, Role.ADMIN)
# The list's filters, carried over to its pages; any other query parameter is dropped
# (``url_for`` takes some, like ``_method``, as its own).
LIST_FILTERS = ("outcome", "suite", "on_or_before")
BATCH_ROWS, MORE_ROWS = 8, 4


def _user():
    return current_user._get_current_object()


def _is_admin() -> bool:
    return current_user.role == Role.ADMIN


def _suite_id(form) -> int | None:
    """The suite a new contact is for: the custody user's own, or the admin's choice."""
    return as_id(form.custody_suite_id.data) if _is_admin() else current_user.custody_suite_id


def _prepare(form, with_services: bool = True) -> None:
    if _is_admin():
        form.custody_suite_id.choices = options(
            [("", "Choose the suite"), *suite_options(db.session)]
        )
    if with_services:
        suite = None if _is_admin() else current_user.custody_suite
        form.treatment_service_id.choices = options(
            [("", "Not known, or not listed"), *service_options(db.session, suite)]
        )


@bp.get("/contacts")
@role_required(*ROLES)
def contact_list():
    form = ContactFilterForm(request.args)
    form.outcome.choices = options([("", "Any outcome"), *ContactOutcome.choices()])
    form.suite.choices = options([("", "Every suite"), *suite_options(db.session)])
    valid = form.validate() if request.args else True
    after = parse_cursor(form.before.data) if valid else None
    newer_than = parse_cursor(form.newer.data) if valid else None
    suite_id = as_id(form.suite.data) if valid and _is_admin() else None
    page = contacts_page(
        db.session,
        _user(),
        suite_id=suite_id,
        outcome=form.outcome.data if valid else None,
        on_or_before=form.on_or_before.data if valid else None,
        after=after,
        newer_than=newer_than,
    )
    awaiting = awaiting_referral(
        db.session, suite_id if _is_admin() else current_user.custody_suite_id, today_local()
    )
    filters = {k: v for k in LIST_FILTERS if (v := request.args.get(k))}
    older = newer = None
    if page.next_cursor:
        older = url_for("contacts.contact_list", **filters, before=page.next_cursor)
    if page.previous_cursor:
        newer = url_for("contacts.contact_list", **filters, newer=page.previous_cursor)
    shown = render_template(
        "contacts/list.html",
        form=form,
        page=page,
        awaiting=awaiting,
        older=older,
        newer=newer,
        newest=url_for("contacts.contact_list", **filters),
        paged=after is not None or newer_than is not None,
        filtered=bool(filters),
    )
    # Person-level records, audited as lists of referrals are: the ids shown.
    ids = sorted({c.id for c in page.contacts} | {c.id for c in awaiting})
    record_together(
        {"action": "contacts_listed", "object_type": "custody_contacts", "detail": {"ids": ids}}
    )
    db.session.commit()
    return shown, 200 if valid else 400


@bp.route("/contacts/new", methods=["GET", "POST"])
@role_required(*ROLES)
def new_contact():
    form = ContactForm()
    _prepare(form)
    if not form.is_submitted():
        form.contact_on.data = today_local()
        form.veteran.data = ""
        return render_template("contacts/new.html", form=form, contact=None)
    valid = form.validate()
    checker = ContactChecker(db.session, today_local())
    values, problems = checker.check(answers_of(form), _suite_id(form))
    if not valid or values is None:
        apply_problems(form, problems)
        return render_template("contacts/new.html", form=form, contact=None), 400
    contact = add_contact(db.session, _user(), values)
    db.session.flush()
    # The same form sent twice (a double click) saves one contact, and both are answered
    # as the first save was.
    earlier = commit_once(
        db.session, form.form_token.data, "custody_contact", contact.id, sent(current_user.id)
    )
    if earlier is not None:
        contact = db.session.get(CustodyContact, earlier.object_id)
    if contact.outcome == ContactOutcome.REFERRAL_MADE and not _is_admin():
        flash("Contact saved. Now make the referral: what the contact holds is filled in.")
        return redirect(url_for("tracking.new_referral", contact=contact.id))
    flash(
        f"Contact saved: {contact.age_band.label}, {contact.sex.label.lower()}, "
        f"{contact.outcome.label.lower()}. Record the next one below.",
        "success",
    )
    return redirect(url_for("contacts.new_contact"))


@bp.route("/contacts/new/batch", methods=["GET", "POST"])
@role_required(*ROLES)
def new_batch():
    form = BatchForm()
    _prepare(form, with_services=False)
    today = today_local()
    if not form.is_submitted():
        wanted = min(max(request.args.get("rows", BATCH_ROWS, type=int), 1), MAX_BATCH_ROWS)
        while len(form.rows) < wanted:
            form.rows.append_entry()
        for row in form.rows:
            row.form.contact_on.data = today
        return render_template("contacts/batch.html", form=form)
    if "add_rows" in request.form:
        for _ in range(min(MORE_ROWS, MAX_BATCH_ROWS - len(form.rows))):
            form.rows.append_entry({"contact_on": today})
        return render_template("contacts/batch.html", form=form)
    form.validate()
    checker = ContactChecker(db.session, today)
    rows, problems = batch_values(form, checker, _suite_id(form))
    if problems:
        return render_template("contacts/batch.html", form=form, problems=problems), 400
    user = _user()
    contacts = [add_contact(db.session, user, values, batch_row=n) for n, values in rows]
    saved = commit_once(db.session, form.form_token.data, "custody_contacts", None, sent(user.id))
    if saved is not None:
        flash("These contacts were saved already: they are in the list below.", "success")
        return redirect(url_for("contacts.contact_list"))
    waiting = sum(c.outcome == ContactOutcome.REFERRAL_MADE for c in contacts)
    message = f"Saved {len(contacts)} contact{'s' if len(contacts) != 1 else ''}."
    if waiting:
        message += (
            f" {waiting} {'is' if waiting == 1 else 'are'} waiting for the referral: make "
            f"{'it' if waiting == 1 else 'them'} from the list below."
        )
    flash(message, "success")
    return redirect(url_for("contacts.contact_list"))


@bp.get("/contacts/<int:contact_id>")
@role_required(*ROLES)
def contact_detail(contact_id: int):
    contact = contact_for(db.session, _user(), contact_id)
    record("contact_viewed", contact)
    db.session.commit()
    return render_template("contacts/detail.html", contact=contact)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@role_required(*ROLES)
def edit_contact(contact_id: int):
    contact = contact_for(db.session, _user(), contact_id)
    # A contact whose referral counts is changed through the referral; one whose
    # referral was closed as entered in error waits again, and can be changed.
    if contact.referral_id is not None and not contact.awaiting_referral:
        flash(_referral_counts(contact), "warning")
        return redirect(url_for("contacts.contact_detail", contact_id=contact.id))
    form = ContactForm(obj=None)
    _prepare(form)
    if not form.is_submitted():
        fill_contact_form(form, contact)
        shown = render_template("contacts/new.html", form=form, contact=contact)
        record("contact_viewed", contact, detail={"page": "edit"})
        db.session.commit()
        return shown
    if str(contact.version) != (form.version.data or ""):
        return _changed_meanwhile(contact)
    valid = form.validate()
    checker = ContactChecker(db.session, today_local())
    suite_id = as_id(form.custody_suite_id.data) if _is_admin() else contact.custody_suite_id
    values, problems = checker.check(answers_of(form), suite_id, saved=contact)
    if not valid or values is None:
        apply_problems(form, problems)
        return render_template("contacts/new.html", form=form, contact=contact), 400
    try:
        changes = update_contact(db.session, contact, _user(), values)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        return _changed_meanwhile(contact_for(db.session, _user(), contact_id))
    flash("Contact saved." if changes else "Nothing was changed.", "success")
    if contact.awaiting_referral and not _is_admin():
        return redirect(url_for("tracking.new_referral", contact=contact.id))
    return redirect(url_for("contacts.contact_detail", contact_id=contact.id))


def _referral_counts(contact) -> str:
    """Why a contact whose referral counts is not changed here, and what to do instead.
    Its answers are the referral's (``linking.link``), and referrals are changed only by
    their lifecycle, so an administrator too is sent to the referral, not to themselves."""
    referral = contact.referral
    reference = referral.reference
    if not _is_admin():
        return (
            f"This contact led to referral {reference}: change the referral instead, or ask "
            "an administrator."
        )
    if referral.personal_data_erased_at is not None:
        return (
            f"This contact led to referral {reference}, whose personal details were erased "
            "under the retention rules: neither can be changed any more."
        )
    first = (
        " (reopen it first)"
        if referral.status in (ReferralStatus.CLOSED, ReferralStatus.DECLINED)
        else ""
    )
    return (
        f"This contact led to referral {reference}, which counts, so its answers are the "
        f"referral's and are not changed here. If {reference} should not have been made, "
        f"close it as entered in error{first}: the contact then waits for the right "
        "referral, and can be changed."
    )


def _changed_meanwhile(contact):
    """The contact as it is now, when someone else changed it after the form was shown."""
    form = ContactForm(formdata=None)
    _prepare(form)
    fill_contact_form(form, contact)
    error = (
        "Someone else changed this contact while you were editing it, so your change was "
        "not saved. Here is the contact as it is now."
    )
    return render_template("contacts/new.html", form=form, contact=contact, error=error), 409
