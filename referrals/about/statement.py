"""The automated accessibility checks behind the accessibility statement.

The browser tests run axe-core over every main page for each role and, when asked to
refresh the documentation (``UPDATE_SCREENSHOTS=1``), write what they found to
``axe_results.json`` beside this module. The statement shows that file, so it says what
the last full run found, page by page; the browser tests fail when a run finds a problem
the file does not list.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).with_name("axe_results.json")
SERIOUS = ("serious", "critical")


@dataclass(frozen=True)
class Finding:
    rule: str
    impact: str
    help: str
    count: int


@dataclass(frozen=True)
class PageCheck:
    role: str
    page: str
    path: str
    findings: list[Finding]

    @property
    def serious(self) -> list[Finding]:
        return [f for f in self.findings if f.impact in SERIOUS]

    @property
    def minor(self) -> list[Finding]:
        return [f for f in self.findings if f.impact not in SERIOUS]


@dataclass(frozen=True)
class Checks:
    checked_on: dt.date
    tool: str
    browser: str
    pages: list[PageCheck]

    @property
    def serious_count(self) -> int:
        return sum(len(p.serious) for p in self.pages)

    @property
    def minor_rules(self) -> dict[str, Finding]:
        """Each moderate or minor rule found anywhere, once."""
        found: dict[str, Finding] = {}
        for page in self.pages:
            for finding in page.minor:
                found.setdefault(finding.rule, finding)
        return found


def load_checks(path: Path = RESULTS) -> Checks | None:
    """The last recorded run, or None when there is none."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    pages = [
        PageCheck(
            role=page["role"],
            page=page["page"],
            path=page["path"],
            findings=[Finding(**finding) for finding in page["findings"]],
        )
        for page in data["pages"]
    ]
    return Checks(
        checked_on=dt.date.fromisoformat(data["checked_on"]),
        tool=data["tool"],
        browser=data["browser"],
        pages=pages,
    )
