"""Benchmark of all-site exposure (issue 3): the fast cone kernel against the naive networkx way.

Run on demand (not part of the test suite)::

    .venv/bin/python bench/bench_exposure.py                      # 1k, 10k, 100k sites
    .venv/bin/python bench/bench_exposure.py --sizes 1000 10000   # a subset
    .venv/bin/python bench/bench_exposure.py --no-cli             # skip the end-to-end CLI timing

For each size it generates a network with :func:`riskmodel.generate.generate_network` (seeded), writes it as
``sites.csv``/``links.csv`` and loads it with :func:`riskmodel.validate.load_network`, then, in a fresh process per
size (so that peak memory belongs to that size):

* **fast**: :func:`riskmodel.exposure.site_exposure` - the first call (numba compile, or loading the cached
  machine code) and the best of three warm calls; the kernel alone (:func:`riskmodel.exposure._single_failures`);
* **naive**: for each failed site, the whole network propagated again in pure Python over networkx (the reference
  model of ``tests/test_propagate.py``); at 10k/100k timed on a random sample of sites and extrapolated to all;
  the sampled sites' exposures must equal the fast ones to 1e-9;
* **memory**: peak resident memory of the process (``ru_maxrss``) after loading and after the fast exposure, and
  the peak of Python/numpy allocations during the fast call (``tracemalloc``);
* **CLI**: ``riskmodel exposure DATA --json`` end to end in a subprocess (the hook :func:`time_cli`);
* **compile**: the first call in a process whose numba cache directory is empty (smallest size only).

Prints a markdown table (copied into docs/model.md). The machine may be shared with other jobs: times are best of
three, and CPU times (``time.process_time``, all threads) are printed beside wall times as the load-robust figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

NAIVE_SAMPLE = {1000: None, 10000: 40, 100000: 6}  # None: every site


def write_network(n: int, seed: int, folder: Path) -> Path:
    """Generate a network of about ``n`` sites and write it as CSV files in ``folder``."""
    from riskmodel.generate import generate_network, write_dataset

    sites, links = generate_network(n, seed)
    write_dataset(sites, links, folder)
    return folder


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(data: Path, sample: int | None, seed: int) -> dict:
    """All measurements for one dataset, in this process."""
    from test_propagate import reference_graph, reference_supply

    from riskmodel.exposure import _single_failures, site_exposure
    from riskmodel.propagate import network_arrays
    from riskmodel.validate import load_network

    out: dict = {}
    t = time.perf_counter()
    net = load_network(data)
    out["load_s"] = time.perf_counter() - t
    out["sites"] = net.n_sites
    out["links"] = len(net.links)
    out["markets"] = len(net.market_index)
    t = time.perf_counter()
    network_arrays(net)
    out["arrays_s"] = time.perf_counter() - t
    out["rss_loaded_mb"] = _rss_mb()

    t = time.perf_counter()
    site_exposure(net)
    out["first_call_s"] = time.perf_counter() - t
    warm, cpu = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        res = site_exposure(net)
        warm.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    out["fast_s"] = min(warm)
    out["fast_cpu_s"] = min(cpu)  # both threads' CPU time: robust when the machine is shared
    kern = []
    for _ in range(3):
        t = time.perf_counter()
        _single_failures(net)
        kern.append(time.perf_counter() - t)
    out["kernel_s"] = min(kern)
    out["rss_peak_mb"] = _rss_mb()
    tracemalloc.start()
    site_exposure(net)
    out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    # naive: remove each site, propagate the whole graph again over networkx
    graph = reference_graph(net.links)
    intact = reference_supply(graph, net.site_ids, {})
    markets = net.site_ids[net.market_index]
    demand = dict(zip(markets, net.demand[net.market_index], strict=True))
    total = sum(demand.values())
    sources = net.site_ids[~net.is_market]
    rng = np.random.default_rng(seed)
    picked = sources if sample is None or sample >= len(sources) else rng.choice(sources, sample, replace=False)
    fast = res.sites.set_index("site_id")["exposure"]
    worst = 0.0
    t, c = time.perf_counter(), time.process_time()
    for s in picked:
        x = reference_supply(graph, net.site_ids, {s: 0.0})
        exposure = sum(demand[m] * (intact[m] - x[m]) for m in markets) / total
        worst = max(worst, abs(exposure - fast[s]))
    out["naive_sampled"] = len(picked)
    out["naive_s"] = (time.perf_counter() - t) / len(picked) * len(sources)
    out["naive_cpu_s"] = (time.process_time() - c) / len(picked) * len(sources)
    out["naive_extrapolated"] = len(picked) < len(sources)
    out["max_abs_diff"] = worst
    if worst > 1e-9:
        raise AssertionError(f"fast and naive exposures differ by {worst:g}")
    return out


def time_cli(data: Path) -> dict:
    """End-to-end ``riskmodel exposure DATA --json`` in a subprocess: wall time, exit code, output size.

    This is the hook for the CLI target (10 s at 100k sites); it needs the ``riskmodel`` console script of the
    project's venv (``pip install -e .``).
    """
    exe = Path(sys.executable).with_name("riskmodel")
    if not exe.exists():
        return {"cli_s": None, "cli_note": f"{exe} not found"}
    t = time.perf_counter()
    proc = subprocess.run([str(exe), "exposure", str(data), "--json"], capture_output=True, check=False)
    wall = time.perf_counter() - t
    note = ""
    if proc.returncode == 0:
        doc = json.loads(proc.stdout)
        note = f"{len(doc['sites'])} sites in JSON"
    else:
        note = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        note = f"exit {proc.returncode}: {note[0]}"
    return {"cli_s": wall, "cli_rc": proc.returncode, "cli_mb": len(proc.stdout) / 1e6, "cli_note": note}


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def table(rows: list[dict]) -> str:
    head = ["sites", "links", "markets", "fast all-site exposure (warm)", "fast CPU", "kernel only", "first call",
            "naive networkx", "speed-up (wall / CPU)", "peak RSS (loaded -> after)", "tracemalloc peak",
            "max |diff|", "CLI --json end to end"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        naive = _fmt(r["naive_s"]) + (f" (extrapolated from {r['naive_sampled']})" if r["naive_extrapolated"] else "")
        cli = "-" if r.get("cli_s") is None else f"{_fmt(r['cli_s'])} ({r.get('cli_mb', 0):.0f} MB)"
        lines.append("| " + " | ".join([
            f"{r['sites']:,}", f"{r['links']:,}", f"{r['markets']:,}", _fmt(r["fast_s"]), _fmt(r["fast_cpu_s"]),
            _fmt(r["kernel_s"]), _fmt(r["first_call_s"]), naive,
            f"{r['naive_s'] / r['fast_s']:,.0f}x / {r['naive_cpu_s'] / r['fast_cpu_s']:,.0f}x",
            f"{r['rss_loaded_mb']:,.0f} -> {r['rss_peak_mb']:,.0f} MB", f"{r['tracemalloc_peak_mb']:,.0f} MB",
            f"{r['max_abs_diff']:.1e}", cli]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI timing")
    p.add_argument("--cli-min-sites", type=int, default=100000, help="time the CLI from this size up")
    p.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: measure one dataset, print JSON
    p.add_argument("--sample", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.sample or None, args.seed)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_exposure_") as tmp:
        for i, n in enumerate(args.sizes):
            data = write_network(n, args.seed, Path(tmp) / f"n{n}")
            if i == 0:  # numba compile time: the first call in a process with an empty cache directory
                cold = _child(data, args.seed, 1, {"NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cold")})
                print(f"numba compile (first call with an empty cache, {n} sites, network arrays + exposure): "
                      f"{_fmt(cold['arrays_s'] + cold['first_call_s'])}", file=sys.stderr)
            row = _child(data, args.seed, NAIVE_SAMPLE.get(n, 20) or 0, {})
            if not args.no_cli and n >= args.cli_min_sites:
                row.update(time_cli(data))
            rows.append(row)
            print(f"{n}: {json.dumps(row)}", file=sys.stderr)
    print(table(rows))
    if rows:
        print(f"\nnumba compile, first call with an empty cache: {_fmt(cold['arrays_s'] + cold['first_call_s'])} "
              f"(warm-cache first call at {rows[0]['sites']:,} sites: "
              f"{_fmt(rows[0]['arrays_s'] + rows[0]['first_call_s'])})")
    return 0


def _child(data: Path, seed: int, sample: int, env: dict) -> dict:
    """Run :func:`measure` in a fresh process (its own peak memory and numba cache state)."""
    cmd = [sys.executable, __file__, "--one", str(data), "--seed", str(seed), "--sample", str(sample)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **env})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
