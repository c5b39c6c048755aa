"""Benchmark of the Monte Carlo (PRODUCT.md section 3.3) against the naive way, as ratios in one run.

This script owns the performance evidence of ``riskmodel.montecarlo`` (PRODUCT.md section 7, "Performance"):

* fast: :func:`riskmodel.montecarlo.run_montecarlo` on generated networks (``generate_network(n, seed=7)``, loaded
  through validation) with the default event model: each year's events grouped into clusters that cannot
  influence each other, each cluster simulated by the daily numba kernel over its downstream cones only, from its
  first event until its pipelines are back to normal; chunks of years on both cores. Timed without contributions,
  with ``standalone`` contributions and (at 1k sites) with ``marginal`` contributions;
* naive: one full reference simulation per year with events (``tests/sim_reference.py``: Python over the networkx
  graph, every site every day, the same rules), over the horizon the year needs (its last event's end plus the
  longest lead-time path to a market plus 8 days); for contributions, one more full simulation per event
  (``marginal``: the year without it; ``standalone``: the event alone). Its cost is measured on a sampled year
  over ``d`` and ``2d`` days and extrapolated linearly (the reference does the same work every day), as in
  ``bench/bench_simulate.py`` (the fastest of three runs each); the sampled days' lost units are checked against
  the fast what-if of the same events. Fast times are single runs (a run is already many thousands of simulations).

Exactness check in the same run: on the network without its backup links (where a year of the Monte Carlo is
exactly the what-if of its events), a few years' losses per market equal ``riskmodel.simulate.simulate`` of
:func:`riskmodel.montecarlo.year_disruptions`.

Run: ``.venv/bin/python bench/bench_montecarlo.py`` (``--sizes 1000 10000 --years 1000 100``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench_simulate import as_reference, build  # noqa: E402
from sim_reference import reference_simulate  # noqa: E402

from riskmodel.montecarlo import TAIL_DAYS, run_montecarlo, year_disruptions  # noqa: E402
from riskmodel.network import SupplyNetwork  # noqa: E402
from riskmodel.simulate import sim_arrays, simulate  # noqa: E402

DEFAULT_YEARS = {1_000: 1000, 10_000: 100, 100_000: 5}
SAMPLE_DAYS = {1_000: 60, 10_000: 10, 100_000: 2}


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def naive_cost(net, disruptions, sample_days: int, repeat: int = 3) -> tuple[float, float, float]:
    """(set-up seconds, seconds per day, lost units over ``sample_days``) of the reference: the fastest of
    ``repeat`` runs over ``d`` and over ``2d`` days (the fastest is the least disturbed by other jobs)."""
    ref = as_reference(net, disruptions)
    net.graph  # noqa: B018  (building the networkx graph once is not charged to either side)
    short, long = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = reference_simulate(net, ref, sample_days)
        t1 = time.perf_counter()
        reference_simulate(net, ref, 2 * sample_days)
        short.append(t1 - t0)
        long.append(time.perf_counter() - t1)
    per_day = max(min(long) - min(short), 1e-9) / sample_days
    setup = max(min(short) - per_day * sample_days, 0.0)
    return setup, per_day, out["lost"]


def check_exact(net, years: int = 3) -> float:
    """Largest relative difference between Monte Carlo years and the what-if of their events (no backups)."""
    plain = SupplyNetwork(net.sites, net.links.drop(columns=["supplier", "customer"]))
    res = run_montecarlo(plain, years, seed=1, contributions=False)
    worst = 0.0
    for y in range(years):
        dis = year_disruptions(plain, y, seed=1)
        if not dis:
            continue
        ref = simulate(plain, dis, horizon_weeks=(max(d.end_day for d in dis) + 600) / 7, series=False)
        diff = np.abs(res.lost[y] - ref.market_lost).max() / max(ref.market_lost.max(), 1.0)
        worst = max(worst, float(diff))
    return worst


def bench(n: int, years: int, marginal: bool) -> dict:
    net, _ = build(n)
    arr = sim_arrays(net)
    run_montecarlo(net, 2, seed=1, contributions="standalone")  # warm-up: load the compiled kernels
    fast_plain, res = timed(lambda: run_montecarlo(net, years, seed=1, contributions=False))
    fast_alone, alone = timed(lambda: run_montecarlo(net, years, seed=1, contributions="standalone"))
    fast_marg = None
    if marginal:
        fast_marg, _ = timed(lambda: run_montecarlo(net, years, seed=1, contributions="marginal"))
    ev = res.events
    ends = (ev["start_day"] + ev["duration_days"]).groupby(ev["year"]).max()
    horizons = ends + int(arr.market_depth.max()) + TAIL_DAYS  # what each year needs, without early stopping
    per_event = pd.Series(horizons.reindex(ev["year"]).to_numpy())

    # naive cost per day and set-up, from a sampled year with events, over d and 2d days
    sample = SAMPLE_DAYS.get(n, 5)
    year = int(ev["year"].iloc[len(ev) // 2]) if len(ev) else 0
    dis = year_disruptions(net, year, seed=1)
    setup, per_day, lost_ref = naive_cost(net, dis, sample)
    lost_fast = simulate(net, dis, horizon_weeks=sample / 7, series=False).lost_units
    if not np.isclose(lost_fast, lost_ref, rtol=1e-7, atol=1e-6):
        raise SystemExit(f"{n} sites: reference and fast what-if disagree over {sample} days: "
                         f"{lost_ref} vs {lost_fast}")
    naive_plain = len(horizons) * setup + per_day * float(horizons.sum())
    naive_events = len(per_event) * setup + per_day * float(per_event.sum())  # one more per event
    return {"n": n, "links": len(net.links), "years": years, "events_per_year": len(ev) / years,
            "years_with_events": len(horizons), "fast_plain": fast_plain, "fast_alone": fast_alone,
            "fast_marginal": fast_marg, "naive_plain": naive_plain, "naive_contrib": naive_plain + naive_events,
            "sample_days": sample, "expected_loss": res.expected_loss,
            "scenarios": res.n_scenarios, "alone_scenarios": alone.n_contribution_scenarios,
            "exact": check_exact(net)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--years", type=int, nargs="+", help="years per size (default 1000, 100, 5)")
    parser.add_argument("--marginal-up-to", type=int, default=1_000,
                        help="time marginal contributions up to this many sites (default 1000)")
    args = parser.parse_args(argv)
    years = args.years or [DEFAULT_YEARS.get(n, 10) for n in args.sizes]
    print("Monte Carlo, default event model, wall times on this machine (warm numba cache); naive = one full "
          "reference simulation per year with events (+ one per event for contributions), extrapolated")
    head = (f"{'sites':>7} {'links':>7} {'years':>6} {'ev/yr':>6} {'fast s':>8} {'naive s':>10} {'ratio':>9} "
            f"{'+standalone s':>13} {'naive s':>10} {'ratio':>9} {'+marginal s':>11} {'max |diff|':>10}")
    print(head)
    for n, y in zip(args.sizes, years, strict=False):
        r = bench(n, y, marginal=n <= args.marginal_up_to)
        marg = f"{r['fast_marginal']:>11.2f}" if r["fast_marginal"] is not None else f"{'-':>11}"
        print(f"{n:>7} {r['links']:>7} {r['years']:>6} {r['events_per_year']:>6.1f} {r['fast_plain']:>8.2f} "
              f"{r['naive_plain']:>10.0f} {r['naive_plain'] / r['fast_plain']:>8.0f}x {r['fast_alone']:>13.2f} "
              f"{r['naive_contrib']:>10.0f} {r['naive_contrib'] / r['fast_alone']:>8.0f}x {marg} {r['exact']:>10.1e}")
        print(f"        {r['years_with_events']} years with events, {r['scenarios']} simulated groups, "
              f"{r['alone_scenarios']} standalone simulations; naive sampled over {r['sample_days']} + "
              f"{2 * r['sample_days']} days")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
