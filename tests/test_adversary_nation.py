"""No hidden figure of the nation can be pinned down across its periods.

The nation alone is published for every month and every 12 months ending with a month,
with closures and declines by reason for its years: figures no CSV of areas holds, so the
reader of ``adversary`` is given them here as cells over months (and reasons), and the
true figures come from the database.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from referrals.choices import CloseReason, DeclineReason, Role
from referrals.models import Referral
from referrals.reports import disclosure as dc
from referrals.reports.periods import month_index, parse

from .adversary import Cell, Reader
from .factories import make_api_client
from .outputs import (
    NOT_FIGURES,
)
from .test_adversary import COUNTS as COUNT_FACTS
from .test_adversary import RATES as RATE_FACTS
from .test_adversary import _pass_some_on, _truth, truly_counted
from .test_auth import sign_in

pytest.importorskip("highspy")


@pytest.fixture
def seeded(app, client, runner, session):
    result = runner.invoke(args=["seed-demo", "--referrals", "2500", "--seed", "7"])
    assert result.exit_code == 0, result.output
    sign_in(client, "lead@demo.test", "demo-password")
    return client


def national_cells(client, token) -> dict[str, list[Cell]]:
    """The nation's figures of every period the API offers (months and monthly rolling
    years too, which only the nation is published for), per measure, as the reader's
    cells over months."""
    headers = {"Authorization": f"Bearer {token}"}
    index = client.get("/api/v1/reports", headers=headers).get_json()
    cells: dict[str, list[Cell]] = defaultdict(list)
    for facts in index["periods"]:
        code = facts["code"]
        answer = client.get(f"/api/v1/reports/national?period={code}", headers=headers)
        assert answer.status_code == 200, code
        months = frozenset(parse(code).months)
        for measure, figure in answer.get_json()["national"]["figures"].items():
            if measure not in RATE_FACTS and measure not in COUNT_FACTS:
                continue
            reason = figure["null_reason"] or {}
            if figure["value"] is None and reason.get("code") in NOT_FIGURES:
                continue
            label = reason.get("label") if figure["hidden"] else None
            if label == "not published":
                label = "withdrawn"
            x = figure["numerator"] if measure in RATE_FACTS else figure["value"]
            cells[measure].append(
                Cell("national", code, "all", months, label, x, figure["denominator"])
            )
        for kind, reasons in (answer.get_json()["reasons"] or {}).items():
            for reason, figure in (reasons or {}).items():
                parts = REASON_CODES[kind] if reason == "total" else [reason]
                atoms = frozenset((m, r) for m in months for r in parts)
                label = (figure["null_reason"] or {}).get("label") if figure["hidden"] else None
                cells[f"{kind} by reason"].append(
                    Cell("national", code, reason, atoms, label, figure["value"])
                )
    return cells


REASON_CODES = {
    "closed": [c.value for c in CloseReason],
    "declined": [c.value for c in DeclineReason],
}


def reason_truth(session) -> dict[str, Counter]:
    """True closures and declines by month referred and reason (declines of the referrals
    the measures count; closures of every referral, entered in error too)."""
    r = Referral
    counted = truly_counted()
    out = {}
    for kind, column, where in (
        ("closed", r.close_reason, sa.true()),
        ("declined", r.decline_reason, counted),
    ):
        table = Counter()
        query = sa.select(r.referred_on, column, sa.func.count()).where(column.is_not(None), where)
        for day, reason, n in session.execute(query.group_by(r.referred_on, column)):
            table[(month_index(day), str(getattr(reason, "value", reason)))] += n
        out[f"{kind} by reason"] = table
    return out


def national_pinned(client, session, token) -> tuple[list[tuple], int]:
    """Each hidden national figure from 1 to 4 the reader pins down from the nation's
    figures of every period, and how many it tried."""
    truth = _truth(session, when=month_index)["area"]
    by_month: dict[int, Counter] = defaultdict(Counter)
    for (_, month, *_), counts in truth.items():
        by_month[month].update(counts)
    reasons = reason_truth(session)
    pinned, tried = [], 0
    for measure, cells in national_cells(client, token).items():
        rate = measure in RATE_FACTS
        if measure in reasons:
            fields = None

            def true_value(cell, which, table=reasons[measure]):
                return sum(table[atom] for atom in cell.atoms)
        else:
            fields = RATE_FACTS[measure] if rate else (COUNT_FACTS[measure],)

            def true_value(cell, which, fields=fields):
                values = [sum(by_month[m][f] for m in cell.atoms) for f in fields]
                return values[-1] - values[0] if which == "complement" else values[0]

        targets = [
            c
            for c in cells
            if c.label not in (None, "[c]", "withdrawn")
            and any(
                1 <= true_value(c, w) <= 4
                for w in (("numerator", "complement") if rate else ("count",))
            )
        ]
        tried += len(targets)
        reader = Reader(rate, list(cells))
        for finding in reader.findings(targets, true_value):
            value = true_value(finding.cell, finding.which)
            if finding.pinned and 1 <= value <= 4:
                cell = finding.cell
                pinned.append((measure, cell.period, cell.group, finding.which, value))
    return pinned, tried


def test_no_hidden_national_figure_can_be_pinned_down_across_periods(seeded, session, monkeypatch):
    """The nation is published for every month and every 12 months ending with a month,
    with closures and declines by reason for its years, none of which the CSVs of areas
    hold: differences between them must pin nothing down. Without secondary suppression
    the same reader does pin figures down (a death among them), so the check works.

    Then referrals are passed on, some to a referral later entered in error (the first
    counting again): their closures as "referred on" and "entered in error" join the
    closures by reason, and still nothing can be pinned down. (With them in the data
    from the start, the one figure the unprotected reader pins on the plain data, a
    count of deaths in one rolling year, is no longer isolated by the closures' sums, so
    the check that the reader works is made before they are added.)"""
    client = seeded
    _, token = make_api_client(session, Role.LEAD, name="Analysts' system")
    session.commit()
    refresh = client.application.test_cli_runner()
    pinned, tried = national_pinned(client, session, token)
    assert tried > 5
    assert pinned == []
    with monkeypatch.context() as unprotected:
        unprotected.setattr(
            dc.Protector, "_certificate", lambda self, key, figure: (0.0, [], [key])
        )
        assert refresh.invoke(args=["refresh-reports"]).exit_code == 0
        pinned, _ = national_pinned(client, session, token)
    assert pinned, "the reader found nothing even without secondary suppression"

    closed_before = _closures(client, token)
    _pass_some_on(session)
    assert refresh.invoke(args=["refresh-reports"]).exit_code == 0
    assert _closures(client, token) != closed_before, "the nation's closures did not change"
    pinned, tried = national_pinned(client, session, token)
    assert tried > 5
    assert pinned == []


def _closures(client, token) -> dict[str, int | None]:
    """The nation's closures (all reasons) of each period that shows them."""
    headers = {"Authorization": f"Bearer {token}"}
    found = {}
    for facts in client.get("/api/v1/reports", headers=headers).get_json()["periods"]:
        answer = client.get(f"/api/v1/reports/national?period={facts['code']}", headers=headers)
        closed = (answer.get_json()["reasons"] or {}).get("closed")
        if closed:
            found[facts["code"]] = closed["total"]["value"]
    return found
