"""The load test's check of the database afterwards.

Writes fall in two kinds. A write the app acknowledged (a new referral answered with its
page, an accept or attendance answered with a redirect) must be in the database exactly
once. A write the client timed out on may have been completed by the server or not, but
never more than once: those are counted apart ("unanswered: completed / not made").
"Database exact" means both hold and the rows added in all (referrals, their events,
contacts and audit rows) are exactly the acknowledged writes plus the completed
unanswered ones: nothing lost, nothing doubled, nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from referrals.choices import ReferralStatus
from referrals.contacts.models import CustodyContact
from referrals.models import AuditEvent, Referral, ReferralEvent

CHANGES = {"accept": ReferralStatus.ACCEPTED, "attend": ReferralStatus.ENGAGED}
CHUNK = 5000


def counts(session: Session) -> dict[str, int]:
    """Rows of what the simulated users create."""

    def count(query) -> int:
        return session.scalar(query)

    return {
        "referrals": count(sa.select(sa.func.count()).select_from(Referral)),
        "events": count(sa.select(sa.func.count()).select_from(ReferralEvent)),
        "contacts": count(sa.select(sa.func.count()).select_from(CustodyContact)),
        "audited referrals": count(
            sa.select(sa.func.count()).where(AuditEvent.action == "referral_created")
        ),
        "audited changes": count(
            sa.select(sa.func.count()).where(
                AuditEvent.action.in_([f"referral_{name}" for name in CHANGES])
            )
        ),
    }


def _chunks(values: Sequence) -> Iterable[Sequence]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _tokens(session: Session, ids: Sequence[int]) -> dict[int, str | None]:
    found: dict[int, str | None] = {}
    for part in _chunks(ids):
        found.update(
            session.execute(
                sa.select(Referral.id, Referral.form_token).where(Referral.id.in_(part))
            ).all()
        )
    return found


def _made_with(session: Session, tokens: Sequence[str]) -> Counter:
    made: Counter = Counter()
    for part in _chunks(tokens):
        made.update(
            session.scalars(sa.select(Referral.form_token).where(Referral.form_token.in_(part)))
        )
    return made


def _changes(session: Session, ids: Sequence[int], status: ReferralStatus) -> Counter:
    """How many events took each referral in ``ids`` to ``status``."""
    found: Counter = Counter()
    for part in _chunks(sorted(set(ids))):
        found.update(
            session.scalars(
                sa.select(ReferralEvent.referral_id).where(
                    ReferralEvent.referral_id.in_(part), ReferralEvent.to_status == status
                )
            )
        )
    return found


def check_writes(session: Session, results, before: dict[str, int]) -> tuple[bool, list[str]]:
    """Whether the database is exact after the run, and the lines that say why."""
    lines, problems = [], []
    made = results.made  # referral id -> form token, acknowledged
    stored = _tokens(session, list(made))
    lost = [i for i in made if i not in stored]
    mixed = [i for i in made if i in stored and stored[i] != made[i]]
    unanswered = results.unanswered
    tokens = [t for t in unanswered["referral"] if t]
    by_token = _made_with(session, tokens)
    completed = {"referral": sum(1 for t in tokens if by_token[t] == 1)}
    doubled = {"referral": sum(1 for t in tokens if by_token[t] > 1)}
    acknowledged_tokens = _made_with(session, [t for t in made.values() if t])
    doubled["referral"] += sum(1 for n in acknowledged_tokens.values() if n > 1)
    if lost or mixed:
        problems.append(f"{len(lost)} acknowledged referrals missing, {len(mixed)} mixed up")
    if len(unanswered["referral"]) != len(tokens):
        problems.append("a timed-out referral had no form token to look it up by")
    for name, status in CHANGES.items():
        acknowledged = getattr(results, {"accept": "accepted", "attend": "attended"}[name])
        seen = _changes(session, [*acknowledged, *unanswered[name]], status)
        missing = sum(1 for i in acknowledged if seen[i] == 0)
        completed[name] = sum(1 for i in unanswered[name] if seen[i] == 1)
        doubled[name] = sum(1 for i in {*acknowledged, *unanswered[name]} if seen[i] > 1)
        if missing:
            problems.append(f"{missing} acknowledged {name} changes missing")
    if any(doubled.values()):
        problems.append(f"writes made twice: {dict(doubled)}")

    referrals = len(made) + completed["referral"]
    changes = len(results.accepted) + len(results.attended) + completed["accept"]
    changes += completed["attend"]
    expected = {
        "referrals": referrals,
        "events": referrals + changes,  # each referral starts with its "made" event
        "contacts": referrals,  # every referral from the directory records its contact
        "audited referrals": referrals,
        "audited changes": changes,
    }
    after = counts(session)
    added = {name: after[name] - before[name] for name in expected}
    for name in expected:
        lines.append(f"  {name:<18} expected {expected[name]:>6,}, added {added[name]:>6,}")
    if added != expected:
        problems.append("rows added differ from the writes made")
    lines.append(
        f"  acknowledged writes: {len(made):,} referrals, {len(results.accepted):,} accepts, "
        f"{len(results.attended):,} attendances; each present once: "
        + ("yes" if not (lost or mixed or any(doubled.values())) else "NO")
    )
    for name in ("referral", "accept", "attend"):
        asked = len(unanswered[name])
        if asked:
            lines.append(
                f"  timed out on {asked} {name} POSTs: {completed[name]} completed by the "
                f"server once, {asked - completed[name] - doubled.get(name, 0)} not made, "
                f"{doubled.get(name, 0)} made twice"
            )
    if not any(unanswered.values()):
        lines.append("  no POST timed out")
    for problem in problems:
        lines.append(f"  problem: {problem}")
    return not problems, lines
