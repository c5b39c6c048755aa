"""Single-point-of-failure exposure and concentration (riskmodel.exposure, riskmodel.concentration).

Hand-built acceptance cases (issue 3), then the fast code against the reference model of test_propagate.py on
hypothesis-generated AND/OR networks: every site's exposure, per-market losses, SPOF and critical flags, group
exposure, and the flow fractions behind the concentration figures.
"""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from test_propagate import SETTINGS, make_tables, random_network, reference_graph, reference_supply

from riskmodel.concentration import concentration, flow_fractions, sole_source_inputs
from riskmodel.exposure import exposure_json, format_exposure_table, group_exposure, site_exposure
from riskmodel.network import SupplyNetwork
from riskmodel.propagate import network_arrays

ATTRS = {
    "API-CN": ("CHN", "East Asia", "Sino API"), "API-IN": ("IND", "South Asia", "Ganga API"),
    "API-1": ("IND", "South Asia", "Ganga API"), "API-2": ("CHN", "East Asia", "Sino API"),
    "GLASS": ("DEU", "Europe", "Glaswerk"), "FF-1": ("USA", "North America", "FillCo"),
    "FF-2": ("PRI", "North America", "FillCo"), "MKT-US": ("USA", "North America", ""),
    "MKT-EU": ("DEU", "Europe", ""),
}


def row(result, site_id):
    return result.sites.set_index("site_id").loc[site_id]


# ---------------------------------------------------------------------------------------------- acceptance
def test_sole_api_supplier_behind_two_fill_sites_is_a_spof():
    sites, links = make_tables(
        [["API-1"], ["FF-1", "FF-2"], ["MKT-US"]],
        [("API-1", "FF-1", "api", 1.0), ("API-1", "FF-2", "api", 1.0),
         ("FF-1", "MKT-US", "vial", 0.5), ("FF-2", "MKT-US", "vial", 0.5)], {"MKT-US": 1000.0}, ATTRS)
    res = site_exposure(SupplyNetwork(sites, links))
    api = row(res, "API-1")
    assert api["spof"] and api["spof_markets"] == ["MKT-US"] and api["exposure"] == pytest.approx(1.0)
    ff = row(res, "FF-1")
    assert not ff["spof"] and ff["exposure"] == pytest.approx(0.5) and ff["critical_markets"] == ["MKT-US"]
    assert res.sites["site_id"].iloc[0] == "API-1"


def test_vial_glass_everyone_needs_is_a_spof_although_apis_are_dual_sourced():
    sites, links = make_tables(
        [["API-1", "API-2", "GLASS"], ["FF-1", "FF-2"], ["MKT-US", "MKT-EU"]],
        [("API-1", "FF-1", "api", 0.5), ("API-2", "FF-1", "api", 0.5),
         ("API-1", "FF-2", "api", 0.5), ("API-2", "FF-2", "api", 0.5),
         ("GLASS", "FF-1", "vial glass", 1.0), ("GLASS", "FF-2", "vial glass", 1.0),
         ("FF-1", "MKT-US", "vial", 1.0), ("FF-2", "MKT-EU", "vial", 1.0)],
        {"MKT-US": 600.0, "MKT-EU": 400.0}, ATTRS)
    res = site_exposure(SupplyNetwork(sites, links))
    glass = row(res, "GLASS")
    assert glass["spof"] and sorted(glass["spof_markets"]) == ["MKT-EU", "MKT-US"]
    assert glass["exposure"] == pytest.approx(1.0) and glass["lost_weekly_units"] == pytest.approx(1000.0)
    for api in ("API-1", "API-2"):
        assert not row(res, api)["spof"] and row(res, api)["exposure"] == pytest.approx(0.5)
    assert row(res, "FF-1")["spof_markets"] == ["MKT-US"] and row(res, "FF-1")["exposure"] == pytest.approx(0.6)
    markets = res.markets.set_index("market_id")
    assert markets.loc["MKT-US", "n_spof_sites"] == 2 and markets.loc["MKT-US", "spof_sites"][0] == "GLASS"


def test_sixty_forty_dual_source():
    sites, links = make_tables(
        [["API-1", "API-2"], ["FF-1"], ["MKT-US"]],
        [("API-1", "FF-1", "api", 60), ("API-2", "FF-1", "api", 40), ("FF-1", "MKT-US", "vial", 1.0)],
        {"MKT-US": 1000.0}, ATTRS)
    res = site_exposure(SupplyNetwork(sites, links))
    assert row(res, "API-1")["exposure"] == pytest.approx(0.6, abs=1e-12)
    assert row(res, "API-2")["exposure"] == pytest.approx(0.4, abs=1e-12)
    assert row(res, "API-1")["critical_markets"] == ["MKT-US"] and row(res, "API-2")["critical_markets"] == []
    assert row(res, "API-1")["lost_weekly_units"] == pytest.approx(600.0)
    assert not row(res, "API-1")["spof"] and row(res, "FF-1")["spof"]
    assert res.sites["site_id"].tolist() == ["FF-1", "API-1", "API-2"]


def test_group_exposure_by_country():
    # two APIs in different countries 60/40, one glass maker: losing China costs 40%, Germany 100%
    sites, links = make_tables(
        [["API-IN", "API-CN", "GLASS"], ["FF-1"], ["MKT-US"]],
        [("API-IN", "FF-1", "api", 0.6), ("API-CN", "FF-1", "api", 0.4), ("GLASS", "FF-1", "glass", 1.0),
         ("FF-1", "MKT-US", "vial", 1.0)], {"MKT-US": 500.0}, ATTRS)
    net = SupplyNetwork(sites, links)
    by_country = group_exposure(net, by="country").set_index("country")
    assert by_country.loc["DEU", "exposure"] == pytest.approx(1.0) and by_country.loc["DEU", "spof"]
    assert by_country.loc["CHN", "exposure"] == pytest.approx(0.4)
    assert by_country.loc["IND", "critical_markets"] == ["MKT-US"] and not by_country.loc["IND", "spof"]
    assert by_country.loc["USA", "n_sites"] == 1  # the market is a demand point, not a failing site
    assert group_exposure(net, by="country")["country"].iloc[0] in ("DEU", "USA")
    regions = group_exposure(net, by="region").set_index("region")
    assert regions.loc["East Asia", "lost_weekly_units"] == pytest.approx(200.0)
    ops = group_exposure(net, by="operator")
    assert "" not in set(ops["operator"])
    with pytest.raises(ValueError, match="unknown site column"):
        group_exposure(net, by="planet")


def test_json_document_shape_and_order():
    sites, links = make_tables(
        [["API-1", "API-2", "GLASS"], ["FF-1", "FF-2"], ["MKT-US", "MKT-EU"]],
        [("API-1", "FF-1", "api", 0.6), ("API-2", "FF-1", "api", 0.4), ("API-1", "FF-2", "api", 1.0),
         ("GLASS", "FF-1", "glass", 1.0), ("GLASS", "FF-2", "glass", 1.0),
         ("FF-1", "MKT-US", "vial", 1.0), ("FF-2", "MKT-EU", "vial", 1.0)],
        {"MKT-US": 300.0, "MKT-EU": 100.0}, ATTRS)
    net = SupplyNetwork(sites, links)
    doc = json.loads(json.dumps(exposure_json(net), allow_nan=False))
    assert set(doc) == {"total_weekly_demand", "sites", "markets", "concentration"}
    assert doc["total_weekly_demand"] == 400.0
    assert all(set(s) == {"site_id", "exposure", "lost_weekly_units", "spof", "critical_markets", "spof_markets"}
               for s in doc["sites"])
    exp = [s["exposure"] for s in doc["sites"]]
    assert exp == sorted(exp, reverse=True) and len(doc["sites"]) == 5
    assert doc["sites"][0]["site_id"] == "GLASS" and doc["sites"][0]["spof"] is True
    api1 = next(s for s in doc["sites"] if s["site_id"] == "API-1")
    assert api1["exposure"] == pytest.approx((0.6 * 300 + 100) / 400)
    assert api1["spof_markets"] == ["MKT-EU"] and api1["critical_markets"] == ["MKT-EU", "MKT-US"]
    us = next(m for m in doc["markets"] if m["market_id"] == "MKT-US")
    assert us["worst_site_loss"] == 1.0 and us["n_spof_sites"] == 2 and us["region"] == "North America"
    conc = [c for c in doc["concentration"] if c["market_id"] == "MKT-US" and c["tier"] == "raw_material"]
    assert conc and conc[0]["hhi_country"] == pytest.approx(10_000)
    text = format_exposure_table(site_exposure(net), top=2)
    assert "GLASS" in text and "3 more sites" in text and "single points of failure" in text


# ---------------------------------------------------------------------------------------------- concentration
def test_concentration_by_hand():
    # API tier for MKT-US: 60% India, 40% China -> HHI 3600 + 1600; all from outside North America
    sites, links = make_tables(
        [["API-1", "API-2", "GLASS"], ["FF-1"], ["MKT-US"]],
        [("API-1", "FF-1", "api", 0.6), ("API-2", "FF-1", "api", 0.4), ("GLASS", "FF-1", "glass", 1.0),
         ("FF-1", "MKT-US", "vial", 1.0)], {"MKT-US": 100.0}, ATTRS,
        backups=[("API-2", "FF-1", "glass", 1.0)])
    net = SupplyNetwork(sites, links)
    c = concentration(net).set_index("tier")
    assert c.loc["api", "hhi_country"] == pytest.approx(5200.0)
    assert c.loc["api", "top_country"] == "IND" and c.loc["api", "top_country_share"] == pytest.approx(0.6)
    assert c.loc["api", "outside_region_share"] == pytest.approx(1.0)
    assert c.loc["fill_finish", "outside_region_share"] == pytest.approx(0.0)
    assert c.loc["fill_finish", "hhi_operator"] == pytest.approx(10_000) and c.loc["api", "n_sites"] == 2
    # sole sources: FF-1 -> MKT-US only; the glass has a qualified backup (API-2 can ship glass), so it is not
    sole = sole_source_inputs(net)
    assert sole[["customer_id", "material", "supplier_id"]].values.tolist() == [["MKT-US", "vial", "FF-1"]]
    assert c.loc["fill_finish", "sole_source_inputs"] == 1 and c.loc["raw_material", "sole_source_inputs"] == 0


def reference_flow(net: SupplyNetwork, links: pd.DataFrame) -> np.ndarray:
    """F[v, m] as the sum over all paths v -> ... -> m of the product of shares (one path per link sequence)."""
    g = reference_graph(links)
    g.add_nodes_from(net.site_ids)
    out = np.zeros((net.n_sites, len(net.market_index)))
    for j, m in enumerate(net.site_ids[net.market_index]):
        weight = {m: 1.0}
        for v in reversed(list(nx.topological_sort(g))):
            if v != m:
                weight[v] = sum(d["share"] * weight.get(c, 0.0) for _, c, d in g.out_edges(v, data=True))
        for v, w in weight.items():
            out[net.index_of([v])[0], j] = w
    return out


@SETTINGS
@given(random_network())
def test_flow_fractions_equal_path_sums(tables):
    sites, links = tables
    net = SupplyNetwork(sites, links)
    np.testing.assert_allclose(flow_fractions(net).toarray(), reference_flow(net, links), atol=1e-9)
    c = concentration(net)
    assert ((c["hhi_country"] > 0) & (c["hhi_country"] <= 10_000 + 1e-6)).all()
    assert c["outside_region_share"].between(-1e-12, 1 + 1e-12).all()


# ---------------------------------------------------------------------------------------------- against the reference
def reference_losses(net: SupplyNetwork, links: pd.DataFrame, failed: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(share of each market's demand lost, x of each market) when ``failed`` sites fail together."""
    g = reference_graph(links)
    x0 = reference_supply(g, net.site_ids, {})
    x = reference_supply(g, net.site_ids, {s: 0.0 for s in failed})
    markets = net.site_ids[net.market_index]
    return np.array([x0[m] - x[m] for m in markets]), np.array([x[m] for m in markets])


def check_against_reference(net: SupplyNetwork, links: pd.DataFrame) -> None:
    res = site_exposure(net)
    markets = net.site_ids[net.market_index]
    demand = net.demand[net.market_index]
    total = demand.sum()
    dense = res.market_loss().toarray()
    assert list(res.market_ids) == list(markets)
    for r, s in enumerate(res.sites.itertuples(index=False)):
        frac, x = reference_losses(net, links, [s.site_id])
        np.testing.assert_allclose(dense[r] / demand, frac, atol=1e-9)
        np.testing.assert_allclose(res.losses_of(s.site_id).reindex(markets, fill_value=0.0) / demand, frac,
                                   atol=1e-9)
        assert s.lost_weekly_units == pytest.approx((frac * demand).sum(), abs=1e-9 * total)
        assert s.exposure == pytest.approx((frac * demand).sum() / total, abs=1e-9)
        spof = {m for m, xm, f in zip(markets, x, frac, strict=True) if xm <= 1e-12 and f > 0}
        crit = {m for m, f in zip(markets, frac, strict=True) if f >= 0.5 - 1e-12}
        assert set(s.spof_markets) == spof and s.spof == bool(spof)
        assert set(s.critical_markets) == crit
    assert res.sites["exposure"].is_monotonic_decreasing
    assert set(res.sites["site_id"]) == set(net.site_ids[~net.is_market])
    for by in ("country", "operator"):
        for g in group_exposure(net, by=by).itertuples(index=False):
            members = net.sites.loc[~net.is_market & (net.sites[by] == getattr(g, by)), "site_id"].tolist()
            frac, x = reference_losses(net, links, members)
            assert g.exposure == pytest.approx((frac * demand).sum() / total, abs=1e-9)
            assert set(g.spof_markets) == {m for m, xm, f in zip(markets, x, frac, strict=True)
                                           if xm <= 1e-12 and f > 0}
            assert set(g.critical_markets) == {m for m, f in zip(markets, frac, strict=True) if f >= 0.5 - 1e-12}


@settings(SETTINGS, max_examples=40)
@given(random_network(normalise=True))
def test_exposure_equals_reference_normalised_shares(tables):
    sites, links = tables
    net = SupplyNetwork(sites, links)
    assert network_arrays(net).homogeneous  # the funnel shortcut is on
    check_against_reference(net, links)


@settings(SETTINGS, max_examples=40)
@given(random_network(normalise=False))
def test_exposure_equals_reference_raw_shares(tables):
    sites, links = tables
    check_against_reference(SupplyNetwork(sites, links), links)


def test_funnel_chain_is_scaled_exactly():
    # RM -> API (one of two 70/30 suppliers of FF) -> FF -> two distributors -> two markets: API's loss funnels
    # through FF, RM's through API; both must be 0.7 x FF's own loss. RM-2, FF's sole excipient, funnels 1 x.
    sites, links = make_tables(
        [["RM", "RM-2"], ["API-1", "API-2"], ["FF-1"], ["D1", "D2"], ["M1", "M2"]],
        [("RM", "API-1", "ksm", 1.0), ("API-1", "FF-1", "api", 0.7), ("API-2", "FF-1", "api", 0.3),
         ("RM-2", "FF-1", "excipient", 1.0),
         ("FF-1", "D1", "vial", 1.0), ("FF-1", "D2", "vial", 1.0), ("D1", "M1", "vial", 1.0),
         ("D2", "M1", "vial", 1.0), ("D2", "M2", "vial", 1.0)], {"M1": 100.0, "M2": 50.0})
    net = SupplyNetwork(sites, links)
    res = site_exposure(net)
    assert row(res, "RM")["exposure"] == pytest.approx(0.7) and row(res, "API-1")["exposure"] == pytest.approx(0.7)
    assert row(res, "D2")["exposure"] == pytest.approx((50 + 50) / 150)
    assert row(res, "RM-2")["spof_markets"] == ["M1", "M2"] and row(res, "RM-2")["exposure"] == pytest.approx(1.0)
    assert row(res, "RM")["critical_markets"] == ["M1", "M2"] and not row(res, "RM")["spof"]
    check_against_reference(net, links)
