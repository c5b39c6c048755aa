"""The daily simulation (riskmodel.simulate): hand-derived cases, the reference model, properties, outputs.

Units: a market with ``weekly_demand`` 7 needs 1 unit a day, so its shortfall units read as fractions of a day's
demand. Every hand-derived expectation states its arithmetic in a comment.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_reference import make_network, random_network_strategy, reference_simulate

from riskmodel.disruption import Disruption, DisruptionError, Selector, disruptions_from_specs
from riskmodel.simulate import format_simulation, sim_arrays, simulate, simulate_json

SETTINGS = settings(max_examples=int(os.environ.get("SIM_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def two_suppliers(inv_market=21.0, surge_b=0.0, lead_a=0.0, backups=()):
    """A (share 0.6) and B (0.4) supply market M (1 unit a day), nobody else holds stock."""
    return make_network(
        {"A": {"kind": "api"}, "B": {"kind": "api", "surge": surge_b}, "C": {"kind": "api"},
         "M": {"kind": "market", "demand": 7.0, "inv": inv_market}},
        [("A", "M", "x", 0.6, lead_a), ("B", "M", "x", 0.4, 0.0)], backups)


def lose(site: str, weeks: float, **kw) -> Disruption:
    return Disruption(Selector.sites([site]), duration_weeks=weeks, **kw)


# ------------------------------------------------------------------------------------------------ by hand
def test_21_days_of_stock_losing_60_percent_first_short_on_day_35():
    net = two_suppliers()
    res = simulate(net, lose("A", 52))
    # inflow 0.4 a day against demand 1: stock falls by 0.6 a day, 21 / 0.6 = 35 days: after day 34 it is 0
    # (21 - 0.6 * 35 = 0, up to rounding), so day 35 is the first day patients get only the inflow, 0.4
    assert res.first_shortfall_day == 35
    assert res.time_to_survive_days == 35
    np.testing.assert_allclose(res.stock_units[:3, 0], [20.4, 19.8, 19.2])
    np.testing.assert_allclose(res.inflow_fraction[:40, 0], 0.4)
    np.testing.assert_allclose(res.supplied_fraction[:35, 0], 1.0)
    np.testing.assert_allclose(res.supplied_fraction[35:, 0], 0.4)
    # 364 days - 35 = 329 days short of 0.6
    assert res.lost_units == pytest.approx(329 * 0.6)
    assert res.days_in_shortage == 329
    assert res.full_recovery_day is None  # still short on the last day


def test_backup_after_3_weeks_share_01_delays_the_shortfall_to_day_37():
    net = two_suppliers(backups=[("C", "M", "x", 0.1, 0.0, 3.0)])
    res = simulate(net, lose("A", 52))
    # days 0-20: inflow 0.4, stock 21 - 21 * 0.6 = 8.4 after day 20. The backup may ship from day 21 (3 weeks),
    # up to 0.1 of the need: inflow 0.5 from day 21, stock after day k = 8.4 - 0.5 * (k - 20): 0.4 after day 36;
    # on day 37 stock 0.4 + inflow 0.5 = 0.9 < 1: first shortfall on day 37 (0.1 short), then 0.5 a day
    np.testing.assert_allclose(res.inflow_fraction[20:23, 0], [0.4, 0.5, 0.5])
    assert res.first_shortfall_day == 37
    assert res.shortfall_units[37, 0] == pytest.approx(0.1)
    assert res.shortfall_units[38, 0] == pytest.approx(0.5)


def test_surge_at_the_surviving_supplier_shrinks_the_loss_by_its_surge_share():
    def run(surge):
        net = make_network({"A": {"kind": "api"}, "B": {"kind": "api", "surge": surge},
                            "M": {"kind": "market", "demand": 7.0}},
                           [("A", "M", "x", 0.5, 0.0), ("B", "M", "x", 0.5, 0.0)])
        return simulate(net, lose("A", 4))

    without, with_surge = run(0.0), run(0.2)
    # no stock anywhere: A lost for 28 days costs 0.5 a day, 28 * 0.5 = 14
    assert without.lost_units == pytest.approx(14.0)
    # B makes 0.5 a day normally; its spare is 0.2 * 0.5 = 0.1 a day, asked for the day after A ships short
    # (day 0) and sent from day 1: day 0 loses 0.5, days 1-27 lose 0.5 - 0.1 = 0.4; 0.5 + 27 * 0.4 = 11.3
    assert with_surge.lost_units == pytest.approx(11.3)
    np.testing.assert_allclose(with_surge.supplied_fraction[:3, 0], [0.5, 0.6, 0.6])
    # the daily loss shrinks by surge * share = 0.2 * 0.5 = 0.1 of demand
    assert without.shortfall_units[5, 0] - with_surge.shortfall_units[5, 0] == pytest.approx(0.2 * 0.5)
    # the day after A is back B still sends its last extra (asked on day 27): inflow 1.1, nothing is short
    assert with_surge.inflow_fraction[28, 0] == pytest.approx(1.1)
    assert with_surge.full_recovery_day == 28


def test_lead_time_shifts_the_arrival_of_the_loss():
    net = make_network({"A": {"kind": "api"}, "M": {"kind": "market", "demand": 7.0}}, [("A", "M", "x", 1.0, 10.0)])
    res = simulate(net, lose("A", 4))
    # shipments in transit when A fails (days -10..-1) still arrive on days 0-9; A's missing shipments of days
    # 0-27 arrive on days 10-37: the market is short exactly on days 10..37
    short_days = np.flatnonzero(res.shortfall_units[:, 0] > 0)
    assert short_days.tolist() == list(range(10, 38))
    assert res.lost_units == pytest.approx(28.0)
    assert res.time_to_survive_days == 10
    assert res.full_recovery_day == 38


def test_four_week_loss_behind_42_days_of_stock_causes_no_shortfall():
    for market_inv, dist_inv in ((42.0, 0.0), (0.0, 42.0)):
        net = make_network({"A": {"kind": "api"}, "D": {"kind": "distribution", "inv": dist_inv},
                            "M": {"kind": "market", "demand": 7.0, "inv": market_inv}},
                           [("A", "D", "x", 1.0, 0.0), ("D", "M", "x", 1.0, 0.0)])
        res = simulate(net, lose("A", 4))
        # 28 days of loss drawn from 42 days of stock: 14 days left, nobody short
        assert res.lost_units == 0.0
        assert res.time_to_survive_days is None
        stock_left = res.stock_units[-1, 0] if market_inv else None
        if stock_left is not None:
            assert stock_left == pytest.approx(14.0)


def test_and_across_materials_and_stock_at_the_maker():
    # FF needs API and glass (AND); FF holds 10 days of output, the market none
    net = make_network({"API": {"kind": "api"}, "GLASS": {"kind": "raw_material"},
                        "FF": {"kind": "fill_finish", "inv": 10.0}, "M": {"kind": "market", "demand": 7.0}},
                       [("API", "FF", "api", 1.0, 0.0), ("GLASS", "FF", "glass", 1.0, 0.0), ("FF", "M", "v", 1.0, 0.0)])
    res = simulate(net, lose("GLASS", 2))
    # without glass FF makes nothing (API arrives but is kept); its 10 days of stock cover days 0-9,
    # days 10-13 are short of 1 a day: 4 units. From day 14 glass arrives again and FF ships normally.
    assert res.first_shortfall_day == 10
    assert res.lost_units == pytest.approx(4.0)
    assert res.full_recovery_day == 14


def test_linear_recovery_and_overlapping_disruptions():
    net = make_network({"A": {"kind": "api"}, "M": {"kind": "market", "demand": 7.0}}, [("A", "M", "x", 1.0, 0.0)])
    res = simulate(net, Disruption("site:A", duration_weeks=10 / 7, recovery="linear"))
    # capacity 0, 0.1, ..., 0.9 on days 0-9: lost 1 + 0.9 + ... + 0.1 = 5.5
    assert res.lost_units == pytest.approx(5.5)
    np.testing.assert_allclose(res.supplied_fraction[:11, 0], np.r_[np.arange(10) / 10, 1.0])
    # two disruptions of one site: each day the smaller capacity counts (0.5 on days 0-6, 0 on days 3-4)
    res = simulate(net, [Disruption("site:A", duration_weeks=1, severity=0.5),
                         Disruption("site:A", duration_weeks=2 / 7, severity=1.0, start_day=3)])
    assert res.lost_units == pytest.approx(5 * 0.5 + 2 * 1.0)
    assert res.time_to_survive_days == 0


def test_surge_rebuilds_the_makers_stock():
    # A holds 5 days and has 50% spare; lost for 2 days, it ships from stock (3 days left), then rebuilds at
    # 0.5 a day: back to 5 days of stock after 4 days, and nobody is ever short
    net = make_network({"A": {"kind": "api", "inv": 5.0, "surge": 0.5}, "M": {"kind": "market", "demand": 7.0}},
                       [("A", "M", "x", 1.0, 0.0)])
    res = simulate(net, lose("A", 2 / 7))
    assert res.lost_units == 0.0
    assert res.full_recovery_day == 0  # the market never noticed: recovered at the start


# ------------------------------------------------------------------------------------------------ reference
def _ref_disruptions(net, disruptions):
    return [(set(net.site_ids[d.sites(net)]), d.severity, d.start_day, d.duration_days, d.recovery == "linear")
            for d in disruptions]


@st.composite
def scenario(draw):
    net, supply = draw(random_network_strategy())
    k = draw(st.integers(1, 2))
    disruptions = [Disruption(Selector.sites(draw(st.lists(st.sampled_from(supply), min_size=1, max_size=2))),
                              duration_weeks=draw(st.sampled_from([1 / 7, 1.0, 2.0, 3.0])),
                              severity=draw(st.sampled_from([0.3, 0.7, 1.0])),
                              start_day=draw(st.integers(0, 5)),
                              recovery=draw(st.sampled_from(["step", "linear"]))) for _ in range(k)]
    return net, disruptions


@SETTINGS
@given(scenario())
def test_kernel_equals_the_reference_model(case):
    net, disruptions = case
    horizon = 40
    res = simulate(net, disruptions, horizon_weeks=horizon / 7)
    ref = reference_simulate(net, _ref_disruptions(net, disruptions), horizon)
    for j, m in enumerate(res.market_ids):
        np.testing.assert_allclose(res.inflow_fraction[:, j], ref["inflow"][m], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.shortfall_units[:, j], ref["short"][m], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.stock_units[:, j], ref["stock"][m], rtol=1e-9, atol=1e-9)
    assert res.lost_units == pytest.approx(ref["lost"], rel=1e-9, abs=1e-9)


# ------------------------------------------------------------------------------------------------ properties
@SETTINGS
@given(random_network_strategy())
def test_no_disruption_gives_no_shortfall(case):
    net, supply = case
    res = simulate(net, Disruption(Selector.sites(supply), duration_weeks=8, severity=0.0))
    assert res.lost_units == 0.0
    assert res.first_shortfall_day is None
    np.testing.assert_allclose(res.supplied_fraction, 1.0)
    np.testing.assert_allclose(res.inflow_fraction, 1.0, rtol=1e-9)
    assert res.full_recovery_day == 0


@SETTINGS
@given(scenario())
def test_lost_units_never_negative_and_supplied_fraction_in_0_1(case):
    net, disruptions = case
    res = simulate(net, disruptions, horizon_weeks=8)
    assert res.lost_units >= 0.0
    assert (res.shortfall_units >= 0).all() and (res.stock_units >= -1e-12).all()
    assert (res.supplied_fraction >= 0).all() and (res.supplied_fraction <= 1).all()
    assert (res.inflow_fraction >= -1e-12).all()


def _harder_and_longer(disruptions, more_severity, more_days):
    harder = [Disruption(d.selector, d.duration_weeks, min(1.0, d.severity + more_severity), d.start_day, d.recovery)
              for d in disruptions]
    longer = [Disruption(d.selector, d.duration_weeks + more_days / 7, d.severity, d.start_day, d.recovery)
              for d in disruptions]
    return harder, longer


@st.composite
def scenario(draw, reactions=True):
    net, supply = draw(random_network_strategy(reactions=reactions))
    k = draw(st.integers(1, 2))
    return net, [Disruption(Selector.sites(draw(st.lists(st.sampled_from(supply), min_size=1, max_size=2))),
                            duration_weeks=draw(st.sampled_from([1 / 7, 2 / 7, 1.0, 2.0])),
                            severity=draw(st.sampled_from([0.2, 0.3, 0.7])), start_day=draw(st.integers(0, 5)),
                            recovery=draw(st.sampled_from(["step", "linear"]))) for _ in range(k)]


def _assert_never_loses_less(net, disruptions, more_severity, more_days):
    base = simulate(net, disruptions, horizon_weeks=8, series=False)
    for other in _harder_and_longer(disruptions, more_severity, more_days):
        res = simulate(net, other, horizon_weeks=8, series=False)
        assert res.lost_units >= base.lost_units - 1e-9 * max(1.0, base.lost_units)
        if base.first_shortfall_day is not None:
            assert res.first_shortfall_day is not None and res.first_shortfall_day <= base.first_shortfall_day


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.sampled_from([0.1, 0.3]), st.sampled_from([1, 3, 7]))
def test_more_severity_or_longer_duration_never_loses_less(case, more_severity, more_days):
    # Surge and backups included. A harder or longer disruption takes capacity away; what reacts to it (extras from
    # spare capacity, backups) answers a short delivery the day after it arrives and never more than it lacked, so
    # up to any day a market has received no more in the harder case than in the milder one, and a market can hand
    # out no more than it has received (docs/model.md, "Why a harder disruption never loses less").
    net, disruptions = case
    _assert_never_loses_less(net, disruptions, more_severity, more_days)


@SETTINGS
@given(scenario(reactions=False), st.sampled_from([0.1, 0.3]), st.sampled_from([1, 3, 7]))
def test_more_severity_or_longer_duration_never_loses_less_without_reactions(case, more_severity, more_days):
    net, disruptions = case
    _assert_never_loses_less(net, disruptions, more_severity, more_days)


def test_extras_answer_a_short_delivery_the_day_after_it_arrives():
    # M (1 a day, no stock) buys 0.5 from A (lead 2) and 0.25 each from F (lead 0) and S (lead 2), both with 20%
    # spare: 0.2 * 0.25 = 0.05 a day each. Extras are asked for when a short delivery arrives, never before: an
    # extra can then not arrive ahead of the gap it answers and cover an earlier one.
    net = make_network({"A": {"kind": "api"}, "F": {"kind": "api", "surge": 0.2}, "S": {"kind": "api", "surge": 0.2},
                        "M": {"kind": "market", "demand": 7.0}},
                       [("A", "M", "x", 0.5, 2.0), ("F", "M", "x", 0.25, 0.0), ("S", "M", "x", 0.25, 2.0)])
    one = simulate(net, Disruption("site:A", duration_weeks=1 / 7, severity=0.2, recovery="linear"))
    # one day at 0.8: A ships 0.4 on day 0, 0.1 short, arriving day 2: M gets 0.9, short 0.1. M asks F and S for
    # 0.05 each on day 3: F's arrives day 3, S's day 5; both become stock (nothing is short any more)
    assert one.lost_units == pytest.approx(0.1)
    assert one.first_shortfall_day == 2 and one.days_in_shortage == 1
    assert one.stock_units[-1, 0] == pytest.approx(0.1)
    two = simulate(net, Disruption("site:A", duration_weeks=2 / 7, severity=0.2, recovery="linear"))
    # two days (0.8, then 0.9): short 0.1 on day 2 (lost); on day 3 A's delivery is 0.05 short and F's extra of
    # 0.05 (asked for on day 2) arrives: 0.95 + 0.05 = 1, nothing lost. The longer disruption loses as much, not less
    assert two.lost_units == pytest.approx(0.1)
    assert two.days_in_shortage == 1
    # the day-3 gap of 0.05 is answered on day 4: 0.025 each from F (day 4) and S (day 6); with S's 0.05 of day 5
    # the market ends with 0.025 + 0.05 + 0.025 = 0.1 in stock
    assert two.stock_units[-1, 0] == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------------ outputs
def test_json_document_and_text_summary():
    net = two_suppliers()
    doc = simulate_json(net, disruptions_from_specs(["site:A"], weeks=52), horizon_weeks=60)
    json.dumps(doc, allow_nan=False)
    assert doc["disrupted_sites"] == ["A"]
    assert doc["time_to_survive_days"] == 35 and doc["first_shortfall_day"] == 35
    m = doc["markets"]["M"]
    assert set(m) >= {"inflow_fraction", "supplied_fraction", "shortfall_units", "stock_units", "lost_units",
                      "first_shortfall_day"}
    assert len(m["inflow_fraction"]) == 420 and m["first_shortfall_day"] == 35
    # 364 days of loss (days 0-363), short from day 35: 329 days of 0.6
    assert doc["lost_units"] == pytest.approx(329 * 0.6) == pytest.approx(m["lost_units"])
    assert doc["peak_shortfall_units"] == pytest.approx(0.6) and doc["peak_shortfall_day"] == 35
    assert doc["days_in_shortage"] == 329
    # back to full inflow from day 364 (A ships again, no lead time); not short from then on
    assert doc["full_recovery_day"] == 364
    text = format_simulation(doc)
    assert "Time to survive: 35 days" in text and "M " in text and "Full recovery: day 364" in text
    assert format_simulation(simulate(net, lose("A", 52))).startswith("Disrupted: 1 site(s): A")


def test_start_day_counts_time_to_survive_from_the_start():
    net = two_suppliers()
    res = simulate(net, lose("A", 52, start_day=10), horizon_weeks=60)
    assert res.first_shortfall_day == 45 and res.time_to_survive_days == 35


def test_bad_input_is_refused_with_a_clear_error():
    net = two_suppliers()
    with pytest.raises(DisruptionError, match="at least one"):
        simulate(net, [])
    with pytest.raises(DisruptionError, match="horizon"):
        simulate(net, lose("A", 1), horizon_weeks=0)
    with pytest.raises(DisruptionError, match="unknown site 'Q'"):
        simulate(net, lose("Q", 1))


def test_sample_data_runs_and_arrays_are_cached(sample_net):
    arr = sim_arrays(sample_net)
    assert sim_arrays(sample_net) is arr
    # normal output of a market is its daily demand; the intact network is in balance
    np.testing.assert_allclose(arr.normal_output[sample_net.market_index], sample_net.demand[sample_net.market_index]
                               / 7)
    res = simulate(sample_net, disruptions_from_specs(["region:South Asia"], weeks=8))
    assert res.lost_units > 0 and res.time_to_survive_days is not None
    assert set(res.disrupted_sites) <= set(sample_net.site_ids[~sample_net.is_market])


@pytest.fixture(scope="module")
def sample_net():
    from conftest import SAMPLE

    from riskmodel.validate import load_network

    return load_network(SAMPLE)
