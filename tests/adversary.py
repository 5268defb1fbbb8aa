"""A determined reader of the published figures, for the tests.

The reader knows how every figure is built (which council areas make up each ADP, police
division and health board, which quarters make up each year, which groups of people make
up everybody) and every figure published: shown counts, shown rates with their numerators
and denominators (an interval gives them away), and the label of every hidden figure
("<5" is 1 to 4; "[c]" is 5 or more, or a rate on 10 or more; "fewer than 10" is a rate on
fewer than 10). It then asks, for each hidden figure, the smallest and largest values all
of that allows, by linear programming over the unknown counts of every area, quarter and
group. This finds every attack that differences, complements, overlapping periods, areas
against their parents or linked sums could make, at once. A hidden count it pins down
(smallest = largest) that is from 1 to 4 is a person-level disclosure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix


@dataclass(frozen=True)
class Cell:
    """One published figure: the atoms (area, quarter, group) it adds up, and what it
    shows. ``x``/``n`` are what the reader sees (None when hidden)."""

    area: str
    period: str
    group: str
    atoms: frozenset
    label: str | None
    x: int | None = None
    n: int | None = None


@dataclass
class Finding:
    cell: Cell
    which: str  # "numerator" or "complement" or "count"
    low: float
    high: float

    @property
    def pinned(self) -> bool:
        if math.isinf(self.high):
            return False
        return math.ceil(self.low - 1e-6) >= math.floor(self.high + 1e-6)


@dataclass
class Reader:
    """The reader's equations for one measure (a rate: numerator and denominator per atom;
    a count: one value per atom)."""

    rate: bool
    cells: list[Cell] = field(default_factory=list)

    def add(self, cell: Cell) -> None:
        self.cells.append(cell)

    def _system(self):
        atoms = sorted({a for c in self.cells for a in c.atoms}, key=repr)
        index = {a: i for i, a in enumerate(atoms)}
        width = len(atoms) * (2 if self.rate else 1)  # x then n for rates
        eq_rows, eq_vals, ub_rows, ub_vals = [], [], [], []

        def vector(cell, part):  # part 0: x (or count), 1: n
            offset = part * len(atoms)
            return {offset + index[a]: 1.0 for a in cell.atoms}

        for cell in self.cells:
            if cell.label is None:
                if self.rate:
                    eq_rows += [vector(cell, 0), vector(cell, 1)]
                    eq_vals += [cell.x, cell.n]
                else:
                    eq_rows.append(vector(cell, 0))
                    eq_vals.append(cell.x)
                continue
            label = cell.label
            if not self.rate:
                if label.startswith("<"):
                    ub_rows += [vector(cell, 0), {k: -v for k, v in vector(cell, 0).items()}]
                    ub_vals += [4, -1]
                elif label == "[c]":
                    ub_rows.append({k: -v for k, v in vector(cell, 0).items()})
                    ub_vals.append(-5)
                continue
            n_vector = vector(cell, 1)
            if label.startswith("fewer"):
                ub_rows.append(n_vector)
                ub_vals.append(9)
            elif label.startswith("<") or label == "[c]":
                ub_rows.append({k: -v for k, v in n_vector.items()})
                ub_vals.append(-10)
        if self.rate:  # x <= n for every atom
            for i in range(len(atoms)):
                ub_rows.append({i: 1.0, len(atoms) + i: -1.0})
                ub_vals.append(0)
        return atoms, index, width, eq_rows, eq_vals, ub_rows, ub_vals

    def findings(self, targets: list[Cell], truths=None) -> list[Finding]:
        """The smallest and largest value the published figures allow for each target's
        numerator and complement (a rate) or count."""
        if not targets:
            return []
        atoms, index, width, eq_rows, eq_vals, ub_rows, ub_vals = self._system()
        solver = _Solver(width, eq_rows, eq_vals, ub_rows, ub_vals)
        size = len(atoms)
        found = []
        for cell in targets:
            xs = [index[a] for a in cell.atoms if a in index]
            if self.rate:
                objectives = [
                    ("numerator", {i: 1.0 for i in xs}),
                    ("complement", {**{i: -1.0 for i in xs}, **{size + i: 1.0 for i in xs}}),
                ]
            else:
                objectives = [("count", {i: 1.0 for i in xs})]
            for which, objective in objectives:
                true = truths(cell, which) if truths else None
                low, high = solver.range(objective, true)
                found.append(Finding(cell, which, low, high))
        return found


class _Solver:
    """One linear programme, solved again and again for different objectives (HiGHS
    starts each solve from the last one, which makes hundreds of them quick)."""

    def __init__(self, width, eq_rows, eq_vals, ub_rows, ub_vals):
        import highspy

        self.inf = highspy.kHighsInf
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        # Only the objective changes between solves, so the last basis stays feasible and
        # the primal simplex goes on from it (presolve would throw it away).
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)
        self.highspy = highspy
        lp = highspy.HighsLp()
        lp.num_col_ = width
        lp.col_cost_ = np.zeros(width)
        lp.col_lower_ = np.zeros(width)
        lp.col_upper_ = np.full(width, self.inf)
        rows = eq_rows + ub_rows
        lp.num_row_ = len(rows)
        lp.row_lower_ = np.array(
            [float(v) for v in eq_vals] + [-self.inf] * len(ub_rows), dtype=float
        )
        lp.row_upper_ = np.array([float(v) for v in eq_vals + ub_vals], dtype=float)
        r, c, v = [], [], []
        for i, row in enumerate(rows):
            for j, value in row.items():
                r.append(i)
                c.append(j)
                v.append(value)
        matrix = coo_matrix((v, (r, c)), shape=(len(rows), width)).tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        self.highs.passModel(lp)
        self.current: dict[int, float] = {}

    def _objective(self, objective: dict[int, float]) -> None:
        changes = {i: 0.0 for i in self.current if i not in objective} | objective
        if changes:
            idx = np.array(list(changes), dtype=np.int32)
            self.highs.changeColsCost(len(idx), idx, np.array(list(changes.values())))
        self.current = dict(objective)

    def range(self, objective: dict[int, float], true: float | None = None) -> tuple[float, float]:
        """The smallest and largest value of the objective. Given the true value, stop as
        soon as either side is at least 1 away from it (then it is not pinned)."""
        self._objective(objective)
        out = {}
        for name, sense in (
            ("high", self.highspy.ObjSense.kMaximize),
            ("low", self.highspy.ObjSense.kMinimize),
        ):
            self.highs.changeObjectiveSense(sense)
            self.highs.run()
            status = self.highs.getModelStatus()
            if status == self.highspy.HighsModelStatus.kUnbounded:
                out[name] = math.inf if name == "high" else -math.inf
            elif status != self.highspy.HighsModelStatus.kOptimal:
                raise AssertionError(f"the published figures contradict: {status}")
            else:
                out[name] = self.highs.getInfo().objective_function_value
            if true is not None and abs(out[name] - true) >= 1 - 1e-6:
                other = "low" if name == "high" else "high"
                out[other] = true
                break
        return out["low"], out["high"]


def readers_for(cells: list[Cell], rate: bool) -> Reader:
    reader = Reader(rate)
    for cell in cells:
        reader.add(cell)
    return reader


def group_by(items, key):
    out = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return out
