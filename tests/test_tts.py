"""Time to survive against time to recover (riskmodel.tts): by hand, cone = full simulation, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from sim_reference import make_network, random_network_strategy

from riskmodel.disruption import Disruption, Selector
from riskmodel.simulate import run_single_site_batch, sim_arrays, simulate
from riskmodel.tts import format_tts, statically_exposed, time_to_survive, tts_json


@pytest.fixture(scope="module")
def small():
    """A (x) and B (y) feed distributor D (AND), D feeds market M (14 days of stock, 1 unit a day).
    X feeds Y, which supplies nobody (a dead end)."""
    return make_network(
        {"A": {"kind": "api", "ttr": 4}, "B": {"kind": "api", "inv": 30, "ttr": 2},
         "D": {"kind": "distribution", "ttr": 1}, "M": {"kind": "market", "demand": 7.0, "inv": 14},
         "X": {"kind": "raw_material", "ttr": 26}, "Y": {"kind": "api", "ttr": 26}},
        [("A", "D", "x", 1.0, 0.0), ("B", "D", "y", 1.0, 0.0), ("D", "M", "p", 1.0, 0.0), ("X", "Y", "k", 1.0, 0.0)])


def test_tts_against_ttr_by_hand(small):
    t = time_to_survive(small).sites.set_index("site_id")
    # A lost 28 days: D lacks x (AND) and makes nothing, M's 14 days of stock last days 0-13, days 14-27 are
    # short of 1 a day (A ships again on day 28): TTS 14 < TTR 28, gap 14, 14 units lost
    assert t.loc["A", "tts_days"] == 14 and t.loc["A", "ttr_days"] == 28 and t.loc["A", "gap_days"] == 14
    assert t.loc["A", "lost_units"] == pytest.approx(14.0) and t.loc["A", "needs_mitigation"]
    # B lost 14 days ships from its own 30 days of stock; D lost 7 days is covered by M's 14 days: no shortfall
    for site in ("B", "D"):
        assert np.isnan(t.loc[site, "tts_days"]) and t.loc[site, "lost_units"] == 0.0
        assert not t.loc[site, "needs_mitigation"] and t.loc[site, "statically_exposed"]
    # X and Y reach no market: zero static exposure, not simulated
    for site in ("X", "Y"):
        assert not t.loc[site, "statically_exposed"] and t.loc[site, "horizon_days"] == 0
    assert "M" not in t.index  # markets are demand points
    assert t.index[0] == "A"  # largest gap first


def test_static_filter_matches_reach(small):
    idx = np.flatnonzero(~small.is_market)
    exposed = dict(zip(small.site_ids[idx], statically_exposed(small, idx), strict=True))
    assert exposed == {"A": True, "B": True, "D": True, "X": False, "Y": False}
    assert statically_exposed(small, np.zeros(0, np.int64)).size == 0


def test_sorting_and_subsets():
    # two suppliers behind a market holding 7 days; A (share 0.7) recovers in 6 weeks, B (0.3) in 3 weeks
    net = make_network({"A": {"kind": "api", "ttr": 6}, "B": {"kind": "api", "ttr": 3},
                        "M": {"kind": "market", "demand": 7.0, "inv": 7}},
                       [("A", "M", "x", 0.7, 0.0), ("B", "M", "x", 0.3, 0.0)])
    t = time_to_survive(net).sites
    # A: stock falls 0.7 a day, 7 / 0.7 = 10 days: TTS 10, TTR 42, gap 32.
    # B: lost 21 days at 0.3 a day = 6.3 < 7 days of stock: no shortfall (TTS none), listed after A
    assert t["site_id"].tolist() == ["A", "B"]
    assert t["tts_days"].iloc[0] == 10 and t["gap_days"].iloc[0] == 32
    assert np.isnan(t["tts_days"].iloc[1])
    only_b = time_to_survive(net, site_ids=["B"]).sites
    assert only_b["site_id"].tolist() == ["B"]
    with pytest.raises(KeyError, match="NOPE"):
        time_to_survive(net, site_ids=["NOPE"])
    with pytest.raises(ValueError, match="market"):
        time_to_survive(net, site_ids="M")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_network_strategy())
def test_cone_simulation_equals_the_full_simulation(case):
    net, supply = case
    arr = sim_arrays(net)
    seeds = net.index_of(supply).astype(np.int64)
    durations = arr.ttr_days[seeds]
    horizons = durations + arr.market_depth[seeds] + 8
    first, lost = run_single_site_batch(net, seeds, durations, horizons, chunks=2)
    for k, site in enumerate(supply):
        full = simulate(net, Disruption(Selector.sites([site]), duration_weeks=durations[k] / 7),
                        horizon_weeks=horizons[k] / 7, series=False)
        assert (first[k] if first[k] >= 0 else None) == full.first_shortfall_day
        assert lost[k] == pytest.approx(full.lost_units, rel=1e-9, abs=1e-9)


def test_json_and_text_on_the_sample_data():
    from conftest import SAMPLE

    from riskmodel.validate import load_network

    net = load_network(SAMPLE)
    doc = tts_json(net)
    json.dumps(doc, allow_nan=False)
    assert doc["n_sites"] == int((~net.is_market).sum()) == len(doc["sites"])
    rows = doc["sites"]
    assert set(rows[0]) >= {"site_id", "tts_days", "ttr_days", "gap_days", "lost_units", "needs_mitigation"}
    gaps = [r["gap_days"] for r in rows if r["gap_days"] is not None]
    assert gaps == sorted(gaps, reverse=True) and rows[0]["gap_days"] == gaps[0]
    assert all(r["gap_days"] is None for r in rows[len(gaps):])  # no shortfall: last
    assert doc["n_needing_mitigation"] == sum(r["tts_days"] is not None and r["tts_days"] < r["ttr_days"]
                                              for r in rows) > 0
    text = format_tts(doc, top=5)
    assert text.splitlines()[0].startswith(f"{doc['n_needing_mitigation']} of {doc['n_sites']} supply sites")
    assert rows[0]["site_id"] in text and "MITIGATE" in text and "... and" in text
    assert format_tts(time_to_survive(net), top=5).splitlines()[0] == text.splitlines()[0]
