"""No hidden figure can be pinned down from everything the reports publish.

A small generated database (so that there are many small figures), then every area CSV for
every period, grouping and group of people an area lead can ask for is harvested through
the pages, with Scotland's closures and declines by reason; the reader of ``adversary``
works out, by linear programming, the smallest and largest value of every hidden figure
that everything published allows (differences between periods, areas against their
parents and each other, groups against everybody, rates' numerators and denominators, all
at once); and the test fails on any hidden count from 1 to 4, or rate numerator or
complement from 1 to 4, that it pins down. The true figures come from the database: the
referrals (left out when entered in error or referred on) and the custody contacts, by
council area, custody suite and scheme, service and provider.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from referrals.choices import CloseReason
from referrals.contacts.models import CustodyContact
from referrals.models import AreaGroup, CouncilArea, CustodySuite, Organisation, Referral, Service
from referrals.reports import disclosure as dc
from referrals.reports.contact_measures import CONTACT_KEYS
from referrals.reports.measures import (
    AGE_GROUP,
    BREAKDOWNS,
    GROUPING_LABELS,
    PATHWAY_GROUP,
    SEX_GROUP,
)
from referrals.reports.periods import month_index, parse
from referrals.schemes.models import Scheme, scheme_suites

from .adversary import Cell, Reader
from .factories import make_referral
from .test_auth import sign_in

pytest.importorskip("highspy")

GROUPINGS = (
    "council",
    "adp",
    "police_division",
    "health_board",
    "custody_suite",
    "scheme",
    "service",
    "provider",
)
FAMILY = {
    "council": "area",
    "adp": "area",
    "police_division": "area",
    "health_board": "area",
    "custody_suite": "suite",
    "scheme": "suite",
    "service": "service",
    "provider": "service",
}
KIND_OF = {label: code for code, label in GROUPING_LABELS.items()}
DIMENSIONS = {name: i for i, name in enumerate(BREAKDOWNS)}
GROUPS = {name: values for name, (_, values, _) in BREAKDOWNS.items()}
RATES = {
    "acceptance_rate": ("accepted", "made"),
    "engagement_rate": ("engaged_in_window", "made"),
    "conversion_rate": ("converted", "made"),
    "engagement_to_treatment": ("started", "engaged"),
    "within_3_weeks": ("within_21", "started"),
    "retention_12_weeks": ("retained", "converted"),
    "diversion_completion": ("diversion_completed", "diversion_outcome"),
    "offer_rate": ("offered", "contacts"),
    "referral_success_rate": ("referral_made", "offered"),
    "naloxone_supply_rate": ("naloxone_supplied", "not_carrying"),
}
COUNTS = {
    "referrals": "made",
    "near_fatal_overdose": "nfo",
    "children_affected": "children",
    "contacts": "contacts",
}


@pytest.fixture
def published(app, client, runner, session):
    result = runner.invoke(args=["seed-demo", "--referrals", "2500", "--seed", "7"])
    assert result.exit_code == 0, result.output
    _pass_some_on(session)
    sign_in(client, "lead@demo.test", "demo-password")
    assert client.get("/reports/").status_code == 200
    return client


def _pass_some_on(session) -> None:
    """Forty accepted referrals passed on to another service on the day they were
    accepted, as providers pass them on; every fourth referral they went to is then
    closed as entered in error, so that the first counts again in its place."""
    r = Referral
    firsts = session.scalars(
        sa.select(r).where(r.status == "accepted").order_by(r.id).limit(40)
    ).all()
    services = session.scalars(sa.select(Service).order_by(Service.id)).all()
    for i, first in enumerate(firsts):
        day = first.accepted_on
        first.status, first.close_reason, first.closed_on = "closed", "referred_on", day
        passed_to = make_referral(
            session,
            service=services[(i * 7) % len(services)],
            referrer=first.referrer,
            referred_on=day,
            council_name=first.council_area.name,
            sex=first.sex,
            age_band=first.age_band,
            pathway=first.pathway,
            referred_from_id=first.id,
        )
        if i % 4 == 0:
            passed_to.status, passed_to.close_reason = "closed", "entered_in_error"
            passed_to.closed_on = day
    session.commit()


def _families(session) -> dict[str, dict[str, frozenset]]:
    """Each area's atoms, per grouping: what a reader knows of how areas are made up."""
    groups = dict(session.execute(sa.select(AreaGroup.id, AreaGroup.code)).all())
    members: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for council in session.scalars(sa.select(CouncilArea)):
        members["council"][council.code].add(council.code)
        members["adp"][groups[council.adp_id]].add(council.code)
        members["police_division"][groups[council.police_division_id]].add(council.code)
        members["health_board"][groups[council.health_board_id]].add(council.code)
    for suite in session.scalars(sa.select(CustodySuite)):
        members["custody_suite"][suite.code].add(suite.code)
    for scheme, suite_code in session.execute(
        sa.select(Scheme.code, CustodySuite.code)
        .join(scheme_suites, scheme_suites.c.scheme_id == Scheme.id)
        .join(CustodySuite, CustodySuite.id == scheme_suites.c.custody_suite_id)
    ):
        members["scheme"][scheme].add(suite_code)
    for service, org in session.execute(
        sa.select(Service, Organisation).join(
            Organisation, Organisation.id == Service.organisation_id
        )
    ):
        code = service.external_id or str(service.id)
        members["service"][code].add(code)
        members["provider"][org.external_id or str(org.id)].add(code)
    return {g: {k: frozenset(v) for k, v in areas.items()} for g, areas in members.items()}


def truly_counted() -> sa.ColumnElement[bool]:
    """The referrals that count, worked out apart from the measures: not closed as
    entered in error, and not referred on unless it was referred on to at least one
    referral and to none that is not closed as entered in error."""
    r, later = Referral, sa.orm.aliased(Referral)

    def went_to(*which) -> sa.Exists:
        return sa.exists().where(later.referred_from_id == r.id, *which)

    not_in_error = sa.or_(
        later.close_reason.is_(None), later.close_reason != CloseReason.ENTERED_IN_ERROR
    )
    return sa.or_(
        r.close_reason.is_(None),
        r.close_reason.not_in([CloseReason.ENTERED_IN_ERROR, CloseReason.REFERRED_ON]),
        sa.and_(r.close_reason == CloseReason.REFERRED_ON, went_to(), ~went_to(not_in_error)),
    )


def _truth(session, when=lambda day: month_index(day) // 3) -> dict[str, dict[tuple, dict]]:
    """Per family: (atom, quarter, sex, age, pathway) -> true counts of every fact (or by
    month, or any other run of days, with ``when``)."""
    r = Referral
    keys = {"area": r.council_area_id, "suite": r.custody_suite_id, "service": r.service_id}
    codes = {
        "area": dict(session.execute(sa.select(CouncilArea.id, CouncilArea.code)).all()),
        "suite": dict(session.execute(sa.select(CustodySuite.id, CustodySuite.code)).all()),
        "service": {
            sid: ext or str(sid)
            for sid, ext in session.execute(sa.select(Service.id, Service.external_id))
        },
    }
    facts = {
        "made": sa.true(),
        "accepted": r.accepted_on.is_not(None),
        "engaged_in_window": r.days_to_engagement <= 28,
        "converted": r.days_to_treatment <= 84,
        "engaged": r.engaged_on.is_not(None),
        "started": r.treatment_started_on.is_not(None),
        "within_21": r.days_to_treatment <= 21,
        "nfo": r.pathway == "near_fatal_overdose",
        # Retained or completed at the check, or with nothing recorded there closed as
        # completed (a diversion's end aside).
        "retained": sa.and_(
            r.days_to_treatment <= 84,
            sa.or_(
                r.retention_outcome.in_(["retained", "completed"]),
                sa.and_(
                    r.retention_outcome.is_(None),
                    r.close_reason == "completed",
                    r.diversion_outcome.is_(None),
                ),
            ),
        ),
        "diversion_outcome": r.diversion_outcome.is_not(None),
        "diversion_completed": r.diversion_outcome == "completed",
        "children": r.children_in_household.is_(True),
    }
    out = {}
    for family, key in keys.items():
        rows = session.execute(
            sa.select(
                key,
                r.referred_on,
                r.sex,
                r.age_band,
                r.pathway,
                *[sa.func.count().filter(c).label(name) for name, c in facts.items()],
            )
            .where(truly_counted())
            .group_by(key, r.referred_on, r.sex, r.age_band, r.pathway)
        )
        table: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            k, day, sex, age, pathway, *counts = row
            atom = (
                codes[family][k],
                when(day),
                SEX_GROUP[str(getattr(sex, "value", sex))],
                AGE_GROUP[str(getattr(age, "value", age))],
                PATHWAY_GROUP[str(getattr(pathway, "value", pathway))],
            )
            for name, n in zip(facts, counts, strict=True):
                table[atom][name] += n
        if family in CONTACT_KEYS:
            _contact_truth(session, table, CONTACT_KEYS[family], codes[family], when)
        out[family] = table
    return out


def _contact_truth(session, table, key, codes, when=lambda day: month_index(day) // 3) -> None:
    """Custody contacts' true counts, into the same table (they have no pathway: group 0)."""
    c = CustodyContact
    linked = sa.orm.aliased(Referral)  # a referral made is one saved, not in error
    facts = {
        "contacts": sa.true(),
        "offered": c.offered.is_(True),
        "referral_made": (c.outcome == "referral_made")
        & linked.id.is_not(None)
        & (sa.func.coalesce(linked.close_reason, "") != CloseReason.ENTERED_IN_ERROR.value),
        "not_carrying": c.naloxone != "already_carries",
        "naloxone_supplied": c.naloxone == "supplied",
    }
    rows = session.execute(
        sa.select(
            key,
            c.contact_on,
            c.sex,
            c.age_band,
            *[sa.func.count().filter(f).label(name) for name, f in facts.items()],
        )
        .outerjoin(linked, linked.id == c.referral_id)
        .group_by(key, c.contact_on, c.sex, c.age_band)
    )
    for k, day, sex, age, *counts in rows:
        atom = (
            codes[k],
            when(day),
            SEX_GROUP[str(getattr(sex, "value", sex))],
            AGE_GROUP[str(getattr(age, "value", age))],
            0,
        )
        for name, n in zip(facts, counts, strict=True):
            table[atom][name] += n


def _harvest(client, snapshot_periods) -> list[dict]:
    rows = []
    for grouping in GROUPINGS:
        for period in snapshot_periods:
            peoples = ["all"]
            if grouping in ("police_division", "health_board") and period["breakdowns"]:
                peoples += [f"{d}:{g}" for d, values in GROUPS.items() for g in values]
            for people in peoples:
                response = client.get(
                    f"/reports/areas.csv?group={grouping}&period={period['code']}&people={people}"
                )
                assert response.status_code == 200, (grouping, period["code"], people)
                for row in csv.DictReader(io.StringIO(response.get_data(as_text=True))):
                    row["grouping"] = grouping
                    rows.append(row)
    return rows


def _periods(client) -> list[dict]:
    from referrals.reports.params import todays_figures

    with client.application.test_request_context():
        return [p for p in todays_figures().periods.values() if not p["scotland_only"]]


def _cell(row, members, dim) -> Cell | None:
    """The cell a CSV row's figure adds up, for breakdown ``dim`` (None: everybody)."""
    period = parse(row["period"])
    quarters = [q.first // 3 for q in period.quarters()] if period else []
    if not quarters:
        return None
    people = row["people"]
    if people != "all":
        name, _, group = people.partition(":")
        if name != dim:
            return None
        groups = [GROUPS[name].index(group)]
    else:
        groups = list(range(len(GROUPS[dim]))) if dim else [0]
    if row["area_type"] == "national":
        areas = members["__all__"]
    else:
        areas = members[KIND_OF[row["area_type"]]][row["area_code"]]
    atoms = frozenset((a, q, g) for a in areas for q in quarters for g in groups)
    note = row["value_note"] or None
    if note == "not published":
        note = "withdrawn"
    value = row["value"]
    if row["measure"] in RATES:
        x = int(row["numerator"]) if row["numerator"] else None
        n = int(row["denominator"]) if row["denominator"] else None
    else:
        x, n = (int(value) if value else None), None
    if note is None and x is None:
        return None
    return Cell(row["area_code"] or "national", row["period"], people, atoms, note, x, n)


def _true(truth, cell: Cell, dim, fields) -> list[int]:
    index = DIMENSIONS[dim] if dim else None
    totals = dict.fromkeys(fields, 0)
    wanted = defaultdict(set)
    for area, quarter, group in cell.atoms:
        wanted[(area, quarter)].add(group)
    for (area, quarter, *kinds), counts in truth.items():
        groups = wanted.get((area, quarter))
        if groups is None:
            continue
        if index is not None and kinds[index] not in groups:
            continue
        for name in fields:
            totals[name] += counts[name]
    return [totals[name] for name in fields]


def pinned_figures(client, session, families=("area", "suite", "service"), dims=None):
    """Every hidden figure from 1 to 4 the reader pins down, and how many it tried of each
    measure."""
    periods = _periods(client)
    rows = _harvest(client, periods)
    assert rows, "nothing was published"
    members_by_grouping = _families(session)
    truth = _truth(session)
    pinned, checked = [], Counter()
    for family in families:
        groupings = [g for g in GROUPINGS if FAMILY[g] == family]
        members = {g: members_by_grouping[g] for g in groupings}
        members["__all__"] = frozenset(
            a for areas in members_by_grouping[groupings[0]].values() for a in areas
        )
        family_rows = [r for r in rows if r["grouping"] in groupings]
        for dim in dims if dims is not None else ([None, *GROUPS] if family == "area" else [None]):
            for measure in [*RATES, *COUNTS]:
                rate = measure in RATES
                fields = RATES[measure] if rate else (COUNTS[measure],)
                reader, cells = Reader(rate), {}
                for row in family_rows:
                    if row["measure"] != measure or row["value_note"].startswith(
                        "not published for"
                    ):
                        continue
                    cell = _cell(row, members, dim)
                    if cell is not None and cell.atoms:
                        cells.setdefault((cell.area, cell.period, cell.group, cell.atoms), cell)
                for cell in cells.values():
                    reader.add(cell)
                targets = []
                for cell in cells.values():
                    if cell.label in (None, "[c]", "withdrawn"):
                        continue
                    if dim is not None and cell.group == "all":
                        continue  # figures for everybody are checked without breakdowns
                    values = _true(truth[family], cell, dim, fields)
                    parts = [values[0], values[1] - values[0]] if rate else values
                    if any(1 <= v <= 4 for v in parts):
                        targets.append(cell)
                checked[measure] += len(targets)

                def true_value(cell, which, family=family, dim=dim, fields=fields):
                    values = _true(truth[family], cell, dim, fields)
                    return values[-1] - values[0] if which == "complement" else values[0]

                for finding in reader.findings(targets, true_value):
                    value = true_value(finding.cell, finding.which)
                    if finding.pinned and 1 <= value <= 4:
                        cell = finding.cell
                        pinned.append(
                            (family, dim, measure, cell.area, cell.period, cell.group, value)
                        )
    return pinned, checked


def test_no_hidden_figure_can_be_pinned_down(published, session):
    pinned, checked = pinned_figures(published, session)
    assert checked.total() > 500, "too few hidden figures to test the protection"
    assert pinned == []
    # Every rate has small hidden figures to try, the custody contact rates too (counts of
    # contacts are never small in a year for an area, so there are none of those).
    assert all(checked[measure] for measure in [*RATES, "children_affected"]), checked


def test_the_reader_finds_figures_hidden_only_for_being_small(published, session, monkeypatch):
    """Without secondary suppression, the same reader pins figures down: the check works."""
    monkeypatch.setattr(dc.Protector, "_certificate", lambda self, key, figure: (0.0, [], [key]))
    assert published.application.test_cli_runner().invoke(args=["refresh-reports"]).exit_code == 0
    pinned, _ = pinned_figures(published, session, families=("area",), dims=[None])
    assert len(pinned) > 10


def test_closures_and_declines_by_reason_give_nothing_away(published, session):
    client = published
    periods = [p for p in _periods(client) if p["breakdowns"]]
    for period in periods:
        page = client.get(f"/reports/?period={period['code']}").get_data(as_text=True)
        for caption in ("Closures by reason", "Declines by reason"):
            table = page[page.find(caption) :]
            table = table[: table.find("</table>")]
            cells = dict(
                re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', table)
            )
            total = cells.get("Total")
            if total is None or not total.replace(",", "").isdigit():
                continue
            hidden = [
                label
                for label, text in cells.items()
                if label != "Total" and not text.replace(",", "").isdigit()
            ]
            assert len(hidden) != 1, (
                f"one hidden reason in {period['code']} is the total minus the rest"
            )


def test_the_nation_has_the_same_figures_in_every_family(published, session):
    """The nation's figures are published in the council, custody suite and service
    tables alike: any difference between two of them would count somebody."""
    from referrals.reports import params

    with published.application.app_context():
        snapshot = params.todays_figures()
    compared = 0
    for code in snapshot.periods:
        rows = [snapshot.part(f, code).get("national", {}) for f in ("area", "suite", "service")]
        for measure in set(rows[0]) & set(rows[1]) | set(rows[0]) & set(rows[2]):
            values = {repr(r[measure]) for r in rows if measure in r}
            assert len(values) == 1, (code, measure, values)
            compared += 1
    assert compared > 200


def test_referral_counts_hidden_are_not_given_back_by_the_contact_figures(published):
    """A contact whose outcome was a referral is nearly always a referral made, so the
    referral success rate's numerator is the referral count by another name: it is not
    shown where protection hides the referral count, or a division's rate minus its
    councils' counts would give back a council's hidden count."""
    rows = _harvest(published, _periods(published))
    counts = {
        (r["grouping"], r["area_code"], r["period"], r["people"]): r
        for r in rows
        if r["measure"] == "referrals"
    }
    shown = [r for r in rows if r["measure"] == "referral_success_rate" and r["numerator"]]
    assert len(shown) > 50, "too few referral success rates shown to test"
    hidden = {"<5", "[c]", "fewer than 10", "not published"}  # as protection hides them
    leaks = [
        (r["grouping"], r["area_code"], r["period"], r["people"], r["numerator"])
        for r in shown
        if counts[(r["grouping"], r["area_code"], r["period"], r["people"])]["value_note"]
        in hidden
    ]
    assert leaks == []
