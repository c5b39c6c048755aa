"""Supply propagation (riskmodel.propagate) against a plain reference of PRODUCT.md section 3.1.

The reference (:func:`reference_supply`) is the model written the obvious way: pure Python over a networkx graph,
one pass in topological order. It is the oracle for the fast code here and in test_exposure.py, and the "naive"
baseline of bench/bench_exposure.py. :func:`random_network` draws AND/OR networks with hypothesis: several
materials per site, several suppliers per material, links that skip tiers (diamonds, sites feeding many tiers),
several markets, dead ends, and shares that do not sum to 1 (normalised, or deliberately left as drawn).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.network import SupplyNetwork
from riskmodel.propagate import network_arrays, propagate, propagate_many, propagate_markets

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LINK_COLUMNS = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]


# ---------------------------------------------------------------------------------------------- reference model
def reference_graph(links: pd.DataFrame) -> nx.MultiDiGraph:
    """Active links as a networkx multigraph (one edge per link, with its material and share)."""
    g = nx.MultiDiGraph()
    for r in links.itertuples(index=False):
        if r.status == "active":
            g.add_edge(r.supplier_id, r.customer_id, material=r.material, share=float(r.share))
    return g


def reference_supply(graph: nx.MultiDiGraph, site_ids, capacity: dict[str, float]) -> dict[str, float]:
    """Section 3.1 verbatim: ``x_v = c_v * min over materials of min(1, sum of share * x_u)``, topological order."""
    x: dict[str, float] = {}
    for v in nx.topological_sort(graph):
        groups: dict[str, float] = defaultdict(float)
        for u, _, d in graph.in_edges(v, data=True):
            groups[d["material"]] += d["share"] * x[u]
        a = min((min(1.0, s) for s in groups.values()), default=1.0)
        x[v] = capacity.get(v, 1.0) * a
    for v in site_ids:  # sites without active links
        x.setdefault(v, capacity.get(v, 1.0))
    return x


# ---------------------------------------------------------------------------------------------- random networks
KINDS = ["raw_material", "api", "cmo", "fill_finish", "packaging", "distribution"]
PREFIX_KINDS = {"API": "api", "GLASS": "raw_material", "RM": "raw_material", "FF": "fill_finish", "D": "distribution"}
COUNTRIES = [("CHN", "East Asia"), ("IND", "South Asia"), ("USA", "North America"), ("DEU", "Europe")]


def make_tables(layers: list[list[str]], links: list[tuple], demand: dict[str, float], attrs=None,
                normalise: bool = True, backups: list[tuple] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical tables from layers of site ids (last layer: markets) and links (supplier, customer, material,
    share). ``attrs``: site id -> (country, region, operator). Kinds follow the id prefix (``API-1`` is an api),
    else the layer."""
    rows = []
    for depth, layer in enumerate(layers):
        for sid in layer:
            is_market = depth == len(layers) - 1
            country, region, operator = (attrs or {}).get(sid, ("USA", "North America", "Op"))
            kind = PREFIX_KINDS.get(sid.split("-")[0], KINDS[depth % len(KINDS)])
            rows.append({"site_id": sid, "name": sid, "kind": "market" if is_market else kind,
                         "country": country, "region": region, "operator": operator,
                         "weekly_demand": demand.get(sid, np.nan) if is_market else np.nan})
    lk = pd.DataFrame(links, columns=["supplier_id", "customer_id", "material", "share"])
    if normalise and len(lk):
        lk["share"] = lk["share"] / lk.groupby(["customer_id", "material"])["share"].transform("sum")
    lk["lead_time_days"] = 0.0
    lk["status"] = "active"
    lk["qualification_weeks"] = 0.0
    if backups:
        bk = pd.DataFrame(backups, columns=["supplier_id", "customer_id", "material", "share"])
        bk["lead_time_days"], bk["status"], bk["qualification_weeks"] = 0.0, "backup", 26.0
        lk = pd.concat([lk, bk], ignore_index=True)
    return pd.DataFrame(rows), lk[LINK_COLUMNS]


@st.composite
def random_network(draw, normalise: bool | None = None, max_layer: int = 5):
    """A random layered AND/OR network: (sites, links) canonical tables. Sites nobody buys from are dead ends."""
    n_layers = draw(st.integers(2, 5))
    sizes = [draw(st.integers(1, max_layer)) for _ in range(n_layers - 1)] + [draw(st.integers(1, 3))]
    layers = [[f"L{d}S{i}" for i in range(s)] for d, s in enumerate(sizes)]
    skip = draw(st.booleans())  # links may skip tiers (else strictly layer to layer: chains and funnels)
    links, seen = [], set()
    for d in range(1, n_layers):
        earlier = [s for layer in layers[:d] for s in layer] if skip else layers[d - 1]
        for cust in layers[d]:
            n_mat = draw(st.integers(0 if d < n_layers - 1 else 1, 3))  # markets need a supplier
            for m in range(n_mat):
                sups = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3, unique=True))
                for s in sups:
                    if (s, cust, f"m{m}") not in seen:
                        seen.add((s, cust, f"m{m}"))
                        share = draw(st.sampled_from([0.1, 0.25, 0.3, 0.5, 0.6, 0.75, 1.0]))
                        links.append((s, cust, f"m{m}", share))
    demand = {m: float(draw(st.sampled_from([10, 100, 250, 1000]))) for m in layers[-1]}
    attrs = {sid: (*COUNTRIES[draw(st.integers(0, len(COUNTRIES) - 1))], f"Op{draw(st.integers(0, 2))}")
             for layer in layers for sid in layer}
    norm = draw(st.booleans()) if normalise is None else normalise
    return make_tables(layers, links, demand, attrs, normalise=norm)


def reference_x(net: SupplyNetwork, links: pd.DataFrame, cap: np.ndarray) -> np.ndarray:
    x = reference_supply(reference_graph(links), net.site_ids, dict(zip(net.site_ids, cap, strict=True)))
    return np.array([x[s] for s in net.site_ids])


# ---------------------------------------------------------------------------------------------- tests
@SETTINGS
@given(random_network(), st.data())
def test_propagate_equals_reference(tables, data):
    sites, links = tables
    net = SupplyNetwork(sites, links)
    cap = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.3, 0.5, 1.0, 1.0, 1.0]), min_size=net.n_sites,
                                      max_size=net.n_sites)))
    np.testing.assert_allclose(propagate(net, cap), reference_x(net, links, cap), atol=1e-9, rtol=0)


@SETTINGS
@given(random_network(), st.data())
def test_propagate_many_dense_sparse_and_markets_agree(tables, data):
    sites, links = tables
    net = SupplyNetwork(sites, links)
    n = net.n_sites
    scen = data.draw(st.lists(st.dictionaries(st.integers(0, n - 1), st.sampled_from([0.0, 0.2, 0.5, 1.0]),
                                              max_size=4), min_size=1, max_size=6))
    dense = np.ones((len(scen), n))
    for i, d in enumerate(scen):
        for v, c in d.items():
            dense[i, v] = c
    want = np.array([reference_x(net, links, row) for row in dense])
    np.testing.assert_allclose(propagate_many(net, dense), want, atol=1e-9, rtol=0)
    np.testing.assert_allclose(propagate_many(net, scen), want, atol=1e-9, rtol=0)
    np.testing.assert_allclose(propagate_markets(net, scen), want[:, net.market_index], atol=1e-9, rtol=0)


def test_small_network_by_hand():
    # two API sites 60/40 and one glass site feed a fill site, which feeds a market
    sites, links = make_tables(
        [["API-1", "API-2", "GLASS"], ["FF"], ["MKT"]],
        [("API-1", "FF", "api", 0.6), ("API-2", "FF", "api", 0.4), ("GLASS", "FF", "glass", 1.0),
         ("FF", "MKT", "vial", 1.0)], {"MKT": 100.0})
    net = SupplyNetwork(sites, links)
    cap = np.ones(net.n_sites)
    cap[net.index_of(["API-1"])] = 0.5
    x = propagate(net, cap)
    assert x[net.index_of(["MKT"])[0]] == pytest.approx(0.7)
    x = propagate_many(net, [["API-1"], {"GLASS": 0.25}, ["API-1", "API-2"], []])
    np.testing.assert_allclose(x[:, net.index_of(["MKT"])[0]], [0.4, 0.25, 0.0, 1.0], atol=1e-12)


def test_unnormalised_shares_are_capped_at_one():
    # shares 0.8 + 0.8 (not normalised): losing one supplier still leaves min(1, 0.8) = 0.8
    sites, links = make_tables([["A", "B"], ["M"]], [("A", "M", "x", 0.8), ("B", "M", "x", 0.8)], {"M": 1.0},
                               normalise=False)
    net = SupplyNetwork(sites, links)
    assert not network_arrays(net).homogeneous
    np.testing.assert_allclose(propagate_markets(net, [["A"], ["A", "B"], []]), [[0.8], [0.0], [1.0]])


def test_bad_input_is_refused():
    sites, links = make_tables([["A"], ["M"]], [("A", "M", "x", 1.0)], {"M": 1.0})
    net = SupplyNetwork(sites, links)
    with pytest.raises(ValueError, match="shape"):
        propagate(net, np.ones(3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        propagate(net, np.array([1.5, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        propagate_many(net, [{"A": -0.1}])
    with pytest.raises(KeyError, match="NOPE"):
        propagate_many(net, [["NOPE"]])
    with pytest.raises(IndexError):
        propagate_markets(net, [[7]])
    assert propagate_many(net, []).shape == (0, 2)
    assert propagate_many(net, np.ones((0, 2))).shape == (0, 2)
