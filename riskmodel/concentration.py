"""Concentration of supply (PRODUCT.md section 3.1, last bullet): where each market's supply comes from, per tier.

This module owns the flow-fraction model and the concentration figures built on it:

* :func:`flow_fractions` - ``F[v, m]``: the fraction of market ``m``'s supply that passes through site ``v``, i.e.
  the sum over all supply paths ``v -> ... -> m`` of the product of the normalised shares along the path
  (``F[m, m] = 1``). Through an AND site every input material carries the whole product, so a site that needs two
  materials passes its fraction on to the suppliers of each. Computed by sparse products, one per path length.
* :func:`concentration` - per market and tier (site kind): the supply of tier ``t`` reaching market ``m`` is
  ``F[v, m]`` over the sites ``v`` of kind ``t``, normalised to shares; from it the Herfindahl-Hirschman index by
  country and by operator (0-10,000 scale: sum of squared percentage shares), the largest country and operator,
  the share from outside the market's region, and the count of sole-source inputs.
* :func:`sole_source_inputs` - input groups (customer, material) with a single qualified supplier, counting active
  and backup suppliers.

Definitions and a worked example are in docs/model.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from riskmodel.network import SupplyNetwork

__all__ = ["flow_fractions", "concentration", "sole_source_inputs", "TIERS"]

#: tiers, upstream first (the site kinds of PRODUCT.md section 2 except ``market``)
TIERS = ("raw_material", "api", "cmo", "fill_finish", "packaging", "logistics", "distribution")


def flow_fractions(net: SupplyNetwork) -> sp.csr_matrix:
    """Fraction of each market's supply that passes through each site.

    ``F = sum over k >= 0 of W^k E`` where ``W[u, v]`` is the share of ``v``'s need of a material that ``u``
    supplies (summed over materials) and ``E`` selects the markets: one sparse product per path length.

    Parameters
    ----------
    net : SupplyNetwork
        The network.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_sites, n_markets)
        Rows in network order, columns as ``net.market_index``.

    Examples
    --------
    >>> F = flow_fractions(net)  # doctest: +SKIP
    >>> F[net.index_of(["API-1"])[0], 0]  # 60% of market 0's supply goes through API-1  # doctest: +SKIP
    0.6
    """
    n = net.n_sites
    m = len(net.market_index)
    customer = net.links["customer"].to_numpy(np.int64) if len(net.links) else np.zeros(0, np.int64)
    w = sp.csr_matrix((net.link_share, (net.link_supplier, customer)), shape=(n, n))
    term = sp.csr_matrix((np.ones(m), (net.market_index, np.arange(m))), shape=(n, m))
    total = term.copy()
    for _ in range(n):
        term = w @ term
        term.eliminate_zeros()
        if term.nnz == 0:
            break
        total = total + term
    return total.tocsr()


def _text(net: SupplyNetwork, name: str) -> np.ndarray:
    col = net.sites[name] if name in net.sites else pd.Series("", index=net.sites.index)
    return col.where(col.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _operator_keys(net: SupplyNetwork) -> np.ndarray:
    """Operator per site; a site without operator counts as its own company (its site id)."""
    op = _text(net, "operator")
    return np.where(op == "", net.site_ids.astype(object), op)


def _tier_codes(net: SupplyNetwork) -> np.ndarray:
    """Index in :data:`TIERS` of each site's kind (-1 for markets)."""
    return pd.Index(TIERS).get_indexer(net.sites["kind"].astype(str)).astype(np.int64)


@dataclass
class _KeyStats:
    """Per (market, tier) cell ``g = market * len(TIERS) + tier``: flow total, HHI, number of keys, top key."""

    total: np.ndarray
    hhi: np.ndarray
    count: np.ndarray
    top: np.ndarray
    top_share: np.ndarray
    inside: np.ndarray  # flow from keys equal to the market's own key (used for regions)


def _key_stats(flow: sp.csr_matrix, tier: np.ndarray, key: np.ndarray, n_keys: int,
               market_key: np.ndarray | None = None) -> _KeyStats:
    """Aggregate the flow of the supply sites (rows of ``flow``) by (tier, key) and summarise per cell.

    ``key`` codes must be in sorted label order (ties for the top key go to the first label).
    """
    n_markets = flow.shape[1]
    size = n_markets * len(TIERS)
    pair = tier * n_keys + key
    upair, pcode = np.unique(pair, return_inverse=True)
    onehot = sp.csr_matrix((np.ones(len(pcode)), (pcode, np.arange(len(pcode)))), shape=(len(upair), len(pcode)))
    agg = (onehot @ flow).tocoo()
    p_tier, p_key = upair[agg.row] // n_keys, upair[agg.row] % n_keys
    g = agg.col.astype(np.int64) * len(TIERS) + p_tier
    total = np.bincount(g, weights=agg.data, minlength=size)
    share = agg.data / total[g]
    top = np.full(size, -1, np.int64)
    top_share = np.zeros(size)
    if len(g):
        o = np.lexsort((p_key, -share, g))
        first = o[np.r_[True, g[o][1:] != g[o][:-1]]]
        top[g[first]] = p_key[first]
        top_share[g[first]] = share[first]
    inside = np.zeros(size)
    if market_key is not None:
        mine = p_key == market_key[agg.col]
        inside = np.bincount(g[mine], weights=agg.data[mine], minlength=size)
    return _KeyStats(total, np.bincount(g, weights=share ** 2, minlength=size) * 10_000.0,
                     np.bincount(g, minlength=size), top, top_share, inside)


def _sole_groups(net: SupplyNetwork) -> np.ndarray:
    """Input groups whose (customer, material) has one distinct supplier among active and backup links."""
    bk = net.backup_links
    mat_codes, _ = pd.factorize(np.concatenate([net.group_material.astype(str),
                                                bk["material"].astype(str).to_numpy() if len(bk) else []]))
    n_mat = max(1, int(mat_codes.max()) + 1) if len(mat_codes) else 1
    g_key = net.group_site.astype(np.int64) * n_mat + mat_codes[: net.n_groups]
    keys = [g_key[net.link_group]]
    sups = [net.link_supplier.astype(np.int64)]
    if len(bk):
        cust = net.index_of(bk["customer_id"].to_numpy())
        sup = net.index_of(bk["supplier_id"].to_numpy())
        keys.append(cust * n_mat + mat_codes[net.n_groups:])
        sups.append(sup)
    pairs = np.unique(np.concatenate(keys) * (net.n_sites + 1) + np.concatenate(sups))
    k, counts = np.unique(pairs // (net.n_sites + 1), return_counts=True)
    single = k[counts == 1]
    return np.flatnonzero(np.isin(g_key, single))


def sole_source_inputs(net: SupplyNetwork) -> pd.DataFrame:
    """Input groups (customer, material) with one qualified supplier, active and backup suppliers counted.

    Parameters
    ----------
    net : SupplyNetwork
        The network (its backup links count as qualified alternates).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, customer_kind, customer_country, material, supplier_id, supplier_kind, supplier_country``,
        sorted by customer then material.

    Examples
    --------
    >>> sole_source_inputs(net)[["customer_id", "material", "supplier_id"]].head(1)  # doctest: +SKIP
    """
    groups = _sole_groups(net)
    cust = net.group_site[groups]
    sup = net.link_supplier[net.group_link_ptr[groups]]
    kind = net.sites["kind"].astype(str).to_numpy(dtype=object)
    country = _text(net, "country")
    out = pd.DataFrame({
        "customer_id": net.site_ids[cust], "customer_kind": kind[cust], "customer_country": country[cust],
        "material": net.group_material[groups].astype(str), "supplier_id": net.site_ids[sup],
        "supplier_kind": kind[sup], "supplier_country": country[sup],
    })
    return out.sort_values(["customer_id", "material"], kind="stable").reset_index(drop=True)


def concentration(net: SupplyNetwork, flow: sp.csr_matrix | None = None) -> pd.DataFrame:
    """Concentration of each market's supply per tier: HHI by country and operator, outside-region share.

    Parameters
    ----------
    net : SupplyNetwork
        The network.
    flow : scipy.sparse matrix, optional
        :func:`flow_fractions` of ``net`` if already computed.

    Returns
    -------
    pandas.DataFrame
        One row per (market, tier) where the tier supplies the market, markets in network order, tiers upstream
        first: ``market_id, tier, n_sites, hhi_country, n_countries, top_country, top_country_share,
        hhi_operator, n_operators, top_operator, top_operator_share, outside_region_share, sole_source_inputs``
        (input groups upstream of the market, or of the market itself, whose single qualified supplier is of this
        tier).

    Examples
    --------
    >>> concentration(net).query("tier == 'api'")[["market_id", "hhi_country"]]  # doctest: +SKIP
    """
    flow = flow_fractions(net) if flow is None else sp.csr_matrix(flow)
    n_tiers = len(TIERS)
    tier_all = _tier_codes(net)
    rows = np.flatnonzero(tier_all >= 0)
    f = flow[rows]
    tier = tier_all[rows]
    n_markets = flow.shape[1]

    country_codes, countries = pd.factorize(_text(net, "country"), sort=True)
    op_codes, operators = pd.factorize(_operator_keys(net), sort=True)
    region_codes, regions = pd.factorize(_text(net, "region"), sort=True)
    by_country = _key_stats(f, tier, country_codes[rows], len(countries))
    by_operator = _key_stats(f, tier, op_codes[rows], len(operators))
    by_region = _key_stats(f, tier, region_codes[rows], len(regions), market_key=region_codes[net.market_index])

    fc = f.tocoo()
    n_sites = np.bincount(fc.col.astype(np.int64) * n_tiers + tier[fc.row], minlength=n_markets * n_tiers)
    # sole-source inputs per market and supplier tier: groups whose customer supplies (or is) the market
    groups = _sole_groups(net)
    s_tier = tier_all[net.link_supplier[net.group_link_ptr[groups]]]
    keep = s_tier >= 0
    per_site = sp.csr_matrix((np.ones(keep.sum()), (net.group_site[groups][keep], s_tier[keep])),
                             shape=(net.n_sites, n_tiers))
    reach = flow.copy()
    reach.data[:] = 1.0
    sole = np.asarray((reach.T @ per_site).todense()).ravel()  # cell g = market * n_tiers + tier

    cell = np.flatnonzero(by_country.total > 0)
    total = by_country.total[cell]
    return pd.DataFrame({
        "market_id": net.site_ids[net.market_index][cell // n_tiers],
        "tier": np.asarray(TIERS, dtype=object)[cell % n_tiers],
        "n_sites": n_sites[cell],
        "hhi_country": by_country.hhi[cell],
        "n_countries": by_country.count[cell],
        "top_country": np.asarray(countries, dtype=object)[by_country.top[cell]],
        "top_country_share": by_country.top_share[cell],
        "hhi_operator": by_operator.hhi[cell],
        "n_operators": by_operator.count[cell],
        "top_operator": np.asarray(operators, dtype=object)[by_operator.top[cell]],
        "top_operator_share": by_operator.top_share[cell],
        "outside_region_share": np.clip(1.0 - by_region.inside[cell] / total, 0.0, 1.0),
        "sole_source_inputs": np.rint(sole[cell]).astype(np.int64),
    })
