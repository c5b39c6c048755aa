"""Single-point-of-failure exposure (PRODUCT.md section 3.1): what each site's, or each group's, lone failure costs.

This module owns the exposure analysis and its outputs:

* :func:`site_exposure` - for every supply site (markets are demand points and are not failed), the share of total
  market demand lost when that site alone fails (``c = 0``, section 3.1 propagation), the lost weekly units, the
  loss per market, and the flags: **SPOF** (some market cut to 0: ``x <= 1e-12``) and **critical** for a market
  (it loses at least half its demand: ``loss >= 0.5 - 1e-12``; SPOF markets are critical too).
* :func:`group_exposure` - the same for groups failing together: each country, region or operator.
* :func:`exposure_json` - the document of ``riskmodel exposure DATA --json`` (section 4), and
  :func:`format_exposure_table` - the readable text table.

Exactness and speed: every failure is propagated through its downstream cone only
(:func:`riskmodel.propagate.run_cones`). When every input group's shares sum to 1 (validated data), the deficit
``1 - x`` is positively homogeneous (a max of linear functions), so a failure whose whole effect funnels through one
site ``w`` costs exactly ``(1 - x_w)`` times what ``w``'s own failure costs; the kernel stops there and the results
are chained (a site's loss vector is a scaled copy of its "root" site's). See docs/model.md.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit

from riskmodel.network import SupplyNetwork
from riskmodel.propagate import network_arrays, run_cones

__all__ = [
    "ExposureResult",
    "site_exposure",
    "group_exposure",
    "exposure_json",
    "format_exposure_table",
    "SPOF_TOLERANCE",
    "CRITICAL_LOSS",
]

#: a market with ``x <= SPOF_TOLERANCE`` after a failure counts as cut to 0
SPOF_TOLERANCE = 1e-12
#: a failure is critical for a market when it loses at least this share of its weekly demand (minus the tolerance)
CRITICAL_LOSS = 0.5
GROUP_KEYS = ("country", "region", "operator")


@njit(cache=True)
def _resolve_funnels(sources, funnel_to, funnel_fac, n_sites):  # pragma: no cover - numba
    """Chain funnels: scenario ``t`` = ``fac[t]`` x scenario ``root[t]`` (roots have no funnel)."""
    k = sources.size
    scen_of = np.full(n_sites, -1, np.int64)
    for t in range(k):
        scen_of[sources[t]] = t
    root = np.empty(k, np.int64)
    fac = np.empty(k)
    for t in range(k - 1, -1, -1):
        w = funnel_to[t]
        if w < 0:
            root[t] = t
            fac[t] = 1.0
        else:
            tw = scen_of[w]
            root[t] = root[tw]
            fac[t] = funnel_fac[t] * fac[tw]
    return root, fac


@dataclass
class ExposureResult:
    """Exposure of every supply site, with the per-market detail.

    Attributes
    ----------
    sites : pandas.DataFrame
        One row per non-market site, sorted by exposure (largest first, then site id): ``site_id, name, kind,
        country, region, operator, exposure`` (share of total weekly demand lost), ``lost_weekly_units``, ``spof``
        (bool), ``spof_markets`` and ``critical_markets`` (lists of market ids, by loss then id).
    markets : pandas.DataFrame
        One row per market: ``market_id, name, country, region, weekly_demand, n_spof_sites, spof_sites``
        (ids, largest exposure first), ``n_critical_sites``, ``worst_site_id`` and ``worst_site_loss`` (the largest
        share of this market's demand any single site's failure costs; ``None``/0 if no site can hurt it).
    total_weekly_demand : float
        Sum of the markets' weekly demand.
    market_ids : ndarray of str
        Market ids in the column order of :meth:`market_loss`.

    Examples
    --------
    >>> res = site_exposure(net)  # doctest: +SKIP
    >>> res.sites.head(3)[["site_id", "exposure", "spof"]]  # doctest: +SKIP
    >>> res.market_loss()  # sparse (sites x markets) lost weekly units, rows as res.sites  # doctest: +SKIP
    """

    sites: pd.DataFrame
    markets: pd.DataFrame
    total_weekly_demand: float
    market_ids: np.ndarray
    # factorised per-market losses: row r of ``sites`` is scenario ``row_scenario[r]``, whose losses are
    # ``fac[t]`` times the explicit losses of scenario ``root[t]`` (CSR ``ent_ptr``/``ent_col``/``ent_loss``)
    row_scenario: np.ndarray = field(repr=False)
    root: np.ndarray = field(repr=False)
    fac: np.ndarray = field(repr=False)
    ent_ptr: np.ndarray = field(repr=False)
    ent_col: np.ndarray = field(repr=False)
    ent_loss: np.ndarray = field(repr=False)
    _matrix: sp.csr_matrix | None = field(default=None, repr=False)

    def market_loss(self) -> sp.csr_matrix:
        """Lost weekly units per (site, market): sparse CSR, rows as :attr:`sites`, columns as :attr:`market_ids`.

        Built on first call (its size is the number of (site, market) pairs a failure reaches).

        Examples
        --------
        >>> m = res.market_loss(); m.shape == (len(res.sites), len(res.market_ids))  # doctest: +SKIP
        True
        """
        if self._matrix is None:
            rows, ent = _expand(self.ent_ptr, self.root[self.row_scenario])
            vals = self.ent_loss[ent] * self.fac[self.row_scenario][rows]
            self._matrix = sp.csr_matrix((vals, (rows, self.ent_col[ent])),
                                         shape=(len(self.row_scenario), len(self.market_ids)))
        return self._matrix

    def losses_of(self, site_id: str) -> pd.Series:
        """Lost weekly units per market (markets that lose something) when ``site_id`` alone fails.

        Examples
        --------
        >>> res.losses_of("API-1")  # doctest: +SKIP
        MKT-US    600.0
        dtype: float64
        """
        hit = np.flatnonzero(self.sites["site_id"].to_numpy() == site_id)
        if not hit.size:
            raise KeyError(site_id)
        t = self.row_scenario[hit[0]]
        r = self.root[t]
        lo, hi = self.ent_ptr[r], self.ent_ptr[r + 1]
        return pd.Series(self.ent_loss[lo:hi] * self.fac[t], index=self.market_ids[self.ent_col[lo:hi]], dtype=float)


def _text_column(sites: pd.DataFrame, name: str) -> np.ndarray:
    if name not in sites:
        return np.full(len(sites), "", dtype=object)
    return sites[name].fillna("").astype(str).to_numpy(dtype=object)


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building many small lists (no cycles are made): with a large
    network loaded, each collection it would trigger rescans hundreds of thousands of objects."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _lists_by_row(rows: np.ndarray, values: np.ndarray, n_rows: int) -> list[list]:
    """``out[r]`` = the ``values`` whose row is ``r``, in their given order (one Python list per row)."""
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    vals = values[order].tolist()
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(rows)][: len(starts)]
    with _gc_paused():
        out: list[list] = [[] for _ in range(n_rows)]
        for r, a, b in zip(rows[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
            out[r] = vals[a:b]
    return out


def _id_rank(ids: np.ndarray) -> np.ndarray:
    """Rank of each id in sorted (code point) order: sort keys as integers instead of strings."""
    rank = np.empty(len(ids), np.int64)
    rank[np.argsort(np.asarray(ids, dtype=str), kind="stable")] = np.arange(len(ids))
    return rank


@dataclass
class _Failures:
    """Every supply site failing alone, factorised: scenario ``t`` loses ``fac[t]`` x the entries of ``root[t]``."""

    sources: np.ndarray  # site index of each scenario
    root: np.ndarray
    fac: np.ndarray
    ent_ptr: np.ndarray  # CSR over scenarios of the explicit (root) entries
    ent_site: np.ndarray  # market site index
    ent_frac: np.ndarray  # share of the market's weekly demand lost


def _single_failures(net: SupplyNetwork) -> _Failures:
    arrays = network_arrays(net)
    sources = np.flatnonzero(~net.is_market).astype(np.int64)
    k = len(sources)
    res = run_cones(net, np.arange(k + 1, dtype=np.int64), sources, np.zeros(k), record=net.is_market,
                    markets_only=True, funnel=arrays.homogeneous)
    root, fac = _resolve_funnels(sources, res.funnel_to, res.funnel_fac, net.n_sites)
    ent_ptr = np.zeros(k + 1, np.int64)
    np.cumsum(np.bincount(res.scenario, minlength=k), out=ent_ptr[1:])
    return _Failures(sources, root, fac, ent_ptr, res.site, arrays.intact[res.site] - res.x)


def _expand(ptr: np.ndarray, root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For CSR ``ptr`` over roots: (scenario, entry) pairs giving every scenario the entries of its root."""
    counts = ptr[root + 1] - ptr[root]
    scen = np.repeat(np.arange(len(root)), counts)
    ent = np.repeat(ptr[root] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return scen, ent


def site_exposure(net: SupplyNetwork) -> ExposureResult:
    """Exposure of every supply site: the share of total market demand lost when that site alone fails.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.

    Returns
    -------
    ExposureResult
        Ranked site table, market table and the per-market losses (:meth:`ExposureResult.market_loss`).

    Examples
    --------
    >>> res = site_exposure(net)  # doctest: +SKIP
    >>> res.sites.loc[0, ["site_id", "exposure", "spof", "spof_markets"]].tolist()  # doctest: +SKIP
    ['GLASS-1', 1.0, True, ['MKT-US']]
    """
    f = _single_failures(net)
    k = len(f.sources)
    n = net.n_sites
    x0 = network_arrays(net).intact
    market_ids = net.site_ids[net.market_index]
    col = np.full(n, -1, np.int64)
    col[net.market_index] = np.arange(len(market_ids))
    ent_scen = np.repeat(np.arange(k), np.diff(f.ent_ptr))
    ent_loss = net.demand[f.ent_site] * f.ent_frac
    lost = f.fac * np.bincount(ent_scen, weights=ent_loss, minlength=k)[f.root]
    total = net.total_weekly_demand
    exposure = lost / total if total > 0 else np.zeros(k)

    # critical or cut-to-0 entries of the roots, passed on (scaled) to every scenario funnelled into them
    # (funnels exist only with normalised shares, where intact x is 1 and a cut market has lost everything)
    heavy = (f.ent_frac >= CRITICAL_LOSS - SPOF_TOLERANCE) | (x0[f.ent_site] - f.ent_frac <= SPOF_TOLERANCE)
    h_ptr = np.zeros(k + 1, np.int64)
    np.cumsum(np.bincount(ent_scen[heavy], minlength=k), out=h_ptr[1:])
    h_site, h_frac = f.ent_site[heavy], f.ent_frac[heavy]
    p_scen, p_ent = _expand(h_ptr, f.root)
    p_site = h_site[p_ent]
    p_frac = f.fac[p_scen] * h_frac[p_ent]
    is_spof = x0[p_site] - p_frac <= SPOF_TOLERANCE
    is_crit = p_frac >= CRITICAL_LOSS - SPOF_TOLERANCE
    spof_flag = np.bincount(p_scen[is_spof], minlength=k) > 0

    # rows: exposure desc, then site id; market lists: loss desc, then market id
    id_rank = _id_rank(net.site_ids)
    rank = np.lexsort((id_rank[f.sources], -exposure))
    row_of = np.empty(k, np.int64)
    row_of[rank] = np.arange(k)
    order = np.lexsort((id_rank[p_site], -p_frac))
    p_rows, p_mid = row_of[p_scen[order]], net.site_ids[p_site[order]]
    spof_lists = _lists_by_row(p_rows[is_spof[order]], p_mid[is_spof[order]], k)
    crit_lists = _lists_by_row(p_rows[is_crit[order]], p_mid[is_crit[order]], k)

    s = net.sites.iloc[f.sources[rank]]
    sites = pd.DataFrame({
        "site_id": net.site_ids[f.sources[rank]],
        "name": _text_column(s, "name"),
        "kind": _text_column(s, "kind"),
        "country": _text_column(s, "country"),
        "region": _text_column(s, "region"),
        "operator": _text_column(s, "operator"),
        "exposure": exposure[rank],
        "lost_weekly_units": lost[rank],
        "spof": spof_flag[rank],
        "spof_markets": spof_lists,
        "critical_markets": crit_lists,
    })

    # per market: SPOF sites (largest exposure first), critical count, worst single site (roots dominate: a
    # funnelled site loses a scaled copy of its root's losses; ties go to the larger exposure)
    m = len(market_ids)
    sp_col, sp_scen = col[p_site[is_spof]], p_scen[is_spof]
    o = np.lexsort((id_rank[f.sources[sp_scen]], -exposure[sp_scen]))
    spof_sites = _lists_by_row(sp_col[o], net.site_ids[f.sources[sp_scen[o]]], m)
    worst_id = np.full(m, None, dtype=object)
    worst_loss = np.zeros(m)
    if len(ent_scen):
        c = col[f.ent_site]
        o = np.lexsort((-exposure[ent_scen], -f.ent_frac, c))
        first = o[np.r_[True, c[o][1:] != c[o][:-1]]]
        worst_id[c[first]] = net.site_ids[f.sources[ent_scen[first]]]
        worst_loss[c[first]] = f.ent_frac[first]
    ms = net.sites.iloc[net.market_index]
    markets = pd.DataFrame({
        "market_id": market_ids,
        "name": _text_column(ms, "name"),
        "country": _text_column(ms, "country"),
        "region": _text_column(ms, "region"),
        "weekly_demand": net.demand[net.market_index],
        "n_spof_sites": np.bincount(sp_col, minlength=m),
        "spof_sites": spof_sites,
        "n_critical_sites": np.bincount(col[p_site[is_crit]], minlength=m),
        "worst_site_id": worst_id,
        "worst_site_loss": worst_loss,
    })
    return ExposureResult(sites=sites, markets=markets, total_weekly_demand=total, market_ids=market_ids,
                          row_scenario=rank, root=f.root, fac=f.fac, ent_ptr=f.ent_ptr, ent_col=col[f.ent_site],
                          ent_loss=ent_loss)


def group_exposure(net: SupplyNetwork, by: str = "country") -> pd.DataFrame:
    """Exposure of groups of supply sites failing together: each country, region or operator.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    by : {"country", "region", "operator"}
        The site column that forms the groups (any other site column works too). Markets are demand points and
        are never failed; sites with an empty value (e.g. no operator) belong to no group.

    Returns
    -------
    pandas.DataFrame
        One row per group, largest exposure first: ``<by>, n_sites, exposure, lost_weekly_units, spof,
        spof_markets, critical_markets`` (same definitions as :func:`site_exposure`).

    Examples
    --------
    >>> group_exposure(net, by="country").iloc[0][["country", "exposure"]].tolist()  # doctest: +SKIP
    ['CHN', 0.62]
    """
    if by not in net.sites.columns:
        raise ValueError(f"unknown site column {by!r}: expected one of {', '.join(GROUP_KEYS)}")
    keys = net.sites[by].where(net.sites[by].notna(), "").astype(str).str.strip().to_numpy()
    member = ~net.is_market & (keys != "")
    codes, uniques = pd.factorize(keys[member], sort=True)
    seeds = np.flatnonzero(member)[np.argsort(codes, kind="stable")].astype(np.int64)
    g = len(uniques)
    ptr = np.zeros(g + 1, np.int64)
    np.cumsum(np.bincount(codes, minlength=g), out=ptr[1:])
    res = run_cones(net, ptr, seeds, np.zeros(len(seeds)), record=net.is_market, markets_only=True)
    x0 = network_arrays(net).intact
    frac = x0[res.site] - res.x
    loss = net.demand[res.site] * frac
    lost = np.bincount(res.scenario, weights=loss, minlength=g)
    total = net.total_weekly_demand
    ids = net.site_ids[res.site]
    order = np.lexsort((ids, -frac))
    spof = res.x[order] <= SPOF_TOLERANCE
    crit = frac[order] >= CRITICAL_LOSS - SPOF_TOLERANCE
    out = pd.DataFrame({
        by: np.asarray(uniques, dtype=object),
        "n_sites": np.diff(ptr),
        "exposure": lost / total if total > 0 else np.zeros(g),
        "lost_weekly_units": lost,
        "spof": np.bincount(res.scenario[order][spof], minlength=g) > 0,
        "spof_markets": _lists_by_row(res.scenario[order][spof], ids[order][spof], g),
        "critical_markets": _lists_by_row(res.scenario[order][crit], ids[order][crit], g),
    })
    return out.sort_values(["exposure", by], ascending=[False, True], kind="stable").reset_index(drop=True)


def exposure_json(net: SupplyNetwork, result: ExposureResult | None = None) -> dict:
    """The document of ``riskmodel exposure DATA --json`` (PRODUCT.md section 4).

    ``{"total_weekly_demand", "sites": [{"site_id", "exposure", "lost_weekly_units", "spof", "critical_markets",
    "spof_markets"}], "markets": [...], "concentration": [...]}``, sites sorted by exposure, largest first.
    ``markets``: one object per market with ``market_id, name, country, region, weekly_demand, n_spof_sites,
    spof_sites, n_critical_sites, worst_site_id, worst_site_loss``. ``concentration``: one object per (market, tier)
    from :func:`riskmodel.concentration.concentration` (HHI by country and by operator, outside-region share,
    sole-source inputs). Exposure and loss fractions are rounded to 12 decimals, lost units to 9, concentration
    shares to 6 and HHI to 2. All values are plain Python (str, bool, int, finite float, list, None): JSON-ready.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    result : ExposureResult, optional
        A result of :func:`site_exposure` already computed for ``net``.

    Returns
    -------
    dict

    Examples
    --------
    >>> doc = exposure_json(net)  # doctest: +SKIP
    >>> sorted(doc)  # doctest: +SKIP
    ['concentration', 'markets', 'sites', 'total_weekly_demand']
    """
    from riskmodel.concentration import concentration

    res = result if result is not None else site_exposure(net)
    sites = res.sites[["site_id", "exposure", "lost_weekly_units", "spof", "critical_markets", "spof_markets"]]
    sites = sites.assign(exposure=sites["exposure"].round(12), lost_weekly_units=sites["lost_weekly_units"].round(9))
    markets = res.markets.assign(worst_site_loss=res.markets["worst_site_loss"].round(12))
    conc = concentration(net)
    for c in ("top_country_share", "top_operator_share", "outside_region_share"):
        conc[c] = conc[c].round(6)
    for c in ("hhi_country", "hhi_operator"):
        conc[c] = conc[c].round(2)
    return {"total_weekly_demand": float(res.total_weekly_demand), "sites": _records(sites),
            "markets": _records(markets), "concentration": _records(conc)}


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (faster than ``DataFrame.to_dict`` on Arrow-backed strings)."""
    columns = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            columns.append(col.to_numpy(bool).tolist())
        elif pd.api.types.is_integer_dtype(col):
            columns.append(col.to_numpy(np.int64).tolist())
        elif pd.api.types.is_float_dtype(col):
            columns.append(col.to_numpy(np.float64).tolist())
        else:
            columns.append(col.to_numpy(dtype=object).tolist())
    keys = list(frame.columns)
    with _gc_paused():
        return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            .rstrip() for r in rows]


def _short_list(items: list, limit: int = 3) -> str:
    if not items:
        return "-"
    head = ", ".join(map(str, items[:limit]))
    return head + (f" +{len(items) - limit}" if len(items) > limit else "")


def format_exposure_table(result: ExposureResult, top: int = 30) -> str:
    """A readable text report: key figures, then the ``top`` most exposed sites.

    Parameters
    ----------
    result : ExposureResult
        From :func:`site_exposure`.
    top : int
        Number of site rows (all if ``top <= 0``).

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_exposure_table(site_exposure(net), top=5))  # doctest: +SKIP
    """
    s = result.sites
    m = result.markets
    n_spof = int(s["spof"].sum())
    n_crit = int((s["critical_markets"].map(len) > 0).sum())
    spof_demand = float(m.loc[m["n_spof_sites"] > 0, "weekly_demand"].sum())
    total = result.total_weekly_demand
    share = spof_demand / total if total > 0 else 0.0
    lines = [
        f"{len(s)} supply sites, {len(m)} markets, total weekly demand {total:,.0f} units",
        f"{n_spof} single points of failure (a market cut to 0), {n_crit} sites critical for some market "
        f"(>= 50% loss); {share:.1%} of demand ({spof_demand:,.0f} units/week) sits behind at least one SPOF",
        "",
    ]
    shown = s if top <= 0 else s.head(top)
    rows = [["#", "site", "kind", "country", "exposure", "lost units/wk", "SPOF", "SPOF markets",
             "critical markets"]]
    for i, r in enumerate(shown.itertuples(index=False), start=1):
        rows.append([str(i), str(r.site_id), str(r.kind), str(r.country), f"{r.exposure:.2%}",
                     f"{r.lost_weekly_units:,.0f}", "yes" if r.spof else "", _short_list(r.spof_markets),
                     _short_list(r.critical_markets)])
    lines += _table(rows, right={0, 4, 5})
    if top > 0 and len(s) > top:
        lines.append(f"... {len(s) - top} more sites (use --top 0 for all, --json for everything)")
    return "\n".join(lines)
