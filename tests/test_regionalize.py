"""Regionalization (riskmodel.regionalize, riskmodel.options): self-sufficiency, option generation, exact scoring.

The oracle is :func:`reference_figures`: the static model of PRODUCT.md section 3.1 written the obvious way (plain
Python over dicts, one network per option set, options as extra links ``min(1, sum)``), plus the documented risk
formula. The fast evaluator (one augmented network, options switched off by failing their gates) must agree with it on
random networks, random options and random option sets.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

from riskmodel.exposure import site_exposure
from riskmodel.network import SupplyNetwork
from riskmodel.options import CostParameters, Option, OptionLink, apply_options, generate_options
from riskmodel.regionalize import (
    OptionEvaluator,
    RiskParameters,
    format_regionalization,
    regionalize,
    regionalize_json,
    self_sufficiency,
)
from riskmodel.validate import load_network

LINK_COLUMNS = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]
REGION_COUNTRY = {"Europe": "DEU", "South Asia": "IND", "North America": "USA", "East Asia": "CHN"}


# ---------------------------------------------------------------------------------------------- small networks
def site(sid, kind, region, demand=np.nan, inv=0.0, ttr=10.0, prob=0.05, surge=0.0, tech=""):
    return {"site_id": sid, "name": sid, "kind": kind, "country": REGION_COUNTRY[region], "city": "", "lat": 0.0,
            "lon": 0.0, "operator": f"op-{sid}", "technology": tech, "weekly_demand": demand, "inventory_days": inv,
            "ttr_weeks": ttr, "surge": surge, "annual_disruption_prob": prob, "region": region}


def link(s, c, m, share=1.0, status="active", weeks=0.0):
    return {"supplier_id": s, "customer_id": c, "material": m, "share": share, "lead_time_days": 1.0,
            "status": status, "qualification_weeks": weeks}


def network(sites, links) -> SupplyNetwork:
    return SupplyNetwork(pd.DataFrame(sites), pd.DataFrame(links, columns=LINK_COLUMNS))


def chain_network(api_region: str) -> SupplyNetwork:
    """API -> fill-finish -> distributor -> market, market and the other sites in Europe, the API where told."""
    sites = [site("API", "api", api_region), site("FF", "fill_finish", "Europe", tech="aseptic_vial"),
             site("D", "distribution", "Europe"), site("M", "market", "Europe", demand=100.0, inv=7.0)]
    links = [link("API", "FF", "api"), link("FF", "D", "vial"), link("D", "M", "vial")]
    return network(sites, links)


# ---------------------------------------------------------------------------------------------- reference model
def ref_supply(ids, links, cap):
    """Section 3.1 verbatim on plain dicts (links: (supplier, customer, material, share), shares as given)."""
    inputs = defaultdict(lambda: defaultdict(list))
    indeg = {v: 0 for v in ids}
    out = defaultdict(list)
    for s, c, m, sh in links:
        inputs[c][m].append((s, sh))
        indeg[c] += 1
        out[s].append(c)
    order, ready = [], [v for v in ids if indeg[v] == 0]
    while ready:
        v = ready.pop()
        order.append(v)
        for c in out[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    assert len(order) == len(ids), "cycle"
    x = {}
    for v in order:
        a = min((min(1.0, sum(sh * x[u] for u, sh in grp)) for grp in inputs[v].values()), default=1.0)
        x[v] = cap.get(v, 1.0) * a
    return x


def ref_flow(ids, links, markets):
    """F[v][m]: sum over paths v -> ... -> m of the product of shares."""
    out = defaultdict(list)
    for s, c, _, sh in links:
        out[s].append((c, sh))
    memo = {}

    def f(v):
        if v not in memo:
            row = defaultdict(float)
            if v in markets:
                row[v] += 1.0
            for c, sh in out[v]:
                for m, val in f(c).items():
                    row[m] += sh * val
            memo[v] = row
        return memo[v]

    return {v: f(v) for v in ids}


def reference_figures(net: SupplyNetwork, options: list[Option], chosen, risk: RiskParameters | None = None):
    """Risk, total exposure, self-sufficiency per market and lost units per single-site scenario, the plain way."""
    risk = risk or RiskParameters()
    s = net.sites.set_index("site_id")
    ids = list(net.site_ids)
    base_links = [(a, b, m, sh) for a, b, m, sh in net.links[["supplier_id", "customer_id", "material", "share"]]
                  .itertuples(index=False)]
    markets = set(net.site_ids[net.market_index])
    flow = ref_flow(ids, base_links, markets)
    inv = s["inventory_days"].astype(float).to_dict()
    region = s["region"].to_dict()
    links = list(base_links)
    all_ids = list(ids)
    for i in chosen:
        o = options[i]
        if o.type == "stock":
            inv[o.site_id] += o.stock_days
        if o.site is not None:
            all_ids.append(o.site_id)
            region[o.site_id] = o.region
            links += [(lk.supplier_id, lk.customer_id, lk.material, lk.share) for lk in o.inputs]
    present = set(all_ids)
    for i in chosen:
        links += [(lk.supplier_id, lk.customer_id, lk.material, lk.share) for lk in options[i].links
                  if lk.supplier_id in present and lk.customer_id in present]
    demand = {m: float(s.loc[m, "weekly_demand"]) for m in markets}
    kind = s["kind"].to_dict()
    total = sum(demand.values())

    def lost_units(x, T, markets_counted, excluded):
        lost = {}
        for m in markets_counted:
            short = (1.0 - x[m]) * T
            if risk.stock:
                credit = sum(min(flow[d][m] * inv[d] / 7.0, flow[d][m] * (1.0 - x[d]) * T)
                             for d in ids if kind[d] == "distribution" and d not in excluded and flow[d].get(m))
                short = max(0.0, short - inv[m] / 7.0 - credit)
            lost[m] = demand[m] * short
        return lost

    scen_lost, exposure, total_risk = {}, 0.0, 0.0
    for w in ids:
        if w in markets:
            continue
        x = ref_supply(all_ids, links, {w: 0.0})
        lost = lost_units(x, float(s.loc[w, "ttr_weeks"]), markets, {w})
        scen_lost[w] = sum(lost.values())
        total_risk += float(s.loc[w, "annual_disruption_prob"]) * scen_lost[w]
        exposure += sum(demand[m] * (1.0 - x[m]) for m in markets) / total
    ss = {}
    for r in sorted({region[m] for m in markets}):
        outside = {v for v in all_ids if region[v] != r and v not in markets}
        x = ref_supply(all_ids, links, {v: 0.0 for v in outside})
        in_r = [m for m in markets if region[m] == r]
        lost = lost_units(x, risk.trade_cutoff_weeks, in_r, outside)
        total_risk += risk.trade_cutoff_annual_prob * sum(lost.values())
        ss.update({m: x[m] for m in in_r})
    return {"risk": total_risk, "exposure": exposure, "ss": ss, "lost": scen_lost}


# ---------------------------------------------------------------------------------------------- random instances
TIERS = [("raw_material", "K"), ("api", "A"), ("fill_finish", "F"), ("distribution", "D"), ("market", "M")]
REGIONS = ["Europe", "South Asia", "North America"]


def random_instance(seed: int):
    """A random layered network (several materials, shared suppliers, tier skips) and random options of every type."""
    rng = random.Random(seed)
    layers, sites = [], []
    for kind, prefix in TIERS:
        ids = [f"{prefix}{i}" for i in range(rng.randint(2, 3))]
        layers.append(ids)
        for sid in ids:
            sites.append(site(sid, kind, rng.choice(REGIONS), demand=float(rng.randint(50, 500)) if kind == "market"
                              else np.nan, inv=float(rng.choice([0, 5, 14, 30])), ttr=float(rng.randint(2, 52)),
                              prob=rng.choice([0.01, 0.05, 0.2]), surge=rng.choice([0.0, 0.2])))
    links = []
    for t in range(1, len(layers)):
        for c in layers[t]:
            n_mat = 2 if TIERS[t][0] == "fill_finish" else 1
            for k in range(n_mat):
                pool = layers[t - 1] if k == 0 or t < 2 else layers[t - 2]
                sup = rng.sample(pool, rng.randint(1, len(pool)))
                w = [rng.random() + 0.1 for _ in sup]
                for sid, wt in zip(sup, w, strict=True):
                    links.append(link(sid, c, f"mat{t}.{k}", wt / sum(w)))
    while True:  # drop sites that supply nobody (and their links), until none is left
        used = {lk["supplier_id"] for lk in links}
        keep = [s for s in sites if s["kind"] == "market" or s["site_id"] in used]
        ids = {s["site_id"] for s in keep}
        links = [lk for lk in links if lk["supplier_id"] in ids and lk["customer_id"] in ids]
        if len(keep) == len(sites):
            break
        sites = keep
    net = network(sites, links)
    region = dict(zip(net.sites["site_id"], net.sites["region"], strict=True))
    options: list[Option] = []
    groups = net.links.groupby(["customer_id", "material"])
    keys = list(groups.groups)
    for n in range(rng.randint(2, 5)):  # extra backup sources from the same tier as the current suppliers
        c, m = rng.choice(keys)
        tier = next(i for i, lay in enumerate(layers) if groups.get_group((c, m))["supplier_id"].iat[0] in lay)
        u = rng.choice(layers[tier])
        if u not in ids:
            continue
        options.append(Option(f"Q{n}", "qualify_backup", u, m, region[c], 1.0, 0.0, float(rng.randint(1, 9)), 26.0,
                              "", links=(OptionLink(u, c, m, rng.choice([0.3, 0.5, 1.0])),)))
    for n in range(rng.randint(0, 2)):  # candidate sites: inputs like an existing site, supplies its customers
        t = rng.choice([1, 2])
        like = rng.choice([v for v in layers[t] if v in ids])
        cid = f"C{n}"
        reg = rng.choice(REGIONS)
        inputs = tuple(OptionLink(lk.supplier_id, cid, lk.material, lk.share)
                       for lk in net.links[net.links["customer_id"] == like].itertuples(index=False))
        custs = net.links[net.links["supplier_id"] == like][["customer_id", "material"]].drop_duplicates()
        outs = tuple(OptionLink(cid, c, m, rng.choice([0.5, 1.0])) for c, m in custs.itertuples(index=False))
        row = site(cid, TIERS[t][0], reg)
        options.append(Option(f"N{n}", "new_site", cid, "", reg, 5.0, 1.0, float(rng.randint(3, 12)), 104.0, "",
                              links=outs, inputs=inputs, site=row))
    for n, z in enumerate(rng.sample(layers[3] + layers[4], 2)):
        if z in ids:
            options.append(Option(f"S{n}", "stock", z, "", region[z], 0.0, 1.0, float(rng.randint(1, 5)), 8.0, "",
                                  stock_days=float(rng.choice([7, 14, 28]))))
    return net, options


# ---------------------------------------------------------------------------------------------- self-sufficiency
def test_market_supplied_only_from_outside_its_region_has_self_sufficiency_0():
    ss = self_sufficiency(chain_network("South Asia")).set_index("market_id")
    assert ss.loc["M", "self_sufficiency"] == 0.0
    assert ss.loc["M", "out_of_region_share"] == pytest.approx(1.0)
    api = next(t for t in ss.loc["M", "tiers"] if t["tier"] == "api")
    assert api["outside_region_share"] == pytest.approx(1.0) and api["top_country"] == "IND"


def test_market_supplied_fully_inside_its_region_has_self_sufficiency_1():
    ss = self_sufficiency(chain_network("Europe")).set_index("market_id")
    assert ss.loc["M", "self_sufficiency"] == 1.0
    assert ss.loc["M", "out_of_region_share"] == 0.0


def test_partial_self_sufficiency_follows_the_in_region_share():
    sites = [site("A1", "api", "Europe"), site("A2", "api", "South Asia"), site("F", "fill_finish", "Europe"),
             site("M", "market", "Europe", demand=10.0)]
    links = [link("A1", "F", "api", 0.3), link("A2", "F", "api", 0.7), link("F", "M", "vial")]
    ss = self_sufficiency(network(sites, links)).set_index("market_id")
    assert ss.loc["M", "self_sufficiency"] == pytest.approx(0.3)
    assert ss.loc["M", "out_of_region_share"] == pytest.approx(0.7)


@pytest.mark.parametrize("seed", range(12))
def test_self_sufficiency_matches_the_reference(seed):
    net, _ = random_instance(seed)
    got = self_sufficiency(net).set_index("market_id")["self_sufficiency"].to_dict()
    want = reference_figures(net, [], ())["ss"]
    assert got == pytest.approx(want, abs=1e-9)


# ---------------------------------------------------------------------------------------------- exact evaluation
@pytest.mark.parametrize("seed", range(25))
def test_evaluator_matches_the_reference_for_random_option_sets(seed):
    net, options = random_instance(seed)
    ev = OptionEvaluator(net, options)
    rng = random.Random(1000 + seed)
    sets = [(), tuple(range(len(options)))] + [tuple(i for i in range(len(options)) if rng.random() < 0.5)
                                               for _ in range(3)]
    for chosen in sets:
        got = ev.evaluate(chosen)
        want = reference_figures(net, options, chosen)
        assert got.risk == pytest.approx(want["risk"], rel=1e-9, abs=1e-9), chosen
        assert got.exposure == pytest.approx(want["exposure"], rel=1e-9, abs=1e-9), chosen
        ss = dict(zip(net.site_ids[net.market_index], got.self_sufficiency, strict=True))
        assert ss == pytest.approx(want["ss"], abs=1e-9), chosen
        worst = ev.worst_site
        assert got.worst_case == pytest.approx(want["lost"][worst], rel=1e-9, abs=1e-9)
    base = reference_figures(net, options, ())
    assert ev.baseline.worst_case == pytest.approx(max(base["lost"].values()), rel=1e-12)


@pytest.mark.parametrize("seed", range(15))
def test_marginal_scores_are_exact_single_option_changes(seed):
    net, options = random_instance(seed)
    ev = OptionEvaluator(net, options)
    rng = random.Random(seed)
    base_set = tuple(i for i in range(len(options)) if rng.random() < 0.3)
    base = ev.evaluate(base_set)
    scores = ev.marginals(base)
    want_base = reference_figures(net, options, base_set)
    for i in range(len(options)):
        toggled = tuple(sorted(set(base_set) ^ {i}))
        other = reference_figures(net, options, toggled)
        sign = -1.0 if i in base_set else 1.0
        assert scores.risk_reduction[i] == pytest.approx(sign * (want_base["risk"] - other["risk"]), abs=1e-7)
        assert scores.exposure_reduction[i] == pytest.approx(sign * (want_base["exposure"] - other["exposure"]),
                                                             abs=1e-9)
        gain = dict(zip(net.site_ids[net.market_index], scores.self_sufficiency_gain[i], strict=True))
        for m, v in gain.items():
            assert v == pytest.approx(sign * (other["ss"][m] - want_base["ss"][m]), abs=1e-9)
        w = ev.worst_site
        assert scores.worst_case_reduction[i] == pytest.approx(sign * (want_base["lost"][w] - other["lost"][w]),
                                                               abs=1e-7)


def test_total_exposure_equals_the_exposure_analysis_on_the_sample(sample_net):
    net = sample_net
    ev = OptionEvaluator(net, [])
    assert ev.baseline.exposure == pytest.approx(site_exposure(net).sites["exposure"].sum(), rel=1e-12)


def test_a_qualified_backup_acts_as_extra_capacity():
    """After qualification a backup with share s offsets the primary's failure by s and leaves normal supply at 1."""
    sites = [site("A1", "api", "South Asia"), site("A2", "api", "Europe", surge=0.5),
             site("F", "fill_finish", "Europe"), site("M", "market", "Europe", demand=100.0)]
    links = [link("A1", "F", "api"), link("F", "M", "vial"), link("A2", "F", "api", 0.4, "backup", 26)]
    net = network(sites, links)
    opt = Option("Q", "qualify_backup", "A2", "api", "Europe", 1.0, 0.0, 1.0, 26.0, "",
                 links=(OptionLink("A2", "F", "api", 0.4),))
    ev = OptionEvaluator(net, [opt], RiskParameters(stock=False))
    after = ev.evaluate([0])
    assert ev.baseline.self_sufficiency.tolist() == [0.0]
    assert after.self_sufficiency.tolist() == pytest.approx([0.4])
    a1 = int(np.flatnonzero(net.site_ids[ev.scen_site.clip(0)] == "A1")[0])
    assert after.scenario_lost[a1] == pytest.approx(0.6 * 100.0 * 10.0)  # 60% of demand for ttr 10 weeks
    assert ev.baseline.scenario_lost[a1] == pytest.approx(100.0 * 10.0)


def test_stock_is_credited_up_to_the_shortfall():
    net = chain_network("Europe")  # market holds 7 days: one week of a full loss
    ev = OptionEvaluator(net, [Option("S", "stock", "M", "", "Europe", 0.0, 1.0, 1.0, 4.0, "", stock_days=14.0)])
    api = int(np.flatnonzero(net.site_ids == "API")[0])
    t = int(np.flatnonzero(ev.scen_site == api)[0])
    assert ev.baseline.scenario_lost[t] == pytest.approx(100.0 * (10.0 - 1.0))
    assert ev.evaluate([0]).scenario_lost[t] == pytest.approx(100.0 * (10.0 - 3.0))


# ---------------------------------------------------------------------------------------------- option generation
def test_generation_offers_an_in_region_source_with_surge_of_the_same_kind():
    sites = [site("A-IN", "api", "South Asia"), site("A-EU", "api", "Europe", surge=0.5),
             site("A-EU0", "api", "Europe"), site("A-US", "api", "North America", surge=0.5),
             site("F", "fill_finish", "Europe", tech="bfs"), site("F2", "fill_finish", "Europe", tech="bfs"),
             site("M", "market", "Europe", demand=100.0)]
    links = [link("A-IN", "F", "api"), link("A-EU", "F2", "api"), link("A-EU0", "F2", "api2"),
             link("A-US", "F2", "api3"), link("F", "M", "vial", 0.5), link("F2", "M", "vial", 0.5)]
    opts = generate_options(network(sites, links), stock=False)
    q = {o.option_id: o for o in opts}
    assert "Q:A-EU>F" in q  # already makes 'api', in Europe, has surge
    o = q["Q:A-EU>F"]
    # it can cover surge x its own throughput / the customer's: 0.5 x 50 / 50
    assert o.links[0].share == pytest.approx(0.5) and o.lead_time_weeks == 26.0 and o.region == "Europe"
    assert o.capacity_limit == pytest.approx(25.0) and o.capacity_use == pytest.approx(25.0)
    assert "Q:A-EU0>F" not in q  # no surge
    assert "Q:A-US>F" not in q  # outside the customer's region
    assert all(not k.startswith("Q:F") for k in q)  # fill-finish F2 is not an api


def test_generation_allows_a_technology_transfer_for_fill_finish_with_longer_qualification():
    sites = [site("F-IN", "fill_finish", "South Asia", tech="aseptic_vial"),
             site("F-EU", "fill_finish", "Europe", tech="aseptic_vial", surge=0.5),
             site("F-EU2", "fill_finish", "Europe", tech="bfs", surge=0.5),
             site("D", "distribution", "Europe"), site("D2", "distribution", "Europe"),
             site("M", "market", "Europe", demand=100.0), site("M2", "market", "Europe", demand=100.0)]
    links = [link("F-IN", "D", "cisplatin vial"), link("D", "M", "cisplatin vial"), link("F-EU", "D2", "heparin vial"),
             link("F-EU2", "D2", "ampoule"), link("D2", "M2", "heparin vial"), link("D2", "M2", "ampoule")]
    opts = {o.option_id: o for o in generate_options(network(sites, links), stock=False)}
    assert opts["Q:F-EU>D"].lead_time_weeks == 43.0
    p = CostParameters()
    assert opts["Q:F-EU>D"].capex == p.qualification_cost["fill_finish"] * p.technology_transfer_factor
    assert "Q:F-EU2>D" not in opts  # another technology


def test_generation_turns_declared_backups_into_options_and_looks_through_hubs():
    sites = [site("F-IN", "fill_finish", "South Asia", tech="aseptic_vial"), site("HUB", "logistics", "South Asia"),
             site("F-US", "fill_finish", "North America", tech="aseptic_vial", surge=1.0),
             site("F-US2", "fill_finish", "North America", tech="aseptic_vial"),
             site("D", "distribution", "North America"), site("M", "market", "North America", demand=50.0)]
    links = [link("F-IN", "HUB", "vial"), link("HUB", "D", "vial"), link("F-US", "D", "vial2"),
             link("F-US2", "D", "vial", 0.5, "backup", 30), link("D", "M", "vial"), link("D", "M", "vial2")]
    opts = {o.option_id: o for o in generate_options(network(sites, links), stock=False)}
    declared = opts["Q:F-US2>D"]  # no surge needed: the data states what the known alternate can cover
    assert declared.lead_time_weeks == 30.0 and declared.links[0].share == 0.5 and declared.material == "vial"
    # the hub's supply is really the Indian fill-finish site: a US aseptic fill-finish site with surge is offered
    transfer = opts["Q:F-US>D"]
    assert transfer.material == "vial" and transfer.lead_time_weeks == 43.0


def test_stock_options_are_costed_by_the_carrying_rate_and_exclusive_per_site():
    p = CostParameters(stock_days=(10.0, 20.0), carrying_cost_rate=0.2, horizon_years=2.0)
    opts = [o for o in generate_options(chain_network("Europe"), params=p) if o.type == "stock"]
    at_m = {o.stock_days: o for o in opts if o.site_id == "M"}
    value = p.unit_value["aseptic_vial"]  # the market's fill-finish technology
    assert at_m[10.0].annual_cost == pytest.approx(10.0 * 100.0 / 7.0 * value * 0.2)
    assert at_m[10.0].cost == pytest.approx(2.0 * at_m[10.0].annual_cost)
    assert at_m[10.0].excludes == (at_m[20.0].option_id,)
    assert at_m[20.0].lead_time_weeks == pytest.approx(20.0 / (7.0 * p.stock_build_share))


def test_apply_options_gives_tables_the_simulation_can_use(sample_net):
    net = sample_net
    opts = {o.option_id: o for o in generate_options(net)}
    picked = [opts["Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US"], opts["S:MKT-USA-CIS+14d"]]
    from riskmodel.regionalize import _tables

    sites, links = _tables(net)
    s2, l2 = apply_options(sites, links, picked)
    row = l2[(l2.supplier_id == "API-CIS-LODI-IT") & (l2.customer_id == "FF-CIS-BEDFORD-US")]
    assert (row["status"] == "backup").all() and (row["qualification_weeks"] == 0.0).any()
    before = float(sites.set_index("site_id").loc["MKT-USA-CIS", "inventory_days"])
    assert float(s2.set_index("site_id").loc["MKT-USA-CIS", "inventory_days"]) == before + 14.0
    assert len(sites) == len(s2) and len(links) + 1 == len(l2)


# ---------------------------------------------------------------------------------------------- the sample data
@pytest.fixture(scope="module")
def sample_net():
    return load_network(SAMPLE)


@pytest.fixture(scope="module")
def sample_result(sample_net):
    return sample_net, regionalize(sample_net)


def test_sample_eu_and_us_markets_get_meaningful_options(sample_result):
    net, res = sample_result
    table = res.option_table()
    useful = table[table["risk_reduction"] > 0]
    for region in ("Europe", "North America"):
        network_opts = useful[(useful["region"] == region) & (useful["type"] == "qualify_backup")]
        assert len(network_opts) >= 3, region
    # a European second source for an Indian API: Lodi (IT) for the Bedford (US) cisplatin line
    lodi = table.set_index("option_id").loc["Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US"]
    assert lodi["risk_reduction"] > 0 and lodi["exposure_reduction"] > 0
    assert net.inputs("FF-CIS-BEDFORD-US")["cisplatin API"][0].supplier_id == "API-CIS-AHMEDABAD-IN"
    # a European second source for an Indian-filled product: Hameln for a German cisplatin distributor
    hameln = table.set_index("option_id").loc["Q:FF-HEP-HAMELN-DE>DIST-DEU-CIS-STUTTGART"]
    assert hameln["risk_reduction"] > 0
    assert hameln["self_sufficiency_gain"] == {} or all(v >= 0 for v in hameln["self_sufficiency_gain"].values())
    # European heparin markets gain self-sufficiency from European options
    eu_hep = [o for o in res.to_json()["options"] if any(k.startswith("MKT-DEU-HEP")
                                                         for k in o["self_sufficiency_gain"])]
    assert eu_hep and max(o["self_sufficiency_gain"]["MKT-DEU-HEP"] for o in eu_hep) > 0.1


def test_sample_portfolio_cuts_risk_within_budget(sample_result):
    _, res = sample_result
    doc = res.to_json()
    p = doc["portfolio"]
    assert p["cost"] <= p["budget"] + 1e-6
    assert p["risk_after"] < p["risk_before"]
    assert p["exposure_after"] <= p["exposure_before"]
    assert p["worst_case_after"] <= p["worst_case_before"]
    risks = [f["risk"] for f in doc["frontier"]]
    assert risks == sorted(risks, reverse=True) and risks[0] == pytest.approx(p["risk_before"])
    at_budget = [f for f in doc["frontier"] if f["budget"] == pytest.approx(p["budget"])]
    assert at_budget and at_budget[0]["risk"] == pytest.approx(p["risk_after"])


def test_regionalize_json_shape(sample_result):
    net, _ = sample_result
    doc = regionalize_json(net, budget=5_000_000.0)
    assert sorted(doc) == ["frontier", "markets", "options", "portfolio"]
    json.dumps(doc, allow_nan=False)
    assert {"market_id", "region", "self_sufficiency", "out_of_region_share"} <= set(doc["markets"][0])
    assert {"option_id", "type", "site_id", "material", "cost", "score"} <= set(doc["options"][0])
    assert {"budget", "chosen", "cost", "risk_before", "risk_after"} <= set(doc["portfolio"])
    assert {"budget", "risk"} <= set(doc["frontier"][0])
    assert doc["portfolio"]["budget"] == 5_000_000.0 and doc["portfolio"]["cost"] <= 5_000_000.0
    scores = [o["score"] for o in doc["options"]]
    assert scores == sorted(scores, reverse=True)
    ids = {o["option_id"] for o in doc["options"]}
    assert set(doc["portfolio"]["chosen"]) <= ids


def test_format_regionalization_reads_well(sample_result):
    _, res = sample_result
    text = format_regionalization(res)
    assert "Self-sufficiency by market" in text and "Portfolio for a budget" in text and "Frontier" in text
    assert format_regionalization(res.to_json()) == text


def test_expected_loss_hook_scores_each_option_with_the_tables_applied():
    net = chain_network("South Asia")
    calls = []

    def fake_mc(sites, links):  # a stand-in for the Monte Carlo: fewer lost units with more stock
        calls.append(len(links))
        return 1000.0 - float(sites["inventory_days"].sum())

    res = regionalize(net, expected_loss=fake_mc)
    table = res.option_table()
    stock = table[table["type"] == "stock"]
    assert len(stock) and (stock["expected_loss_reduction"] == stock["stock_days"]).all()
    p = res.to_json()["portfolio"]
    assert p["expected_loss_before"] == pytest.approx(1000.0 - float(net.sites["inventory_days"].sum()))
    assert len(calls) == len(res.options) + 2


def test_worst_case_what_if_is_the_simulation(sample_result):
    from riskmodel.tts import time_to_survive

    net, res = sample_result
    doc = res.to_json()
    p = doc["portfolio"]
    tts = time_to_survive(net).sites
    assert p["worst_case_method"] == "simulation"
    assert p["worst_case_before"] == pytest.approx(tts["lost_units"].max())
    assert p["worst_case_site"] == tts.sort_values("lost_units", ascending=False)["site_id"].iloc[0]
    assert p["worst_case_after"] < p["worst_case_before"]
    table = res.option_table().set_index("option_id")
    ev = OptionEvaluator(net, res.options)
    touching = dict(zip([o.option_id for o in res.options], ev.options_touching(p["worst_case_site"]), strict=True))
    away = [k for k, v in touching.items() if not v]
    assert away and all(table.loc[k, "worst_case_reduction"] == 0.0 for k in away)
    near_stock = [k for k, v in touching.items() if v and table.loc[k, "type"] == "stock"]
    assert near_stock and max(table.loc[k, "worst_case_reduction"] for k in near_stock) > 0


def test_apply_options_reserves_the_capacity_a_qualified_backup_promises(sample_net):
    from riskmodel.options import network_context
    from riskmodel.regionalize import _tables

    net = sample_net
    ctx = network_context(net)
    thr = dict(zip(net.site_ids, ctx.throughput, strict=True))
    opt = {o.option_id: o for o in generate_options(net, context=ctx)}["Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US"]
    sites, links = _tables(net)
    s2, _ = apply_options(sites, links, [opt], throughput=thr)
    surge = float(s2.set_index("site_id").loc["API-CIS-LODI-IT", "surge"])
    assert surge == pytest.approx(opt.links[0].share * thr["FF-CIS-BEDFORD-US"] / thr["API-CIS-LODI-IT"])
    s3, _ = apply_options(sites, links, [opt])  # without throughputs nothing is reserved
    assert float(s3.set_index("site_id").loc["API-CIS-LODI-IT", "surge"]) == 0.0


def test_options_network_puts_options_in_force_for_the_simulation(sample_net):
    from riskmodel.disruption import Disruption
    from riskmodel.regionalize import options_network
    from riskmodel.simulate import simulate

    net = sample_net
    oid = "Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US"
    net2 = options_network(net, [oid])
    assert len(net2.backup_links) == len(net.backup_links) + 1
    shock = Disruption("site:API-CIS-AHMEDABAD-IN", duration_weeks=52)
    before, after = simulate(net, shock), simulate(net2, shock)
    assert after.lost_units < before.lost_units  # the European API source now ships from day 1
    with pytest.raises(KeyError):
        options_network(net, ["Q:NOPE"])


def test_one_analysis_serves_many_budgets():
    from riskmodel.regionalize import Regionalization

    net = chain_network("South Asia")
    analysis = Regionalization(net)
    small, large = analysis.result(0.0), analysis.result(1e12)
    assert small.chosen == [] and small.after.risk == analysis.base.risk
    assert large.after.risk <= small.after.risk
    with pytest.raises(ValueError):
        analysis.result(-1.0)
