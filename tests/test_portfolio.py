"""Portfolio choice (riskmodel.portfolio): hand-solved programmes, the MILP against brute-force enumeration, the
additive approximation and its exact re-evaluation, the frontier."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import portfolio as pf
from riskmodel.network import SupplyNetwork
from riskmodel.options import Option, OptionLink
from riskmodel.portfolio import PortfolioProblem, brute_force, frontier, improve, min_cost_reaching, solve
from riskmodel.regionalize import OptionEvaluator, RiskParameters, regionalize

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def value(p: PortfolioProblem, x) -> float:
    return float(p.benefit[np.asarray(x, bool)].sum())


# ---------------------------------------------------------------------------------------------- hand-solved
def test_knapsack_picks_the_best_combination_not_the_best_ratio():
    # ratios: 0 -> 1.5, 1 -> 1.33, 2 -> 1.33; budget 6: {1, 2} (8) beats {0} + nothing that fits (6)
    p = PortfolioProblem([6.0, 4.0, 4.0], [4.0, 3.0, 3.0])
    assert solve(p, 6.0).tolist() == [False, True, True]
    assert solve(p, 4.0).tolist() == [True, False, False]
    assert solve(p, 2.9).tolist() == [False, False, False]
    assert solve(p, 100.0).tolist() == [True, True, True]


def test_precedence_an_option_only_with_what_it_needs():
    # a fill-finish site (2) is worth a lot but needs the API site (1), worth nothing alone
    p = PortfolioProblem([3.0, 0.0, 10.0], [2.0, 4.0, 4.0], requires=[(2, 1)])
    assert solve(p, 6.0).tolist() == [True, False, False]
    assert solve(p, 8.0).tolist() == [False, True, True]
    assert solve(p, 10.0).tolist() == [True, True, True]


def test_mutually_exclusive_options():
    # two stock levels at one site: 14 days (3) or 28 days (5), never both
    p = PortfolioProblem([3.0, 5.0, 1.0], [1.0, 2.0, 1.0], exclusive=[[0, 1]])
    assert solve(p, 3.0).tolist() == [False, True, True]
    assert solve(p, 10.0).tolist() == [False, True, True]
    assert solve(p, 2.0).tolist() == [False, True, False]


def test_shared_spare_capacity():
    # three customers want backups from one site with 10 units of spare capacity
    p = PortfolioProblem([5.0, 4.0, 3.0], [1.0, 1.0, 1.0], resources=[([0, 1, 2], [6.0, 5.0, 4.0], 10.0)])
    assert solve(p, 10.0).tolist() == [True, False, True]


def test_options_of_no_benefit_are_not_bought():
    p = PortfolioProblem([2.0, 0.0, 0.0], [1.0, 1.0, 0.0])
    assert solve(p, 10.0).tolist() == [True, False, False]


def test_min_cost_reaching_a_target():
    p = PortfolioProblem([5.0, 4.0, 3.0, 1.0], [4.0, 3.0, 2.0, 0.5])
    assert min_cost_reaching(p, 7.0).tolist() == [False, True, True, False]
    assert min_cost_reaching(p, 3.5).tolist() == [False, False, True, True]


def test_problem_from_options_maps_requires_excludes_and_capacity():
    mk = lambda oid, **kw: Option(oid, "new_site", "s", "", "Europe", 1.0, 0.0, 1.0, 1.0, "", **kw)  # noqa: E731
    opts = [mk("N:A"), mk("N:B", requires=("N:A",), excludes=("N:C",)), mk("N:C"),
            mk("Q:1", capacity_key="surge:X", capacity_use=6.0, capacity_limit=10.0),
            mk("Q:2", capacity_key="surge:X", capacity_use=6.0, capacity_limit=10.0),
            mk("Q:3", capacity_key="surge:Y", capacity_use=2.0, capacity_limit=10.0)]
    p = pf.problem_from_options(opts, np.ones(6))
    assert p.requires == [(1, 0)]
    assert p.exclusive == [[1, 2]]
    assert p.resources == [([3, 4], [6.0, 6.0], 10.0)]  # Y never binds: left out


# ---------------------------------------------------------------------------------------------- against brute force
def random_problem(rng: random.Random, n: int) -> PortfolioProblem:
    benefit = [rng.choice([0.0, rng.uniform(0, 10)]) if rng.random() < 0.2 else rng.uniform(0, 10) for _ in range(n)]
    cost = [rng.choice([rng.uniform(0.1, 5), float(rng.randint(1, 5))]) for _ in range(n)]
    if n < 2:
        return PortfolioProblem(benefit, cost)
    requires = sorted({(i, j) for i, j in (tuple(rng.sample(range(n), 2)) for _ in range(rng.randint(0, 3)))})
    exclusive = [sorted(rng.sample(range(n), rng.randint(2, min(3, n)))) for _ in range(rng.randint(0, 2))]
    resources = []
    if rng.random() < 0.5:
        members = sorted(rng.sample(range(n), rng.randint(2, min(4, n))))
        use = [rng.uniform(1, 5) for _ in members]
        resources.append((members, use, sum(use) * rng.uniform(0.3, 0.9)))
    return PortfolioProblem(benefit, cost, requires, exclusive, resources)


@pytest.mark.parametrize("seed", range(60))
def test_milp_equals_brute_force_on_random_instances(seed):
    rng = random.Random(seed)
    p = random_problem(rng, rng.randint(1, 11))
    for budget in (0.0, rng.uniform(0, p.cost.sum()), rng.uniform(0, p.cost.sum()), float(p.cost.sum())):
        x, y = solve(p, budget), brute_force(p, budget)
        assert p.feasible(x, budget)
        assert value(p, x) == pytest.approx(value(p, y), rel=pf.MIP_GAP, abs=1e-9), (seed, budget)


def _grid(top: int):
    """Amounts on a 1/64 grid up to ``top``. HiGHS' tolerances (about 1e-6 on rows scaled to order 1) cannot tell
    a cost of 1 from 1 + 1e-7, and hypothesis finds such floats at once; real costs (currency) and benefits (units)
    are far coarser than that."""
    return st.integers(0, 64 * top).map(lambda k: k / 64)


@given(st.integers(2, 9).flatmap(lambda n: st.tuples(
    st.lists(_grid(100), min_size=n, max_size=n),
    st.lists(_grid(50), min_size=n, max_size=n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3),
    st.lists(st.lists(st.integers(0, n - 1), min_size=2, max_size=3, unique=True), max_size=2),
    _grid(300))))
@SETTINGS
def test_milp_equals_brute_force_property(args):
    benefit, cost, req, excl, budget = args
    p = PortfolioProblem(benefit, cost, [(i, j) for i, j in req if i != j], excl)
    x, y = solve(p, budget), brute_force(p, budget)
    assert p.feasible(x, budget)
    assert value(p, x) == pytest.approx(value(p, y), rel=pf.MIP_GAP, abs=1e-7)


# ---------------------------------------------------------------------------------------------- approximation
def test_improve_fixes_substitutes_that_the_additive_model_double_counts():
    """Two backups for one input each remove the same loss: together they are worth one. With budget for two
    different things, the additive model buys both substitutes; re-linearised, it buys a substitute and the other."""
    exact_gain = {0: 10.0, 1: 10.0, 2: 6.0}

    def risk(x):
        gain = (10.0 if x[0] or x[1] else 0.0) + (6.0 if x[2] else 0.0)
        return 100.0 - gain

    def marginals(x):
        out = np.zeros(3)
        for i in range(3):
            y = x.copy()
            y[i] = not y[i]
            out[i] = risk(y) - risk(x) if x[i] else risk(x) - risk(y)
        return out

    p = PortfolioProblem([exact_gain[i] for i in range(3)], [1.0, 1.0, 1.0])
    first = solve(p, 2.0)
    assert first.tolist() == [True, True, False]  # the additive model: 20 > 16
    r = improve(p, 2.0, risk, marginals, base_risk=100.0)
    assert r.estimate == pytest.approx(80.0)  # what the additive model promised
    assert risk(first) == pytest.approx(90.0)  # what it really gives
    assert r.risk == pytest.approx(84.0) and r.chosen[2] and r.chosen[:2].sum() == 1


def test_improve_never_worsens_the_first_solution_on_random_set_functions():
    rng = random.Random(7)
    for _ in range(40):
        n = rng.randint(2, 7)
        weights = {frozenset(c): rng.uniform(-2, 6) for k in (1, 2) for c in itertools.combinations(range(n), k)}

        def risk(x, w=weights):
            on = set(np.flatnonzero(x).tolist())
            return 100.0 - max(0.0, sum(v for k, v in w.items() if k <= on))

        def marginals(x, risk=risk):
            out = np.zeros(len(x))
            for i in range(len(x)):
                y = x.copy()
                y[i] = not y[i]
                out[i] = risk(y) - risk(x) if x[i] else risk(x) - risk(y)
            return out

        base = np.zeros(n, dtype=bool)
        single = np.array([max(0.0, risk(base) - risk(np.eye(n, dtype=bool)[i])) for i in range(n)])
        p = PortfolioProblem(single, [rng.uniform(0.5, 2) for _ in range(n)])
        budget = rng.uniform(1, 5)
        r = improve(p, budget, risk, marginals, base_risk=100.0)
        assert p.feasible(r.chosen, budget)
        assert r.risk <= risk(solve(p, budget)) + 1e-12


def test_frontier_is_exact_and_monotone():
    def risk(x):  # non-additive: options 0 and 1 are substitutes
        return 50.0 - (10.0 if x[0] or x[1] else 0.0) - 5.0 * x[2] - 3.0 * x[3]

    p = PortfolioProblem([10.0, 10.0, 5.0, 3.0], [1.0, 1.5, 2.0, 4.0])
    rows = frontier(p, [0.0, 1.0, 2.5, 3.0, 10.0], risk)
    assert [r["budget"] for r in rows] == [0.0, 1.0, 2.5, 3.0, 10.0]
    assert all(r["risk"] == pytest.approx(risk(np.isin(np.arange(4), r["chosen"]))) for r in rows)
    assert [r["risk"] for r in rows] == sorted((r["risk"] for r in rows), reverse=True)
    assert rows[2]["estimate"] == pytest.approx(30.0) and rows[2]["risk"] == pytest.approx(40.0)  # 0 and 1 bought
    assert all(r["cost"] <= r["budget"] + 1e-9 for r in rows)


# ---------------------------------------------------------------------------------------------- on a network
def _net(extra_apis: int = 0):
    """API (India) + stoppers (South Asia) -> EU fill-finish -> EU market; optional EU API sites making another API."""
    def site(sid, kind, region, demand=np.nan, surge=0.0, prob=0.1):
        return {"site_id": sid, "name": sid, "kind": kind, "country": "DEU" if region == "Europe" else "IND",
                "region": region, "weekly_demand": demand, "inventory_days": 0.0, "ttr_weeks": 10.0, "surge": surge,
                "annual_disruption_prob": prob, "operator": sid, "technology": ""}

    sites = [site("API-IN", "api", "South Asia"), site("STOP-JP", "raw_material", "South Asia"),
             site("FF", "fill_finish", "Europe"), site("M", "market", "Europe", 100.0)]
    rows = [("API-IN", "FF", "api", 1.0), ("STOP-JP", "FF", "stopper", 1.0), ("FF", "M", "vial", 1.0)]
    if extra_apis:
        sites.append(site("M2", "market", "Europe", 10.0))
        for i in range(1, extra_apis + 1):
            sites.append(site(f"API-EU{i}", "api", "Europe", surge=1.0, prob=0.0))
            rows.append((f"API-EU{i}", "M2", "other", 1.0 / extra_apis))
    links = pd.DataFrame(rows, columns=["supplier_id", "customer_id", "material", "share"]).assign(
        lead_time_days=0.0, status="active", qualification_weeks=0.0)
    return SupplyNetwork(pd.DataFrame(sites), links)


def test_complementary_options_on_a_network_are_evaluated_exactly():
    """An EU API source and an EU stopper source: each alone leaves the EU market cut off in a trade cut-off; only
    together do they make it self-sufficient. Risk reduction of the pair exceeds the sum of the parts."""
    net = _net()

    def cand(sid, kind, material):
        return Option(f"N:{sid}", "new_site", sid, material, "Europe", 1.0, 0.0, 1.0, 104.0, "",
                      links=(OptionLink(sid, "FF", material, 1.0),), site={"site_id": sid, "kind": kind})

    opts = [cand("API-EU", "api", "api"), cand("STOP-EU", "raw_material", "stopper")]
    ev = OptionEvaluator(net, opts, RiskParameters(trade_cutoff_annual_prob=0.5))
    base = ev.baseline
    a, b, both = ev.evaluate([0]), ev.evaluate([1]), ev.evaluate([0, 1])
    assert base.self_sufficiency.tolist() == [0.0] and a.self_sufficiency.tolist() == [0.0]
    assert b.self_sufficiency.tolist() == [0.0] and both.self_sufficiency.tolist() == [1.0]
    assert (base.risk - both.risk) > (base.risk - a.risk) + (base.risk - b.risk) + 1.0
    scores = ev.marginals(base)
    around_a = ev.marginals(a)
    assert around_a.risk_reduction[1] > scores.risk_reduction[1]  # re-linearised: B is worth more once A is in


def test_substitute_backups_the_additive_model_overstates_and_exact_evaluation_corrects():
    net = _net(extra_apis=2)

    def opt(i):
        return Option(f"Q{i}", "qualify_backup", f"API-EU{i}", "api", "Europe", 1.0, 0.0, 1.0, 26.0, "",
                      links=(OptionLink(f"API-EU{i}", "FF", "api", 0.8),))

    ev = OptionEvaluator(net, [opt(1), opt(2)], RiskParameters(stock=False))
    base = ev.baseline
    s = ev.marginals(base).risk_reduction
    assert s[0] > 0 and s[1] > 0
    both = ev.evaluate([0, 1]).risk
    assert base.risk - both < s.sum() - 1e-6  # substitutes: the additive model overstates the pair
    assert ev.evaluate([0]).risk == pytest.approx(base.risk - s[0])
    # the frontier reports exact risk: at a budget for both, it is the pair's exact risk (or better)
    p = PortfolioProblem(s, [1.0, 1.0])
    rows = frontier(p, [2.0], lambda x: ev.evaluate(np.flatnonzero(x)).risk)
    assert rows[0]["risk"] == pytest.approx(both) and rows[0]["estimate"] == pytest.approx(base.risk - s.sum())


def test_regionalize_on_a_small_network_is_consistent():
    res = regionalize(_net(extra_apis=2))
    doc = res.to_json()
    assert doc["portfolio"]["risk_after"] <= doc["portfolio"]["risk_before"]
    assert doc["frontier"][0]["risk"] == pytest.approx(doc["portfolio"]["risk_before"])
    assert doc["portfolio"]["risk_after"] == pytest.approx(
        OptionEvaluator(_net(extra_apis=2), res.options).evaluate(res.chosen).risk)


def test_highs_stray_output_never_reaches_stdout():
    """HiGHS prints a debug line with printf (ERGO-Code/HiGHS#2783): while it runs, C-level stdout is discarded,
    so `riskmodel regionalize --json` prints only its document."""
    import subprocess
    import sys

    code = ("import os\nfrom riskmodel.portfolio import _quiet_stdout\nprint('before', flush=True)\n"
            "with _quiet_stdout():\n    os.write(1, b'HighsMipSolverData noise\\n')\nprint('after')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout == "before\nafter\n"
