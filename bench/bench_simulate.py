"""Benchmark of the daily simulation and the all-site TTS against the naive networkx way, as ratios in one run.

This script owns the performance evidence for issue 4 (PRODUCT.md section 7, "Performance"):

* one-year daily simulation (364 days, several disruptions: 20 random sites lost for 8 weeks and a region at 50%
  for 12 weeks with a linear ramp) at 1k, 10k and 100k sites: :func:`riskmodel.simulate.simulate` (numba kernel over
  CSR arrays, one pass per day in topological order) against ``tests/sim_reference.py`` (Python dicts over the
  networkx graph, one site at a time, one day at a time);
* all-site TTS (every supply site lost alone for its ``ttr_weeks``) at 1k and 10k sites:
  :func:`riskmodel.tts.time_to_survive` (static filter, downstream cones only, batched on all cores) against the
  naive way (one full reference simulation per site).

Naive times are measured on a sample and extrapolated where a full run would take too long: the reference is timed
over two short horizons (``d`` and ``2d`` days) and its cost per day and set-up cost extrapolated linearly, which is
exact for its loop (every day does the same work). The naive all-site TTS is ``sites x set-up + cost per day x sum of
the sites' horizons``. Both sides are checked to give the same lost units over the sampled days.

Run: ``.venv/bin/python bench/bench_simulate.py`` (``--sizes 1000 10000``, ``--tts-sizes 1000`` to shorten).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from sim_reference import reference_simulate  # noqa: E402

from riskmodel.disruption import Disruption, Selector  # noqa: E402
from riskmodel.generate import generate_network, write_dataset  # noqa: E402
from riskmodel.simulate import sim_arrays, simulate  # noqa: E402
from riskmodel.tts import time_to_survive  # noqa: E402
from riskmodel.validate import validate_dataset  # noqa: E402

YEAR = 364


def build(n: int, seed: int = 7):
    """A validated generated network of ``n`` sites (and the seconds it took)."""
    t0 = time.perf_counter()
    sites, links = generate_network(n, seed)
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(sites, links, folder)
        report = validate_dataset(folder)
    if not report.valid:
        raise SystemExit(f"generated network of {n} sites is invalid: {report.errors[:3]}")
    return report.network(), time.perf_counter() - t0


def scenario(net, seed: int = 0) -> list[Disruption]:
    rng = np.random.default_rng(seed)
    supply = net.site_ids[~net.is_market]
    region = net.sites.loc[~net.is_market, "region"].value_counts().index[0]
    return [Disruption(Selector.sites(rng.choice(supply, 20, replace=False)), duration_weeks=8),
            Disruption(f"region:{region}", duration_weeks=12, severity=0.5, start_day=30, recovery="linear")]


def as_reference(net, disruptions):
    return [(set(net.site_ids[d.sites(net)]), d.severity, d.start_day, d.duration_days, d.recovery == "linear")
            for d in disruptions]


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def naive_cost(net, disruptions, sample_days: int) -> tuple[float, float, float]:
    """(set-up seconds, seconds per day, lost units over ``sample_days``) of the reference, from two short runs."""
    ref = as_reference(net, disruptions)
    net.graph  # noqa: B018  (building the networkx graph once is not charged to either side)
    t0 = time.perf_counter()
    out = reference_simulate(net, ref, sample_days)
    t1 = time.perf_counter()
    reference_simulate(net, ref, 2 * sample_days)
    t2 = time.perf_counter()
    per_day = max((t2 - t1) - (t1 - t0), 1e-9) / sample_days
    setup = max((t1 - t0) - per_day * sample_days, 0.0)
    return setup, per_day, out["lost"]


def bench_simulation(n: int) -> dict:
    net, build_s = build(n)
    disruptions = scenario(net)
    sim_arrays(net)
    simulate(net, disruptions)  # warm-up (compiled code comes from the numba cache)
    fast = timed(lambda: simulate(net, disruptions), repeat=3 if n <= 10_000 else 2)
    sample = {1_000: YEAR // 4, 10_000: 14, 100_000: 3}.get(n, 7)
    setup, per_day, lost_ref = naive_cost(net, disruptions, sample)
    lost_fast = simulate(net, disruptions, horizon_weeks=sample / 7, series=False).lost_units
    if not np.isclose(lost_fast, lost_ref, rtol=1e-7, atol=1e-6):
        raise SystemExit(f"{n} sites: fast and naive disagree over {sample} days: {lost_fast} vs {lost_ref}")
    naive = setup + per_day * YEAR
    return {"n": n, "build_s": build_s, "fast_s": fast, "naive_s": naive, "ratio": naive / fast,
            "sample_days": sample, "extrapolated": sample < YEAR, "net": net}


def bench_tts(net) -> dict:
    n = net.n_sites
    time_to_survive(net, site_ids=net.site_ids[~net.is_market][:2])  # warm-up: load the compiled kernels
    t0 = time.perf_counter()
    res = time_to_survive(net)
    fast = time.perf_counter() - t0
    arr = sim_arrays(net)
    supply = np.flatnonzero(~net.is_market)
    horizons = arr.ttr_days[supply] + arr.market_depth[supply] + 8
    # naive: one reference simulation of the whole network per site, measured on two sites over a few days
    sample = {1_000: 14}.get(n, 3)
    costs = []
    for site in supply[np.argsort(-horizons)[:1]].tolist() + supply[:1].tolist():
        d = [Disruption(Selector.sites([net.site_ids[site]]), duration_weeks=arr.ttr_days[site] / 7)]
        costs.append(naive_cost(net, d, sample)[:2])
    setup = float(np.mean([c[0] for c in costs]))
    per_day = float(np.mean([c[1] for c in costs]))
    naive = len(supply) * setup + per_day * float(horizons.sum())
    return {"n": n, "fast_s": fast, "naive_s": naive, "ratio": naive / fast, "sites": len(supply),
            "simulated": int(res.sites["statically_exposed"].sum()),
            "need_mitigation": int(res.sites["needs_mitigation"].sum()), "sample_days": sample}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--tts-sizes", type=int, nargs="+", default=[1_000, 10_000])
    args = parser.parse_args(argv)
    print("One-year daily simulation (364 days), median wall time; naive extrapolated from a sample of days")
    print(f"{'sites':>8} {'links':>8} {'fast s':>9} {'naive s':>10} {'ratio':>9}  naive sample")
    nets = {}
    for n in args.sizes:
        r = bench_simulation(n)
        nets[n] = r.pop("net")
        print(f"{n:>8} {len(nets[n].links):>8} {r['fast_s']:>9.3f} {r['naive_s']:>10.1f} {r['ratio']:>8.0f}x  "
              f"{r['sample_days']} + {2 * r['sample_days']} days" + (" (extrapolated)" if r["extrapolated"] else ""))
        sys.stdout.flush()
    print()
    print("All-site TTS (each supply site lost alone for its ttr_weeks), wall time; naive = one full reference "
          "simulation per site, extrapolated")
    print(f"{'sites':>8} {'supply':>8} {'simulated':>9} {'TTS<TTR':>8} {'fast s':>9} {'naive s':>12} {'ratio':>9}")
    for n in args.tts_sizes:
        net = nets.get(n) or build(n)[0]
        r = bench_tts(net)
        print(f"{n:>8} {r['sites']:>8} {r['simulated']:>9} {r['need_mitigation']:>8} {r['fast_s']:>9.2f} "
              f"{r['naive_s']:>12.0f} {r['ratio']:>8.0f}x")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
