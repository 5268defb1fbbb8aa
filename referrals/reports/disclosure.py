"""Disclosure control (DESIGN.md section 6 item 6), in one place.

1. Primary. A count from 1 to 4 is shown as "<5". A rate is hidden when its denominator is
   under 10 ("fewer than 10") or its numerator, or its denominator minus its numerator, is
   from 1 to 4 ("<5"). Zero is shown as 0. (Both thresholds are settings.)
2. Secondary. A figure hidden under rule 1 must not be recoverable from everything else that
   is published: other areas and the totals they add up to (a council within its ADP,
   police division, health board and the nation, whichever way those cut across each other),
   other periods (quarters within their years), breakdowns against their total (women and
   men, age groups, pathways), and rates, whose intervals give their numerator and
   denominator. For every such figure we find a *different* set of referrals that would
   publish exactly the same figures and labels: first a single outcome exchanged between
   two people of the same kind and quarter, one in the area and one elsewhere
   (``exchanges``); then one person's outcome swapped with another
   person's in a second area, in the same month and of the same kind (sex, age group,
   pathway); or swapped between two groups of a breakdown, or two quarters of the same
   years, in two areas; or, for counts of referrals, one referral moved that way. Every
   published figure the swap would change is hidden as well ("[c]"). Because such an
   alternative exists, no combination of published figures can pin the hidden figure down.
   Among the possible swaps we take the one that hides the fewest people, preferring
   figures already hidden, small areas over large ones, totals of areas over large areas,
   and quarters and breakdowns over the 12-month headline.
3. Across days. Readers can open the figures of earlier days too, so a day is protected
   together with the one kept before it: a figure that day hid, from referrals unchanged
   since, is hidden again, and no swap may change a figure that day showed (its reader
   has it). So for referrals unchanged between two days, both show the same figures, and
   together they give away no more than either.

The functions here take plain numbers: *units* (for one area, month and kind of person, how
many referrals reached each combination of stages), which sums of units are published, and
the thresholds. They return which figures to hide and why; they know nothing of SQL, Flask
or how figures are drawn.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .exchanges import FactExchanges

SMALL, FEW, SECONDARY, WITHDRAWN = "small", "few", "secondary", "withdrawn"
NATIONAL = 0  # the node holding every atom

Unit = tuple  # (atom, month, kind of person: one group per breakdown)
Profile = tuple[int, ...]  # which base facts one referral has (0 or 1 each)
Move = tuple[Unit, Profile, int]  # a referral of that profile added (+1) or removed (-1)


@dataclass(frozen=True)
class Rule:
    threshold: int = 5
    min_denominator: int = 10

    def small(self, value: int) -> bool:
        return 0 < value < self.threshold

    def count_label(self, value: int) -> str | None:
        return SMALL if self.small(value) else None

    def rate_label(self, numerator: int, denominator: int) -> str | None:
        if denominator < self.min_denominator:
            return FEW
        if self.small(numerator) or self.small(denominator - numerator):
            return SMALL
        return None

    def fits(self, label: str, numerator: int, denominator: int | None) -> bool:
        """Whether a hidden figure with these values would carry ``label``: all a reader
        learns of a hidden figure is its label."""
        if numerator < 0:
            return False
        if denominator is None:
            if label == FEW:  # a count in a group of fewer than 10 referrals
                return True
            return self.small(numerator) if label == SMALL else numerator >= self.threshold
        if not 0 <= numerator <= denominator:
            return False
        if label == FEW:
            return denominator < self.min_denominator
        small = self.small(numerator) or self.small(denominator - numerator)
        return denominator >= self.min_denominator and small == (label == SMALL)


@dataclass(frozen=True)
class PeriodSpec:
    months: frozenset[int]
    filtered: bool  # breakdowns are published for it
    national_only: bool  # published for the whole nation only
    weight: float  # how much hiding one of its figures costs
    kind: str = ""  # "quarter" or "year"


@dataclass(frozen=True)
class FigureSpec:
    """A published figure: a count of one base field, or a rate (numerator, denominator).
    It is published for every area in ``periods``, for the whole only in ``national``, and
    for some large areas only in ``limited``."""

    name: str
    numerator: int
    denominator: int | None
    periods: frozenset[int]
    national: frozenset[int] = frozenset()
    limited: frozenset[int] = frozenset()  # periods published for ``large`` nodes only
    large: frozenset[int] = frozenset()
    sliced: frozenset[int] | None = None  # nodes with breakdowns of it (None: all)

    def published(self, node: int, period: int, group: int = 0) -> bool:
        if group and self.sliced is not None and node not in self.sliced:
            return False
        return (
            period in self.periods
            or (node == NATIONAL and period in self.national)
            or (period in self.limited and node in self.large)
        )


@dataclass
class Layout:
    """What is published, as sums of units.

    ``nodes[i]`` is the set of atoms (areas at the finest level) that node ``i`` adds up;
    node 0 is the whole. ``dimensions`` gives the number of groups of each breakdown. Slice
    0 of a cell is everybody; slice ``1 + offset[d] + g`` is group ``g`` of breakdown ``d``.
    ``count_field`` is the base field that counts referrals; ``link`` (field, breakdown,
    group) is a base field equal to the count of referrals in one group (near-fatal
    overdose referrals are the referrals on that pathway). ``valid`` says whether a profile
    of facts is possible for one referral.
    """

    nodes: list[frozenset]
    node_weight: list[float]
    periods: list[PeriodSpec]
    dimensions: tuple[int, ...]
    figures: list[FigureSpec]
    valid: Callable[[Profile], bool]
    count_field: int = 0
    link: tuple[int, int, int] | None = None
    filtered_nodes: frozenset[int] | None = None  # nodes with breakdowns (None: all)
    national_weight: float = 1000.0  # the cost of hiding a figure for the whole
    total_fixed: bool = False  # the whole's figure for everybody is never hidden


Key = tuple[int, int, int, str]  # node, period, slice, figure name


@dataclass
class Outcome:
    labels: dict[Key, str]
    unprotected: list[Key]
    tried: int = 0


class Protector(FactExchanges):
    """Primary and secondary suppression over one family of published figures."""

    MAX_TARGET_UNITS = 10
    MAX_PARTNERS = 6
    MAX_TRIES = 80

    def __init__(self, layout: Layout, profiles: dict[Unit, dict[Profile, int]], rule: Rule):
        self.layout, self.profiles, self.rule = layout, profiles, rule
        self.width = len(next(iter(next(iter(profiles.values())))))
        self.offsets = list(itertools.accumulate((0, *layout.dimensions[:-1])))
        self.nodes_of_atom: dict[object, list[int]] = defaultdict(list)
        for i, members in enumerate(layout.nodes):
            for atom in members:
                self.nodes_of_atom[atom].append(i)
        self.periods_of_month: dict[int, list[int]] = defaultdict(list)
        for i, spec in enumerate(layout.periods):
            for month in spec.months:
                self.periods_of_month[month].append(i)
        self.dependents: dict[int, list[FigureSpec]] = defaultdict(list)
        for figure in layout.figures:
            self.dependents[figure.numerator].append(figure)
            if figure.denominator is not None:
                self.dependents[figure.denominator].append(figure)
        self.units = {u: self._unit_values(u, p) for u, p in profiles.items()}
        self.atom_node = {
            next(iter(members)): i for i, members in enumerate(layout.nodes) if len(members) == 1
        }
        self._target: Key | None = None
        self._signs: list[int] = [1, -1]
        self._den: int | None = None
        self._figure: FigureSpec | None = None
        self._field = 0
        self.by_month_combo: dict[tuple, list] = defaultdict(list)
        self.combos_at: dict[tuple, list[tuple]] = defaultdict(list)
        for atom, month, combo in sorted(profiles, key=repr):
            self.by_month_combo[(month, combo)].append(atom)
            self.combos_at[(atom, month)].append(combo)
        self._keys: dict[Unit, list[tuple]] = {}
        self.cells = self._cells()
        self._signatures: dict[tuple, frozenset[int]] = {}
        self._indexes: dict[str, object] = {}
        self._all_profiles = self._possible_profiles()
        self.labels: dict[Key, str] = {}
        self.withdrawn: set[Key] = set()
        self.shown_before: frozenset[Key] | set[Key] = frozenset()
        self.tried = 0

    # -- cells ------------------------------------------------------------------------

    def _unit_values(self, unit: Unit, profiles: dict[Profile, int]) -> list[int]:
        values = [0] * self.width
        for profile, count in profiles.items():
            for i, bit in enumerate(profile):
                if bit:
                    values[i] += count
        link = self.layout.link
        if link and unit[2][link[1]] == link[2]:
            values[link[0]] = values[self.layout.count_field]
        return values

    def slices_of(self, combo: tuple) -> list[int]:
        return [1 + self.offsets[d] + g for d, g in enumerate(combo)]

    def keys_of(self, unit: Unit) -> list[tuple]:
        """The cells (node, period, slice) a unit adds to."""
        keys = self._keys.get(unit)
        if keys is None:
            atom, month, combo = unit
            slices = self.slices_of(combo)
            broken_down = self.layout.filtered_nodes
            keys = []
            for node in self.nodes_of_atom[atom]:
                for p in self.periods_of_month[month]:
                    spec = self.layout.periods[p]
                    if spec.national_only and node != NATIONAL:
                        continue
                    keys.append((node, p, 0))
                    if spec.filtered and (broken_down is None or node in broken_down):
                        keys.extend((node, p, s) for s in slices)
            self._keys[unit] = keys
        return keys

    def _cells(self) -> dict[tuple, list[int]]:
        cells: dict[tuple, list[int]] = {}
        for unit, values in self.units.items():
            for key in self.keys_of(unit):
                total = cells.get(key)
                if total is None:
                    cells[key] = list(values)
                else:
                    for i, v in enumerate(values):
                        total[i] += v
        return cells

    def published(self) -> Iterator[tuple[tuple, FigureSpec]]:
        """Every (cell, figure) published with referrals behind it."""
        for cell in sorted(self.cells):
            for figure in self.layout.figures:
                if figure.published(*cell):
                    yield cell, figure

    def values(self, cell: tuple, figure: FigureSpec) -> tuple[int, int | None]:
        values = self.cells.get(cell)
        if values is None:
            return 0, (None if figure.denominator is None else 0)
        den = None if figure.denominator is None else values[figure.denominator]
        return values[figure.numerator], den

    # -- the protection ---------------------------------------------------------------

    def run(
        self,
        hidden_before: dict[Key, str] | None = None,
        shown_before: frozenset[Key] | set[Key] = frozenset(),
    ) -> Outcome:
        """Label every figure to hide. ``hidden_before`` (with their labels) and
        ``shown_before``: the figures the day kept before hid and showed, of referrals
        unchanged since (rule 3): the first are hidden again, the second are never changed
        by a swap."""
        targets = []
        count = self.layout.count_field
        self.shown_before = shown_before
        for cell, figure in self.published():
            x, n = self.values(cell, figure)
            if n is not None:
                label = self.rule.rate_label(x, n)
            elif figure.numerator != count and self.cells[cell][count] < self.rule.min_denominator:
                label = FEW  # a count within fewer than 10 referrals is a rate in disguise
            else:
                label = self.rule.count_label(x)
            if label:
                self.labels[(*cell, figure.name)] = label
                if label != FEW or (n or 0) > 0 or (n is None and x > 0):
                    targets.append((*cell, figure.name))
        figures = {f.name: f for f in self.layout.figures}
        for key, label in (hidden_before or {}).items():
            figure = figures.get(key[3])
            if figure is None or not figure.published(*key[:3]):
                continue
            if label == WITHDRAWN:
                self.withdrawn.add(key)
            else:
                self.labels.setdefault(key, label)
        protected: set[Key] = set()
        unprotected: list[Key] = []
        for key in sorted(targets, key=self._priority):
            if key in protected or self._withdrawn(key):
                continue
            best = self._certificate(key, figures[key[3]])
            if best is None:
                best = self._deeper(key, figures[key[3]])
            if best is None:
                # No alternative found: the figure and those sharing its counts are not
                # published for the area, a second area and every total holding either
                # (only for the whole), so that only their sum is known.
                unprotected.append(key)
                self._withdraw(key, figures[key[3]])
                continue
            _, hide, changed = best
            for cell_key in hide:
                self.labels[cell_key] = SECONDARY
            protected.update(k for k in changed if self.labels.get(k) in (SMALL, FEW))
        for key in self.withdrawn:
            self.labels[key] = WITHDRAWN
        return Outcome(dict(self.labels), unprotected, self.tried)

    def _withdraw(self, key: Key, figure: FigureSpec) -> None:
        node, p, s, _ = key
        members = self.layout.nodes[node]
        want = self._group(s)
        slices = [s]
        if want:
            d = want[0]
            slices = [1 + self.offsets[d] + g for g in range(self.layout.dimensions[d])]
        fields = {figure.numerator, figure.denominator} - {None}
        related = [f for f in self.layout.figures if {f.numerator, f.denominator} & fields]
        if node == NATIONAL:
            # The whole's own figure: not published for any area, in any period holding
            # any of its months.
            months = self.layout.periods[p].months
            periods = [q for q, spec in enumerate(self.layout.periods) if spec.months & months]
            for n in range(len(self.layout.nodes)):
                for q in periods:
                    for sl in slices:
                        for f in related:
                            if f.published(n, q, sl):
                                self.withdrawn.add((n, q, sl, f.name))
            return
        sizes: dict = defaultdict(int)
        for (atom, month, _), values in self.units.items():
            if month in self.layout.periods[p].months and atom not in members:
                sizes[atom] += values[self.layout.count_field]
        partner = max(sizes, key=lambda a: (not self._shown(a), -sizes[a], repr(a)), default=None)
        atoms = set(members) | ({partner} if partner is not None else set())
        nodes = {n for a in atoms for n in self.nodes_of_atom[a] if n != NATIONAL}
        # Every period holding any of the target's months, or the others would give it
        # by difference (a year less its other quarters).
        months = self.layout.periods[p].months
        periods = [q for q, spec in enumerate(self.layout.periods) if spec.months & months]
        for n in nodes:
            for q in periods:
                for sl in slices:
                    for f in related:
                        if f.published(n, q, sl):
                            self.withdrawn.add((n, q, sl, f.name))

    def _deeper(self, key: Key, figure: FigureSpec):
        """The same search, wider: more units, partners and tries."""
        limits = self.MAX_TARGET_UNITS, self.MAX_PARTNERS, self.MAX_TRIES
        pairs = self.MAX_EXCHANGE_PAIRS
        self.MAX_TARGET_UNITS, self.MAX_PARTNERS, self.MAX_TRIES = 60, 40, 1500
        self.MAX_EXCHANGE_PAIRS = 20 * pairs
        try:
            return self._certificate(key, figure)
        finally:
            self.MAX_TARGET_UNITS, self.MAX_PARTNERS, self.MAX_TRIES = limits
            self.MAX_EXCHANGE_PAIRS = pairs

    def _withdrawn(self, key: Key) -> bool:
        return key in self.withdrawn

    def _priority(self, key: Key):
        node, p, s, name = key
        return (-self.layout.periods[p].weight, s != 0, node == NATIONAL, node, p, s, name)

    def _certificate(self, key: Key, figure: FigureSpec):
        node, p, s, _ = key
        field, only = figure.numerator, None
        link = self.layout.link
        if link and field == link[0]:  # counted by moving referrals into or out of a group
            field, only = self.layout.count_field, (link[1], link[2])
        best, tried = None, 0
        self._target = key
        x, n = self.values((node, p, s), figure)
        label = self.labels[key]
        self._field = field
        self._signs = [d for d in (1, -1) if self.rule.fits(label, x + d, n)] or [1, -1]
        self._den = figure.denominator
        self._figure = figure
        for moves in self._candidates(node, p, s, field, only):
            tried += 1
            result = self._evaluate(moves, key, None if best is None else best[0])
            if result is not None and (best is None or result[0] < best[0]):
                best = result
                if best[0] == 0:
                    break
            if tried >= (self.MAX_TRIES if best is not None else 3 * self.MAX_TRIES):
                break
        self.tried += tried
        return best

    # -- candidate swaps --------------------------------------------------------------

    def _group(self, s: int) -> tuple[int, int] | None:
        if not s:
            return None
        d = max(i for i, off in enumerate(self.offsets) if s - 1 >= off)
        return d, s - 1 - self.offsets[d]

    def _units_in(self, node: int, p: int, want=None, outside: bool = False) -> list[Unit]:
        """The node's units in period ``p`` (in group ``want`` = (breakdown, group), or out
        of it), those touching least else first."""
        members = self.layout.nodes[node]
        found = []
        for month in sorted(self.layout.periods[p].months):
            for atom in members:
                for combo in self.combos_at.get((atom, month), ()):
                    if want and (combo[want[0]] == want[1]) == outside:
                        continue
                    found.append((atom, month, combo))
        found.sort(
            key=lambda u: (
                not self._suits(u),
                self._exposure(u[1], p),
                -len(self.by_month_combo[(u[1], u[2])]),
                repr(u),
            )
        )
        return found[: self.MAX_TARGET_UNITS]

    def _suits(self, unit: Unit) -> bool:
        """Whether the unit holds a referral whose outcome can move the target's way."""
        if self._target is None:
            return True
        field = self._field
        for q in self.profiles[unit]:
            sign = -1 if q[field] else 1
            if sign in self._signs and (sign < 0 or self._den is None or q[self._den]):
                return True
        return False

    def _exposure(self, month: int, p: int) -> float:
        """How much else a change in ``month`` touches: the weights of the other periods
        published below the whole that hold it."""
        return sum(
            self.layout.periods[q].weight
            for q in self.periods_of_month[month]
            if q != p and not self.layout.periods[q].national_only
        )

    def _candidates(self, node, p, s, field, only) -> Iterator[tuple[Move, ...]]:
        """Alternative sets of referrals: two referrals, one living in the area and one
        outside it, swap where they live (or, for counts of referrals, one moves). The
        figures for the whole never change; which others do depends on how alike the two
        referrals are, so the most alike are tried first, in both directions."""
        want = self._group(s) or only
        members = self.layout.nodes[node]
        counting = field == self.layout.count_field
        if node == NATIONAL:
            yield from self._changes_alone(self._units_in(node, p, want), field, counting)
            return
        if not counting and self.layout.periods[p].kind != "quarter":
            if want:
                yield from self._group_exchanges(node, p, want, field)
            else:
                yield from self._exchanges(node, p, want, field, self._figure)
        inside = self._units_in(node, p, want)
        streams = []
        if want:
            d, g = want
            outside = self._units_in(node, p, want, outside=True)
            streams += [self._group_swaps(u, members, d, g, True) for u in inside]
            streams += [self._group_swaps(u, members, d, g, False) for u in outside]
        elif self.layout.periods[p].kind == "quarter":
            quarter = min(self.layout.periods[p].months) // 3
            streams += [self._quarter_swaps(u, members, field, counting) for u in inside]
            streams += [
                self._quarter_swaps(u, members, field, counting, into=quarter)
                for u in self._units_like_quarter(node, p, field)
            ]
            if not counting:
                streams += [self._outcome_swaps(u, members, field) for u in inside]
        elif counting:
            streams += [self._moves(u, members) for u in inside]
        else:
            streams += [self._outcome_swaps(u, members, field) for u in inside]
        yield from _round_robin(streams)

    def _swap(self, mine: Unit, q: Profile, theirs: Unit, r: Profile) -> tuple[Move, ...]:
        """Referral ``q`` at ``mine`` and referral ``r`` at ``theirs`` swap areas."""
        atom, month, combo = mine
        partner, other_month, kind = theirs
        return (
            (mine, q, -1),
            ((partner, month, combo), q, 1),
            (theirs, r, -1),
            ((atom, other_month, kind), r, 1),
        )

    def _held(self, unit: Unit) -> list[Profile]:
        held = self.profiles[unit]
        return sorted(held, key=lambda q: (-held[q], q))

    def _outcome_swaps(self, unit, members, field):
        """Swaps with a referral of the same kind and quarter elsewhere whose outcome for
        ``field`` differs, in the direction the target's label allows."""
        _, month, combo = unit
        for q in self._held(unit):
            sign = -1 if q[field] else 1
            if sign not in self._signs:
                continue
            if sign > 0 and self._den is not None and not q[self._den]:
                continue  # prefer people counted in the rate already
            for partner, m, k, r in self._same_kind(month, combo, q, field, members):
                yield self._swap(unit, q, (partner, m, k), r)

    def _group_swaps(self, unit, members, d, g, leave: bool):
        """A referral in group ``g`` of breakdown ``d`` leaves the area (``leave``) or
        arrives, swapped with one of the same outcomes in another group."""
        _, month, combo = unit

        def wanted(kind):
            return (kind[d] != g) if leave else (kind[d] == g)

        for q in self._held(unit):
            for partner, m, k, r in self._alike(month // 3, q, members, wanted, combo):
                yield self._swap(unit, q, (partner, m, k), r)

    def _moves(self, unit, members):
        """One referral moves out of the area, or a referral like it moves in."""
        _, month, combo = unit
        for q in self._held(unit):
            for partner in self._small_areas(members):
                yield ((unit, q, -1), ((partner, month, combo), q, 1))
            for partner in self._partners_with(month, combo, q, members):
                yield (((partner, month, combo), q, -1), (unit, q, 1))

    def _partners_with(self, month, combo, q, members) -> list:
        found = [
            a
            for a in self.by_month_combo.get((month, combo), ())
            if a not in members and self.profiles[(a, month, combo)].get(q)
        ]
        found.sort(key=lambda a: (self._shown(a), sum(self.units[(a, month, combo)]), repr(a)))
        return found[: self.MAX_PARTNERS]

    def _quarter_swaps(self, unit, members, field, counting, into=None):
        """Swaps with referrals of the same kind and outcomes in another quarter published
        in the same years (into quarter ``into`` when given), and paired swaps."""
        for q in self._held(unit):
            if into is None and not counting:
                yield from self._paired_swaps(unit, q, members, field)
            for partner, m, k, r in self._other_quarters(unit, q, members, into):
                yield self._swap(unit, q, (partner, m, k), r)

    def _units_like_quarter(self, node, p, field) -> list[Unit]:
        """The node's units in other quarters published in the same years as ``p``."""
        months = sorted(self.layout.periods[p].months)
        sig = self._signature(months[0], self.layout.count_field)
        found = []
        for other in self._quarters_like(sig, months[0] // 3):
            for month in range(3 * other, 3 * other + 3):
                for atom in self.layout.nodes[node]:
                    found.extend((atom, month, c) for c in self.combos_at.get((atom, month), ()))
            if len(found) >= self.MAX_TARGET_UNITS:
                break
        return found[: self.MAX_TARGET_UNITS]

    def _index(self, name: str, key_of) -> dict:
        cache = self._indexes.setdefault(name, None)
        if cache is None:
            cache = defaultdict(list)
            for (atom, month, combo), held in self.profiles.items():
                for profile in held:
                    key, item = key_of(atom, month, combo, profile)
                    cache[key].append(item)
            for items in cache.values():
                items.sort(key=lambda i: (sum(self.units[(i[0], i[1], i[2])]), repr(i)))
            self._indexes[name] = cache
        return cache

    def _same_kind(self, month, combo, q, field, members):
        """Referrals of the same kind in the same quarter elsewhere, with a different
        outcome for ``field`` and otherwise as alike as possible."""
        index = self._index("quarter-kind", lambda a, m, c, r: ((m // 3, c), (a, m, c, r)))
        found = [
            (a, m, c, r)
            for a, m, c, r in index.get((month // 3, combo), ())
            if a not in members and r[field] != q[field]
        ]
        found.sort(
            key=lambda i: (self._shown(i[0]), i[1] // 3 != month // 3, self._distance(q, i[3]))
        )
        return found[: self.MAX_PARTNERS * 2]

    def _alike(self, quarter, q, members, wanted, combo):
        """Referrals with the same outcomes in the same quarter elsewhere, of a kind in
        another group of the breakdown, as alike as possible otherwise."""
        index = self._index("quarter-profile", lambda a, m, c, r: ((m // 3, r), (a, m, c)))
        found = [
            (a, m, c, q)
            for a, m, c in index.get((quarter, q), ())
            if a not in members and wanted(c)
        ]
        found.sort(
            key=lambda i: (
                self._shown(i[0]),
                sum(x != y for x, y in zip(i[2], combo, strict=True)),
            )
        )
        return found[: self.MAX_PARTNERS * 2]

    def _paired_swaps(self, unit, q, members, field):
        """Two swaps between the area and another: people of one kind in this quarter
        with different outcomes for ``field``, and people with the same two outcomes the
        other way round in another quarter published in the same years. Only the two
        quarters' figures change."""
        atom, month, combo = unit
        sig = self._signature(month, self.layout.count_field)
        by_profile = self._index("quarter-profile", lambda a, m, c, r: ((m // 3, r), (a, m, c)))
        count = 0
        for partner, their_month, _, r in self._same_kind(month, combo, q, field, members):
            for other_quarter in self._quarters_like(sig, month // 3):
                mine = [(m, c) for a, m, c in by_profile.get((other_quarter, r), ()) if a == atom]
                if not mine:
                    continue
                theirs = {
                    c: m for a, m, c in by_profile.get((other_quarter, q), ()) if a == partner
                }
                for my_month, kind in mine:
                    if kind not in theirs:
                        continue
                    yield (
                        (unit, q, -1),
                        ((partner, month, combo), q, 1),
                        ((partner, their_month, combo), r, -1),
                        ((atom, their_month, combo), r, 1),
                        ((atom, my_month, kind), r, -1),
                        ((partner, my_month, kind), r, 1),
                        ((partner, theirs[kind], kind), q, -1),
                        ((atom, theirs[kind], kind), q, 1),
                    )
                    count += 1
                    if count >= self.MAX_TRIES:
                        return

    def _quarters_like(self, sig, quarter) -> list[int]:
        months = sorted(self.periods_of_month)
        return sorted(
            {
                m // 3
                for m in months
                if m // 3 != quarter and self._signature(m, self.layout.count_field) == sig
            },
            key=lambda other: abs(other - quarter),
        )

    def _other_quarters(self, unit, q, members, into=None):
        """Referrals of the same kind and outcomes elsewhere, in another quarter published
        in the same years (quarter ``into`` when given): then only the two quarters'
        figures change."""
        _, month, combo = unit
        field = self.layout.count_field
        sig = self._signature(month, field)
        index = self._index("kind-profile", lambda a, m, c, r: ((c, r), (a, m, c)))
        found = [
            (a, m, c, q)
            for a, m, c in index.get((combo, q), ())
            if a not in members
            and m // 3 != month // 3
            and (into is None or m // 3 == into)
            and self._signature(m, field) == sig
        ]
        found.sort(key=lambda i: self._shown(i[0]))
        return found[: self.MAX_PARTNERS * 2]

    def _small_areas(self, members) -> list:
        """Areas outside ``members``, smallest first (where a moved referral costs least)."""
        if "sizes" not in self._indexes:
            sizes = self._sizes()
            self._indexes["sizes"] = sorted(sizes, key=lambda a: (sizes[a], repr(a)))
        return [a for a in self._indexes["sizes"] if a not in members][: self.MAX_PARTNERS]

    @staticmethod
    def _distance(q: Profile, r: Profile) -> int:
        return sum(a != b for a, b in zip(q, r, strict=True))

    def _shown(self, atom) -> bool:
        """Whether the partner's own figure like the target's is still shown (a partner
        whose figure is hidden already costs nothing more)."""
        node = self.atom_node.get(atom)
        if node is None or self._target is None:
            return True
        _, p, s, name = self._target
        return (node, p, s, name) not in self.labels

    def _changes_alone(self, units, field, counting):
        """For the whole's own figures: one referral's outcome (or the referral) changes."""
        for unit in units:
            for q in sorted(self.profiles[unit]):
                if counting:
                    yield ((unit, q, -1),)
                    yield ((unit, q, 1),)
                    continue
                for r in self._all_profiles:
                    if (
                        r[field] != q[field]
                        and sum(a != b for a, b in zip(q, r, strict=True)) <= 2
                    ):
                        yield ((unit, q, -1), (unit, r, 1))

    def _possible_profiles(self) -> list[Profile]:
        seen = {q for held in self.profiles.values() for q in held}
        link = self.layout.link[0] if self.layout.link else None
        for bits in itertools.product((0, 1), repeat=self.width):
            if (
                bits[self.layout.count_field] == 1
                and (link is None or bits[link] == 0)
                and self.layout.valid(bits)
            ):
                seen.add(bits)
        return sorted(seen)

    def _signature(self, month: int, field: int) -> frozenset[int]:
        """The years, below the whole, in which figures moved by ``field`` hold ``month``."""
        key = (month, field)
        if key not in self._signatures:
            self._signatures[key] = frozenset(
                q
                for q in self.periods_of_month[month]
                if self.layout.periods[q].kind != "quarter"
                and not self.layout.periods[q].national_only
                and any(q in f.periods or q in f.limited for f in self.dependents[field])
            )
        return self._signatures[key]

    # -- what a swap would change -----------------------------------------------------

    def _evaluate(self, moves: tuple[Move, ...], target: Key, bound: float | None = None):
        net: dict[tuple[Unit, Profile], int] = defaultdict(int)
        for unit, profile, delta in moves:
            net[(unit, profile)] += delta
        deltas: dict[tuple, list[int]] = {}
        link = self.layout.link
        width = self.width
        for (unit, profile), delta in net.items():
            if not delta:
                continue
            if delta < 0 and self.profiles.get(unit, {}).get(profile, 0) < -delta:
                return None
            vector = [bit * delta for bit in profile]
            if link and profile[self.layout.count_field] and unit[2][link[1]] == link[2]:
                vector[link[0]] += delta
            for cell in self.keys_of(unit):
                into = deltas.get(cell)
                if into is None:
                    deltas[cell] = list(vector)
                else:
                    for i in range(width):
                        into[i] += vector[i]
        return self._consequences(deltas, target, bound)

    def _consequences(self, deltas: dict[tuple, list[int]], target: Key, bound):
        rule, labels, layout = self.rule, self.labels, self.layout
        shown_before = self.shown_before
        cost = 0.0
        hide: list[Key] = []
        changed: list[Key] = []
        for cell, vector in deltas.items():
            if not any(vector):
                continue
            node, p, s = cell
            spec = layout.periods[p]
            for figure in layout.figures:
                dx = vector[figure.numerator]
                dn = 0 if figure.denominator is None else vector[figure.denominator]
                if not dx and not dn:
                    continue
                key = (node, p, s, figure.name)
                if shown_before and key in shown_before:
                    return None  # shown the day before: the swap would not fit it
                if not figure.published(node, p, s):
                    continue
                if key in self.withdrawn:
                    continue
                x, n = self.values(cell, figure)
                new_x, new_n = x + dx, (None if n is None else n + dn)
                if _moves_each_small_part(x, n, dx, dn):
                    changed.append(key)
                label = labels.get(key)
                if label:
                    if not rule.fits(label, new_x, new_n):
                        return None
                    continue
                if node == NATIONAL and not s and layout.total_fixed:
                    return None
                if not (rule.fits(SECONDARY, x, n) and rule.fits(SECONDARY, new_x, new_n)):
                    return None
                weight = layout.national_weight if node == NATIONAL else layout.node_weight[node]
                cost += (x if n is None else n) * spec.weight * weight * (0.3 if s else 1.0)
                if bound is not None and cost >= bound:
                    return None
                hide.append(key)
        if target not in changed:
            return None
        return cost, hide, changed


def _moves_each_small_part(x: int, n: int | None, dx: int, dn: int) -> bool:
    """Whether a change of (dx, dn) to a figure of x (of n) moves every part of it a reader
    could single someone out by: the count itself, or for a rate each of the numerator
    and its complement that is from 1 to 4. A rate whose denominator alone moves keeps
    its numerator, which other figures may still give away."""
    if n is None:
        return dx != 0
    if not dx and not dn:
        return False
    return (dx != 0 or not 1 <= x <= 4) and (dn != dx or not 1 <= n - x <= 4)


def _round_robin(streams: list[Iterator]) -> Iterator:
    """Items from each stream in turn, so every kind of candidate is tried early."""
    streams = list(streams)
    while streams:
        alive = []
        for stream in streams:
            item = next(stream, None)
            if item is not None:
                yield item
                alive.append(stream)
        streams = alive


def protect(layout: Layout, profiles: dict[Unit, dict[Profile, int]], rule: Rule) -> Outcome:
    """Which published figures to hide, and why: SMALL ("<5"), FEW ("fewer than 10") or
    SECONDARY ("[c]")."""
    if not profiles:
        return Outcome({}, [])
    return Protector(layout, profiles, rule).run()
