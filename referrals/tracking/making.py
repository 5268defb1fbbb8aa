"""Making a referral: the one-page form, its look-ups and checks, and the save.

Everything is checked before anything is written; the referral, its first event, its
audit row and the message to the service's inbox are saved in one transaction, so an
error leaves nothing behind and the form keeps what was typed. Duplicates are caught
as ``duplicates.py`` says.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from .. import nation
from ..audit import record_together
from ..choices import ServiceStatus
from ..clock import now_local
from ..contacts.linking import (
    awaiting_referral,
    contact_awaiting,
    contact_for_new_referral,
    link,
    prefill,
)
from ..database import as_id
from ..directory.access import EVERYTHING
from ..directory.search import Filters, Hit, search_services
from ..encryption import keyring
from ..forms import options
from ..models import (
    CouncilArea,
    CustodySuite,
    OpeningHours,
    Organisation,
    PostcodeDistrict,
    Referral,
    Service,
    User,
)
from ..notifications.outbox import announce_new_referral_to, service_inbox
from ..once import TOKEN_LENGTH, derived_token, new_token
from ..postcodes import normalise_district
from ..webhooks.events import listening_column, new_referral_made, remember
from .duplicates import EarlierReferral, earlier_referrals, made_with_token, same_referral
from .eligibility import eligibility_problem
from .form_lookups import form_lookups
from .forms import ReferralForm
from .new_form_fields import blank_fields
from .referral_checks import check_referral, unknown_district
from .referral_rows import (
    REFERENCE_ATTEMPTS,
    first_event,
    first_event_insert,
    new_referral,
    reference_taken,
)

SUGGESTIONS = 8
SUGGESTION_RADIUS_KM = 50


class ChosenService(Protocol):
    """The chosen service as a submit reads it (``_service_statement``): a plain row
    with what the checks name and what the message to its inbox needs
    (``announce_new_referral_to``), since a form that is saved is not shown. (The form
    shown reads its ``ServiceCard``, which the checks read alike.)"""

    id: int
    name: str
    status: ServiceStatus
    accepts_custody_referrals: bool
    referral_email: str | None
    organisation_id: int
    organisation_referral_email: str | None
    gender: str
    min_age: int | None
    max_age: int | None


@dataclass
class ServiceCard:
    """The chosen service as the form shows it (its card, ``tracking/new.html``) and the
    checks name it: plain values, and its opening hours as plain rows for
    ``today_hours`` (which reads their weekday, opening and closing times)."""

    id: int
    name: str
    status: ServiceStatus
    accepts_custody_referrals: bool
    phone: str | None
    same_day_access: bool
    typical_wait_days: int | None
    organisation_name: str
    opening_hours: list


@functools.cache
def _card_statement() -> sa.Select:
    """The chosen service's card (the parameter ``service_id``): a row for each of its
    opening sessions (one, with NULL hours, if it has none), built once per process."""
    return (
        sa.select(
            Service.id,
            Service.name,
            Service.status,
            Service.accepts_custody_referrals,
            Service.phone,
            Service.same_day_access,
            Service.typical_wait_days,
            Organisation.name.label("organisation_name"),
            OpeningHours.weekday,
            OpeningHours.opens,
            OpeningHours.closes,
        )
        .join(Organisation, Organisation.id == Service.organisation_id)
        .outerjoin(OpeningHours, OpeningHours.service_id == Service.id)
        .where(Service.id == sa.bindparam("service_id"))
        .order_by(OpeningHours.weekday, OpeningHours.opens)
    )


def _service_card(session: Session, service_id: int) -> ServiceCard | None:
    """The card of the service ``service_id``, or None if there is no such service."""
    rows = session.connection().execute(_card_statement(), {"service_id": service_id}).all()
    if not rows:
        return None
    first = rows[0]
    return ServiceCard(*first[:8], opening_hours=[row for row in rows if row.weekday is not None])


@functools.cache
def _service_statement(with_district: bool = False) -> sa.Select:
    """The chosen service (the parameter ``service_id``), for a submit, beside whether
    any system listens for new referrals and, ``with_district``, the council of the
    postcode district ``district`` (NULL if there is no such district): a plain row of
    what a submit needs (``ChosenService``, and its organisation's inbox as
    ``organisation_referral_email``). Built once per process."""
    columns = [
        listening_column(),
        Service.id,
        Service.name,
        Service.status,
        Service.accepts_custody_referrals,
        Service.referral_email,
        Service.organisation_id,
        Organisation.referral_email.label("organisation_referral_email"),
        Service.gender,
        Service.min_age,
        Service.max_age,
    ]
    if with_district:
        columns.append(
            sa.select(PostcodeDistrict.council_area_id)
            .where(PostcodeDistrict.district == sa.bindparam("district"))
            .scalar_subquery()
            .label("district_council")
        )
    return (
        sa.select(*columns)
        .join(Organisation, Organisation.id == Service.organisation_id)
        .where(Service.id == sa.bindparam("service_id"))
    )


@functools.cache
def _district_statement() -> sa.Select:
    """The council of the postcode district ``district``, built once per process."""
    return sa.select(PostcodeDistrict.council_area_id).where(
        PostcodeDistrict.district == sa.bindparam("district")
    )


@dataclass
class Suggestions:
    origin_label: str
    hits: list[Hit]


class ReferralMaker:
    """Drives ``/referrals/new`` for one custody user, and the referral API for a custody
    system: both make referrals with exactly these checks.

    ``formdata`` replaces the posted form (the API passes the fields it was sent, with no
    CSRF token, since its callers prove themselves with a bearer token); ``suite`` is the
    custody suite the referral is made in (default: the user's own), and ``seen_suites``
    the suites whose referrals the caller may see (default: that suite alone).
    """

    def __init__(
        self,
        session: Session,
        user: User,
        today: dt.date,
        *,
        formdata: MultiDict | None = None,
        suite: CustodySuite | None = None,
        seen_suites: Iterable[int] | None = None,
    ):
        self.session, self.user, self.today = session, user, today
        self._suite = suite
        self._seen_suites = None if seen_suites is None else frozenset(seen_suites)
        self.form = (
            ReferralForm()
            if formdata is None
            else ReferralForm(formdata=formdata, meta={"csrf": False})
        )
        self._suite_name: str | None = None
        if self.form.council_area_id.data:  # a council was sent: its choices check it
            self._load_councils()
        # The chosen service, checked: as the form shows it, or as a submit reads it
        # (the save, which follows a submit, has the latter).
        self.chosen: ServiceCard | ChosenService | None = None
        self._service: ServiceCard | None = None
        self.service_problem: str | None = None
        self.suggestions: Suggestions | None = None
        # A recent referral of the same person to the same service that the referrer may
        # see: the form asks about it (``duplicate``). The one the new referral is flagged
        # as possibly duplicating (``_flagged``) may be another suite's, never shown.
        self.duplicate: EarlierReferral | None = None
        self.ineligible: str | None = None  # what about the person the service does not take
        self._flagged: EarlierReferral | None = None
        self.contact = None  # the custody contact the referral comes from
        self.contact_problem: str | None = None
        self.awaiting: list = []
        # Postcode districts' councils read with the chosen service, for ``_council_of``.
        self._district_council: dict[str, str | None] = {}
        # Whether a contact of the suite awaits its referral, if the look-ups asked.
        self._contacts_awaiting: bool | None = None
        self.made_id: int | None = None
        # The form's fields as kept while it is blank (``new_form_fields``); else None,
        # and the template writes them.
        self.blank_fields: Markup | None = None

    @property
    def service(self) -> ServiceCard | None:
        """The chosen service as the form shows it (its card): after a submit, which
        reads only what it needs (``chosen``), read when the form is shown again."""
        if self._service is None and self.chosen is not None:
            self._service = _service_card(self.session, self.chosen.id)
        return self._service

    @property
    def suite(self) -> CustodySuite:
        """The custody suite (read only when its name or place is needed)."""
        if self._suite is None:
            self._suite = self.user.custody_suite
        return self._suite

    @property
    def suite_id(self) -> int:
        return self._suite.id if self._suite is not None else self.user.custody_suite_id

    @property
    def suite_name(self) -> str:
        return self._suite_name or self.suite.name

    def _set_councils(self, councils) -> None:
        self.form.council_area_id.choices = options(
            [
                ("", f"Choose the {nation.current().in_sentence('council')}"),
                *[(str(id_), name) for id_, name in councils],
            ]
        )

    def _load_councils(self) -> None:
        """The council choices, to check the council sent."""
        self._set_councils(
            self.session.execute(
                sa.select(CouncilArea.id, CouncilArea.name).order_by(CouncilArea.name)
            )
        )

    def _to_show(self, awaiting: bool = True) -> None:
        """What the form needs to be shown (``form_lookups.py``), in one statement (with
        the suite's name unless the suite was read already, for the suggestions; and,
        when ``awaiting`` and the referral is not for a contact already, whether any
        contact of the suite awaits its referral, for ``_find_awaiting``)."""
        awaiting_for = None
        if awaiting and self.contact is None:
            awaiting_for = (self.suite_id, self.today)
        found = form_lookups(
            self.session, None if self._suite is not None else self.suite_id, awaiting_for
        )
        self._set_councils(found.councils)
        self.__dict__["district_councils"] = found.district_councils
        self._suite_name = found.suite_name
        self._contacts_awaiting = found.contacts_awaiting

    @cached_property
    def district_councils(self) -> dict[str, str]:
        """Every postcode district's council, for the form's own look-up as it is typed
        (read with the rest of what the form needs when it is shown)."""
        return form_lookups(self.session, None).district_councils

    def _council_of(self, district: str) -> str | None:
        """The council of a known postcode district (as the form's value), else None:
        from the form's look-ups or the save's look-up of its service when they read
        it, else read on its own."""
        if "district_councils" in self.__dict__:
            return self.district_councils.get(district)
        if district in self._district_council:
            return self._district_council[district]
        row = self.session.execute(_district_statement(), {"district": district}).first()
        return None if row is None else str(row[0])

    def _district_to_check(self) -> str | None:
        """The postcode district ``_check`` will look up, if any."""
        if self.form.no_fixed_abode.data:
            return None
        return normalise_district((self.form.postcode_district.data or "").strip())

    # -- the three entry points ---------------------------------------------------------

    def start(self, service_id: str | None, contact_id: str | None = None) -> None:
        """A fresh form, for a chosen service or with suggestions, and filled in from
        the contact it comes from when there is one."""
        self.form.consent_date.data = self.today
        self.form.form_token.data = new_token()
        if contact_id:
            self._attach_contact(contact_id)
            if self.contact is not None:
                for name, value in prefill(self.contact).items():
                    getattr(self.form, name).data = value
        if service_id:
            self._choose_service(service_id, showing=True)
        if self.chosen is None:
            self._suggest()
        self._to_show()
        self._find_awaiting()
        if self.contact is None:  # nothing filled in
            self.blank_fields = blank_fields(self.form, self.today)

    def look_up(self) -> None:
        """Fill the council area from the district and suggest services; save nothing."""
        self._to_show()
        self.form.validate()  # parse what was typed; errors are not shown for a look-up
        for field in self.form:
            field.errors = []
        district = normalise_district(self.form.postcode_district.data or "")
        council = self._council_of(district) if district else None
        if council is not None:
            self.form.council_area_id.data = council
            self.form.council_filled_for.data = district
            self.form.postcode_district.data = district
        elif district or (self.form.postcode_district.data or "").strip():
            self.form.postcode_district.errors.append(unknown_district())
        self._keep_service(showing=True)
        self._keep_contact()
        self._suggest()
        self._find_awaiting()

    def submit(self) -> Referral | EarlierReferral | None:
        """Check everything and save, or return ``None`` with messages on the form (or
        with ``duplicate`` set, to ask whether this is a new referral). A form submitted
        again returns the referral it made the first time. ``made_id`` is then the id of
        the referral (readable without reloading it after the commit)."""
        token = self.form.form_token.data
        if not token or len(token) > TOKEN_LENGTH:  # none, or not one the form was given
            token = None
            self.form.form_token.data = new_token()
        valid = self.form.validate()
        self._keep_service()
        self._keep_contact()
        valid = self._check(valid)
        person_ref = (self.form.person_ref.data or "").strip()
        if not valid:
            already = made_with_token(self.session, token, self.suite_id)
            if already is not None and same_referral(
                already, person_ref, self.form.service_id.data
            ):
                return self._made(already)
            self._to_show()
            self._suggest()
            self._find_awaiting()
            return None
        # The form's earlier submit and a recent referral of the same person to the same
        # service are looked for in one statement.
        already, duplicates = earlier_referrals(
            self.session, token, self.suite_id, person_ref, self.chosen.id, self.today
        )
        if already is not None and not same_referral(already, person_ref, self.chosen.id):
            # The form made a referral for someone else (brought back and filled in
            # again): this is a new one, kept under a token of its own that sending it
            # again finds.
            token = derived_token(token, keyring().search_hash(person_ref), self.chosen.id)
            self.form.form_token.data = token
            already, duplicates = earlier_referrals(
                self.session, token, self.suite_id, person_ref, self.chosen.id, self.today
            )
        if already is not None:
            return self._made(already)
        # The latest the referrer may see is asked about. Another suite's referral is not
        # theirs to see (DESIGN.md section 2), nor to be told of: with only such
        # referrals nothing is asked, and the new one is flagged to the service, which
        # sees both.
        seen = [referral for referral in duplicates if self._sees(referral)]
        self.duplicate = seen[0] if seen else None
        self._flagged = seen[0] if seen else duplicates[0] if duplicates else None
        chosen = self.chosen
        self.ineligible = eligibility_problem(
            chosen.name,
            chosen.gender,
            chosen.min_age,
            chosen.max_age,
            self.form.sex.data,
            self.form.age_band.data,
        )
        if (seen and not self.form.confirm_duplicate.data) or (
            self.ineligible and not self.form.confirm_eligibility.data
        ):
            self._to_show(awaiting=False)  # the form is shown again, with the questions
            return None
        return self._save()

    def _contact_changed(self) -> Referral | None:
        """Nothing was saved: the contact changed while the referral was being saved.
        The form is shown again, as typed, to be checked and sent again (which looks at
        the contact afresh)."""
        self.contact = None
        self.contact_problem = (
            "A colleague changed the contact this referral comes from just now, so nothing "
            "was saved. Check the details below and press “Make the referral” again."
        )
        self._to_show()
        self._suggest()
        return None

    def _sees(self, referral: EarlierReferral) -> bool:
        """Whether the caller may see ``referral`` (one of the suites it works for)."""
        seen = self._seen_suites if self._seen_suites is not None else {self.suite_id}
        return referral.custody_suite_id in seen

    def _made(self, referral: Referral | EarlierReferral) -> Referral | EarlierReferral:
        self.made_id = referral.id
        return referral

    # -- pieces ---------------------------------------------------------------------------

    def _choose_service(self, service_id: object, showing: bool = False) -> None:
        """The service chosen, checked: its card when the form is to be shown (with its
        opening hours: the card says whether it is open). When it is to be saved, a
        plain row (``ChosenService``) and the same statement asks whether any system
        listens for new referrals, for the save (``webhooks.events.remember``), and the
        council of the postcode district given, for the checks."""
        service_id = as_id(service_id)
        service = None
        if service_id and showing:
            service = _service_card(self.session, service_id)
        elif service_id:
            # The district's council, which the checks need, comes too.
            district = self._district_to_check()
            params = {"service_id": service_id}
            if district is not None:
                params["district"] = district
            query = _service_statement(district is not None)
            # Plain rows, read through the connection: none of the ORM's work.
            service = self.session.connection().execute(query, params).first()
            if service is not None:
                remember(self.session, service.webhooks_listening)
                if district is not None:
                    council = service.district_council
                    self._district_council[district] = None if council is None else str(council)
        if service is None:
            self.service_problem = "That service was not found. Choose one below."
        elif service.status != ServiceStatus.ACTIVE:
            self.service_problem = (
                f"{service.name} is {service.status.label.lower()}, so it cannot take "
                "referrals. Choose another service below."
            )
        elif not service.accepts_custody_referrals:
            self.service_problem = (
                f"{service.name} does not take referrals from custody. Choose another "
                "service below."
            )
        else:
            self.chosen = service
            if showing:
                self._service = service
            self.form.service_id.data = str(service.id)

    def _attach_contact(self, contact_id: object) -> None:
        contact, problem = contact_awaiting(self.session, self.user, as_id(contact_id))
        self.contact, self.contact_problem = contact, problem
        self.form.contact_id.data = str(contact.id) if contact is not None else ""

    def _keep_contact(self) -> None:
        if self.form.contact_id.data:
            self._attach_contact(self.form.contact_id.data)

    def _find_awaiting(self) -> None:
        """Contacts of the suite waiting for their referral, when this referral is not
        for one already: it may be for one of them. Not read when the form's look-ups
        found that none awaits."""
        if self.contact is None and self._contacts_awaiting is not False:
            self.awaiting = awaiting_referral(self.session, self.suite_id, self.today, 10)

    def _keep_service(self, showing: bool = False) -> None:
        chosen = self.form.chosen_service.data or self.form.service_id.data
        if chosen:
            self._choose_service(chosen, showing)

    def _origin(self) -> tuple[float, float, str]:
        district = normalise_district(self.form.postcode_district.data or "")
        if district and not self.form.no_fixed_abode.data:
            row = self.session.get(PostcodeDistrict, district)
            if row is not None:
                return row.latitude, row.longitude, f"postcode district {district}"
        return self.suite.latitude, self.suite.longitude, self.suite.name

    def _suggest(self) -> None:
        if self.chosen is not None:
            return
        lat, lon, label = self._origin()
        result = search_services(
            self.session,
            lat,
            lon,
            Filters(custody=True, radius_km=SUGGESTION_RADIUS_KM),
            now_local=now_local(),
            viewer=EVERYTHING,
            per_page=SUGGESTIONS,
        )
        self.suggestions = Suggestions(label, result.hits)
        self.form.chosen_service.choices = options(
            (str(hit.service.id), hit.service.name) for hit in result.hits
        )

    def _check(self, valid: bool) -> bool:
        checked = check_referral(
            self.form,
            service_chosen=self.chosen is not None,
            today=self.today,
            council_of=self._council_of,
        )
        return valid and checked

    def _save(self) -> Referral | None:
        """Write the referral, its first event, its contact, their audit rows and the
        message to the service in one transaction: five statements. The reference is
        drawn at random and the unique index on it is the check; the rare clash is
        retried with a fresh one."""
        for _attempt in range(REFERENCE_ATTEMPTS):
            referral = new_referral(
                self.form,
                suite_id=self.suite_id,
                user_id=self.user.id,
                service_id=self.chosen.id,
                duplicate_id=self._flagged.id if self._flagged else None,
            )
            self.session.add(referral)
            try:
                self.session.flush()  # gives the referral its id, for the rest
                # The rest are plain rows, which nothing reads back here.
                connection = self.session.connection()
                connection.execute(first_event_insert(), first_event(referral, self.user.id))
                new_referral_made(self.session, referral, referral.made_at)
                # Every referral comes from a custody contact (see ``contacts.linking``).
                if self.contact is not None:
                    contact_entry = link(self.session, self.contact, referral, self.user)
                    self.session.flush()  # the contact's change, checked against its version
                else:
                    contact_entry = contact_for_new_referral(self.session, referral, self.user)
                announce_new_referral_to(
                    self.session,
                    referral,
                    organisation_id=self.chosen.organisation_id,
                    address=service_inbox(
                        self.chosen.referral_email, self.chosen.organisation_referral_email
                    ),
                )
                record_together(
                    contact_entry,
                    {
                        "action": "referral_created",
                        "obj": referral,
                        "user": self.user,
                        "detail": {"service_id": self.chosen.id, "reference": referral.reference},
                    },
                )
                made_id = referral.id
                self.session.commit()
            except StaleDataError:
                # A colleague saved a change to the contact at this very moment.
                self.session.rollback()
                return self._contact_changed()
            except IntegrityError:
                self.session.rollback()
                # The same form, submitted at the same moment, made the referral first.
                already = made_with_token(self.session, self.form.form_token.data, self.suite_id)
                if already is not None:
                    return self._made(already)
                if reference_taken(self.session, referral.reference):
                    continue  # another referral drew the same reference: draw again
                if self.contact is not None:  # another referral took the contact meanwhile
                    return self._contact_changed()
                raise
            self.made_id = made_id
            return referral
        raise RuntimeError("could not draw a free referral reference")  # pragma: no cover
