"""Monte Carlo of PRODUCT.md section 3.3 (riskmodel.montecarlo): hand-derived expectations, reproducibility in any
chunking, on threads and on Dask, equality with the what-if simulation, hazards, statistics and the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE, base_sites
from sim_reference import make_network

from riskmodel.montecarlo import (
    CountryEvent,
    EventModel,
    MonteCarloError,
    format_montecarlo,
    load_hazards,
    loss_statistics,
    run_montecarlo,
    year_disruptions,
)
from riskmodel.network import SupplyNetwork
from riskmodel.simulate import simulate
from riskmodel.validate import load_network

RISKMODEL = str(Path(sys.executable).parent / "riskmodel")
DASK = str(Path(sys.executable).parent / "dask")

#: every site-level event is an accident of exactly 30 days that takes the whole capacity
FIXED_30 = EventModel(quality_share=0.0, accident_median_days=30.0, accident_sigma=0.0, accident_severity=(1.0, 1.0))


def with_probs(net: SupplyNetwork, probs: dict[str, float]) -> SupplyNetwork:
    """The network with these yearly disruption probabilities (0 elsewhere)."""
    net.sites["annual_disruption_prob"] = net.sites["site_id"].map(probs).fillna(0.0).astype(float)
    return net


def chain(market_stock: float = 0.0, backup: bool = False, dead_end: bool = False) -> SupplyNetwork:
    """S (no stock) -> M (10 units a day, ``market_stock`` days), lead time 0; optionally a backup B -> M of share
    0.5 qualified at once, and a site X that supplies nobody (zero static exposure)."""
    sites = {"S": {"kind": "api"}, "M": {"kind": "market", "demand": 70.0, "inv": market_stock}}
    if backup:
        sites["B"] = {"kind": "api"}
    if dead_end:
        sites["X"] = {"kind": "api"}
    backups = [("B", "M", "x", 0.5, 0.0, 0.0)] if backup else []
    net = make_network(sites, [("S", "M", "x", 1.0, 0.0)], backups)
    return with_probs(net, {"S": 0.3, "X": 0.5})


@pytest.fixture(scope="module")
def sample():
    return load_network(SAMPLE)


# ------------------------------------------------------------------------------------------------ by hand
def test_expected_loss_by_hand_one_supplier_one_market():
    """S fails with yearly probability p = 0.3 for D = 30 days; M holds no stock and has no other source.

    Every year with an event loses exactly D * daily demand = 30 * 10 = 300 units (the tail after the year's end
    counts in the year the event starts), so the yearly loss is 300 * Bernoulli(p): expected 90. Over N = 2000
    years the mean has standard error 300 * sqrt(p (1 - p) / N) = 3.07; we allow 4 standard errors (12.3 units:
    a false failure once in about 16,000 seeds; the seed is fixed, so the test is deterministic anyway).
    """
    n = 2000
    res = run_montecarlo(chain(), n, seed=11, model=FIXED_30)
    total = res.total
    assert set(np.round(np.unique(total), 9)) <= {0.0, 300.0}
    hit = total > 0
    ev = res.events
    assert hit.sum() == len(ev) and (ev["site_id"] == "S").all() and (ev["duration_days"] == 30).all()
    assert sorted(ev["year"]) == np.flatnonzero(hit).tolist()  # one event a year at most, each one a loss
    assert abs(total.mean() - 0.3 * 30 * 10) < 4 * 300 * math.sqrt(0.3 * 0.7 / n)
    summ = res.summary.set_index("market_id")
    assert summ.loc["ALL", "expected_loss"] == pytest.approx(total.mean())
    assert summ.loc["M", "p95"] == 300.0 and summ.loc["M", "cvar95"] == 300.0  # more than 5% of years lose 300
    assert summ.loc["M", "prob_loss"] == pytest.approx(hit.mean())
    # S is the only source: its contribution is the whole expected loss, events a year about p
    c = res.contributions.set_index("site_id")
    assert c.loc["S", "expected_loss_contribution"] == pytest.approx(total.mean(), rel=1e-12)
    assert c.loc["S", "share_of_expected_loss"] == pytest.approx(1.0)
    assert c.loc["S", "events_per_year"] == pytest.approx(hit.mean())
    alone = run_montecarlo(chain(), n, seed=11, model=FIXED_30, contributions="standalone")
    pd.testing.assert_frame_equal(alone.contributions, res.contributions)  # one event a year: the same thing
    # exactly reproducible per seed, and a different seed draws other years
    again = run_montecarlo(chain(), n, seed=11, model=FIXED_30)
    assert np.array_equal(again.lost, res.lost)
    assert not np.array_equal(run_montecarlo(chain(), n, seed=12, model=FIXED_30).lost, res.lost)


def test_site_without_exposure_contributes_nothing_and_changes_nothing():
    # X supplies nobody: its events (p = 0.5) cost nothing. Site draws are keyed by site id, so adding X leaves
    # S's events, and every number, exactly as they were (common random numbers across network variants).
    base = run_montecarlo(chain(), 500, seed=5, model=FIXED_30)
    res = run_montecarlo(chain(dead_end=True), 500, seed=5, model=FIXED_30)
    assert np.array_equal(res.lost, base.lost)
    c = res.contributions.set_index("site_id")
    assert c.loc["X", "expected_loss_contribution"] == 0.0
    assert 0.4 < c.loc["X", "events_per_year"] < 0.6
    assert c.loc["S", "expected_loss_contribution"] == pytest.approx(base.expected_loss)


def test_stock_and_backups_reduce_the_expected_loss():
    base = run_montecarlo(chain(), 500, seed=5, model=FIXED_30)
    hit = base.total > 0
    # 10 days of market stock cover 10 of the 30 days: 200 units a year with an event instead of 300
    stock = run_montecarlo(chain(market_stock=10.0), 500, seed=5, model=FIXED_30)
    assert np.allclose(stock.total, base.total * 2 / 3, rtol=0, atol=1e-9)
    # a backup of half the need, qualified at once: day 0 of the outage is short of 10 (the market asks the day a
    # delivery arrives short), days 1-29 get 5 from the backup: 10 + 29 * 5 = 155 units
    backup = run_montecarlo(chain(backup=True), 500, seed=5, model=FIXED_30)
    assert np.allclose(backup.total[hit], 155.0, rtol=0, atol=1e-9) and (backup.total[~hit] == 0).all()
    assert backup.expected_loss < stock.expected_loss < base.expected_loss


# ------------------------------------------------------------------------------------------------ the real model
def test_same_numbers_in_any_chunking_and_threads(sample):
    a = run_montecarlo(sample, 60, seed=3)
    b = run_montecarlo(sample, 60, seed=3, chunk_years=7, workers=1)
    c = run_montecarlo(sample, 60, seed=3, chunk_years=60, workers=2)
    for other in (b, c):
        assert np.array_equal(a.lost, other.lost)
        pd.testing.assert_frame_equal(a.events, other.events)
        pd.testing.assert_frame_equal(a.contributions, other.contributions)
        pd.testing.assert_frame_equal(a.summary, other.summary)
    # the first 30 years of a longer run are the 30 years of a shorter one: each year has its own stream
    assert np.array_equal(run_montecarlo(sample, 30, seed=3, contributions=False).lost, a.lost[:30])
    assert not np.array_equal(run_montecarlo(sample, 60, seed=4, contributions=False).lost, a.lost)


def test_statistics_and_tables_on_the_sample(sample):
    res = run_montecarlo(sample, 120, seed=1)
    s = res.summary
    assert s["market_id"].tolist() == [*res.market_ids.tolist(), "ALL"] and res.lost.shape == (120, len(res.market_ids))
    assert np.allclose(res.total, res.lost.sum(axis=1))
    assert (s["p95"] <= s["cvar95"]).all() and (s["cvar95"] <= s["max_loss"]).all()
    assert (s["expected_loss"] <= s["max_loss"]).all()
    tot = s.set_index("market_id").loc["ALL"]
    assert tot["expected_loss"] == pytest.approx(res.total.mean())
    # contributions: per site, the events of that site alone; sorted, shares of the expected loss
    c = res.contributions
    assert list(c.columns[:9]) == ["site_id", "name", "kind", "country", "lat", "lon", "events_per_year",
                                   "annual_prob", "site_event_prob"]
    assert c["expected_loss_contribution"].is_monotonic_decreasing and c["kind"].ne("market").all()
    ev = res.events
    site_ev = ev[ev["site_id"] != ""]
    per_site = site_ev.groupby("site_id")["contribution"].sum() / res.years
    assert np.allclose(c.set_index("site_id").loc[per_site.index, "expected_loss_contribution"], per_site)
    assert np.allclose(c["share_of_expected_loss"], c["expected_loss_contribution"] / res.expected_loss)
    # event sources add up the events of each source
    assert res.event_sources["events_per_year"].sum() == pytest.approx(len(ev) / res.years)
    # standalone: each event simulated alone; a disruption never gains anything, so no contribution is negative
    alone = run_montecarlo(sample, 120, seed=1, contributions="standalone")
    assert np.array_equal(alone.lost, res.lost) and alone.contributions_method == "standalone"
    assert (alone.events["contribution"] >= 0).all()
    assert alone.contributions["expected_loss_contribution"].sum() == pytest.approx(res.expected_loss, rel=0.2)
    text = format_montecarlo(res)
    assert "120 simulated years, seed 1" in text and "CVaR95" in text
    doc = res.to_json()
    assert doc["seed"] == 1 and doc["years"] == 120 and len(doc["total_lost_by_year"]) == 120
    json.dumps(doc, allow_nan=False)


def test_a_year_equals_the_what_if_of_its_events(sample):
    """A simulated year is the what-if simulation (riskmodel.simulate) of that year's events, market by market.

    Without backup links the two agree on every year. With them they agree when the year has one event (a what-if
    qualifies every backup from its earliest disruption, the Monte Carlo from the earliest event whose cone holds
    the backup's customer): checked on the sample with rare site events (0.5% a year each)."""
    active = sample.links.drop(columns=["supplier", "customer"])
    no_backups = SupplyNetwork(sample.sites, active)
    rare = SupplyNetwork(sample.sites.assign(annual_disruption_prob=0.005),
                         pd.concat([active, sample.backup_links], ignore_index=True))
    assert len(rare.backup_links) > 0
    for net, n, model, one_event in ((no_backups, 12, None, False), (rare, 60, EventModel(), True)):
        res = run_montecarlo(net, n, seed=2, model=model, contributions=False)
        checked = 0
        for y in np.flatnonzero(res.total > 0):
            dis = year_disruptions(net, int(y), seed=2, model=model)
            if one_event and len(dis) > 1:
                continue
            what_if = simulate(net, dis, horizon_weeks=3000 / 7, series=False)
            assert np.allclose(res.lost[y], what_if.market_lost, rtol=1e-9, atol=1e-6), y
            checked += 1
        assert checked >= 3


def test_hurricane_hits_as_calibrated():
    """A site at San Juan, the centre of the Puerto Rico zone: track points form a Poisson process of rate
    lambda = -ln(1 - 0.42) * (300 / 161)**2 = 1.891 a year, uniform over the 300 km disc; a storm hits the site when
    its radius r ~ U(20, 120) km exceeds the distance, so the chance per storm is E[r^2] / 300^2 =
    ((120^3 - 20^3) / (3 * 100)) / 90,000 = 0.0637 and the yearly chance h = 1 - exp(-1.891 * 0.0637) = 0.1135.
    With no stock anywhere every hit is a loss. N = 3000 years: standard error sqrt(h (1 - h) / N) = 0.0058; we
    allow 4 (0.023)."""
    hur = load_hazards()[0]
    assert hur.hazard_id == "HUR-PR" and hur.rate == pytest.approx(1.891, abs=1e-3)
    assert math.exp(-hur.rate * (161 / 300) ** 2) == pytest.approx(0.58)  # NOAA: 42% within 100 miles
    net = make_network({"A": {"kind": "api", "lat": 18.47, "lon": -66.11},
                        "F": {"kind": "api", "lat": 25.76, "lon": -80.19},  # Miami: out of reach
                        "M": {"kind": "market", "demand": 70.0}, "N": {"kind": "market", "demand": 70.0}},
                       [("A", "M", "x", 1.0, 0.0), ("F", "N", "x", 1.0, 0.0)])
    with_probs(net, {})
    res = run_montecarlo(net, 3000, seed=9, model=EventModel(site_events=False, hazards=(hur,)))
    h = 1 - math.exp(-hur.rate * ((120**3 - 20**3) / (3 * 100)) / 300**2)
    assert h == pytest.approx(0.1135, abs=1e-4)
    s = res.summary.set_index("market_id")
    assert abs(s.loc["M", "prob_loss"] - h) < 4 * math.sqrt(h * (1 - h) / 3000)
    assert s.loc["N", "prob_loss"] == 0.0
    ev = res.events
    assert (ev["type"] == "cyclone").all() and ev["start_day"].between(151, 333).all()
    assert ev["duration_days"].between(60, 120).all() and ev["severity"].between(0.2, 1.0).all()
    # annual_disruption_prob is the total yearly chance: the site-level part is what the hurricanes leave
    with_probs(net, {"A": 0.3})
    model = EventModel(hazards=(hur,), quality_share=0.0, accident_median_days=30.0, accident_sigma=0.0)
    both = run_montecarlo(net, 3000, seed=9, model=model)
    c = both.contributions.set_index("site_id")
    assert c.loc["A", "site_event_prob"] == pytest.approx(1 - 0.7 / (1 - h), abs=2e-3)
    assert abs(both.summary.set_index("market_id").loc["M", "prob_loss"] - 0.3) < 4 * math.sqrt(0.21 / 3000)


def test_export_ban_hits_exporters_only():
    # E (India) sells abroad, D (India) only at home; a ban every other year takes the exporters of the country
    net = make_network({"E": {"kind": "api", "country": "IND"}, "D": {"kind": "api", "country": "IND"},
                        "M": {"kind": "market", "demand": 70.0, "country": "USA"},
                        "MI": {"kind": "market", "demand": 70.0, "country": "IND"}},
                       [("E", "M", "x", 1.0, 0.0), ("D", "MI", "x", 1.0, 0.0)])
    with_probs(net, {})
    ban = CountryEvent("B", "export_ban", "Ban", "IND", 0.5, "exporters", ("api",), 1.0, (1.0, 1.0), (30, 30))
    res = run_montecarlo(net, 400, seed=1, model=EventModel(site_events=False, country_events=(ban,)))
    s = res.summary.set_index("market_id")
    assert 0.4 < s.loc["M", "prob_loss"] < 0.6 and s.loc["MI", "prob_loss"] == 0.0
    assert (res.events["n_sites"] == 1).all() and np.allclose(res.total[res.total > 0], 300.0)
    # a wildcard row stands for every country of the network without a row of its own of that type
    anywhere = CountryEvent("A", "export_ban", "Any", "*", 0.5, "all", ("api",), 1.0, (1.0, 1.0), (30, 30))
    res = run_montecarlo(net, 200, seed=1, model=EventModel(site_events=False, country_events=(ban, anywhere)))
    assert res.event_sources["label"].tolist().count("Any (IND)") == 0  # IND has its own export_ban row


def test_loss_statistics_definitions():
    s = loss_statistics(np.arange(1.0, 201.0))  # 200 years: p95 = the 190th smallest, CVaR95 = mean of 191..200
    assert s["p95"] == 190.0 and s["cvar95"] == pytest.approx(195.5) and s["max_loss"] == 200.0
    one = loss_statistics([7.0])
    assert one == {"expected_loss": 7.0, "p95": 7.0, "cvar95": 7.0, "prob_loss": 1.0, "max_loss": 7.0}
    s = loss_statistics(np.arange(1.0, 11.0))  # 10 years: ceil(9.5) = 10th smallest, worst ceil(0.5) = 1 year
    assert s["p95"] == 10.0 and s["cvar95"] == 10.0
    rng = np.random.default_rng(0)
    for n in (1, 3, 19, 20, 21, 99, 101, 1000):
        x = rng.exponential(size=(n, 4)) * (rng.random((n, 4)) < 0.2)
        st = loss_statistics(x)
        assert (st["p95"] <= st["cvar95"]).all() and (st["cvar95"] <= st["max_loss"]).all()
        assert np.allclose(st["p95"], np.quantile(x, 0.95, axis=0, method="inverted_cdf"))
    with pytest.raises(MonteCarloError):
        loss_statistics([])


def test_bad_input_is_a_clear_error(tmp_path):
    net = chain()
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(MonteCarloError, match="years"):
            run_montecarlo(net, bad)
    with pytest.raises(MonteCarloError, match="seed"):
        run_montecarlo(net, 10, seed=-1)
    with pytest.raises(MonteCarloError, match="quality_share"):
        EventModel(quality_share=1.5)
    with pytest.raises(MonteCarloError, match="severity"):
        EventModel(accident_severity=(0.9, 0.2))
    bad_csv = tmp_path / "zones.csv"
    text = (Path(__file__).resolve().parents[1] / "data" / "hazards" / "natural.csv").read_text().splitlines()
    text[2] = text[2].replace(",400,", ",four hundred,", 1)
    bad_csv.write_text("\n".join(text))
    with pytest.raises(MonteCarloError, match=r"^zones.csv:3:zone_km: expected a number"):
        load_hazards(bad_csv)
    with pytest.raises(MonteCarloError, match="expected tcp://HOST:PORT"):
        run_montecarlo(net, 10, scheduler="http://example.org")
    t0 = time.perf_counter()
    with pytest.raises(MonteCarloError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1"):
        run_montecarlo(net, 10, scheduler="127.0.0.1:1")
    assert time.perf_counter() - t0 < 5


def test_progress_is_reported_from_the_calling_thread(sample):
    calls = []
    main = threading.get_ident()
    run_montecarlo(sample, 40, seed=1, chunk_years=6, progress=lambda d, n: calls.append((d, n, threading.get_ident())))
    assert calls[0][:2] == (0, 40) and calls[-1][:2] == (40, 40) and len(calls) == 1 + 7
    assert all(t == main for *_, t in calls) and [d for d, *_ in calls] == sorted(d for d, *_ in calls)

    def stop(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # a progress callback may stop the run
        run_montecarlo(sample, 40, seed=1, chunk_years=6, progress=stop)


def test_dask_cluster_gives_the_same_numbers(sample):
    from dask.distributed import LocalCluster

    local = run_montecarlo(sample, 50, seed=6)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        calls = []
        res = run_montecarlo(sample, 50, seed=6, scheduler=cluster.scheduler_address, chunk_years=9,
                             progress=lambda d, n: calls.append(d))
    assert np.array_equal(res.lost, local.lost)
    pd.testing.assert_frame_equal(res.events, local.events)
    pd.testing.assert_frame_equal(res.contributions, local.contributions)
    assert calls[0] == 0 and calls[-1] == 50 and res.scheduler == cluster.scheduler_address


# ------------------------------------------------------------------------------------------------ command line
def run_cli(*args, timeout=300):
    return subprocess.run([RISKMODEL, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_cli_json_twice_the_same(sample):
    r1 = run_cli("montecarlo", SAMPLE, "--years", 200, "--seed", 1, "--json")
    assert r1.returncode == 0, r1.stderr
    doc = json.loads(r1.stdout)
    assert doc["years"] == 200 and doc["seed"] == 1 and doc["scheduler"] is None
    assert set(doc["total"]) == {"weekly_demand", "expected_loss", "p95", "cvar95", "prob_loss", "max_loss"}
    assert len(doc["markets"]) == len(sample.market_index)
    for m in doc["markets"]:
        assert {"market_id", "expected_loss", "p95", "cvar95"} <= set(m) and m["p95"] <= m["cvar95"] + 1e-9
    assert doc["total"]["expected_loss"] > 0 and doc["site_contributions"]
    assert {"site_id", "events_per_year", "expected_loss_contribution", "share_of_expected_loss"} <= set(
        doc["site_contributions"][0])
    r2 = run_cli("montecarlo", SAMPLE, "--years", 200, "--seed", 1, "--json")
    assert r2.stdout == r1.stdout
    text = run_cli("montecarlo", SAMPLE, "--years", 30, "--contributions", "standalone")
    assert text.returncode == 0 and "30 simulated years, seed 0" in text.stdout
    assert "Site contributions to the expected loss (its own site events simulated alone)" in text.stdout


def test_cli_bad_usage_and_bad_data(dataset):
    for args in (["--years", "0"], ["--years", "ten"], ["--years", "5", "--seed", "-1"],
                 ["--years", "5", "--scheduler", "tcp://127.0.0.1:1"], ["--years", "5", "--scheduler", "nowhere"]):
        r = run_cli("montecarlo", SAMPLE, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    sites = base_sites()
    sites[1]["country"] = "Atlantis"
    r = run_cli("montecarlo", dataset(sites=sites), "--years", "5", "--json")
    assert r.returncode == 1 and r.stdout == ""
    assert "sites.csv:3:country: unknown country 'Atlantis'" in r.stderr and "Traceback" not in r.stderr


def test_cli_on_a_real_dask_scheduler_and_worker(tmp_path):
    """`dask scheduler` and `dask worker` started here on 127.0.0.1: the same document as the local run."""
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 30
        while not (info.exists() and info.stat().st_size) and time.time() < deadline:
            time.sleep(0.1)
        procs.append(subprocess.Popen([DASK, "worker", "--scheduler-file", str(info), "--nthreads", "2",
                                       "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(info.read_text())["address"]
        remote = run_cli("montecarlo", SAMPLE, "--years", 60, "--seed", 4, "--json", "--no-contributions",
                         "--scheduler", address)
        local = run_cli("montecarlo", SAMPLE, "--years", 60, "--seed", 4, "--json", "--no-contributions")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    assert remote.returncode == 0, remote.stderr
    doc, ref = json.loads(remote.stdout), json.loads(local.stdout)
    assert doc.pop("scheduler") == address and ref.pop("scheduler") is None
    assert doc == ref and doc["contributions_method"] is None
