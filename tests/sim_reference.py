"""The daily model of docs/model.md ("Disruption over time") written the obvious way: Python dicts over networkx.

One site at a time, one day at a time, in the network's topological order, every rule spelled out. It is the oracle
of tests/test_simulate.py and test_tts.py (the numba kernel must give the same numbers) and the "naive" baseline of
bench/bench_simulate.py. It shares no code with riskmodel.simulate; it only reads the network's tables and graph.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from riskmodel import defaults

TOL = 1e-9  # shortfall below this fraction of daily demand counts as none
FULL = 1.0 - 1e-12  # a supplier shipping this fraction of normal counts as shipping in full


def _attr(node: dict, name: str, kind_default):
    value = node.get(name)
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = float("nan")
    if value != value:  # NaN: the documented default
        value = kind_default.get(node["kind"], 0.0) if isinstance(kind_default, dict) else kind_default
    return max(0.0, value)


def capacity_on(disruptions: list[tuple[set, float, int, int, bool]], site: str, day: int) -> float:
    """The smallest capacity any disruption ``(sites, severity, start, days, linear)`` leaves ``site`` on ``day``."""
    c = 1.0
    for sites, severity, start, days, linear in disruptions:
        if site in sites and start <= day < start + days:
            c = min(c, 1.0 - severity * ((1.0 - (day - start) / days) if linear else 1.0))
    return max(c, 0.0)


def reference_simulate(net, disruptions: list[tuple[set, float, int, int, bool]], horizon: int,
                       order: list[str] | None = None) -> dict:
    """Simulate ``horizon`` days; disruptions as ``(site ids, severity, start day, days, linear)``.

    Returns per-market daily arrays ``inflow``, ``supplied``, ``short``, ``stock`` (dicts market id -> ndarray)
    and ``lost`` (total units).
    """
    g = net.graph
    order = list(net.site_ids) if order is None else order
    pos = {s: i for i, s in enumerate(order)}
    nodes = {s: g.nodes[s] for s in order}
    is_market = {s: nodes[s]["kind"] == "market" for s in order}

    # input groups: customer -> material -> [edge], edge = (supplier, customer, material)
    groups: dict[str, dict[str, list]] = {s: defaultdict(list) for s in order}
    share, lead = {}, {}
    for u, v, m, d in g.edges(keys=True, data=True):
        e = (u, v, m)
        groups[v][m].append(e)
        share[e] = float(d["share"])
        lead[e] = max(0, round(float(d.get("lead_time_days") or 0.0)))
    out_edges = defaultdict(list)
    for v in order:
        for edges in groups[v].values():
            for e in edges:
                out_edges[e[0]].append(e)

    # normal output N (demand-driven, reverse topological order) and normal flows F
    normal = dict.fromkeys(order, 0.0)
    flow = {}
    for v in reversed(order):
        if is_market[v]:
            normal[v] += float(nodes[v]["weekly_demand"]) / 7.0
        for edges in groups[v].values():
            total = sum(share[e] for e in edges)
            for e in edges:
                flow[e] = share[e] / total * normal[v] if total > 0 else 0.0
                normal[e[0]] += flow[e]
    surge = {s: _attr(nodes[s], "surge", defaults.SURGE) for s in order}
    target = {s: _attr(nodes[s], "inventory_days", defaults.INVENTORY_DAYS) * normal[s] for s in order}

    # backup links serving an existing input group
    backups = []
    bl = net.backup_links
    for r in bl.itertuples(index=False):
        u, v, m = str(r.supplier_id), str(r.customer_id), str(r.material)
        if v not in groups or m not in groups[v]:
            continue
        sh = float(r.share) if r.share == r.share and float(r.share) > 0 else 1.0
        lt = max(0, round(float(r.lead_time_days) if r.lead_time_days == r.lead_time_days else 0.0))
        if pos[u] > pos[v]:
            lt = max(lt, 1)
        q = float(r.qualification_weeks) if r.qualification_weeks == r.qualification_weeks else 0.0
        backups.append({"u": u, "v": v, "m": m, "cap": min(sh, 1.0) * normal[v], "lead": lt, "qual": 7 * max(q, 0)})
    backups_in = defaultdict(list)
    backups_out = defaultdict(list)
    for i, b in enumerate(backups):
        backups_in[(b["v"], b["m"])].append(i)
        backups_out[b["u"]].append(i)

    start0 = min((d[2] for d in disruptions), default=0)
    stock = dict(target)
    leftover = defaultdict(float)
    pipeline = defaultdict(float)  # (arrival day, edge) -> amount
    bpipe = defaultdict(float)  # (arrival day, backup index) -> amount
    short_pipe = defaultdict(float)  # (arrival day, edge) -> how much less than normal that delivery is
    for e, f in flow.items():
        for day in range(lead[e]):
            pipeline[(day, e)] = f
    req: dict = {}
    reqb: dict = {}
    markets = [s for s in order if is_market[s]]
    series = {k: {m: np.zeros(horizon) for m in markets} for k in ("inflow", "supplied", "short", "stock")}
    lost = 0.0
    for t in range(horizon):
        new_req, new_reqb, ratio = {}, {}, {}
        for v in order:
            nv = normal[v]
            c = capacity_on(disruptions, v, t)
            avail, gaps = {}, {}
            for m, edges in groups[v].items():
                gaps[m] = sum(short_pipe.pop((t, e), 0.0) for e in edges)
                got = leftover[(v, m)]
                got += sum(pipeline.pop((t, e), 0.0) for e in edges)
                got += sum(bpipe.pop((t, i), 0.0) for i in backups_in[(v, m)])
                avail[m] = got
            a = min(avail.values()) if avail else None
            if is_market[v]:
                a = a or 0.0
                have = a + stock[v]
                supplied = min(nv, have)
                short = nv - supplied
                if short <= TOL * nv:
                    short = 0.0
                stock[v] = have - supplied
                for m in groups[v]:
                    leftover[(v, m)] = max(avail[m] - a, 0.0)
                lost += short
                series["inflow"][v][t] = a / nv
                series["supplied"][v][t] = 1.0 - short / nv
                series["short"][v][t] = short
                series["stock"][v][t] = stock[v]
            else:
                s = surge[v]
                pmax = c * (1 + s) * nv
                if a is not None:
                    pmax = min(pmax, a + s * min(a, nv))
                asked = sum(req.get(e, 0.0) for e in out_edges[v])
                produce = max(0.0, min(pmax, nv + asked + target[v] - stock[v]))
                normal_out = min(nv, produce + stock[v])
                extra = min(produce - nv, asked) if produce > nv else 0.0
                stock[v] = min(max(stock[v] + produce - normal_out - extra, 0.0), target[v])
                if a is not None:
                    for m in groups[v]:
                        leftover[(v, m)] = max(avail[m] - min(produce, a), 0.0)
                r = normal_out / nv if nv > 0 else 1.0
                ratio[v] = 1.0 if r >= FULL else r
                for e in out_edges[v]:
                    amount = flow[e] * ratio[v]
                    if ratio[v] < 1.0:
                        short_pipe[(t + lead[e], e)] += flow[e] * (1.0 - ratio[v])
                    if extra > 0:
                        amount += extra * req.get(e, 0.0) / asked
                    if amount > 0:
                        pipeline[(t + lead[e], e)] += amount
                frac = c if a is None or nv <= 0 else min(c, a / nv)
                for i in backups_out[v]:
                    amount = min(reqb.get(i, 0.0), backups[i]["cap"] * frac)
                    if amount > 0:
                        bpipe[(t + backups[i]["lead"], i)] += amount
            # ask other suppliers (spare capacity) and then qualified backups for what arrived short today
            for m, edges in groups[v].items():
                gap = gaps[m]
                spare = {e: surge[e[0]] * normal[e[0]] for e in edges if ratio[e[0]] >= 1.0 and surge[e[0]] > 0}
                pool = sum(spare.values())
                cover = min(gap, pool)
                for e in edges:
                    new_req[e] = spare[e] * cover / pool if e in spare and cover > 0 else 0.0
                ready = [i for i in backups_in[(v, m)] if t + 1 >= start0 + backups[i]["qual"]]
                pool_b = sum(backups[i]["cap"] for i in ready)
                rest = gap - cover
                for i in ready:
                    if rest > 0 and pool_b > 0:
                        new_reqb[i] = backups[i]["cap"] * min(1.0, rest / pool_b)
        req, reqb = new_req, new_reqb
    return {**series, "lost": lost}


# ------------------------------------------------------------------------------------------------ test networks
SITE_COLUMNS = ["site_id", "name", "kind", "country", "city", "lat", "lon", "operator", "technology", "weekly_demand",
                "inventory_days", "ttr_weeks", "surge", "annual_disruption_prob", "region"]
LINK_COLUMNS = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]


def make_network(sites: dict[str, dict], links: list[tuple], backups: list[tuple] = ()):
    """A :class:`SupplyNetwork` from canonical tables written compactly.

    ``sites``: id -> dict with ``kind`` (``market`` needs ``demand``, units per week), optional ``inv`` (inventory
    days), ``surge``, ``ttr`` (weeks), ``country``, ``region``, ``operator``, ``lat``, ``lon``. ``links``: tuples
    ``(supplier, customer, material, share, lead_days)``; ``backups``: ``(supplier, customer, material, share,
    lead_days, qualification_weeks)``.
    """
    import pandas as pd

    from riskmodel.network import SupplyNetwork

    rows = []
    for sid, a in sites.items():
        market = a["kind"] == "market"
        rows.append({
            "site_id": sid, "name": a.get("name", sid), "kind": a["kind"], "country": a.get("country", "USA"),
            "city": "", "lat": a.get("lat", 40.0), "lon": a.get("lon", -75.0), "operator": a.get("operator", "Op"),
            "technology": "", "weekly_demand": float(a["demand"]) if market else np.nan,
            "inventory_days": float(a.get("inv", 0.0)), "ttr_weeks": float(a.get("ttr", 4.0)),
            "surge": float(a.get("surge", 0.0)), "annual_disruption_prob": 0.0,
            "region": a.get("region", "North America")})
    lk = [(s, c, m, float(sh), float(lt), "active", 0.0) for s, c, m, sh, lt in links]
    lk += [(s, c, m, float(sh), float(lt), "backup", float(q)) for s, c, m, sh, lt, q in backups]
    return SupplyNetwork(pd.DataFrame(rows, columns=SITE_COLUMNS), pd.DataFrame(lk, columns=LINK_COLUMNS))


def random_network_strategy(reactions: bool = True):
    """A hypothesis strategy of small layered AND/OR networks with stock, surge, lead times and backups.

    Draws ``(network, supply site ids)``. With ``reactions=False`` no site has spare capacity and there is no backup
    link: nothing reacts to a disruption, so the model is monotone day by day.
    """
    from hypothesis import strategies as st

    @st.composite
    def draw_network(draw):
        n_layers = draw(st.integers(2, 4))
        sizes = [draw(st.integers(1, 4)) for _ in range(n_layers - 1)] + [draw(st.integers(1, 3))]
        layers = [[f"L{d}S{i}" for i in range(s)] for d, s in enumerate(sizes)]
        sites = {}
        for d, layer in enumerate(layers):
            for sid in layer:
                if d == n_layers - 1:
                    sites[sid] = {"kind": "market", "demand": draw(st.sampled_from([7.0, 70.0, 350.0])),
                                  "inv": draw(st.sampled_from([0.0, 3.0, 10.0]))}
                else:
                    sites[sid] = {"kind": "api", "inv": draw(st.sampled_from([0.0, 0.0, 2.0, 5.0, 12.0])),
                                  "surge": draw(st.sampled_from([0.0, 0.0, 0.2, 0.5])) if reactions else 0.0,
                                  "ttr": draw(st.sampled_from([1.0, 2.0, 4.0]))}
        links, seen = [], set()
        for d in range(1, n_layers):
            earlier = [s for layer in layers[:d] for s in layer]
            for cust in layers[d]:
                n_mat = draw(st.integers(0 if d < n_layers - 1 else 1, 2))
                for m in range(n_mat):
                    sups = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3, unique=True))
                    for s in sups:
                        if (s, cust, f"m{m}") not in seen:
                            seen.add((s, cust, f"m{m}"))
                            links.append((s, cust, f"m{m}", draw(st.sampled_from([0.2, 0.5, 1.0])),
                                          draw(st.sampled_from([0.0, 0.0, 1.0, 2.0, 4.6]))))
        supply = [s for layer in layers[:-1] for s in layer]
        backups = []
        for (s, c, m, _sh, _lt) in links[: draw(st.integers(0, 3)) if reactions else 0]:
            b = draw(st.sampled_from(supply))
            if b not in (s, c) and (b, c, m) not in seen:
                seen.add((b, c, m))
                backups.append((b, c, m, draw(st.sampled_from([0.1, 0.5, 1.0])), draw(st.sampled_from([0.0, 3.0])),
                                draw(st.sampled_from([0.0, 0.5, 1.0]))))
        return make_network(sites, links, backups), supply

    return draw_network()
