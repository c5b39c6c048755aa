"""Choosing options under a budget (PRODUCT.md section 3.4): a mixed-integer programme, its exact re-evaluation, the
cost-against-risk frontier.

This module owns the optimisation and knows nothing of networks: an option is a column with a benefit (risk
reduction), a cost, precedence (``i`` needs ``j``: ``x_i <= x_j``), mutual exclusion (at most one of a group) and
shared resources (``sum of use_i x_i <= limit``, e.g. one site's spare capacity).

* :func:`solve` - the binary programme ``max sum b_i x_i`` subject to the budget and the constraints, solved with
  :func:`scipy.optimize.milp` (HiGHS) to optimality (relative gap :data:`MIP_GAP`, 1e-6; 1e-4 above 2,000
  options); chosen options of no benefit that nothing chosen requires are then dropped. :func:`brute_force`
  enumerates all subsets, for tests.
* :func:`min_cost_reaching` - the cheapest portfolio whose benefit reaches a target (the default budget rule).
* :func:`improve` - risk reduction is not additive (two backups for one input overlap; an API source and a stopper
  source for one fill line only restore the whole line together). The programme uses per-option benefits; the chosen
  portfolio is then re-evaluated exactly, options that add nothing exactly are dropped (freeing budget), the benefits
  are re-linearised around it (the exact value of adding each option to it, or of keeping each option in it) and the
  programme is solved again, keeping the best exact result, until nothing improves. The exact risk never gets worse
  than the first solution's.
* :func:`frontier` - exact risk after the portfolio chosen at each of a ladder of budgets, made monotone (a larger
  budget can always buy a cheaper portfolio).
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["PortfolioProblem", "brute_force", "frontier", "frontier_budgets", "improve", "min_cost_reaching",
           "problem_from_options", "solve"]

#: relative optimality gap of the programme: optimal to 6 significant digits (a gap of 0 takes 3x longer to prove
#: and changes nothing that matters); :data:`LARGE_MIP_GAP` above :data:`LARGE_PROBLEM` options
MIP_GAP = 1e-6
LARGE_MIP_GAP = 1e-4
LARGE_PROBLEM = 2000
#: seconds HiGHS may spend on one programme; past it the best portfolio found so far is used
TIME_LIMIT = 60.0
#: benefits closer than this (relative to the largest) count as equal when the cheaper portfolio is preferred
TIE_TOLERANCE = 1e-9


@dataclass
class PortfolioProblem:
    """A portfolio choice: per-option benefit and cost, precedence, exclusion and resource constraints.

    Attributes
    ----------
    benefit, cost : ndarray of float
        Per option; costs must be ``>= 0``.
    requires : list of (int, int)
        ``(i, j)``: option ``i`` can only be chosen with option ``j`` (``x_i <= x_j``).
    exclusive : list of list of int
        At most one option of each group.
    resources : list of (list of int, list of float, float)
        ``(options, use, limit)``: ``sum of use * x <= limit``.
    ids : list of str, optional
        Option ids (for messages).

    Examples
    --------
    >>> p = PortfolioProblem(np.array([3.0, 2.0, 2.0]), np.array([2.0, 1.0, 1.0]), exclusive=[[1, 2]])
    >>> solve(p, budget=2.0).tolist()
    [True, False, False]
    """

    benefit: np.ndarray
    cost: np.ndarray
    requires: list = field(default_factory=list)
    exclusive: list = field(default_factory=list)
    resources: list = field(default_factory=list)
    ids: list = field(default_factory=list)

    def __post_init__(self):
        self.benefit = np.asarray(self.benefit, dtype=np.float64)
        self.cost = np.asarray(self.cost, dtype=np.float64)
        if self.benefit.shape != self.cost.shape:
            raise ValueError("benefit and cost must have one value per option")
        if (self.cost < 0).any() or not np.isfinite(self.cost).all() or not np.isfinite(self.benefit).all():
            raise ValueError("costs must be finite and >= 0, benefits finite")

    @property
    def n(self) -> int:
        return len(self.cost)

    def with_benefit(self, benefit) -> PortfolioProblem:
        """The same problem with other benefits."""
        return PortfolioProblem(np.asarray(benefit, float), self.cost, self.requires, self.exclusive, self.resources,
                                self.ids)

    def feasible(self, x: np.ndarray, budget: float) -> bool:
        """Whether the selection ``x`` (bool per option) meets the budget and every constraint."""
        x = np.asarray(x, dtype=bool)
        if self.cost[x].sum() > budget * (1 + 1e-12) + 1e-9:
            return False
        if any(x[i] and not x[j] for i, j in self.requires):
            return False
        if any(x[list(g)].sum() > 1 for g in self.exclusive):
            return False
        return all(np.dot(np.asarray(use, float), x[list(opts)]) <= limit * (1 + 1e-12) + 1e-9
                   for opts, use, limit in self.resources)

    def _rows(self, budget: float | None):
        """Constraint rows (A, upper bounds) of the programme, each scaled to coefficients of order 1."""
        rows, ub = [], []
        n = self.n
        if budget is not None:
            scale = max(float(self.cost.max(initial=0.0)), 1e-300)
            rows.append(self.cost / scale)
            ub.append((float(budget) * (1 + 1e-12) + 1e-9) / scale)
        for i, j in self.requires:
            r = np.zeros(n)
            r[i] += 1.0
            r[j] -= 1.0
            rows.append(r)
            ub.append(0.0)
        for g in self.exclusive:
            r = np.zeros(n)
            r[list(g)] = 1.0
            rows.append(r)
            ub.append(1.0)
        for opts, use, limit in self.resources:
            r = np.zeros(n)
            np.add.at(r, list(opts), np.asarray(use, float))
            scale = max(float(limit), float(np.abs(r).max(initial=0.0)), 1e-300)
            rows.append(r / scale)
            ub.append((float(limit) * (1 + 1e-12) + 1e-9) / scale)
        return rows, ub


_STDOUT_LOCK = threading.Lock()


@contextmanager
def _quiet_stdout():
    """Discard C-level writes to stdout while HiGHS runs.

    HiGHS (1.7 to at least 1.12, ERGO-Code/HiGHS#2783) prints a stray debug line
    (``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();``) with ``printf`` whatever its output
    options say; on stdout it would corrupt ``riskmodel regionalize --json``. Python's own ``sys.stdout`` is flushed
    first, so nothing of ours is lost.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (captured, or a GUI): nothing to protect
        yield
        return
    with _STDOUT_LOCK:
        sys.stdout.flush()
        saved = os.dup(fd)
        sink = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(sink, fd)
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            os.close(sink)


def _milp(c: np.ndarray, rows: list, lb: list, ub: list, n: int, gap: float | None = None) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=bool)
    if gap is None:
        gap = MIP_GAP if n <= LARGE_PROBLEM else LARGE_MIP_GAP
    c = np.asarray(c, float)
    c = c / max(float(np.abs(c).max(initial=0.0)), 1e-300)  # objective of order 1 (HiGHS tolerances are absolute)
    cons = [LinearConstraint(sp.csr_array(np.vstack(rows)), np.asarray(lb, float), np.asarray(ub, float))] \
        if rows else []
    with _quiet_stdout():
        res = milp(c, constraints=cons, integrality=np.ones(n), bounds=Bounds(0, 1),
                   options={"mip_rel_gap": gap, "presolve": False, "time_limit": TIME_LIMIT})
    if res.x is None:  # cannot happen (x = 0 is feasible); keep the empty portfolio if HiGHS fails
        return np.zeros(n, dtype=bool)
    return np.asarray(res.x) > 0.5


def _drop_idle(problem: PortfolioProblem, x: np.ndarray, budget: float | None) -> np.ndarray:
    """Remove chosen options of no benefit that nothing chosen requires, dearest first (cheapest equal portfolio)."""
    x = x.copy()
    tol = TIE_TOLERANCE * max(1.0, float(np.abs(problem.benefit).max(initial=0.0)))
    needed = {j for i, j in problem.requires if x[i]}
    for i in np.flatnonzero(x)[np.argsort(-problem.cost[x], kind="stable")]:
        if problem.benefit[i] <= tol and i not in needed:
            x[i] = False
            needed = {j for a, j in problem.requires if x[a]}
    return x


def solve(problem: PortfolioProblem, budget: float) -> np.ndarray:
    """The portfolio of largest total benefit within the budget (without options that add nothing).

    Parameters
    ----------
    problem : PortfolioProblem
    budget : float
        Most the chosen options may cost together.

    Returns
    -------
    ndarray of bool
        Chosen options.

    Examples
    --------
    >>> p = PortfolioProblem(np.array([5.0, 4.0, 3.0]), np.array([4.0, 3.0, 2.0]), requires=[(2, 1)])
    >>> solve(p, budget=5.0).tolist()   # option 2 needs option 1: {1, 2} (7) beats {0} (5)
    [False, True, True]
    """
    n = problem.n
    b = problem.benefit
    if n == 0 or not (b > 0).any():
        return np.zeros(n, dtype=bool)
    rows, ub = problem._rows(budget)
    return _drop_idle(problem, _milp(-b, rows, [-np.inf] * len(rows), ub, n), budget)


def min_cost_reaching(problem: PortfolioProblem, target: float) -> np.ndarray:
    """The cheapest portfolio (within 1%) whose total benefit is at least ``target`` (all constraints but the budget).

    Examples
    --------
    >>> p = PortfolioProblem(np.array([5.0, 4.0, 3.0]), np.array([4.0, 3.0, 2.0]))
    >>> min_cost_reaching(p, 6.5).tolist()
    [False, True, True]
    """
    n = problem.n
    if n == 0 or target <= 0:
        return np.zeros(n, dtype=bool)
    rows, ub = problem._rows(None)
    scale = max(float(np.abs(problem.benefit).max()), 1e-300)
    tol = TIE_TOLERANCE * n
    x = _milp(problem.cost, rows + [problem.benefit / scale], [-np.inf] * len(rows) + [target / scale - tol],
              ub + [np.inf], n, gap=1e-2)
    return _drop_idle(problem, x, None)


def brute_force(problem: PortfolioProblem, budget: float) -> np.ndarray:
    """:func:`solve` by enumerating every subset (for tests; up to about 20 options).

    Examples
    --------
    >>> p = PortfolioProblem(np.array([5.0, 4.0, 3.0]), np.array([4.0, 3.0, 2.0]), requires=[(2, 1)])
    >>> brute_force(p, budget=5.0).tolist()
    [False, True, True]
    """
    n = problem.n
    if n > 22:
        raise ValueError("brute force is for small problems (at most 22 options)")
    best, best_cost, best_x = 0.0, 0.0, np.zeros(n, dtype=bool)
    tol = TIE_TOLERANCE * max(1.0, float(np.abs(problem.benefit).max()) * n)
    for k in range(1, n + 1):
        for combo in itertools.combinations(range(n), k):
            x = np.zeros(n, dtype=bool)
            x[list(combo)] = True
            if not problem.feasible(x, budget):
                continue
            b, c = float(problem.benefit[x].sum()), float(problem.cost[x].sum())
            if b > best + tol or (abs(b - best) <= tol and c < best_cost):
                best, best_cost, best_x = b, c, x
    return best_x


def _prune(problem: PortfolioProblem, budget: float, x: np.ndarray, r: float, risk_of, marginals):
    """Drop chosen options that add nothing exactly (dearest first), freeing budget at the same risk.

    Returns the pruned selection, its risk and the marginals around it (the next round's benefits).
    """
    b = np.asarray(marginals(x), dtype=np.float64)
    tol = 1e-12 * max(1.0, abs(r))
    idle = np.flatnonzero(x & (b <= tol))
    changed = False
    for i in idle[np.argsort(-problem.cost[idle], kind="stable")]:
        trial = x.copy()
        trial[i] = False
        rt = float(risk_of(trial))
        if problem.feasible(trial, budget) and rt <= r + tol:
            x, r, changed = trial, min(r, rt), True
    if changed:
        b = np.asarray(marginals(x), dtype=np.float64)
    return x, r, b


@dataclass
class ImproveResult:
    """Outcome of :func:`improve`: the chosen options, their exact risk, and each round's (estimate, exact risk)."""

    chosen: np.ndarray
    risk: float
    estimate: float
    rounds: list


def improve(problem: PortfolioProblem, budget: float, risk_of: Callable[[np.ndarray], float],
            marginals: Callable[[np.ndarray], np.ndarray], *, base_risk: float, max_rounds: int = 3) -> ImproveResult:
    """Solve with per-option benefits, re-evaluate exactly, re-linearise around the portfolio and solve again.

    Parameters
    ----------
    problem : PortfolioProblem
        Benefits = risk reduction of each option alone (from no option).
    budget : float
    risk_of : callable
        Exact risk of a selection (bool array).
    marginals : callable
        For a selection ``S``: per option, the exact risk reduction of adding it to ``S`` (options outside ``S``) or
        the exact risk increase of removing it from ``S`` (options in ``S``).
    base_risk : float
        Risk with no option.
    max_rounds : int
        Re-linearisations after the first solve.

    Returns
    -------
    ImproveResult
        The best selection found; its exact risk; the additive estimate of the first solve; the rounds.

    Examples
    --------
    >>> p = PortfolioProblem(np.array([4.0, 4.0]), np.array([1.0, 1.5]))
    >>> risk = lambda x: 10.0 - 4.0 * min(int(x.sum()), 1)       # two substitutes: the second adds nothing
    >>> marg = lambda x: np.array([risk(np.r_[False, x[1]]) - risk(x) if x[0] else risk(x) - risk(np.r_[True, x[1]]),
    ...                            risk(np.r_[x[0], False]) - risk(x) if x[1] else risk(x) - risk(np.r_[x[0], True])])
    >>> r = improve(p, 3.0, risk, marg, base_risk=10.0)
    >>> r.chosen.tolist(), r.risk, r.estimate
    ([True, False], 6.0, 2.0)
    """
    x = solve(problem, budget)
    estimate = base_risk - float(problem.benefit[x].sum())
    r = float(risk_of(x))
    rounds = [(estimate, r)]
    best_x, best_r, b = _prune(problem, budget, x, r, risk_of, marginals)
    seen = {tuple(np.flatnonzero(x).tolist()), tuple(np.flatnonzero(best_x).tolist())}
    for _ in range(max_rounds):
        y = solve(problem.with_benefit(b), budget)
        key = tuple(np.flatnonzero(y).tolist())
        if key in seen:
            break
        seen.add(key)
        ry = float(risk_of(y))
        rounds.append((best_r + float(b[best_x].sum()) - float(b[y].sum()), ry))
        if ry >= best_r - 1e-9 * max(1.0, abs(best_r)):
            break
        best_x, best_r, b = _prune(problem, budget, y, ry, risk_of, marginals)
    return ImproveResult(best_x, best_r, estimate, rounds)


def frontier_budgets(problem: PortfolioProblem, points: int = 9, extra: Sequence[float] = ()) -> list[float]:
    """A ladder of budgets from 0 to the cost of the best portfolio (doubling steps), plus ``extra``.

    Examples
    --------
    >>> frontier_budgets(PortfolioProblem(np.array([1.0, 1.0]), np.array([1.0, 3.0])), points=3)
    [0.0, 1.0, 2.0, 4.0]
    """
    top = float(problem.cost[solve(problem, float(problem.cost.sum()))].sum())
    ladder = [0.0] + [top / 2.0 ** k for k in range(points - 1, -1, -1)] if top > 0 else [0.0]
    return sorted({round(b, 6) for b in ladder + [float(e) for e in extra if e is not None and e >= 0]})


def frontier(problem: PortfolioProblem, budgets: Sequence[float], risk_of: Callable[[np.ndarray], float],
             known: Sequence[tuple[np.ndarray, float]] = (), solved: dict | None = None) -> list[dict]:
    """Exact risk after the portfolio chosen at each budget (per-option benefits), made monotone.

    Parameters
    ----------
    problem : PortfolioProblem
    budgets : sequence of float
    risk_of : callable
        Exact risk of a selection.
    known : sequence of (selection, exact risk)
        Portfolios already evaluated (e.g. the improved choice): any of them within a budget counts for it.
    solved : dict, optional
        Budget -> selection of earlier calls (read and filled: the ladder is solved once).

    Returns
    -------
    list of dict
        One per budget, ascending: ``budget``, ``risk`` (the lowest exact risk of an evaluated portfolio within the
        budget), ``estimate`` (risk by the additive model for the programme's choice), ``cost`` and ``chosen``
        (indices of the portfolio reaching ``risk``).

    Examples
    --------
    >>> p = PortfolioProblem(np.array([4.0, 3.0]), np.array([1.0, 2.0]))
    >>> [round(f["risk"], 1) for f in frontier(p, [0, 1, 3], lambda x: 10 - 4 * x[0] - 3 * x[1])]
    [10.0, 6.0, 3.0]
    """
    evaluated: list[tuple[float, float, np.ndarray]] = [(float(problem.cost[x].sum()), float(r), np.asarray(x, bool))
                                                        for x, r in known]
    cache: dict[tuple, float] = {}
    rows = []
    base = float(risk_of(np.zeros(problem.n, dtype=bool)))
    solved = {} if solved is None else solved
    for b in sorted(budgets):
        if float(b) not in solved:
            solved[float(b)] = solve(problem, b)
        x = solved[float(b)]
        key = tuple(np.flatnonzero(x).tolist())
        if key not in cache:
            cache[key] = float(risk_of(x))
            evaluated.append((float(problem.cost[x].sum()), cache[key], x))
        rows.append({"budget": float(b), "estimate": base - float(problem.benefit[x].sum())})
    for row in rows:
        within = [e for e in evaluated if e[0] <= row["budget"] * (1 + 1e-12) + 1e-9]
        cost, risk, x = min(within, key=lambda e: (e[1], e[0]), default=(0.0, base, np.zeros(problem.n, bool)))
        if risk > base:
            cost, risk, x = 0.0, base, np.zeros(problem.n, bool)
        row.update(risk=risk, cost=cost, chosen=np.flatnonzero(x).tolist())
    return rows


def problem_from_options(options, benefit) -> PortfolioProblem:
    """The portfolio problem of a list of :class:`riskmodel.options.Option`.

    Precedence from ``requires``, exclusion from ``excludes`` (pairwise), shared spare capacity from
    ``capacity_key`` (``sum of capacity_use <= capacity_limit``).

    Examples
    --------
    >>> problem = problem_from_options(options, scores.risk_reduction)  # doctest: +SKIP
    """
    index = {o.option_id: i for i, o in enumerate(options)}
    requires = [(i, index[r]) for i, o in enumerate(options) for r in o.requires if r in index]
    pairs = {tuple(sorted((i, index[e]))) for i, o in enumerate(options) for e in o.excludes if e in index}
    groups: dict[str, list[int]] = {}
    for i, o in enumerate(options):
        if o.capacity_key:
            groups.setdefault(o.capacity_key, []).append(i)
    resources = []
    for members in groups.values():
        use = [options[i].capacity_use for i in members]
        limit = options[members[0]].capacity_limit
        if sum(use) > limit:  # the constraint binds only if all of them together exceed the spare capacity
            resources.append((members, use, limit))
    return PortfolioProblem(np.asarray(benefit, float), np.array([o.cost for o in options], float), requires,
                            [list(p) for p in sorted(pairs)], resources, [o.option_id for o in options])
