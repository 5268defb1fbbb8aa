"""Between the contact forms and the checker: the answers a form holds, the checker's
messages put back on the fields, and a batch checked row by row."""

from __future__ import annotations

from .forms import DECLINED_PREFIX, NOT_SUITABLE_PREFIX, ContactForm
from .models import CustodyContact
from .recording import ContactChecker, ContactValues, Problems


def answers_of(form: ContactForm) -> dict:
    return {
        "contact_on": form.contact_on.data,
        "age_band": form.age_band.data,
        "sex": form.sex.data,
        "postcode_district": form.postcode_district.data,
        "no_fixed_abode": form.no_fixed_abode.data,
        "offered": form.offered.data,
        "outcome": form.outcome.data,
        "decline_reason": form.decline_reason.data,
        "not_suitable_reason": form.not_suitable_reason.data,
        "treatment_service_id": form.treatment_service_id.data,
        "naloxone": form.naloxone.data,
        "veteran": form.veteran.data,
    }


def _row_answers(row) -> dict:
    reason = row.reason.data or ""
    return {
        "contact_on": row.contact_on.data,
        "age_band": row.age_band.data,
        "sex": row.sex.data,
        "postcode_district": row.postcode_district.data,
        "offered": row.offered.data,
        "outcome": row.outcome.data,
        "decline_reason": reason.removeprefix(DECLINED_PREFIX),
        "not_suitable_reason": reason.removeprefix(NOT_SUITABLE_PREFIX),
        "one_reason": True,  # one column holds either kind of reason
        "naloxone": row.naloxone.data,
        "veteran": row.veteran.data,
    }


def apply_problems(form, problems: Problems, prefix: str = "") -> None:
    """Put the checker's messages on the form's fields (the suite's on the suite field,
    or on the form when it has none), without repeating one already there."""
    for name, message in problems:
        field = getattr(form, name, None)
        if name in ("decline_reason", "not_suitable_reason") and field is None:
            field = getattr(form, "reason", None)
        if field is None:
            continue
        message = prefix + message
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        if message not in field.errors:
            field.errors.append(message)


def batch_values(form, checker: ContactChecker, suite_id: int | None):
    """``([(row number, ContactValues)], [])`` for the rows filled in, or ``([], problems)``
    with every message on its field, prefixed "Row N:". Blank rows are left out; the
    form must have been validated first."""
    rows: list[tuple[int, ContactValues]] = []
    token = getattr(form, "csrf_token", None)  # absent when CSRF is off (tests)
    problems = bool(token is not None and token.errors)
    if suite_id is None:
        form.custody_suite_id.errors = ["Choose the custody suite."]
        problems = True
    for number, entry in enumerate(form.rows, start=1):
        row = entry.form
        if row.is_blank():
            for field in row:
                field.errors = []
            continue
        prefix = f"Row {number}: "
        for field in row:
            field.errors = [m if m.startswith("Row ") else prefix + m for m in field.errors]
        values, found = checker.check(_row_answers(row), suite_id)
        found = [(n, m) for n, m in found if n != "custody_suite_id"]
        apply_problems(row, found, prefix)
        if values is None or any(field.errors for field in row):
            problems = True
            continue
        rows.append((number, values))
    if not rows and not problems:
        form.rows.errors = ["Fill in at least one row: one row for each person seen."]
        problems = True
    return ([], True) if problems else (rows, False)


def fill_contact_form(form: ContactForm, contact: CustodyContact) -> None:
    """Show a saved contact in the form, for editing."""
    form.version.data = str(contact.version)
    form.custody_suite_id.data = str(contact.custody_suite_id)
    form.contact_on.data = contact.contact_on
    form.age_band.data = contact.age_band.value
    form.sex.data = contact.sex.value
    form.postcode_district.data = contact.postcode_district or ""
    form.no_fixed_abode.data = contact.postcode_district is None
    form.offered.data = "yes" if contact.offered else "no"
    form.outcome.data = contact.outcome.value
    form.decline_reason.data = contact.decline_reason.value if contact.decline_reason else ""
    form.not_suitable_reason.data = (
        contact.not_suitable_reason.value if contact.not_suitable_reason else ""
    )
    form.treatment_service_id.data = str(contact.treatment_service_id or "")
    form.naloxone.data = contact.naloxone.value
    form.veteran.data = {True: "yes", False: "no", None: ""}[contact.veteran]
