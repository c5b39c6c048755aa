"""Regionalization options (PRODUCT.md section 3.4): what could raise resilience, with its cost and lead time.

This module owns the option catalogue and its costing:

* :class:`CostParameters` - the documented, overridable defaults for costs the data does not hold (qualification cost
  of a backup source by tier, carrying-cost rate of stock, unit value by product class, planning horizon). Every
  number is a judgement and says so; ``docs/regionalization.md`` gives the grounding.
* :class:`Option` / :class:`OptionLink` - one option: the supply links it adds (after its lead time), a new site's
  own row and inputs, extra stock days, cost, precedence (``requires``), mutual exclusion (``excludes``) and the
  spare capacity it draws on.
* :func:`generate_options` - the three kinds of option:

  - ``qualify_backup``: the known alternates of the data (``backup`` links) qualified now, so that they count from
    the first day of a disruption (lead time: their ``qualification_weeks``; share: their ``share``); and an
    existing site that becomes a qualified backup source of one input (customer, material) of a site whose supply
    comes from outside the customer's region or from a single source. The backup source is of
    the same kind as the current producers (looking through logistics hubs), inside the customer's region, has
    ``surge`` capacity, and could make the material: it already ships it, or it shares a non-empty ``technology``
    with the current producers (a technology transfer, longer and dearer). It covers
    ``min(1, surge * throughput(source) / throughput(customer))`` of the customer's need.
  - ``new_site``: a row of the optional ``candidates`` table (:mod:`riskmodel.candidates`). It would supply every
    customer in its region that buys its material (or any material) from sites of its kind and technology, up to
    ``capacity_share`` of each one's need, and it buys its own inputs like the most similar existing site.
  - ``stock``: extra days of stock at a distribution site or a market, costed by the carrying-cost rate.

* :func:`apply_options` - the dataset tables with options applied, for the what-if simulation (section 3.2).

Throughputs are in market units per week: the demand of every market weighted by the fraction of its supply that
passes through the site (:func:`riskmodel.concentration.flow_fractions`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from riskmodel.network import SupplyNetwork
from riskmodel.schema import KINDS

__all__ = ["OPTION_TYPES", "CostParameters", "Option", "OptionLink", "apply_options", "generate_options",
           "network_context"]

OPTION_TYPES = ("qualify_backup", "new_site", "stock")
_LOOK_THROUGH = "logistics"


def _default_qualification_cost() -> dict[str, float]:
    return {
        "raw_material": 150_000.0,  # judgement: supplier audit, incoming testing, change filing
        "api": 500_000.0,  # judgement: validation batches, stability data, DMF reference, prior-approval supplement
        "cmo": 400_000.0,  # judgement: technology transfer of an oral solid, validation batches, filing
        "fill_finish": 750_000.0,  # judgement: sterile transfer, media fills, validation batches, filing
        "packaging": 100_000.0,  # judgement
        "logistics": 50_000.0,  # judgement: a new route or hub contract
        "distribution": 50_000.0,  # judgement: a second wholesaler contract
    }


def _default_unit_value() -> dict[str, float]:
    return {  # judgement: rough list price of one market unit, by product class (the fill-finish technology)
        "lvp_bag": 1.5,  # a 100 mL saline bag
        "bfs": 0.5,  # a Blow-Fill-Seal ampoule
        "aseptic_vial": 10.0,  # a generic injectable vial
        "lyophilized": 100.0,  # a lyophilized vial (biologic)
        "prefilled_syringe": 300.0,  # a biologic prefilled syringe
        "cmo": 5.0,  # a pack of generic tablets
        "default": 10.0,
    }


@dataclass(frozen=True)
class CostParameters:
    """Costs and rules the data does not hold: documented defaults, every one a judgement, all overridable.

    Costs are in one currency (``currency``, USD by default). An option's ``cost`` is its one-off cost plus its
    yearly cost over ``horizon_years``: the amount a budget is compared with.

    Attributes
    ----------
    currency : str
        Label of the cost unit.
    horizon_years : float
        Planning horizon over which yearly costs count (5 years: a typical strategic-sourcing horizon).
    qualification_cost : dict
        One-off cost of qualifying an existing site as a backup source, by the tier (site kind) of the source.
    technology_transfer_factor : float
        Multiplier of the qualification cost when the source does not make the material yet (2: a transfer needs
        development and more validation batches).
    backup_annual_cost : float
        Yearly cost of keeping a qualified backup alive (audits, stability, keeping the filing current, minimum
        orders): 50,000.
    qualification_weeks_same_material, qualification_weeks_new_material : float
        Lead time of a backup qualification: 26 weeks when the source already makes the material (FDA
        prior-approval supplement without inspection, 6-month review goal, GDUFA), 43 weeks when it must be
        transferred (10-month goal with an inspection, GDUFA). REFERENCE-FACTS.
    min_backup_share, max_backup_share : float
        Backup sources covering less than ``min_backup_share`` of the need are not offered; shares are capped at
        ``max_backup_share``.
    max_sources_per_input : int
        At most this many backup sources are offered per input (customer, material), the largest first.
    carrying_cost_rate : float
        Yearly cost of holding stock, as a fraction of its value (0.25: capital, storage, insurance, expiry; the
        usual textbook range is 20-30%).
    unit_value : dict
        Value of one market unit by product class: the ``technology`` of the fill-finish sites behind the market,
        ``cmo`` for drug products without a fill-finish tier, ``default`` otherwise.
    unit_value_by_material : dict
        Exact material name -> value of one unit; overrides ``unit_value``.
    stock_days : tuple of float
        Extra stock levels offered at each distribution site and market (mutually exclusive per site).
    stock_build_share : float
        Share of the normal flow that can go to building extra stock: ``days / (7 * share)`` weeks of lead time.
    candidate_horizon_years : float or None
        Horizon for candidate sites' ``annual_cost`` (None: ``horizon_years``).

    Examples
    --------
    >>> p = CostParameters(horizon_years=3)
    >>> p.total_cost(100.0, 10.0)
    130.0
    """

    currency: str = "USD"
    horizon_years: float = 5.0
    qualification_cost: dict = field(default_factory=_default_qualification_cost)
    technology_transfer_factor: float = 2.0
    backup_annual_cost: float = 50_000.0
    qualification_weeks_same_material: float = 26.0
    qualification_weeks_new_material: float = 43.0
    min_backup_share: float = 0.05
    max_backup_share: float = 1.0
    max_sources_per_input: int = 3
    carrying_cost_rate: float = 0.25
    unit_value: dict = field(default_factory=_default_unit_value)
    unit_value_by_material: dict = field(default_factory=dict)
    stock_days: tuple = (14.0, 28.0)
    stock_build_share: float = 0.25
    candidate_horizon_years: float | None = None

    def total_cost(self, one_off: float, yearly: float, years: float | None = None) -> float:
        """One-off cost plus the yearly cost over the horizon."""
        return float(one_off) + float(yearly) * float(self.horizon_years if years is None else years)


@dataclass(frozen=True)
class OptionLink:
    """A supply relationship an option adds: ``share`` of the customer's need of ``material`` (see docs)."""

    supplier_id: str
    customer_id: str
    material: str
    share: float
    lead_time_days: float = 0.0


@dataclass(frozen=True)
class Option:
    """One way to raise resilience, with what it changes, what it costs and how long it takes.

    ``links`` act as extra capacity once the option is in force (after ``lead_time_weeks``): in the static model a
    customer's supply of the material becomes ``min(1, sum of active shares * x + share * x_backup)``, so the normal
    state is unchanged and a failed primary is offset. ``site`` and ``inputs`` describe a new site (its row, and the
    input links it buys through). ``stock_days`` is extra stock at ``site_id``. ``requires`` / ``excludes`` hold
    option ids; options with the same ``capacity_key`` share one source's spare capacity (``capacity_limit`` weekly
    units, of which this option reserves ``capacity_use``).
    """

    option_id: str
    type: str
    site_id: str
    material: str
    region: str
    capex: float
    annual_cost: float
    cost: float
    lead_time_weeks: float
    description: str
    links: tuple[OptionLink, ...] = ()
    inputs: tuple[OptionLink, ...] = ()
    site: dict | None = None
    stock_days: float = 0.0
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    capacity_key: str = ""
    capacity_use: float = 0.0
    capacity_limit: float = math.inf

    @property
    def customers(self) -> tuple[str, ...]:
        """Ids of the sites whose supply the option's links add to (in order, without repeats)."""
        return tuple(dict.fromkeys(lk.customer_id for lk in self.links))

    def to_dict(self) -> dict:
        """JSON-ready description (ids, cost, lead time, links)."""
        return {
            "option_id": self.option_id, "type": self.type, "site_id": self.site_id, "material": self.material,
            "region": self.region, "capex": self.capex, "annual_cost": self.annual_cost, "cost": self.cost,
            "lead_time_weeks": self.lead_time_weeks, "description": self.description,
            "links": [{"supplier_id": lk.supplier_id, "customer_id": lk.customer_id, "material": lk.material,
                       "share": lk.share} for lk in self.links],
            "stock_days": self.stock_days, "requires": list(self.requires), "excludes": list(self.excludes),
        }


# ------------------------------------------------------------------------------------------------ network context
@dataclass
class NetworkContext:
    """Per-site facts the options and their scoring share, computed once per network (:func:`network_context`)."""

    flow: sp.csr_matrix  # (sites x markets) fraction of each market's supply through each site
    throughput: np.ndarray  # market units per week through each site
    kind: np.ndarray
    technology: np.ndarray
    region: np.ndarray
    country: np.ndarray
    surge: np.ndarray
    market_region: np.ndarray
    regions: list[str]
    feeds_region: np.ndarray  # (sites x regions) bool: the site supplies some market of that region
    product_class: np.ndarray  # per site: the unit-value class of what it ships
    makes: list[set]  # materials each site ships (active and backup links)
    _adjacency: sp.csr_matrix = field(repr=False, default=None)
    _below: dict = field(repr=False, default_factory=dict)

    def reaches(self, src: int, dst: int) -> bool:
        """True when site ``src`` supplies ``dst`` through some path of active links (indices are topological)."""
        if dst <= src:
            return dst == src
        if src not in self._below:
            order = breadth_first_order(self._adjacency, src, directed=True, return_predecessors=False)
            self._below[src] = set(order.tolist())
        return dst in self._below[src]


def network_context(net: SupplyNetwork, flow: sp.spmatrix | None = None) -> NetworkContext:
    """Flow fractions, throughputs, regions and product classes of a network's sites.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    flow : scipy.sparse matrix, optional
        :func:`riskmodel.concentration.flow_fractions` of ``net`` if already computed.

    Returns
    -------
    NetworkContext

    Examples
    --------
    >>> ctx = network_context(net)  # doctest: +SKIP
    >>> ctx.throughput[net.market_index] == net.demand[net.market_index]  # doctest: +SKIP
    """
    from riskmodel.concentration import flow_fractions

    flow = sp.csr_matrix(flow_fractions(net) if flow is None else flow)
    s = net.sites
    d_market = net.demand[net.market_index]
    throughput = np.asarray(flow @ d_market).ravel()
    col = lambda name: (s[name] if name in s else pd.Series("", index=s.index)).fillna("").astype(str).to_numpy()  # noqa: E731
    kind, tech, region, country = col("kind"), col("technology"), col("region"), col("country")
    surge = pd.to_numeric(s["surge"], errors="coerce").fillna(0.0).to_numpy() if "surge" in s else np.zeros(len(s))
    market_region = region[net.market_index]
    regions = sorted(set(market_region.tolist()))
    feeds = np.zeros((net.n_sites, len(regions)), dtype=bool)
    for j, r in enumerate(regions):
        cols = np.flatnonzero(market_region == r)
        feeds[:, j] = np.asarray((flow[:, cols] > 0).sum(axis=1)).ravel() > 0

    # product class of each market: technology of its main fill-finish site, else "cmo" if a cmo feeds it
    fc = flow.tocsc()
    m_class = np.full(len(net.market_index), "default", dtype=object)
    for j in range(len(net.market_index)):
        rows, vals = fc.indices[fc.indptr[j]:fc.indptr[j + 1]], fc.data[fc.indptr[j]:fc.indptr[j + 1]]
        ff = (kind[rows] == "fill_finish") & (tech[rows] != "")
        if ff.any():
            by_tech: dict[str, float] = defaultdict(float)
            for t, v in zip(tech[rows][ff], vals[ff], strict=True):
                by_tech[t] += v
            m_class[j] = max(sorted(by_tech), key=lambda t: by_tech[t])
        elif (kind[rows] == "cmo").any():
            m_class[j] = "cmo"
    # every site: the class of the market it ships most to (in units)
    weighted = flow.multiply(d_market[None, :]).tocsr()
    product_class = np.full(net.n_sites, "default", dtype=object)
    for v in range(net.n_sites):
        lo, hi = weighted.indptr[v], weighted.indptr[v + 1]
        if hi > lo:
            product_class[v] = m_class[weighted.indices[lo + int(np.argmax(weighted.data[lo:hi]))]]

    makes: list[set] = [set() for _ in range(net.n_sites)]
    both = [net.links[["supplier_id", "material"]]]
    if len(net.backup_links):
        both.append(net.backup_links[["supplier_id", "material"]])
    all_links = pd.concat(both, ignore_index=True)
    for sid, mat in zip(net.index_of(all_links["supplier_id"].to_numpy()), all_links["material"].astype(str),
                        strict=True):
        if sid >= 0:
            makes[sid].add(mat)
    return NetworkContext(flow=flow, throughput=throughput, kind=kind, technology=tech, region=region,
                          country=country, surge=surge, market_region=market_region, regions=regions,
                          feeds_region=feeds, product_class=product_class, makes=makes,
                          _adjacency=net.adjacency.tocsr())


# ------------------------------------------------------------------------------------------------ input groups
@dataclass
class _Group:
    """One input (customer, material) of the active links, with its effective producers (hubs looked through)."""

    customer: int
    material: str
    suppliers: list[int]
    producers: list[int]
    kind: str
    technologies: set
    lead_time_days: float


def _groups(net: SupplyNetwork, ctx: NetworkContext) -> list[_Group]:
    out = []
    lead = net.links["lead_time_days"].to_numpy(np.float64)
    for g in range(net.n_groups):
        lo, hi = net.group_link_ptr[g], net.group_link_ptr[g + 1]
        sup = net.link_supplier[lo:hi].tolist()
        mat = str(net.group_material[g])
        producers = _producers(net, ctx, sup, mat)
        kinds = Counter(ctx.kind[p] for p in producers)
        kind = min(kinds, key=lambda k: (-kinds[k], KINDS.index(k) if k in KINDS else 99))
        techs = {ctx.technology[p] for p in producers if ctx.technology[p]}
        out.append(_Group(int(net.group_site[g]), mat, sup, producers, kind, techs, float(np.median(lead[lo:hi]))))
    return out


def _producers(net: SupplyNetwork, ctx: NetworkContext, suppliers: list[int], material: str, depth: int = 8) -> list:
    """The suppliers, with logistics hubs replaced by the sites behind them (of the same material when they have it)."""
    out: list[int] = []
    stack = [(s, 0) for s in suppliers]
    seen = set()
    while stack:
        s, d = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        if ctx.kind[s] != _LOOK_THROUGH or d >= depth or net.site_group_ptr[s] == net.site_group_ptr[s + 1]:
            out.append(s)
            continue
        groups = range(net.site_group_ptr[s], net.site_group_ptr[s + 1])
        same = [g for g in groups if str(net.group_material[g]) == material]
        for g in same or groups:
            stack.extend((int(u), d + 1) for u in net.link_supplier[net.group_link_ptr[g]:net.group_link_ptr[g + 1]])
    return sorted(set(out))


def _all_suppliers(net: SupplyNetwork) -> dict[tuple[str, str], set]:
    """(customer id, material) -> supplier ids, active and backup."""
    out: dict[tuple[str, str], set] = defaultdict(set)
    for frame in (net.links, net.backup_links):
        for s, c, m in zip(frame["supplier_id"].astype(str), frame["customer_id"].astype(str),
                           frame["material"].astype(str), strict=True):
            out[(c, m)].add(s)
    return out


# ------------------------------------------------------------------------------------------------ generation
def _qualify_options(net: SupplyNetwork, ctx: NetworkContext, groups: list[_Group], p: CostParameters) -> list[Option]:
    ids = net.site_ids
    region_col = {r: j for j, r in enumerate(ctx.regions)}
    eligible = np.flatnonzero(~net.is_market & (ctx.surge > 0) & (ctx.throughput > 0))
    bucket: dict[tuple[str, str], list[int]] = defaultdict(list)
    for u in eligible.tolist():
        bucket[(ctx.kind[u], ctx.region[u])].append(u)
    existing = _all_suppliers(net)
    out_lead = defaultdict(list)
    for s, lt in zip(net.link_supplier.tolist(), net.links["lead_time_days"].tolist(), strict=True):
        out_lead[s].append(lt)
    options: list[Option] = []
    for g in groups:
        v, R = g.customer, ctx.region[g.customer]
        need = ctx.throughput[v]
        if R not in region_col or not ctx.feeds_region[v, region_col[R]] or need <= 0:
            continue
        outside = any(ctx.region[u] != R for u in g.producers + g.suppliers)
        sole = len(existing[(ids[v], g.material)]) == 1
        if not (outside or sole):
            continue
        taken = existing[(ids[v], g.material)]
        found = []
        for u in bucket.get((g.kind, R), ()):
            if u == v or ids[u] in taken or u in g.producers:
                continue
            same = g.material in ctx.makes[u]
            if not same and not (ctx.technology[u] and ctx.technology[u] in g.technologies):
                continue
            share = min(p.max_backup_share, ctx.surge[u] * ctx.throughput[u] / need)
            if share < p.min_backup_share or ctx.reaches(v, u):
                continue
            found.append((not same, -share, ids[u], u, share, same))
        for _, _, _, u, share, same in sorted(found)[: p.max_sources_per_input]:
            weeks = p.qualification_weeks_same_material if same else p.qualification_weeks_new_material
            one_off = p.qualification_cost.get(g.kind, max(p.qualification_cost.values())) * (
                1.0 if same else p.technology_transfer_factor)
            lead = float(np.median(out_lead[u])) if out_lead[u] else g.lead_time_days
            why = "its supply comes from outside " + R if outside else "it has a single source"
            how = "already makes it" if same else f"technology transfer ({ctx.technology[u]})"
            options.append(Option(
                option_id=f"Q:{ids[u]}>{ids[v]}", type="qualify_backup", site_id=str(ids[u]), material=g.material,
                region=R, capex=one_off, annual_cost=p.backup_annual_cost,
                cost=p.total_cost(one_off, p.backup_annual_cost), lead_time_weeks=weeks,
                description=(f"Qualify {ids[u]} ({ctx.country[u]}, {how}) as a backup source of '{g.material}' for "
                             f"{ids[v]} ({ctx.country[v]}): {share:.0%} of its need, {weeks:g} weeks; {why}"),
                links=(OptionLink(str(ids[u]), str(ids[v]), g.material, float(share), lead),),
                capacity_key=f"surge:{ids[u]}", capacity_use=float(share * need),
                capacity_limit=float(ctx.surge[u] * ctx.throughput[u])))
    seen: Counter = Counter()
    unique = []
    for o in options:  # one id per (source, customer); a second material gets a suffix
        seen[o.option_id] += 1
        unique.append(o if seen[o.option_id] == 1 else _replace(o, option_id=f"{o.option_id}#{seen[o.option_id]}"))
    return unique


def _declared_backup_options(net: SupplyNetwork, ctx: NetworkContext, p: CostParameters) -> list[Option]:
    """Qualify now the known alternates of the data (``backup`` links): they then count from the first day."""
    options = []
    bl = net.backup_links
    sup, cus = net.index_of(bl["supplier_id"].to_numpy()), net.index_of(bl["customer_id"].to_numpy())
    for r, (u, v) in enumerate(zip(sup.tolist(), cus.tolist(), strict=True)):
        if u < 0 or v < 0 or ctx.reaches(v, u):
            continue  # a backup that would close a loop of active links cannot be modelled statically
        m, share = str(bl["material"].iat[r]), float(bl["share"].iat[r])
        weeks = float(bl["qualification_weeks"].iat[r])
        one_off = p.qualification_cost.get(ctx.kind[u], max(p.qualification_cost.values()))
        options.append(Option(
            option_id=f"Q:{net.site_ids[u]}>{net.site_ids[v]}", type="qualify_backup", site_id=str(net.site_ids[u]),
            material=m, region=str(ctx.region[v]), capex=one_off, annual_cost=p.backup_annual_cost,
            cost=p.total_cost(one_off, p.backup_annual_cost), lead_time_weeks=weeks,
            description=(f"Complete the qualification of the known alternate {net.site_ids[u]} ({ctx.country[u]}) for "
                         f"'{m}' at {net.site_ids[v]} ({ctx.country[v]}): {share:.0%} of its need, ready from the "
                         f"first day of a disruption instead of after {weeks:g} weeks"),
            links=(OptionLink(str(net.site_ids[u]), str(net.site_ids[v]), m, share,
                              float(bl["lead_time_days"].iat[r])),)))
    return options


def _replace(o: Option, **changes) -> Option:
    from dataclasses import replace

    return replace(o, **changes)


def _candidate_options(net: SupplyNetwork, ctx: NetworkContext, groups: list[_Group], candidates: pd.DataFrame,
                       p: CostParameters) -> list[Option]:
    ids = net.site_ids
    region_col = {r: j for j, r in enumerate(ctx.regions)}
    years = p.candidate_horizon_years
    plans = []
    for c in candidates.to_dict("records"):
        kind, tech = str(c["kind"]), str(c.get("technology", "") or "")
        mat, R = str(c.get("material", "") or ""), str(c["region"])
        # inputs: copied from the most similar existing site (same kind, technology, material; same region first)
        like = [u for u in range(net.n_sites) if ctx.kind[u] == kind and not net.is_market[u]
                and (not tech or ctx.technology[u] == tech) and (not mat or mat in ctx.makes[u])]
        template = min(like, key=lambda u: (ctx.region[u] != R, -ctx.throughput[u], ids[u])) if like else None
        inputs = []
        if template is not None:
            for g in range(net.site_group_ptr[template], net.site_group_ptr[template + 1]):
                lo, hi = net.group_link_ptr[g], net.group_link_ptr[g + 1]
                for e in range(lo, hi):
                    inputs.append(OptionLink(str(ids[net.link_supplier[e]]), str(c["site_id"]),
                                             str(net.group_material[g]), float(net.link_share[e]),
                                             float(net.links["lead_time_days"].iat[e])))
        input_idx = [int(i) for i in net.index_of([lk.supplier_id for lk in inputs])] if inputs else []
        links = []
        for g in groups:
            v = g.customer
            if ctx.region[v] != R or g.kind != kind or (mat and g.material != mat) or ctx.throughput[v] <= 0:
                continue
            if R not in region_col or not ctx.feeds_region[v, region_col[R]]:
                continue
            if tech and g.technologies and tech not in g.technologies:
                continue
            if any(ctx.reaches(v, u) for u in input_idx):
                continue  # the new site buys from a site this customer supplies: a cycle
            links.append(OptionLink(str(c["site_id"]), str(ids[v]), g.material, float(c["capacity_share"]),
                                    g.lead_time_days))
        plans.append((c, kind, tech, mat, R, template, inputs, links))
    # candidates supplying candidates (a new API plant for a new fill-finish site), upstream kinds only: no cycle
    by_id = {str(pl[0]["site_id"]): pl for pl in plans}
    for c, kind, _tech, mat, R, _, _, links in plans:
        for other, okind, _, _, oR, _, oinputs, _ in by_id.values():
            if oR != R or KINDS.index(kind) >= KINDS.index(okind) or other["site_id"] == c["site_id"]:
                continue
            for m in sorted({lk.material for lk in oinputs}):
                sup_kinds = Counter(ctx.kind[int(net.index_of([lk.supplier_id])[0])]
                                    for lk in oinputs if lk.material == m)
                if sup_kinds.most_common(1)[0][0] == kind and (not mat or mat == m):
                    links.append(OptionLink(str(c["site_id"]), str(other["site_id"]), m, float(c["capacity_share"])))
    options = []
    for c, kind, _tech, mat, R, template, inputs, links in plans:
        capex, annual = float(c["capex"]), float(c["annual_cost"])
        served = ", ".join(sorted({lk.customer_id for lk in links})[:4]) or "no customer (check kind/material)"
        site = {k: c[k] for k in ("site_id", "name", "kind", "country", "city", "lat", "lon", "operator", "technology",
                                  "inventory_days", "ttr_weeks", "surge", "annual_disruption_prob", "region")}
        site["weekly_demand"] = np.nan
        options.append(Option(
            option_id=f"N:{c['site_id']}", type="new_site", site_id=str(c["site_id"]),
            material=mat or ", ".join(sorted({lk.material for lk in links})), region=R, capex=capex,
            annual_cost=annual, cost=p.total_cost(capex, annual, years),
            lead_time_weeks=float(c["qualification_weeks"]),
            description=(f"New {kind} site {c['site_id']} ({c['country']}): up to {float(c['capacity_share']):.0%} of "
                         f"the need of {served}{' ...' if len({lk.customer_id for lk in links}) > 4 else ''}"
                         + (f"; inputs bought like {ids[template]}" if template is not None else "; no inputs")),
            links=tuple(links), inputs=tuple(inputs), site=site,
            requires=tuple(f"N:{r}" for r in str(c.get("requires", "") or "").split(";") if r),
            excludes=tuple(f"N:{r}" for r in str(c.get("excludes", "") or "").split(";") if r)))
    return options


def _stock_options(net: SupplyNetwork, ctx: NetworkContext, p: CostParameters) -> list[Option]:
    ids = net.site_ids
    out_mat: dict[int, set] = defaultdict(set)
    for s, m in zip(net.link_supplier.tolist(), net.links["material"].astype(str), strict=True):
        out_mat[s].add(m)
    in_mat: dict[int, set] = defaultdict(set)
    for c, m in zip(net.links["customer"].tolist(), net.links["material"].astype(str), strict=True):
        in_mat[c].add(m)
    options = []
    for z in np.flatnonzero(np.isin(ctx.kind, ["distribution", "market"]) & (ctx.throughput > 0)).tolist():
        mats = out_mat[z] if ctx.kind[z] != "market" else in_mat[z]
        material = next(iter(mats)) if len(mats) == 1 else ""
        value = p.unit_value_by_material.get(material, p.unit_value.get(ctx.product_class[z], p.unit_value["default"]))
        daily = ctx.throughput[z] / 7.0
        levels = [float(d) for d in p.stock_days]
        group = [f"S:{ids[z]}+{d:g}d" for d in levels]
        for d, oid in zip(levels, group, strict=True):
            yearly = d * daily * value * p.carrying_cost_rate
            options.append(Option(
                option_id=oid, type="stock", site_id=str(ids[z]), material=material, region=str(ctx.region[z]),
                capex=0.0, annual_cost=float(yearly), cost=p.total_cost(0.0, yearly),
                lead_time_weeks=d / (7.0 * p.stock_build_share),
                description=(f"Hold {d:g} more days of stock at {ids[z]} ({ctx.country[z]}): {d * daily:,.0f} units "
                             f"worth {d * daily * value:,.0f} {p.currency}, carried at {p.carrying_cost_rate:.0%} a "
                             "year"),
                stock_days=d, excludes=tuple(g for g in group if g != oid)))
    return options


def generate_options(net: SupplyNetwork, candidates: pd.DataFrame | None = None,
                     params: CostParameters | None = None, *, context: NetworkContext | None = None,
                     stock: bool = True) -> list[Option]:
    """Every option for a network: backup qualifications, candidate new sites, extra stock.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    candidates : DataFrame, optional
        A validated candidates table (:func:`riskmodel.candidates.load_candidates`).
    params : CostParameters, optional
        Cost defaults (documented in ``docs/regionalization.md``).
    context : NetworkContext, optional
        :func:`network_context` of ``net`` if already computed.
    stock : bool
        Offer stock options (default True).

    Returns
    -------
    list of Option
        Qualifications (``Q:source>customer``), new sites (``N:site_id``), stock (``S:site_id+14d``).

    Examples
    --------
    >>> opts = generate_options(net)  # doctest: +SKIP
    >>> sorted({o.type for o in opts})  # doctest: +SKIP
    ['qualify_backup', 'stock']
    """
    p = params or CostParameters()
    ctx = context or network_context(net)
    groups = _groups(net, ctx)
    out = _declared_backup_options(net, ctx, p) + _qualify_options(net, ctx, groups, p)
    if candidates is not None and len(candidates):
        out += _candidate_options(net, ctx, groups, candidates, p)
    if stock:
        out += _stock_options(net, ctx, p)
    return out


# ------------------------------------------------------------------------------------------------ applying
def apply_options(sites: pd.DataFrame, links: pd.DataFrame, options, *,
                  throughput: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dataset tables with options in force, for the what-if simulation.

    A qualified backup becomes a ``backup`` link with ``qualification_weeks`` 0 (the option's lead time is spent
    before the disruption) and its ``share``; a new site becomes a site row, its input links (``active``) and its
    supply links (``backup``, qualification 0); extra stock adds to ``inventory_days``.

    In the simulation a backup ships from its source's spare capacity (``surge`` times its normal output). Qualifying
    a backup includes reserving the capacity its share promises: with ``throughput`` (weekly units per site id, as
    :attr:`NetworkContext.throughput`) the source's ``surge`` is raised, where needed, to
    ``sum of share * throughput(customer) / throughput(source)`` over its qualified links.

    Parameters
    ----------
    sites, links : DataFrame
        Canonical tables (``report.sites``/``report.links`` or ``net.sites`` with ``net.links`` and
        ``net.backup_links``).
    options : iterable of Option
    throughput : dict, optional
        Weekly throughput per site id, to reserve backup capacity (see above).

    Returns
    -------
    (DataFrame, DataFrame)
        New tables; the inputs are not modified.

    Examples
    --------
    >>> s, lk = apply_options(sites, links, [opt])  # doctest: +SKIP
    """
    sites = sites.copy()
    cols = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]
    links = links[[c for c in cols if c in links.columns]].copy()
    new_sites, new_links = [], []
    reserve: dict[str, float] = defaultdict(float)
    for o in options:
        if o.type == "stock":
            hit = sites["site_id"].astype(str).eq(o.site_id)
            sites.loc[hit, "inventory_days"] = sites.loc[hit, "inventory_days"].astype(float) + o.stock_days
            continue
        if o.site is not None:
            new_sites.append({k: o.site.get(k) for k in sites.columns if k in o.site})
            new_links += [{"supplier_id": lk.supplier_id, "customer_id": lk.customer_id, "material": lk.material,
                           "share": lk.share, "lead_time_days": lk.lead_time_days, "status": "active",
                           "qualification_weeks": 0.0} for lk in o.inputs]
        elif throughput is not None:
            for lk in o.links:
                reserve[lk.supplier_id] += lk.share * float(throughput.get(lk.customer_id, 0.0))
        new_links += [{"supplier_id": lk.supplier_id, "customer_id": lk.customer_id, "material": lk.material,
                       "share": lk.share, "lead_time_days": lk.lead_time_days, "status": "backup",
                       "qualification_weeks": 0.0} for lk in o.links]
    if reserve and "surge" in sites.columns:
        ids = sites["site_id"].astype(str)
        for sid, units in reserve.items():
            own = float(throughput.get(sid, 0.0))
            if own > 0:
                hit = ids.eq(sid)
                current = pd.to_numeric(sites.loc[hit, "surge"], errors="coerce").fillna(0.0)
                sites.loc[hit, "surge"] = np.maximum(current, units / own)
    if new_sites:
        sites = pd.concat([sites, pd.DataFrame(new_sites)], ignore_index=True)
    if new_links:
        known = set(sites["site_id"].astype(str))  # a link to a new site that is not applied is left out
        new_links = [lk for lk in new_links if lk["supplier_id"] in known and lk["customer_id"] in known]
        links = pd.concat([links, pd.DataFrame(new_links, columns=links.columns)], ignore_index=True)
    return sites.reset_index(drop=True), links.reset_index(drop=True)
