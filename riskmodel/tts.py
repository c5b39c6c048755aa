"""Time to survive against time to recover for every supply site (PRODUCT.md section 3.2, Simchi-Levi's view).

This module owns the per-site TTS/TTR analysis and its outputs:

* :func:`time_to_survive` - each supply site is lost alone (capacity 0) from day 0 for its own ``ttr_weeks``;
  its **TTS** is the first day on which some market is short (None: no shortfall), its **TTR** the outage in days,
  and its lost units the shortfall over the outage and its aftermath. Sites with TTS < TTR are the ones that need a
  mitigation (stock, a second source, a qualified backup).
* :func:`tts_json` / :func:`format_tts` - the document of ``riskmodel tts --json`` and its readable table.

How it stays fast: a site whose lone failure leaves every market at full supply in the static model (section 3.1,
:func:`riskmodel.propagate.run_cones`) cannot cause a shortfall and is not simulated. The others run in batches
(:func:`riskmodel.simulate.run_single_site_batch`): each scenario simulates only the site's downstream cone (plus its
direct suppliers, frozen), for ``TTR + longest lead-time path to a market + 8`` days, after which nothing it caused
can still reach a market; batches run on all cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.network import SupplyNetwork
from riskmodel.propagate import network_arrays, run_cones
from riskmodel.simulate import run_single_site_batch, sim_arrays

__all__ = ["TTSResult", "format_tts", "statically_exposed", "time_to_survive", "tts_json"]

#: days simulated after the outage and the longest lead-time path to a market (margin)
TAIL_DAYS = 8
STATIC_TOLERANCE = 1e-12


@dataclass
class TTSResult:
    """Outcome of :func:`time_to_survive`.

    Attributes
    ----------
    sites : pandas.DataFrame
        One row per supply site, largest ``gap_days = ttr_days - tts_days`` first (sites without a shortfall last,
        by lost units then id): ``site_id, name, kind, country, region, operator, tts_days`` (float, NaN: no
        shortfall), ``ttr_days, gap_days`` (NaN without a shortfall), ``lost_units, needs_mitigation``
        (TTS < TTR), ``statically_exposed`` (False: its loss leaves every market whole, not simulated),
        ``horizon_days`` (days simulated; 0 when not simulated).
    """

    sites: pd.DataFrame

    @property
    def needing_mitigation(self) -> pd.DataFrame:
        """The rows with TTS < TTR."""
        return self.sites[self.sites["needs_mitigation"]]


def statically_exposed(net: SupplyNetwork, sites: np.ndarray) -> np.ndarray:
    """Which of ``sites`` cost some market supply when lost alone, in the static model (section 3.1).

    A site whose lone failure leaves every market at its intact supply cannot cause a shortfall over time either
    (no flow to a market changes), so it needs no simulation.

    Examples
    --------
    >>> statically_exposed(net, net.index_of(["FF-SAL-CASTLEBAR-IE"]))  # doctest: +SKIP
    array([ True])
    """
    sites = np.asarray(sites, dtype=np.int64)
    k = len(sites)
    if k == 0:
        return np.zeros(0, dtype=bool)
    arrays = network_arrays(net)
    res = run_cones(net, np.arange(k + 1, dtype=np.int64), sites, np.zeros(k), record=net.is_market,
                    markets_only=True, funnel=arrays.homogeneous)
    exposed = np.zeros(k, dtype=bool)
    drop = res.x < arrays.intact[res.site] - STATIC_TOLERANCE
    exposed[res.scenario[drop]] = True
    exposed |= res.funnel_to >= 0  # stopped at a site that reaches a market with less supply: markets lose
    return exposed


def _column(net: SupplyNetwork, name: str, idx: np.ndarray) -> np.ndarray:
    if name not in net.sites:
        return np.full(len(idx), "", dtype=object)
    return net.sites[name].where(net.sites[name].notna(), "").astype(str).to_numpy(dtype=object)[idx]


def time_to_survive(net: SupplyNetwork, site_ids=None) -> TTSResult:
    """TTS against TTR for every supply site (or the given ones): each lost alone for its own ``ttr_weeks``.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    site_ids : sequence of str, optional
        Only these sites (default: every non-market site; markets are demand points and are not failed).

    Returns
    -------
    TTSResult

    Examples
    --------
    >>> res = time_to_survive(net)  # doctest: +SKIP
    >>> res.sites.loc[0, ["site_id", "tts_days", "ttr_days", "needs_mitigation"]].tolist()  # doctest: +SKIP
    ['FF-MAB-SONGDO-KR', 52.0, 364, True]
    """
    arr = sim_arrays(net)
    if site_ids is None:
        idx = np.flatnonzero(~net.is_market).astype(np.int64)
    else:
        ids = [site_ids] if isinstance(site_ids, str) else [str(s) for s in site_ids]
        idx = net.index_of(ids).astype(np.int64)
        if (idx < 0).any():
            raise KeyError(f"unknown site id {ids[int(np.flatnonzero(idx < 0)[0])]!r}")
        if net.is_market[idx].any():
            raise ValueError(f"{ids[int(np.flatnonzero(net.is_market[idx])[0])]!r} is a market, not a supply site")
        idx = np.unique(idx)
    exposed = statically_exposed(net, idx)
    seeds = idx[exposed]
    ttr = arr.ttr_days[idx]
    horizons = np.zeros(len(idx), np.int64)
    horizons[exposed] = arr.ttr_days[seeds] + arr.market_depth[seeds] + TAIL_DAYS
    first = np.full(len(idx), -1, np.int64)
    lost = np.zeros(len(idx))
    if len(seeds):
        first[exposed], lost[exposed] = run_single_site_batch(net, seeds, arr.ttr_days[seeds], horizons[exposed])
    tts = np.where(first >= 0, first, np.nan).astype(float)
    gap = ttr - tts
    table = pd.DataFrame({
        "site_id": net.site_ids[idx],
        "name": _column(net, "name", idx),
        "kind": _column(net, "kind", idx),
        "country": _column(net, "country", idx),
        "region": _column(net, "region", idx),
        "operator": _column(net, "operator", idx),
        "tts_days": tts,
        "ttr_days": ttr,
        "gap_days": gap,
        "lost_units": lost,
        "needs_mitigation": np.nan_to_num(gap, nan=-1.0) > 0,
        "statically_exposed": exposed,
        "horizon_days": horizons,
    })
    table["_gap"] = table["gap_days"].fillna(-np.inf)
    table = table.sort_values(["_gap", "lost_units", "site_id"], ascending=[False, False, True], kind="stable")
    return TTSResult(table.drop(columns="_gap").reset_index(drop=True))


def tts_json(net: SupplyNetwork, result: TTSResult | None = None) -> dict:
    """The document of ``riskmodel tts --json``: per site TTS and TTR in days, largest gap TTR - TTS first.

    ``{"sites": [{"site_id", "name", "kind", "country", "tts_days" (null: no shortfall), "ttr_days", "gap_days",
    "lost_units", "needs_mitigation", "statically_exposed"}], "n_sites", "n_simulated", "n_needing_mitigation",
    "method"}``.

    Examples
    --------
    >>> doc = tts_json(net)  # doctest: +SKIP
    >>> doc["n_needing_mitigation"], doc["sites"][0]["site_id"]  # doctest: +SKIP
    (155, 'FF-MAB-SONGDO-KR')
    """
    result = time_to_survive(net) if result is None else result
    t = result.sites

    def num(v):
        return None if not np.isfinite(v) else int(v)

    rows = [{
        "site_id": r.site_id, "name": r.name, "kind": r.kind, "country": r.country,
        "tts_days": num(r.tts_days), "ttr_days": int(r.ttr_days), "gap_days": num(r.gap_days),
        "lost_units": float(r.lost_units), "needs_mitigation": bool(r.needs_mitigation),
        "statically_exposed": bool(r.statically_exposed),
    } for r in t.itertuples(index=False)]
    return {
        "sites": rows,
        "n_sites": len(rows),
        "n_simulated": int(t["statically_exposed"].sum()),
        "n_needing_mitigation": int(t["needs_mitigation"].sum()),
        "method": "each supply site lost alone (capacity 0) from day 0 for its ttr_weeks; TTS = first day with a "
                  "market shortfall (null: none); sites whose static exposure is 0 are not simulated",
    }


def format_tts(result: TTSResult | dict, top: int = 30) -> str:
    """A readable TTS/TTR table (a :class:`TTSResult` or the dict of :func:`tts_json`), mitigation needs first.

    Examples
    --------
    >>> print(format_tts(tts_json(net)))  # doctest: +SKIP
    155 of 197 supply sites have TTS < TTR (a lone loss for their TTR causes a shortfall before they recover)
    ...
    """
    if isinstance(result, TTSResult):
        rows = [{"site_id": r.site_id, "kind": r.kind, "country": r.country,
                 "tts_days": None if not np.isfinite(r.tts_days) else int(r.tts_days), "ttr_days": int(r.ttr_days),
                 "gap_days": None if not np.isfinite(r.gap_days) else int(r.gap_days),
                 "lost_units": float(r.lost_units), "needs_mitigation": bool(r.needs_mitigation)}
                for r in result.sites.itertuples(index=False)]
    else:
        rows = result["sites"]
    need = sum(r["needs_mitigation"] for r in rows)
    short = sum(r["tts_days"] is not None for r in rows)
    lines = [f"{need} of {len(rows)} supply sites have TTS < TTR (a lone loss for their TTR causes a shortfall "
             "before they recover)",
             f"{short} cause a shortfall at some point; {len(rows) - short} never do", ""]
    head = ("site", "kind", "country", "TTS days", "TTR days", "TTR-TTS", "lost units", "")
    table = [head] + [(r["site_id"], r["kind"], r["country"],
                       "-" if r["tts_days"] is None else str(r["tts_days"]), str(r["ttr_days"]),
                       "-" if r["gap_days"] is None else str(r["gap_days"]), f"{r['lost_units']:,.0f}",
                       "MITIGATE" if r["needs_mitigation"] else "") for r in rows[:top]]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        lines.append("  ".join(c.ljust(w) if i in (0, 1, 2, 7) else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())
    if len(rows) > top:
        lines.append(f"... and {len(rows) - top} more")
    return "\n".join(lines)
