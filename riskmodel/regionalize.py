"""Regionalization analysis (PRODUCT.md section 3.4): self-sufficiency of each market, scoring of options, the chosen
portfolio and the cost-against-risk frontier.

This module owns the regionalization figures and how options are scored:

* :func:`self_sufficiency` - each market's supply fraction when every site outside its region is lost (a trade
  cut-off, section 3.1 propagation), with the outside-region share and country concentration per tier
  (:func:`riskmodel.concentration.concentration`).
* :class:`OptionEvaluator` - exact static evaluation of any set of options (:mod:`riskmodel.options`) over the
  scenarios that make up the risk: every supply site failing alone (for its ``ttr_weeks``, with its
  ``annual_disruption_prob``) and each market region cut off from the rest of the world (``trade_cutoff_weeks``,
  ``trade_cutoff_annual_prob``). All options live in **one augmented network** built once: a new backup source
  ``u -> v`` enters through a *gate* site (input: ``u``, share 1; output: ``share`` of ``v``'s need of the material),
  a candidate site is a site with the inputs of its template and links to its customers. An option that is not in
  a set is switched off by failing its gate (or candidate site) in the scenario, so a set of options is just a few
  more failed sites and every evaluation is one batched propagation (:mod:`riskmodel.propagate`: cones for
  single-site failures, dense passes for regional cut-offs). A scenario only switches off the options it can change
  (a supplier of an input they add to loses supply in it), and a single option's score only re-propagates those
  scenarios. Stock is credited in closed form.
* :func:`regionalize` - options, their scores (change in risk, total exposure, each market's self-sufficiency, the
  worst single-site what-if, and a hook for the Monte Carlo expected loss), the portfolio for a budget
  (:mod:`riskmodel.portfolio`) and the frontier; :func:`regionalize_json` is the ``riskmodel regionalize --json``
  document and :func:`format_regionalization` the text report.

The risk the portfolio minimises is the **expected lost units per year** of the static model (first order, see
``docs/regionalization.md``): ``sum over scenarios of probability x lost units``, where a scenario of ``T`` weeks
that leaves market ``m`` a supply fraction ``x`` loses ``D_m * max(0, (1 - x) T - stock weeks)`` units; stock weeks
are the market's own ``inventory_days / 7`` plus the stock of the distribution sites between the failure and the
market, each up to its own shortfall.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from riskmodel import portfolio as pf
from riskmodel.network import SupplyNetwork
from riskmodel.options import CostParameters, NetworkContext, Option, apply_options, generate_options, network_context
from riskmodel.propagate import network_arrays, propagate_many, run_cones

__all__ = ["DEFAULT_BUDGET_SHARE", "Evaluation", "OptionEvaluator", "OptionScores", "Regionalization",
           "RegionalizationResult", "RiskParameters", "format_regionalization", "options_network", "regionalize",
           "regionalize_json", "self_sufficiency"]

#: default budget: the cheapest portfolio reaching this share of the largest achievable risk reduction
DEFAULT_BUDGET_SHARE = 0.8
_GATE = "\x00gate:"
_GATE_MATERIAL = "\x00gate"
ExpectedLossHook = Callable[[pd.DataFrame, pd.DataFrame], float]


@dataclass(frozen=True)
class RiskParameters:
    """What the portfolio's risk is made of (documented defaults, judgement where no fact exists).

    Attributes
    ----------
    trade_cutoff_annual_prob : float
        Yearly probability that one market region is cut off from all supply outside it (0.02: judgement, a full
        cut-off about once in 50 years; the 2020 export restrictions were partial).
    trade_cutoff_weeks : float
        Duration of a cut-off: 12 weeks (REFERENCE-FACTS: India's export restriction of March-May 2020).
    stock : bool
        Credit market and distribution stock against lost units (default True). Without it, lost units are
        ``D (1 - x) T``.

    Examples
    --------
    >>> RiskParameters().trade_cutoff_weeks
    12.0
    """

    trade_cutoff_annual_prob: float = 0.02
    trade_cutoff_weeks: float = 12.0
    stock: bool = True


# ------------------------------------------------------------------------------------------------ self-sufficiency
def _cutoff_scenarios(net: SupplyNetwork, region: np.ndarray, regions: list[str]) -> list[np.ndarray]:
    """Per region: the supply sites outside it that ship into it (failing them is failing everything outside)."""
    src = net.link_supplier
    dst = net.links["customer"].to_numpy(np.int64) if len(net.links) else np.zeros(0, np.int64)
    out = []
    for r in regions:
        inside = region == r
        border = np.unique(src[~inside[src] & inside[dst]])
        out.append(border[~net.is_market[border]])
    return out


def self_sufficiency(net: SupplyNetwork, *, flow: sp.spmatrix | None = None) -> pd.DataFrame:
    """Self-sufficiency of each market: its supply fraction when every site outside its region is lost.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    flow : scipy.sparse matrix, optional
        :func:`riskmodel.concentration.flow_fractions` of ``net`` if already computed.

    Returns
    -------
    pandas.DataFrame
        One row per market (network order): ``market_id, name, country, region, weekly_demand, self_sufficiency``
        (0 = nothing arrives without imports from outside the region, 1 = fully regional),
        ``out_of_region_share`` (the largest outside-region share of supply over the market's tiers: the tier most
        dependent on other regions) and ``tiers`` (per tier: ``tier, outside_region_share, hhi_country,
        n_countries, top_country, top_country_share``).

    Examples
    --------
    >>> df = self_sufficiency(net)  # doctest: +SKIP
    >>> df.set_index("market_id").loc["MKT-DEU-SAL", "self_sufficiency"]  # doctest: +SKIP
    0.615
    """
    from riskmodel.concentration import concentration

    region = net.sites["region"].fillna("").astype(str).to_numpy()
    m_region = region[net.market_index]
    regions = sorted(set(m_region.tolist()))
    x = run_markets(net, _cutoff_scenarios(net, region, regions))
    col = {r: j for j, r in enumerate(regions)}
    ss = np.array([x[col[r], j] for j, r in enumerate(m_region)]) if len(m_region) else np.zeros(0)
    conc = concentration(net, flow)
    tiers: dict[str, list] = {}
    worst: dict[str, float] = {}
    for r in conc.itertuples(index=False):
        tiers.setdefault(r.market_id, []).append({
            "tier": str(r.tier), "outside_region_share": float(r.outside_region_share),
            "hhi_country": float(r.hhi_country), "n_countries": int(r.n_countries), "top_country": str(r.top_country),
            "top_country_share": float(r.top_country_share)})
        worst[r.market_id] = max(worst.get(r.market_id, 0.0), float(r.outside_region_share))
    ids = net.site_ids[net.market_index]
    ms = net.sites.iloc[net.market_index]
    text = lambda c: (ms[c] if c in ms else pd.Series("", index=ms.index)).fillna("").astype(str).to_numpy()  # noqa: E731
    return pd.DataFrame({
        "market_id": ids, "name": text("name"), "country": text("country"), "region": m_region,
        "weekly_demand": net.demand[net.market_index], "self_sufficiency": np.clip(ss, 0.0, 1.0),
        "out_of_region_share": [worst.get(i, 0.0) for i in ids], "tiers": [tiers.get(i, []) for i in ids]})


def _gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices ``starts[k] + 0 .. lengths[k]-1`` for every ``k``, concatenated (CSR segments, vectorised).

    Examples
    --------
    >>> _gather(np.array([10, 0, 5]), np.array([2, 0, 3])).tolist()
    [10, 11, 5, 6, 7]
    """
    starts = np.asarray(starts, np.int64)
    lengths = np.asarray(lengths, np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def run_markets(net: SupplyNetwork, seeds: list[np.ndarray]) -> np.ndarray:
    """Markets' supply fraction (scenarios x markets) when each list of site indices fails."""
    ptr = np.zeros(len(seeds) + 1, np.int64)
    np.cumsum([len(s) for s in seeds], out=ptr[1:])
    flat = np.concatenate(seeds).astype(np.int64) if seeds else np.zeros(0, np.int64)
    res = run_cones(net, ptr, flat, np.zeros(len(flat)), record=net.is_market, markets_only=True)
    col = np.full(net.n_sites, -1, np.int64)
    col[net.market_index] = np.arange(len(net.market_index))
    out = np.tile(network_arrays(net).intact[net.market_index], (len(seeds), 1))
    out[res.scenario, col[res.site]] = res.x
    return out


# ------------------------------------------------------------------------------------------------ evaluation
@dataclass
class _Changed:
    """Sites whose supply a batch of items changed: (item, site, x) triplets grouped by item."""

    scenario: np.ndarray
    site: np.ndarray
    x: np.ndarray


@dataclass
class Evaluation:
    """The static risk figures of one set of options (see :meth:`OptionEvaluator.evaluate`).

    Attributes
    ----------
    chosen : tuple of int
        Option indices in force.
    risk : float
        Expected lost units per year (single-site failures and regional cut-offs, stock credited).
    exposure : float
        Total exposure: the sum over supply sites of the share of all market demand lost when that site alone fails
        (section 3.1; no stock, no duration), i.e. the sum of ``riskmodel exposure``'s ``exposure`` column.
    worst_case : float
        Static first-order lost units of the worst single-site scenario (the site whose failure for its
        ``ttr_weeks`` loses most without options; the scenario stays fixed when options are scored).
        :func:`regionalize` reports the simulated what-if instead (section 3.2).
    self_sufficiency : ndarray
        Per market (``net.market_index`` order).
    scenario_risk, scenario_lost : ndarray
        Per scenario: probability x lost units, and lost units.
    """

    chosen: tuple
    risk: float
    exposure: float
    worst_case: float
    self_sufficiency: np.ndarray
    scenario_risk: np.ndarray
    scenario_lost: np.ndarray
    scenario_exposure: np.ndarray
    table: dict = field(default_factory=dict, repr=False)


@dataclass
class OptionScores:
    """Per option (in the evaluator's order): exact change of each figure when the option is added to a base set.

    ``risk_reduction``, ``exposure_reduction``, ``worst_case_reduction`` (positive = better),
    ``self_sufficiency_gain`` (options x markets), ``expected_loss_reduction`` (NaN until a Monte Carlo hook is
    given). ``worst_case_reduction`` is the static first-order one (:func:`regionalize` simulates it). For options
    already in the base set the values are what removing them would cost.
    """

    risk_reduction: np.ndarray
    exposure_reduction: np.ndarray
    worst_case_reduction: np.ndarray
    self_sufficiency_gain: np.ndarray
    expected_loss_reduction: np.ndarray


class OptionEvaluator:
    """Exact static evaluation of sets of options on one augmented network (see the module docstring).

    Parameters
    ----------
    net : SupplyNetwork
        A validated network (shares normalised).
    options : list of Option
        From :func:`riskmodel.options.generate_options`.
    risk : RiskParameters, optional
    context : NetworkContext, optional
        :func:`riskmodel.options.network_context` of ``net`` if already computed.

    Examples
    --------
    >>> ev = OptionEvaluator(net, generate_options(net))  # doctest: +SKIP
    >>> base = ev.evaluate(())  # doctest: +SKIP
    >>> ev.evaluate([0]).risk <= base.risk  # doctest: +SKIP
    True
    """

    def __init__(self, net: SupplyNetwork, options: list[Option], risk: RiskParameters | None = None,
                 context: NetworkContext | None = None):
        self.net = net
        self.options = list(options)
        self.params = risk or RiskParameters()
        self.ctx = context or network_context(net)
        self._build_augmented()
        self._build_scenarios()
        self._build_relevance()
        self._worst = -1
        base = self.evaluate(())
        singles = np.flatnonzero(self.scen_kind == 0)
        self._worst = int(singles[np.argmax(base.scenario_lost[singles])]) if len(singles) else -1
        base.worst_case = float(base.scenario_lost[self._worst]) if self._worst >= 0 else 0.0
        #: the evaluation with no option in force
        self.baseline = base

    # -------------------------------------------------------------------------------------------- set-up
    def _build_augmented(self) -> None:
        net, ctx = self.net, self.ctx
        cols = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]
        region_of = dict(zip(net.site_ids.tolist(), ctx.region.tolist(), strict=True))
        new_sites = {"site_id": [], "kind": [], "region": []}
        rows: list[tuple] = []
        self.toggle_ids: list[list[str]] = []
        for i, o in enumerate(self.options):
            ids: list[str] = []
            if o.site is not None:
                new_sites["site_id"].append(o.site_id)
                new_sites["kind"].append(str(o.site.get("kind", "")))
                new_sites["region"].append(o.region)
                ids.append(o.site_id)
                rows += [(lk.supplier_id, lk.customer_id, lk.material, lk.share) for lk in o.inputs]
                rows += [(lk.supplier_id, lk.customer_id, lk.material, lk.share) for lk in o.links]
            elif o.links:
                for k, lk in enumerate(o.links):
                    gate = f"{_GATE}{i}:{k}"
                    new_sites["site_id"].append(gate)
                    new_sites["kind"].append("gate")
                    j = region_of.get(lk.supplier_id)
                    # a gate stands where its source is (a regional cut-off cuts it with its source)
                    new_sites["region"].append(j if j is not None else "")
                    ids.append(gate)
                    rows.append((lk.supplier_id, gate, _GATE_MATERIAL, 1.0))
                    rows.append((gate, lk.customer_id, lk.material, lk.share))
            self.toggle_ids.append(ids)
        base_sites = pd.DataFrame({"site_id": net.site_ids, "kind": net.sites["kind"].astype(str).to_numpy(),
                                   "weekly_demand": net.demand, "region": ctx.region})
        extra = pd.DataFrame(new_sites).assign(weekly_demand=np.nan)
        sites = pd.concat([base_sites, extra], ignore_index=True) if len(extra) else base_sites
        known = set(sites["site_id"])
        add = pd.DataFrame(rows, columns=cols[:4]).assign(lead_time_days=0.0, status="active", qualification_weeks=0.0)
        add = add[add["supplier_id"].isin(known) & add["customer_id"].isin(known)]
        links = pd.concat([net.links[cols], add], ignore_index=True) if len(add) else net.links[cols]
        self.aug = SupplyNetwork(sites, links)
        aug = self.aug
        self.orig_in_aug = aug.index_of(net.site_ids)
        self.aug_to_orig = np.full(aug.n_sites, -1, np.int64)
        self.aug_to_orig[self.orig_in_aug] = np.arange(net.n_sites)
        flat = [aug.index_of(ids).tolist() if ids else [] for ids in self.toggle_ids]
        self.tog_ptr = np.zeros(len(flat) + 1, np.int64)
        np.cumsum([len(f) for f in flat], out=self.tog_ptr[1:])
        self.tog = np.array([t for f in flat for t in f], dtype=np.int64)
        self.is_network_option = np.diff(self.tog_ptr) > 0
        self.aug_region = sites.set_index("site_id")["region"].reindex(aug.site_ids).fillna("").astype(str).to_numpy()
        kinds = net.sites["kind"].astype(str).to_numpy()
        self.is_dist = kinds == "distribution"
        self.market_col = np.full(net.n_sites, -1, np.int64)
        self.market_col[net.market_index] = np.arange(len(net.market_index))
        self.record = np.zeros(aug.n_sites, dtype=bool)
        self.record[self.orig_in_aug[net.is_market | self.is_dist]] = True
        self.flow = self.ctx.flow.tocsr()
        self.opt_site = net.index_of([o.site_id for o in self.options]) if self.options else np.zeros(0, np.int64)
        self.inventory = pd.to_numeric(net.sites["inventory_days"], errors="coerce").fillna(0.0).to_numpy(float) \
            if "inventory_days" in net.sites else np.zeros(net.n_sites)

    def _build_scenarios(self) -> None:
        net, ctx, p = self.net, self.ctx, self.params
        singles = np.flatnonzero(~net.is_market)
        prob = pd.to_numeric(net.sites.get("annual_disruption_prob", pd.Series(0.0, index=net.sites.index)),
                             errors="coerce").fillna(0.0).to_numpy(float)
        ttr = pd.to_numeric(net.sites.get("ttr_weeks", pd.Series(0.0, index=net.sites.index)),
                            errors="coerce").fillna(0.0).to_numpy(float)
        self.regions = ctx.regions
        region_code = {r: j for j, r in enumerate(self.regions)}
        self.site_region = np.array([region_code.get(r, -1) for r in ctx.region], dtype=np.int64)
        cut = _cutoff_scenarios(self.aug, self.aug_region, self.regions)
        seeds = [self.orig_in_aug[[v]] for v in singles] + cut
        self.scen_ptr = np.zeros(len(seeds) + 1, np.int64)
        np.cumsum([len(s) for s in seeds], out=self.scen_ptr[1:])
        self.scen_seeds = np.concatenate(seeds).astype(np.int64) if seeds else np.zeros(0, np.int64)
        k1, k2 = len(singles), len(cut)
        self.scen_kind = np.r_[np.zeros(k1, np.int64), np.ones(k2, np.int64)]
        self.scen_site = np.r_[singles, np.full(k2, -1)].astype(np.int64)
        self.scen_region = np.r_[np.full(k1, -1), np.arange(k2)].astype(np.int64)
        self.scen_p = np.r_[prob[singles], np.full(k2, p.trade_cutoff_annual_prob)]
        self.scen_T = np.r_[ttr[singles], np.full(k2, p.trade_cutoff_weeks)]
        # the original network's version of each scenario (to find which options a scenario reaches)
        self._orig_seeds = [np.array([v]) for v in singles] + _cutoff_scenarios(net, ctx.region, self.regions)

    def _build_relevance(self) -> None:
        """Scenario -> options that can change it (CSR both ways).

        An option only adds to some inputs ``(customer, material)``: it changes a scenario only if a supplier of one
        of those inputs loses supply in it (otherwise the input stays at ``min(1, 1 + s) = 1`` with or without it).
        Supply only rises with options, so this is found once, on the original network. In a regional cut-off only
        options serving a customer inside the region matter (everything outside enters through the failed border).
        Options supplying another candidate site count everywhere (few).
        """
        net = self.net
        n_opt = len(self.options)
        group_of = {(int(c), str(m)): g for g, (c, m) in enumerate(zip(net.group_site.tolist(),
                                                                       net.group_material.tolist(), strict=True))}
        rows, cols, always = [], [], []
        opt_region = np.full(n_opt, -1, np.int64)
        region_code = {r: j for j, r in enumerate(self.regions)}
        index = dict(zip(net.site_ids.tolist(), range(net.n_sites), strict=True))
        for i, o in enumerate(self.options):
            if not self.is_network_option[i]:
                continue
            opt_region[i] = region_code.get(o.region, -1)
            for lk in o.links:
                v = index.get(lk.customer_id, -1)
                if v < 0:
                    always.append(i)
                    continue
                g = group_of.get((v, lk.material))
                if g is None:
                    always.append(i)  # a material the customer does not buy today: cannot be judged, keep it
                    continue
                sup = net.link_supplier[net.group_link_ptr[g]:net.group_link_ptr[g + 1]]
                rows += sup.tolist()
                cols += [i] * len(sup)
        supplier = np.zeros(net.n_sites, dtype=bool)
        supplier[rows] = True
        seeds = self._orig_seeds
        ptr = np.zeros(len(seeds) + 1, np.int64)
        np.cumsum([len(s) for s in seeds], out=ptr[1:])
        flat = np.concatenate(seeds).astype(np.int64) if seeds else np.zeros(0, np.int64)
        res = run_cones(net, ptr, flat, np.zeros(len(flat)), record=supplier, markets_only=True)
        k = len(seeds)
        hit = sp.csr_matrix((np.ones(len(res.site)), (res.scenario, res.site)), shape=(k, net.n_sites))
        owner = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(net.n_sites, n_opt))
        rel = (hit @ owner).tocoo()
        t, o = rel.row.astype(np.int64), rel.col.astype(np.int64)
        always = sorted(set(always))
        if always:
            t = np.r_[t, np.repeat(np.arange(k), len(always))]
            o = np.r_[o, np.tile(always, k)]
        # a cut-off of region R: only options whose customers are in R
        cut = self.scen_kind[t] == 1
        keep = ~cut | (opt_region[o] == self.scen_region[t]) | np.isin(o, always)
        rel = sp.csr_matrix((np.ones(int(keep.sum())), (t[keep], o[keep])), shape=(k, n_opt))
        rel.sum_duplicates()
        rel.sort_indices()
        self.rel_ptr, self.rel_opt = rel.indptr.astype(np.int64), rel.indices.astype(np.int64)
        relc = rel.tocsc()
        relc.sort_indices()
        self.aff_ptr, self.aff_scen = relc.indptr.astype(np.int64), relc.indices.astype(np.int64)

    # -------------------------------------------------------------------------------------------- kernels
    def _off_lists(self, item_scen: np.ndarray, on: np.ndarray, toggle: np.ndarray | None = None):
        """Per item: the relevant options switched off (CSR ``ptr, opt``).

        ``on`` says which options are in force; ``toggle[k]`` (optional) is an option whose state item ``k`` flips.
        """
        lens = self.rel_ptr[item_scen + 1] - self.rel_ptr[item_scen]
        pos = _gather(self.rel_ptr[item_scen], lens)
        opt = self.rel_opt[pos]
        item = np.repeat(np.arange(len(item_scen)), lens)
        state = on[opt]
        if toggle is not None:
            state = state ^ (opt == toggle[item])
        off = ~state
        ptr = np.zeros(len(item_scen) + 1, np.int64)
        np.cumsum(np.bincount(item[off], minlength=len(item_scen)), out=ptr[1:])
        return ptr, opt[off]

    def _run(self, item_scen: np.ndarray, off_ptr: np.ndarray, off_opt: np.ndarray) -> _Changed:
        """Propagate items: a scenario's failed sites plus the gates of the options switched off.

        Single-site items run through their downstream cones (:func:`riskmodel.propagate.run_cones`). A regional
        cut-off changes a large part of the network and may switch off thousands of options: such items run as
        dense capacity rows, one full pass each (:func:`riskmodel.propagate.propagate_many`), in chunks.
        """
        cut = self.scen_kind[item_scen] == 1
        parts = []
        for mask, runner in ((~cut, self._run_cones), (cut, self._run_dense)):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            lens = off_ptr[idx + 1] - off_ptr[idx]
            sub_ptr = np.zeros(len(idx) + 1, np.int64)
            np.cumsum(lens, out=sub_ptr[1:])
            sub_opt = off_opt[_gather(off_ptr[idx], lens)]
            sc, site, x = runner(item_scen[idx], sub_ptr, sub_opt)
            parts.append((idx[sc], site, x))
        if not parts:
            return _Changed(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        sc, site, x = (np.concatenate([p[j] for p in parts]) for j in range(3))
        order = np.argsort(sc, kind="stable")
        return _Changed(sc[order], site[order], x[order])

    def _run_cones(self, item_scen, off_ptr, off_opt):
        base_len = self.scen_ptr[item_scen + 1] - self.scen_ptr[item_scen]
        tog_len = self.tog_ptr[off_opt + 1] - self.tog_ptr[off_opt]
        owner = np.repeat(np.arange(len(item_scen)), np.diff(off_ptr))
        per_item_tog = np.bincount(owner, weights=tog_len, minlength=len(item_scen)).astype(np.int64)
        lens = base_len + per_item_tog
        ptr = np.zeros(len(item_scen) + 1, np.int64)
        np.cumsum(lens, out=ptr[1:])
        flat = np.empty(int(ptr[-1]), np.int64)
        flat[_gather(ptr[:-1], base_len)] = self.scen_seeds[_gather(self.scen_ptr[item_scen], base_len)]
        flat[_gather(ptr[:-1] + base_len, per_item_tog)] = self.tog[_gather(self.tog_ptr[off_opt], tog_len)]
        res = run_cones(self.aug, ptr, flat, np.zeros(len(flat)), record=self.record, markets_only=True)
        return res.scenario, res.site, res.x

    def _run_dense(self, item_scen, off_ptr, off_opt):
        n = self.aug.n_sites
        rec = np.flatnonzero(self.record)
        intact = network_arrays(self.aug).intact[rec]
        chunk = max(1, int(4e6 // max(n, 1)))
        out_sc, out_site, out_x = [], [], []
        for lo in range(0, len(item_scen), chunk):
            hi = min(len(item_scen), lo + chunk)
            caps = np.ones((hi - lo, n))
            for r, k in enumerate(range(lo, hi)):
                t = item_scen[k]
                caps[r, self.scen_seeds[self.scen_ptr[t]:self.scen_ptr[t + 1]]] = 0.0
                offs = off_opt[off_ptr[k]:off_ptr[k + 1]]
                if len(offs):
                    caps[r, self.tog[_gather(self.tog_ptr[offs], self.tog_ptr[offs + 1] - self.tog_ptr[offs])]] = 0.0
            x = propagate_many(self.aug, caps)[:, rec]
            rr, cc = np.nonzero(x < intact[None, :] - 1e-12)
            out_sc.append(rr + lo)
            out_site.append(rec[cc])
            out_x.append(x[rr, cc])
        return np.concatenate(out_sc), np.concatenate(out_site), np.concatenate(out_x)

    def _table(self, item_scen: np.ndarray, res, inventory: np.ndarray) -> dict:
        """Loss rows (item, market) with their distribution-stock components, and per-item figures."""
        net = self.net
        o = self.aug_to_orig[res.site]
        item, x = res.scenario, res.x
        t = item_scen[item]
        kind = self.scen_kind[t]
        good = o >= 0
        o_safe = np.where(good, o, 0)
        in_region = self.site_region[o_safe] == self.scen_region[t]
        mk = good & net.is_market[o_safe] & ((kind == 0) | in_region)
        r_item, r_m, r_x = item[mk], o[mk], np.clip(x[mk], 0.0, 1.0)
        dk = good & self.is_dist[o_safe] & np.where(kind == 0, o_safe != self.scen_site[t], in_region)
        c_item, c_d, c_x = item[dk], o[dk], np.clip(x[dk], 0.0, 1.0)
        # each distribution component reaches the markets it feeds (flow fractions)
        f = self.flow
        counts = f.indptr[c_d + 1] - f.indptr[c_d]
        rep = np.repeat(np.arange(len(c_d)), counts)
        start = np.repeat(f.indptr[c_d] - np.r_[0, np.cumsum(counts)[:-1]], counts) if len(rep) else rep
        pos = start + np.arange(len(rep))
        m_cols = self.market_col[net.market_index]
        key_rows = r_item * len(m_cols) + self.market_col[r_m]
        key_comp = c_item[rep] * len(m_cols) + f.indices[pos] if len(rep) else np.zeros(0, np.int64)
        row_of = pd.Index(key_rows).get_indexer(key_comp) if len(rep) else np.zeros(0, np.int64)
        keep = row_of >= 0
        comp = {"row": row_of[keep], "d": c_d[rep][keep], "f": f.data[pos][keep], "x": c_x[rep][keep]}
        T_row = self.scen_T[item_scen[r_item]]
        table = {"item": r_item, "m": r_m, "x": r_x, "T": T_row, "comp": comp, "n_items": len(item_scen),
                 "item_scen": item_scen}
        table["lost"] = self._lost(table, inventory)
        return table

    def _lost(self, table: dict, inventory: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Lost units of loss rows (all, or ``rows``) with the given inventory days per site."""
        sel = slice(None) if rows is None else rows
        m, x, T = table["m"][sel], table["x"][sel], table["T"][sel]
        short = (1.0 - x) * T
        if self.params.stock:
            comp = table["comp"]
            T_c = table["T"][comp["row"]]
            credit_c = np.minimum(comp["f"] * inventory[comp["d"]] / 7.0, comp["f"] * (1.0 - comp["x"]) * T_c)
            credit = np.bincount(comp["row"], weights=credit_c, minlength=len(table["m"]))[sel]
            short = np.maximum(0.0, short - inventory[m] / 7.0 - credit)
        return self.net.demand[m] * short

    def _figures(self, table: dict) -> dict:
        """Per item: lost units, risk, exposure; per cut-off item: the region's markets' supply."""
        n = table["n_items"]
        t = table["item_scen"]
        lost = np.bincount(table["item"], weights=table["lost"], minlength=n)
        total = self.net.total_weekly_demand
        single_row = self.scen_kind[t[table["item"]]] == 0
        dem = self.net.demand[table["m"]] * (1.0 - table["x"])
        exposure = np.bincount(table["item"][single_row], weights=dem[single_row], minlength=n) / (total or 1.0)
        return {"lost": lost, "risk": self.scen_p[t] * lost, "exposure": exposure}

    def _self_sufficiency(self, table: dict, items: np.ndarray) -> np.ndarray:
        """Market supply under cut-off ``items`` (rows: the given items; columns: markets)."""
        out = np.ones((len(items), len(self.net.market_index)))
        pos = np.full(table["n_items"], -1, np.int64)
        pos[items] = np.arange(len(items))
        rows = pos[table["item"]] >= 0
        out[pos[table["item"][rows]], self.market_col[table["m"][rows]]] = table["x"][rows]
        return out

    def _inventory(self, chosen) -> np.ndarray:
        inv = self.inventory.copy()
        for i in chosen:
            o = self.options[i]
            if o.type == "stock" and o.stock_days:
                j = int(self.opt_site[i])
                if j >= 0:
                    inv[j] += o.stock_days
        return inv

    # -------------------------------------------------------------------------------------------- public
    def evaluate(self, chosen) -> Evaluation:
        """Exact static figures with the options ``chosen`` (indices) in force.

        Examples
        --------
        >>> ev.evaluate([]).risk  # doctest: +SKIP
        """
        chosen = tuple(sorted({int(i) for i in chosen}))
        on = np.zeros(len(self.options), dtype=bool)
        on[list(chosen)] = True
        k = len(self.scen_kind)
        items = np.arange(k)
        res = self._run(items, *self._off_lists(items, on))
        inv = self._inventory(chosen)
        table = self._table(items, res, inv)
        fig = self._figures(table)
        cut = np.flatnonzero(self.scen_kind == 1)
        x_cut = self._self_sufficiency(table, cut)
        m_region = self.site_region[self.net.market_index]
        ss = np.array([x_cut[m_region[j], j] if m_region[j] >= 0 else 1.0 for j in range(len(m_region))])
        worst = float(fig["lost"][self._worst]) if self._worst >= 0 else 0.0
        table["inventory"] = inv
        return Evaluation(chosen, float(fig["risk"].sum()), float(fig["exposure"].sum()), worst, ss,
                          fig["risk"], fig["lost"], fig["exposure"], table)

    def marginals(self, base: Evaluation, subset=None) -> OptionScores:
        """Exact change of each figure when each option is switched relative to ``base`` (added or removed).

        ``subset`` (option indices, optional) limits the work to those options; the others get 0.

        Examples
        --------
        >>> scores = ev.marginals(ev.evaluate([]))  # doctest: +SKIP
        >>> scores.risk_reduction[:3]  # doctest: +SKIP
        """
        n_opt, n_mk = len(self.options), len(self.net.market_index)
        in_base = np.zeros(n_opt, dtype=bool)
        in_base[list(base.chosen)] = True
        sign = np.where(in_base, -1.0, 1.0)  # reduction from adding, or increase from removing (both >= 0 normally)
        risk = np.zeros(n_opt)
        expo = np.zeros(n_opt)
        worst = np.zeros(n_opt)
        ss = np.zeros((n_opt, n_mk))
        m_region = self.site_region[self.net.market_index]

        # options that change the network: re-propagate the scenarios that reach their inputs
        wanted = np.ones(n_opt, dtype=bool)
        if subset is not None:
            wanted[:] = False
            wanted[np.asarray(list(subset), dtype=np.int64)] = True
        net_opts = np.flatnonzero(self.is_network_option & wanted)
        n_aff = self.aff_ptr[net_opts + 1] - self.aff_ptr[net_opts]
        item_scen = self.aff_scen[_gather(self.aff_ptr[net_opts], n_aff)]
        item_opt = np.repeat(net_opts, n_aff)
        if len(item_scen):
            items = item_scen.astype(np.int64)
            opt = item_opt.astype(np.int64)
            res = self._run(items, *self._off_lists(items, in_base, toggle=opt))
            table = self._table(items, res, base.table["inventory"])
            fig = self._figures(table)
            d_risk = base.scenario_risk[items] - fig["risk"]
            d_expo = base.scenario_exposure[items] - fig["exposure"]
            d_lost = base.scenario_lost[items] - fig["lost"]
            risk += np.bincount(opt, weights=d_risk, minlength=n_opt)
            expo += np.bincount(opt, weights=d_expo, minlength=n_opt)
            w = items == self._worst
            worst += np.bincount(opt[w], weights=d_lost[w], minlength=n_opt)
            cut_items = np.flatnonzero(self.scen_kind[items] == 1)
            if len(cut_items):
                x_new = self._self_sufficiency(table, cut_items)
                regions = self.scen_region[items[cut_items]]
                for r_i, (it, reg) in enumerate(zip(cut_items.tolist(), regions.tolist(), strict=True)):
                    cols = np.flatnonzero(m_region == reg)
                    ss[opt[it], cols] += x_new[r_i, cols] - base.self_sufficiency[cols]
        # stock options: closed form on the base loss table
        self._stock_marginals(base, in_base, risk, worst, wanted)
        return OptionScores(risk * sign, expo * sign, worst * sign, ss * sign[:, None], np.full(n_opt, np.nan))

    def _stock_marginals(self, base: Evaluation, in_base: np.ndarray, risk: np.ndarray, worst: np.ndarray,
                         wanted: np.ndarray) -> None:
        """Stock options in closed form: only the loss rows of the stocked site change (its own stock term, or its
        credit to the markets it feeds); each option costs the size of its rows."""
        table = base.table
        if not self.params.stock or not len(table["m"]):
            return
        inv0 = table["inventory"]
        m, x, T = table["m"], table["x"], table["T"]
        comp = table["comp"]
        T_c = T[comp["row"]]
        credit_c = np.minimum(comp["f"] * inv0[comp["d"]] / 7.0, comp["f"] * (1.0 - comp["x"]) * T_c)
        credit = np.bincount(comp["row"], weights=credit_c, minlength=len(m))
        short = (1.0 - x) * T
        demand = self.net.demand[m]
        p_row = self.scen_p[table["item_scen"][table["item"]]]
        worst_row = table["item_scen"][table["item"]] == self._worst
        order_m = np.argsort(m, kind="stable")
        starts_m = np.searchsorted(m[order_m], np.arange(self.net.n_sites + 1))
        order_d = np.argsort(comp["d"], kind="stable")
        starts_d = np.searchsorted(comp["d"][order_d], np.arange(self.net.n_sites + 1))
        lost0 = table["lost"]
        for i, o in enumerate(self.options):
            j = int(self.opt_site[i])
            if o.type != "stock" or not o.stock_days or j < 0 or not wanted[i]:
                continue
            days = inv0[j] + (-o.stock_days if in_base[i] else o.stock_days)
            if self.net.is_market[j]:
                rows = order_m[starts_m[j]:starts_m[j + 1]]
                new = demand[rows] * np.maximum(0.0, short[rows] - days / 7.0 - credit[rows])
            else:
                cs = order_d[starts_d[j]:starts_d[j + 1]]
                if not len(cs):
                    continue
                rows = comp["row"][cs]  # one component per (row, site): rows are distinct
                new_c = np.minimum(comp["f"][cs] * days / 7.0, comp["f"][cs] * (1.0 - comp["x"][cs]) * T_c[cs])
                cr = credit[rows] - credit_c[cs] + new_c
                new = demand[rows] * np.maximum(0.0, short[rows] - inv0[m[rows]] / 7.0 - cr)
            d_lost = lost0[rows] - new
            risk[i] += float((p_row[rows] * d_lost).sum())
            worst[i] += float(d_lost[worst_row[rows]].sum())

    @property
    def worst_site(self) -> str | None:
        """Id of the site whose failure alone (for its ``ttr_weeks``) loses most units with no option (static)."""
        return str(self.net.site_ids[self.scen_site[self._worst]]) if self._worst >= 0 else None

    def options_touching(self, site_id: str) -> np.ndarray:
        """Options that can change what the lone failure of ``site_id`` does: backups and new sites serving a site
        its failure reaches, stock at a market or distribution site its failure reaches (bool per option)."""
        mask = np.zeros(len(self.options), dtype=bool)
        j = int(self.net.index_of([site_id])[0])
        hit = np.flatnonzero(self.scen_site == j) if j >= 0 else np.zeros(0, np.int64)
        if not len(hit):
            return mask
        t = int(hit[0])
        mask[self.rel_opt[self.rel_ptr[t]:self.rel_ptr[t + 1]]] = True
        table = self.baseline.table
        rows = np.flatnonzero(table["item"] == t)
        reached = set(table["m"][rows].tolist())
        comp = table["comp"]
        reached |= set(comp["d"][np.isin(comp["row"], rows)].tolist())
        for i, o in enumerate(self.options):
            if o.type == "stock" and int(self.opt_site[i]) in reached:
                mask[i] = True
        return mask


# ------------------------------------------------------------------------------------------------ orchestration
@dataclass
class RegionalizationResult:
    """Everything :func:`regionalize` found; :meth:`to_json` is the ``riskmodel regionalize --json`` document."""

    markets: pd.DataFrame
    options: list[Option]
    scores: OptionScores
    base: Evaluation
    after: Evaluation
    budget: float
    budget_rule: str
    chosen: list[int]
    estimate_after: float
    frontier: list[dict]
    costs: CostParameters
    risk: RiskParameters
    worst_site: str | None
    timings: dict
    worst_case_before: float = 0.0
    worst_case_after: float = 0.0
    worst_case_reduction: np.ndarray | None = None
    worst_case_method: str = "static"
    expected_loss_before: float | None = None
    expected_loss_after: float | None = None

    def option_table(self) -> pd.DataFrame:
        """One row per option, best score first: ids, type, cost, lead time, reductions, score, chosen."""
        s = self.scores
        worst = s.worst_case_reduction if self.worst_case_reduction is None else self.worst_case_reduction
        mids = self.markets["market_id"].to_numpy()
        rows = []
        chosen = set(self.chosen)
        for i, o in enumerate(self.options):
            gain = {str(mids[j]): float(s.self_sufficiency_gain[i, j])
                    for j in np.flatnonzero(np.abs(s.self_sufficiency_gain[i]) > 1e-9)}
            el = s.expected_loss_reduction[i]
            rows.append({
                "option_id": o.option_id, "type": o.type, "site_id": o.site_id, "material": o.material,
                "region": o.region, "customers": list(o.customers), "cost": o.cost, "capex": o.capex,
                "annual_cost": o.annual_cost, "lead_time_weeks": o.lead_time_weeks,
                "score": float(s.risk_reduction[i]) / max(o.cost, 1.0),
                "risk_reduction": float(s.risk_reduction[i]), "exposure_reduction": float(s.exposure_reduction[i]),
                "worst_case_reduction": float(worst[i]) if np.isfinite(worst[i]) else None,
                "self_sufficiency_gain": gain,
                "expected_loss_reduction": None if not np.isfinite(el) else float(el),
                "stock_days": o.stock_days, "requires": list(o.requires), "excludes": list(o.excludes),
                "links": [{"supplier_id": lk.supplier_id, "customer_id": lk.customer_id, "material": lk.material,
                           "share": lk.share} for lk in o.links],
                "description": o.description, "chosen": i in chosen})
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        return df.sort_values(["score", "risk_reduction", "option_id"], ascending=[False, False, True],
                              kind="stable").reset_index(drop=True)

    def to_json(self) -> dict:
        """``{"markets": [...], "options": [...], "portfolio": {...}, "frontier": [...]}`` (JSON-ready, finite)."""
        ids = [o.option_id for o in self.options]
        ss_after = dict(zip(self.markets["market_id"], self.after.self_sufficiency, strict=True))
        markets = [{"market_id": str(r.market_id), "name": str(r.name), "region": str(r.region),
                    "weekly_demand": float(r.weekly_demand), "self_sufficiency": float(r.self_sufficiency),
                    "self_sufficiency_after": float(ss_after[r.market_id]),
                    "out_of_region_share": float(r.out_of_region_share), "tiers": list(r.tiers)}
                   for r in self.markets.itertuples(index=False)]
        portfolio = {
            "budget": float(self.budget), "budget_rule": self.budget_rule,
            "chosen": [ids[i] for i in self.chosen],
            "cost": float(sum(self.options[i].cost for i in self.chosen)),
            "risk_before": float(self.base.risk), "risk_after": float(self.after.risk),
            "risk_after_estimate": float(self.estimate_after),
            "exposure_before": float(self.base.exposure), "exposure_after": float(self.after.exposure),
            "worst_case_site": self.worst_site, "worst_case_before": float(self.worst_case_before),
            "worst_case_after": float(self.worst_case_after), "worst_case_method": self.worst_case_method,
            "expected_loss_before": self.expected_loss_before, "expected_loss_after": self.expected_loss_after,
            "risk_unit": "expected lost units per year (static model, first order)", "currency": self.costs.currency,
        }
        frontier = [{"budget": float(f["budget"]), "risk": float(f["risk"]), "cost": float(f["cost"]),
                     "risk_estimate": float(f["estimate"]), "chosen": [ids[i] for i in f["chosen"]]}
                    for f in self.frontier]
        return {"markets": markets, "options": _json_safe(self.option_table().to_dict("records")),
                "portfolio": portfolio, "frontier": frontier}


def _json_safe(records: list[dict]) -> list[dict]:
    for r in records:
        for k, v in r.items():
            if isinstance(v, float) and not math.isfinite(v):
                r[k] = None
            elif isinstance(v, np.generic):
                r[k] = v.item()
    return records


class Regionalization:
    """The regionalization analysis of one network: the budget-independent work done once, portfolios on demand.

    Built once (self-sufficiency, options, their exact scores, the simulated worst-case what-if of each option, the
    Monte Carlo hook), then :meth:`result` chooses the portfolio for any budget (a programme, its re-evaluation and
    the frontier: a second or two), which is what the dashboard does when the budget changes.

    Parameters are those of :func:`regionalize`.

    Examples
    --------
    >>> analysis = Regionalization(net)  # doctest: +SKIP
    >>> analysis.result(5e6).to_json()["portfolio"]["cost"] <= 5e6  # doctest: +SKIP
    True
    """

    def __init__(self, net: SupplyNetwork, candidates: pd.DataFrame | None = None, *,
                 costs: CostParameters | None = None, risk: RiskParameters | None = None,
                 expected_loss: ExpectedLossHook | None = None, whatif: bool = True, max_whatif_options: int = 200,
                 frontier_points: int = 9):
        self.timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self.net = net
        self.costs = costs or CostParameters()
        self.risk = risk or RiskParameters()
        self.ctx = network_context(net)
        self.markets = self_sufficiency(net, flow=self.ctx.flow)
        self.timings["self_sufficiency"] = time.perf_counter() - t0
        t = time.perf_counter()
        self.options = generate_options(net, candidates, self.costs, context=self.ctx)
        self.timings["options"] = time.perf_counter() - t
        t = time.perf_counter()
        self.evaluator = OptionEvaluator(net, self.options, self.risk, self.ctx)
        self.base = self.evaluator.baseline
        self.scores = self.evaluator.marginals(self.base)
        self.timings["scoring"] = time.perf_counter() - t
        self.problem = pf.problem_from_options(self.options, np.maximum(self.scores.risk_reduction, 0.0))
        self._cache: dict[tuple, Evaluation] = {(): self.base}
        self._lock = threading.Lock()
        self._solved: dict[float, np.ndarray] = {}
        self.frontier_points = frontier_points
        self.whatif: _WorstCaseWhatIf | None = None
        if whatif:
            t = time.perf_counter()
            self.whatif = _WorstCaseWhatIf(net, self.options, self.evaluator, self.ctx, self.scores,
                                           max_whatif_options)
            self.timings["worst_case_whatif"] = time.perf_counter() - t
        self.expected_loss = expected_loss
        self.expected_loss_before: float | None = None
        if expected_loss is not None:
            t = time.perf_counter()
            sites, links = _tables(net)
            el0 = float(expected_loss(sites, links))
            for i, o in enumerate(self.options):
                self.scores.expected_loss_reduction[i] = el0 - float(expected_loss(*apply_options(sites, links, [o])))
            self.expected_loss_before = el0
            self.timings["expected_loss"] = time.perf_counter() - t
        self.timings["analysis"] = time.perf_counter() - t0

    def evaluation(self, x) -> Evaluation:
        """Exact evaluation of a selection (bool per option, or option indices), cached."""
        x = np.asarray(x)
        key = tuple(np.flatnonzero(x).tolist()) if x.dtype == bool else tuple(sorted(int(i) for i in x))
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = self.evaluator.evaluate(key)
            with self._lock:
                self._cache[key] = hit
        return hit

    #: options re-linearised besides the chosen ones: the best-ranked by risk reduction per unit of cost
    RELINEARISE_TOP = 300

    def _candidates_for(self, x) -> np.ndarray:
        chosen = np.flatnonzero(np.asarray(x, bool))
        ratio = self.problem.benefit / np.maximum(self.problem.cost, 1.0)
        top = np.argsort(-ratio, kind="stable")[: self.RELINEARISE_TOP]
        keep = set(chosen.tolist()) | {int(i) for i in top if self.problem.benefit[i] > 0}
        for i, j in self.problem.requires:  # what a kept option needs
            if i in keep:
                keep.add(j)
        return np.array(sorted(keep), dtype=np.int64)

    def default_budget(self) -> float:
        """The cheapest portfolio reaching :data:`DEFAULT_BUDGET_SHARE` of the largest achievable risk reduction
        (per-option estimate): the knee of the frontier."""
        p = self.problem
        best = pf.solve(p, float(p.cost.sum()))
        target = DEFAULT_BUDGET_SHARE * float(p.benefit[best].sum())
        return float(p.cost[pf.min_cost_reaching(p, target)].sum())

    def suggested_disruption(self, option_id: str) -> tuple[str | None, float]:
        """The lone site failure an option is meant to offset, and its ``ttr_weeks``: what to test it against.

        A backup or new site: the current supplier of the customer's input it backs up (outside the option's region
        if there is one, the largest share first). Stock: the single site whose failure costs the stocked market (or
        the markets behind the stocked distributor) most lost units in the static model.

        Examples
        --------
        >>> analysis.suggested_disruption("Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US")  # doctest: +SKIP
        ('API-CIS-AHMEDABAD-IN', 52.0)
        """
        net, ev = self.net, self.evaluator
        index = {o.option_id: i for i, o in enumerate(self.options)}
        if option_id not in index:
            raise KeyError(option_id)
        i = index[option_id]
        o = self.options[i]
        ttr = pd.to_numeric(net.sites["ttr_weeks"], errors="coerce").fillna(0.0).to_numpy(float)
        site: str | None = None
        if o.links:
            known = [lk for lk in o.links if int(net.index_of([lk.customer_id])[0]) >= 0]
            for lk in known[:1]:
                sup = net.inputs(lk.customer_id).get(lk.material, [])
                region = dict(zip(net.site_ids.tolist(), self.ctx.region.tolist(), strict=True))
                ranked = sorted(sup, key=lambda s: (region.get(s.supplier_id) == o.region, -s.share, s.supplier_id))
                site = ranked[0].supplier_id if ranked else None
        elif o.type == "stock":
            table = self.base.table
            j = int(ev.opt_site[i])
            rows = np.flatnonzero(table["m"] == j) if net.is_market[j] else \
                np.unique(table["comp"]["row"][table["comp"]["d"] == j])
            singles = rows[ev.scen_kind[table["item_scen"][table["item"][rows]]] == 0]
            if len(singles):
                lost = pd.Series(table["lost"][singles]).groupby(table["item"][singles]).sum()
                site = str(net.site_ids[ev.scen_site[int(lost.idxmax())]])
        if site is None:
            return None, 0.0
        return site, float(ttr[int(net.index_of([site])[0])])

    def result(self, budget: float | None = None, *, max_rounds: int = 3) -> RegionalizationResult:
        """The portfolio for ``budget`` (default: :meth:`default_budget`), its exact figures and the frontier.

        Raises
        ------
        ValueError
            For a budget that is not a number >= 0.
        """
        timings = dict(self.timings)
        t = time.perf_counter()
        if budget is None:
            budget = self.default_budget()
            rule = (f"default: the cheapest portfolio reaching {DEFAULT_BUDGET_SHARE:.0%} of the largest achievable "
                    "risk reduction (per-option estimate)")
        else:
            try:
                budget = float(budget)
            except (TypeError, ValueError):
                raise ValueError(f"the budget must be a number >= 0, got {budget!r}") from None
            if not math.isfinite(budget) or budget < 0:
                raise ValueError(f"the budget must be a number >= 0, got {budget!r}")
            rule = "given"
        ev = self.evaluator

        def relinearised(x) -> np.ndarray:
            """Exact marginals around ``x`` for its options and the best-ranked others (the rest: 0)."""
            subset = self._candidates_for(x)
            out = np.zeros(len(self.options))
            out[subset] = ev.marginals(self.evaluation(x), subset).risk_reduction[subset]
            return out

        improved = pf.improve(self.problem, budget, lambda x: self.evaluation(x).risk, relinearised,
                              base_risk=self.base.risk, max_rounds=max_rounds)
        chosen = np.flatnonzero(improved.chosen).tolist()
        after = self.evaluation(improved.chosen)
        timings["portfolio"] = time.perf_counter() - t
        t = time.perf_counter()
        budgets = pf.frontier_budgets(self.problem, self.frontier_points, extra=[budget])
        front = pf.frontier(self.problem, budgets, lambda x: self.evaluation(x).risk,
                            known=[(improved.chosen, improved.risk)], solved=self._solved)
        timings["frontier"] = time.perf_counter() - t
        result = RegionalizationResult(self.markets, self.options, self.scores, self.base, after, budget, rule,
                                       chosen, improved.estimate, front, self.costs, self.risk, ev.worst_site,
                                       timings, self.base.worst_case, after.worst_case)
        if self.whatif is not None:
            t = time.perf_counter()
            self.whatif.fill(result)
            timings["worst_case_after"] = time.perf_counter() - t
        if self.expected_loss is not None:
            sites, links = _tables(self.net)
            result.expected_loss_before = self.expected_loss_before
            result.expected_loss_after = float(self.expected_loss(
                *apply_options(sites, links, [self.options[i] for i in chosen])))
        timings["total"] = timings["analysis"] + sum(timings[k] for k in ("portfolio", "frontier", "worst_case_after")
                                                     if k in timings)
        return result


class _WorstCaseWhatIf:
    """The worst single-site what-if, simulated (section 3.2): each option once, each portfolio on demand."""

    def __init__(self, net: SupplyNetwork, options: list[Option], ev: OptionEvaluator, ctx: NetworkContext,
                 scores: OptionScores, max_options: int):
        from riskmodel.tts import time_to_survive

        self.options = options
        self._tts = time_to_survive
        self.sites, self.links = _tables(net)
        self.throughput = dict(zip(net.site_ids.tolist(), ctx.throughput.tolist(), strict=True))
        base = time_to_survive(net).sites
        self.reduction = np.zeros(len(options))
        self.site: str | None = None
        self.before = 0.0
        if base.empty or not (base["lost_units"] > 0).any():
            return
        row = base.sort_values(["lost_units", "site_id"], ascending=[False, True], kind="stable").iloc[0]
        self.site, self.before = str(row["site_id"]), float(row["lost_units"])
        touching = ev.options_touching(self.site)
        order = np.flatnonzero(touching)[np.argsort(-scores.risk_reduction[touching], kind="stable")]
        self.reduction[order[max_options:]] = np.nan
        for i in order[:max_options]:
            o = options[i]
            self.reduction[i] = np.nan if o.type == "new_site" else self.before - self.lost_with([o])

    def lost_with(self, opts) -> float:
        """Lost units of the worst site's lone failure (for its ``ttr_weeks``) with ``opts`` in force."""
        if self.site is None:
            return 0.0
        s2, l2 = apply_options(self.sites, self.links, opts, throughput=self.throughput)
        return float(self._tts(SupplyNetwork(s2, l2), [self.site]).sites["lost_units"].iloc[0])

    def fill(self, result: RegionalizationResult) -> None:
        result.worst_site = self.site
        result.worst_case_before = self.before
        result.worst_case_after = (self.lost_with([self.options[i] for i in result.chosen])
                                   if result.chosen and self.site is not None else self.before)
        result.worst_case_reduction = self.reduction
        result.worst_case_method = "simulation"


def regionalize(net: SupplyNetwork, candidates: pd.DataFrame | None = None, budget: float | None = None, *,
                costs: CostParameters | None = None, risk: RiskParameters | None = None,
                expected_loss: ExpectedLossHook | None = None, max_rounds: int = 3,
                frontier_points: int = 9, whatif: bool = True,
                max_whatif_options: int = 200) -> RegionalizationResult:
    """Self-sufficiency, scored options, the portfolio for a budget and the cost-risk frontier.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    candidates : DataFrame, optional
        Validated candidate sites (:func:`riskmodel.candidates.load_candidates`).
    budget : float, optional
        Most the portfolio may cost (one-off plus yearly costs over the horizon). Default: the cheapest portfolio
        reaching :data:`DEFAULT_BUDGET_SHARE` of the largest achievable risk reduction (per-option model).
    costs : CostParameters, optional
    risk : RiskParameters, optional
    expected_loss : callable, optional
        Hook for the Monte Carlo (section 3.3): ``expected_loss(sites, links) -> expected lost units per year`` on
        the tables with options applied (:func:`riskmodel.options.apply_options`); it must use common random
        numbers (a fixed seed). When given, each option gets ``expected_loss_reduction`` and the portfolio its
        expected loss before and after. Not used for the choice.
    max_rounds : int
        Re-linearisations of the portfolio (:func:`riskmodel.portfolio.improve`).
    frontier_points : int
        Budgets on the frontier ladder (plus the chosen budget).
    whatif : bool
        Measure the worst single-site what-if with the daily simulation (:mod:`riskmodel.simulate`, section 3.2):
        the site whose lone failure for its ``ttr_weeks`` loses most units (:func:`riskmodel.tts.time_to_survive`),
        simulated again with each option in force (options that cannot reach that failure change nothing and get 0)
        and with the chosen portfolio. Without it the static first-order loss of that scenario is reported; new
        sites are reported as None (the simulation cannot give a site without normal output any capacity yet).
    max_whatif_options : int
        Most options simulated (largest static risk reduction first); the others get None.

    Returns
    -------
    RegionalizationResult

    Raises
    ------
    ValueError
        For a budget that is not a number >= 0.

    Examples
    --------
    >>> res = regionalize(net)  # doctest: +SKIP
    >>> res.to_json()["portfolio"]["risk_after"] < res.to_json()["portfolio"]["risk_before"]  # doctest: +SKIP
    True
    """
    analysis = Regionalization(net, candidates, costs=costs, risk=risk, expected_loss=expected_loss, whatif=whatif,
                               max_whatif_options=max_whatif_options, frontier_points=frontier_points)
    return analysis.result(budget, max_rounds=max_rounds)


def options_network(net: SupplyNetwork, option_ids, candidates: pd.DataFrame | None = None,
                    costs: CostParameters | None = None) -> SupplyNetwork:
    """The network with some options in force, for the what-if simulation (section 3.2).

    The options are generated again for ``net`` (ids are stable for a dataset, its candidates and its cost
    parameters) and applied with :func:`riskmodel.options.apply_options` (backups qualified, their capacity
    reserved; new sites built; stock added). This is what the what-if page runs for ``/what-if?options=...``.

    Parameters
    ----------
    net : SupplyNetwork
    option_ids : iterable of str
        Option ids as in ``riskmodel regionalize --json``.
    candidates : DataFrame, optional
    costs : CostParameters, optional

    Returns
    -------
    SupplyNetwork

    Raises
    ------
    KeyError
        For an unknown option id.

    Examples
    --------
    >>> net2 = options_network(net, ["Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US"])  # doctest: +SKIP
    >>> simulate(net2, Disruption("site:API-CIS-AHMEDABAD-IN", duration_weeks=52))  # doctest: +SKIP
    """
    ctx = network_context(net)
    by_id = {o.option_id: o for o in generate_options(net, candidates, costs, context=ctx)}
    ids = [str(i) for i in option_ids]
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise KeyError(f"unknown option id {missing[0]!r}")
    sites, links = _tables(net)
    s2, l2 = apply_options(sites, links, [by_id[i] for i in ids],
                           throughput=dict(zip(net.site_ids.tolist(), ctx.throughput.tolist(), strict=True)))
    return SupplyNetwork(s2, l2)


def _tables(net: SupplyNetwork) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical sites and links (active and backup) of a network."""
    cols = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]
    links = pd.concat([net.links[cols], net.backup_links[cols]], ignore_index=True) if len(net.backup_links) \
        else net.links[cols].copy()
    return net.sites.copy(), links


def regionalize_json(net: SupplyNetwork, candidates: pd.DataFrame | None = None, budget: float | None = None) -> dict:
    """The document of ``riskmodel regionalize DATA [--candidates FILE] [--budget X] --json``.

    ``{"markets": [{"market_id", "region", "self_sufficiency", "out_of_region_share", ...}], "options":
    [{"option_id", "type", "site_id", "material", "cost", "score", ...}], "portfolio": {"budget", "chosen", "cost",
    "risk_before", "risk_after", ...}, "frontier": [{"budget", "risk", ...}]}``; see ``docs/regionalization.md``.

    Examples
    --------
    >>> doc = regionalize_json(net)  # doctest: +SKIP
    >>> sorted(doc)  # doctest: +SKIP
    ['frontier', 'markets', 'options', 'portfolio']
    """
    return regionalize(net, candidates, budget).to_json()


def _money(v: float) -> str:
    for unit, size in (("bn", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= size:
            return f"{v / size:,.1f}{unit}"
    return f"{v:,.0f}"


def format_regionalization(result, top: int = 15) -> str:
    """A readable report: self-sufficiency by market, the best options, the portfolio and the frontier.

    Parameters
    ----------
    result : RegionalizationResult or dict
        From :func:`regionalize`, or its JSON document (:func:`regionalize_json`).
    top : int
        Options shown (all if ``top <= 0``).

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_regionalization(regionalize(net)))  # doctest: +SKIP
    """
    doc = result.to_json() if isinstance(result, RegionalizationResult) else result
    p = doc["portfolio"]
    cur = p.get("currency", "")
    lines = ["Self-sufficiency by market (supply kept if every site outside the market's region is lost):"]
    rows = [["market", "region", "self-sufficiency", "after portfolio", "max outside-region share"]]
    for m in sorted(doc["markets"], key=lambda m: (m["self_sufficiency"], m["market_id"])):
        rows.append([m["market_id"], m["region"], f"{m['self_sufficiency']:.0%}",
                     f"{m.get('self_sufficiency_after', m['self_sufficiency']):.0%}",
                     f"{m['out_of_region_share']:.0%}"])
    lines += _table(rows, right={2, 3, 4})
    opts = doc["options"]
    shown = opts if top <= 0 else opts[:top]
    lines += ["", f"{len(opts)} options, best risk reduction per unit of cost first (risk: {p['risk_unit']}):"]
    rows = [["option", "type", "cost", "weeks", "risk cut/yr", "score per 1M", "chosen"]]
    for o in shown:
        rows.append([o["option_id"], o["type"], _money(o["cost"]), f"{o['lead_time_weeks']:.0f}",
                     _money(o["risk_reduction"]), f"{o['score'] * 1e6:,.1f}", "yes" if o.get("chosen") else ""])
    lines += _table(rows, right={2, 3, 4, 5})
    if top > 0 and len(opts) > top:
        lines.append(f"... {len(opts) - top} more options (use --json for all)")
    lines += ["", f"Portfolio for a budget of {_money(p['budget'])} {cur} ({p['budget_rule']}):",
              f"  {len(p['chosen'])} options costing {_money(p['cost'])} {cur}: " + (", ".join(p["chosen"]) or "none"),
              f"  risk {_money(p['risk_before'])} -> {_money(p['risk_after'])} lost units/yr "
              f"(per-option estimate {_money(p['risk_after_estimate'])}); total exposure "
              f"{p['exposure_before']:.3f} -> {p['exposure_after']:.3f}; worst single-site what-if "
              f"({p['worst_case_site']}) {_money(p['worst_case_before'])} -> {_money(p['worst_case_after'])} units",
              "", "Frontier (exact risk after the portfolio chosen within each budget):"]
    rows = [["budget", "cost", "risk/yr"]] + [[_money(f["budget"]), _money(f["cost"]), _money(f["risk"])]
                                              for f in doc["frontier"]]
    lines += _table(rows, right={0, 1, 2})
    return "\n".join(lines)


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in
                             enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]
