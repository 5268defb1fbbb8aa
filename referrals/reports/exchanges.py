"""Fact exchanges: the narrowest alternative the secondary suppression can offer.

To protect a hidden rate for an area, ``disclosure`` looks for a different set of referrals
that publishes the same figures and labels. Swapping two whole referrals between areas
changes every figure in which the two differ (their pathway, whether they were accepted,
had children at home...), so each such swap hides several measures at once. A fact
exchange changes one fact only: one referral in the area loses it (say, a completed
diversion becomes a diversion not completed) and one referral elsewhere, in the same month,
gains it. Both referrals stay where and who they are, every other fact stays as it was, and
both keep a possible history (``Layout.valid``), so only the one measure's figures for the
two areas, and for the totals holding one area and not the other, change.

Partners are tried cheapest first: the areas whose figure is hidden already, then those
sharing the most totals with the area (a council in the same police division, health board
and ADP changes nothing else), then the smallest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator


class FactExchanges:
    """Mixed into ``disclosure.Protector``; uses its layout, profiles, labels and cells."""

    MAX_EXCHANGE_PAIRS = 120  # (referral, partner) pairs looked at per hidden figure

    def _turned(self, profile: tuple, field: int) -> tuple | None:
        """The possible profile nearest ``profile`` with ``field`` turned the other way (a
        start undone also undoes the start's timing, for example)."""
        cache = self.__dict__.setdefault("_turns", {})
        key = (profile, field)
        if key not in cache:
            options = [r for r in self._all_profiles if r[field] != profile[field]]
            cache[key] = min(options, key=lambda r: (self._distance(profile, r), r), default=None)
        return cache[key]

    def _shifted(self, profile: tuple, change: tuple) -> tuple | None:
        """``profile`` plus ``change``, when that is a profile one referral could have."""
        cache = self.__dict__.setdefault("_shifts", {})
        key = (profile, change)
        if key not in cache:
            other = tuple(a + b for a, b in zip(profile, change, strict=True))
            ok = all(v in (0, 1) for v in other) and self.layout.valid(other)
            cache[key] = other if ok else None
        return cache[key]

    def _by_month(self) -> dict[int, dict[object, list[tuple]]]:
        """By month and area, the (kind, profile) of the referrals held."""
        cache = self.__dict__.get("_held_by_month")
        if cache is None:
            cache = defaultdict(lambda: defaultdict(list))
            for (atom, month, combo), held in self.profiles.items():
                for profile in held:
                    cache[month][atom].append((combo, profile))
            self.__dict__["_held_by_month"] = cache
        return cache

    def _partner_costs(self, node: int, p: int, figure, atoms, among) -> dict[object, dict]:
        """For each of ``atoms`` (in the target) and each atom of ``among`` outside the
        target: what an exchange between them would hide besides the target (the figure
        for every other node holding one of the two atoms but not both), counted in people
        and weighted as ``_consequences`` does."""
        layout = self.layout
        seen: dict[int, float] = {}

        def node_cost(n: int) -> float:
            if n not in seen:
                key = (n, p, 0, figure.name)
                hidden = key in self.labels or key in self.withdrawn
                if n == node or hidden or not figure.published(n, p):
                    seen[n] = 0.0
                else:
                    x, d = self.values((n, p, 0), figure)
                    weight = layout.national_weight if n == 0 else layout.node_weight[n]
                    seen[n] = (x if d is None else d) * weight
            return seen[n]

        members = layout.nodes[node]
        outside = [a for a in among if a not in members]
        costs = {}
        for atom in atoms:
            mine = set(self.nodes_of_atom[atom])
            costs[atom] = {
                other: sum(map(node_cost, mine.symmetric_difference(self.nodes_of_atom[other])))
                for other in outside
            }
        return costs

    def _exchanges(self, node: int, p: int, want, field: int, figure) -> Iterator[tuple]:
        """Fact exchanges for the target (``node``, period ``p``), cheapest partner first."""
        members = self.layout.nodes[node]
        turns = []
        for unit in self._units_in(node, p, want):
            for q in self._held(unit):
                if (-1 if q[field] else 1) not in self._signs:
                    continue
                mine = self._turned(q, field)
                if mine is not None:
                    turns.append(
                        (unit, q, mine, tuple(b - a for a, b in zip(q, mine, strict=True)))
                    )
        if not turns:
            return
        active = self._active_by_quarter()
        among = set().union(*(active.get(t[0][1] // 3, set()) for t in turns))
        costs = self._partner_costs(node, p, figure, {t[0][0] for t in turns}, among)
        pairs = sorted(
            (costs[unit[0]][partner], repr(partner), i, partner)
            for i, (unit, *_) in enumerate(turns)
            for partner in active.get(unit[1] // 3, ())
            if partner in costs[unit[0]]
        )
        made = 0
        for _, _, i, partner in pairs[: self.MAX_EXCHANGE_PAIRS]:
            unit, q, mine, change = turns[i]
            moves = self._exchange_with(unit, q, mine, change, partner, members)
            if moves is not None:
                yield moves
                made += 1
                if made >= self.MAX_TRIES // 2:
                    return

    def _active_by_quarter(self) -> dict[int, set]:
        """The atoms with referrals in each quarter."""
        cache = self.__dict__.get("_active")
        if cache is None:
            cache = defaultdict(set)
            for atom, month, _ in self.profiles:
                cache[month // 3].add(atom)
            self.__dict__["_active"] = cache
        return cache

    def _group_exchanges(self, node: int, p: int, want, field: int) -> Iterator[tuple]:
        """For a figure of one group of people (group ``g`` of breakdown ``d``): a referral
        of that group in the area and one of another group in the same council area, of the
        same kind otherwise and in the same quarter, exchange a single outcome, and a
        bridge outside the area exchanges it back between the same two kinds. No total
        changes, only the two groups' figures for the area and for the totals holding
        the council or the bridge but not both."""
        d, g = want
        members = self.layout.nodes[node]
        by_month = self._by_month()
        found = 0
        for unit in self._units_in(node, p, want):
            atom, month, combo = unit
            for q in self._held(unit):
                sign = -1 if q[field] else 1
                if sign not in self._signs:
                    continue
                mine = self._turned(q, field)
                if mine is None:
                    continue
                change = tuple(b - a for a, b in zip(q, mine, strict=True))
                back = tuple(-v for v in change)
                months = sorted(
                    range(3 * (month // 3), 3 * (month // 3) + 3), key=lambda m: m != month
                )
                for other_month in months:
                    options = sorted(
                        (self._distance(q, r), c, r, r2)
                        for c, r in by_month.get(other_month, {}).get(atom, ())
                        if c[d] != g
                        and all(c[i] == combo[i] for i in range(len(combo)) if i != d)
                        and (r2 := self._shifted(r, back)) is not None
                    )
                    if not options:
                        continue
                    _, c, r, r2 = options[0]
                    bridge = self._bridge(month, combo, other_month, c, change, members, atom)
                    if bridge is None:
                        continue
                    theirs = (atom, other_month, c)
                    yield (
                        (unit, q, -1),
                        (unit, mine, 1),
                        (theirs, r, -1),
                        (theirs, r2, 1),
                        *bridge,
                    )
                    found += 1
                    if found >= self.MAX_TRIES // 2:
                        return
                    break

    def _exchange_with(self, unit, q, mine, change, partner, members) -> tuple | None:
        """The exchange between referral ``q`` at ``unit`` (which changes by ``change``)
        and one at ``partner`` (which changes the other way). Best: one of the same kind in
        the same month. Otherwise one of the same kind in another month of the same
        quarter, or of another kind, with a third area (the "bridge") exchanging the same
        way round, so that no month's figure for the whole, no figure of a kind of person
        for the whole, and no quarter's or year's figure for the bridge changes."""
        _, month, combo = unit
        by_month = self._by_month()
        back = tuple(-v for v in change)
        months = sorted(range(3 * (month // 3), 3 * (month // 3) + 3), key=lambda m: m != month)
        others = []
        for other_month in months:
            options = []
            for c, r in by_month.get(other_month, {}).get(partner, ()):
                r2 = self._shifted(r, back)
                if r2 is not None:
                    options.append((c != combo, self._distance(q, r), c, r, r2))
            if not options:
                continue
            different, _, c, r, r2 = min(options)
            theirs = (partner, other_month, c)
            moves = ((unit, q, -1), (unit, mine, 1), (theirs, r, -1), (theirs, r2, 1))
            if different:
                others.append((other_month, c, moves))
                continue
            if other_month == month:
                return moves
            bridge = self._bridge(month, None, other_month, None, change, members | {partner})
            if bridge is not None:
                return moves + bridge
        for other_month, c, moves in others[:1]:
            avoid = members | {partner}
            bridge = self._bridge(month, combo, other_month, c, change, avoid, unit[0], partner)
            if bridge is not None:
                return moves + bridge
        return None

    def _bridge(
        self, month, combo, other_month, other_combo, change, avoid, *near
    ) -> tuple | None:
        """Two referrals in one area outside ``avoid``: one in ``month`` (of kind ``combo``)
        that changes by minus ``change``, one in ``other_month`` (of ``other_combo``) that
        changes by ``change``; with no kinds given, two of the same kind. Areas sharing the
        most totals with the areas ``near`` first, then the largest."""
        back = tuple(-v for v in change)
        for atom in self._bridges(avoid, near):
            if combo is None:
                kinds = set(self.combos_at.get((atom, month), ())) & set(
                    self.combos_at.get((atom, other_month), ())
                )
                pairs = [(c, c) for c in sorted(kinds)]
            else:
                pairs = [(combo, other_combo)]
            for c, k in pairs:
                z = self._first_shifted(self.profiles.get((atom, month, c)), back)
                w = z and self._first_shifted(self.profiles.get((atom, other_month, k)), change)
                if z and w:
                    return (
                        ((atom, month, c), z[0], -1),
                        ((atom, month, c), z[1], 1),
                        ((atom, other_month, k), w[0], -1),
                        ((atom, other_month, k), w[1], 1),
                    )
        return None

    def _first_shifted(self, held, change) -> tuple | None:
        for profile in held or ():
            moved = self._shifted(profile, change)
            if moved is not None:
                return profile, moved
        return None

    def _bridges(self, avoid, near) -> list:
        """Candidate bridges: areas sharing a total (below the whole) with every area in
        ``near``, most shared first, then the largest areas."""
        sizes = self._sizes()
        shared: dict = {}
        if near:
            common = set.intersection(*(set(self.nodes_of_atom[a]) for a in near)) - {0}
            for node in common:
                for atom in self.layout.nodes[node]:
                    shared[atom] = shared.get(atom, 0) + 1
        close = sorted(
            (a for a in shared if a not in avoid and a in sizes),
            key=lambda a: (-shared[a], -sizes[a], repr(a)),
        )
        large = [a for a in self._largest_atoms() if a not in avoid]
        return list(dict.fromkeys(close[:8] + large))

    def _sizes(self) -> dict:
        """Referrals per atom, over every month."""
        sizes = self.__dict__.get("_atom_sizes")
        if sizes is None:
            sizes = defaultdict(int)
            for (atom, _, _), values in self.units.items():
                sizes[atom] += values[self.layout.count_field]
            self.__dict__["_atom_sizes"] = sizes
        return sizes

    def _largest_atoms(self) -> list:
        """The eight atoms with the most referrals, largest first."""
        ordered = self.__dict__.get("_atoms_by_size")
        if ordered is None:
            sizes = self._sizes()
            ordered = sorted(sizes, key=lambda a: (-sizes[a], repr(a)))[:8]
            self.__dict__["_atoms_by_size"] = ordered
        return ordered
