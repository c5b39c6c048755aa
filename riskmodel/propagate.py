"""Supply propagation of PRODUCT.md section 3.1 over the array views of a :class:`~riskmodel.network.SupplyNetwork`.

This module owns the static model itself: for a scenario where site ``v`` keeps a capacity fraction ``c_v``,
``x_v = c_v * min over input materials m of min(1, sum of share(u, v) * x_u over the active suppliers u of m)``
(``x_v = c_v`` for a site without inputs), computed in topological order. AND across materials, OR across the
suppliers of one material.

* :func:`propagate` - one scenario, a full pass over all sites.
* :func:`propagate_many` - many scenarios: a dense ``(k, n)`` capacity array (a full pass per row), or a sparse
  list of failed sets, each propagated only through its downstream cone (everything else keeps its intact value).
* :func:`propagate_markets` - the same for sparse scenarios, returning only the markets' supply (``k x markets``),
  which is what large scenario sets need (the dense ``k x n`` answer does not fit memory at 100,000 x 100,000).
* :func:`network_arrays` - derived arrays (outgoing links, intact supply, which sites reach a market, the kernel's
  numbering), computed once per network and kept beside it (a weak-keyed cache; the network is not modified).

The cone kernel (:func:`run_cones`) is the engine of :mod:`riskmodel.exposure` too. Per scenario it visits only
the sites whose supply changes, level by level (a bucket per topological level), with "queued" stamps instead of
clearing arrays between scenarios; a changed supplier pushes its drop ``share * (x0 - x)`` into its customer's input
group, so a visited site costs the number of its input groups plus its outgoing links, not its in-degree. The kernel
runs in its own topological numbering (:func:`network_arrays`), chosen so that each site's customers sit side by
side in memory: at 100,000 sites the kernel is bound by memory latency, and this halves it. Kernels are compiled by
numba (``cache=True``: only the first run on a machine pays the compile time) with ``nogil=True``; scenarios are
dealt round-robin into chunks that run on a thread pool, each call with its own scratch arrays and output buffers.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from riskmodel.network import SupplyNetwork

__all__ = [
    "NetworkArrays",
    "network_arrays",
    "propagate",
    "propagate_many",
    "propagate_markets",
    "run_cones",
    "ConeResult",
]

#: |sum of shares - 1| below which every input group counts as normalised (enables the exact "funnel" shortcut)
HOMOGENEOUS_TOLERANCE = 1e-12


# ------------------------------------------------------------------------------------------------ numba kernels
@njit(cache=True, nogil=True)
def _supply_pass(cap, site_group_ptr, group_link_ptr, link_supplier, link_share, x):  # pragma: no cover - numba
    """One full topological pass of section 3.1 for one scenario (``x`` is written)."""
    for v in range(cap.size):
        mn = 1.0
        for g in range(site_group_ptr[v], site_group_ptr[v + 1]):
            s = 0.0
            for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                s += link_share[e] * x[link_supplier[e]]
            if s < mn:
                mn = s
        x[v] = cap[v] * mn


@njit(cache=True, nogil=True)
def _supply_pass_rows(caps, site_group_ptr, group_link_ptr, link_supplier, link_share, out):  # pragma: no cover
    """:func:`_supply_pass` for each row of ``caps`` into the same row of ``out``."""
    for r in range(caps.shape[0]):
        _supply_pass(caps[r], site_group_ptr, group_link_ptr, link_supplier, link_share, out[r])


@njit(cache=True, nogil=True)
def _grow(a, size):  # pragma: no cover - numba
    b = np.empty(max(2 * a.size, size), a.dtype)
    b[: a.size] = a
    return b


@njit(cache=True, nogil=True)
def _cone_kernel(scen_ptr, seed_site, seed_cap, x0, level, site_group_ptr, group_base, out_ptr, out_customer,
                 out_group, out_share, record, funnel):  # pragma: no cover - numba
    """Propagate sparse scenarios, each through its downstream cone only.

    Scenario ``t`` sets the capacity of ``seed_site[scen_ptr[t]:scen_ptr[t+1]]`` to ``seed_cap[...]`` (others 1).
    Sites wait in one bucket per topological level (a site's suppliers all have lower levels) and are visited level
    by level; a site enters a bucket when one of its suppliers changed. Every untouched site keeps its intact value
    ``x0``. A changed supplier ``u`` adds ``share * (x0[u] - x[u])`` to its customer's input group, so a visited
    site reads ``a_g = group_base[g] - lost[g]`` for each of its groups without scanning all its suppliers.

    Returns the changed sites that ``record`` marks, as triplets (scenario, site, x) grouped by scenario, and,
    when ``funnel`` is on, ``funnel_to[t]``/``funnel_fac[t]``: the scenario stopped at a site ``w`` that carries
    all of its remaining effect; its outcome downstream is ``funnel_fac[t]`` times that of ``w`` failing alone
    (exact when every input group's shares sum to 1, see docs/model.md).
    """
    n = x0.size
    k = scen_ptr.size - 1
    n_levels = (level.max() + 1) if n else 1
    queued = np.full(n, -1, np.int32)  # queued[v] == t: v waits in (or went through) a bucket in scenario t
    seeded = np.full(n, -1, np.int32)
    touched = np.full(group_base.size, -1, np.int32)
    lost = np.empty(group_base.size)  # lost[g]: supply group g lost in scenario touched[g]
    capw = np.ones(n)
    nxt = np.empty(n, np.int32)  # bucket of each level: a linked list head[level] -> nxt[...] -> -1
    head = np.full(n_levels, -1, np.int32)
    funnel_to = np.full(k, -1, np.int64)
    funnel_fac = np.zeros(k)
    o_scen = np.empty(1024, np.int64)
    o_site = np.empty(1024, np.int64)
    o_x = np.empty(1024)
    no = 0
    for t in range(k):
        pending = 0
        lv = n_levels
        top = -1
        for j in range(scen_ptr[t], scen_ptr[t + 1]):
            v = seed_site[j]
            if seeded[v] == t:
                capw[v] = min(capw[v], seed_cap[j])
            else:
                seeded[v] = t
                capw[v] = seed_cap[j]
            if queued[v] != t:
                queued[v] = t
                nxt[v] = head[level[v]]
                head[level[v]] = v
                pending += 1
                lv = min(lv, level[v])
                top = max(top, level[v])
        n_rec = 0
        while lv <= top:
            w = head[lv]
            if w < 0:
                lv += 1
                continue
            head[lv] = nxt[w]
            pending -= 1
            mn = 1.0
            for g in range(site_group_ptr[w], site_group_ptr[w + 1]):
                a = group_base[g] - lost[g] if touched[g] == t else group_base[g]
                if a < mn:
                    mn = a
            if mn < 0.0:
                mn = 0.0
            if seeded[w] == t:
                mn *= capw[w]
            if not mn < x0[w]:
                continue  # unchanged: nothing to pass on
            # funnel: nothing else is pending and nothing was recorded, so all the rest flows through w
            if funnel and pending == 0 and n_rec == 0 and seeded[w] != t and not record[w] \
                    and out_ptr[w + 1] > out_ptr[w]:
                funnel_to[t] = w
                funnel_fac[t] = (x0[w] - mn) / x0[w]
                break  # pending == 0: every bucket is empty
            if record[w]:
                if no == o_site.size:
                    o_scen = _grow(o_scen, no + 1)
                    o_site = _grow(o_site, no + 1)
                    o_x = _grow(o_x, no + 1)
                o_scen[no] = t
                o_site[no] = w
                o_x[no] = mn
                no += 1
                n_rec += 1
            drop = x0[w] - mn
            for e in range(out_ptr[w], out_ptr[w + 1]):
                g = out_group[e]
                if touched[g] != t:
                    touched[g] = t
                    lost[g] = 0.0
                lost[g] += out_share[e] * drop
                c = out_customer[e]
                if queued[c] != t:
                    queued[c] = t
                    nxt[c] = head[level[c]]
                    head[level[c]] = c
                    pending += 1
                    if level[c] > top:
                        top = level[c]
    return o_scen[:no], o_site[:no], o_x[:no], funnel_to, funnel_fac


@njit(cache=True, nogil=True)
def _reaches_market(is_market, out_ptr, out_customer):  # pragma: no cover - numba
    n = is_market.size
    reach = is_market.copy()
    for v in range(n - 1, -1, -1):
        if not reach[v]:
            for e in range(out_ptr[v], out_ptr[v + 1]):
                if reach[out_customer[e]]:
                    reach[v] = True
                    break
    return reach


# ------------------------------------------------------------------------------------------------ derived arrays
@njit(cache=True)
def _locality_order(level, site_group_ptr, group_link_ptr, link_supplier):  # pragma: no cover - numba
    """A topological numbering that keeps each site's customers close together in memory.

    Level by level; within a level, sites are sorted by the smallest new position of their suppliers (then by
    index), so the customers of one supplier - and so the sites of one downstream cone - sit side by side.
    """
    n = level.size
    n_levels = (level.max() + 1) if n else 0
    count = np.zeros(n_levels + 1, np.int64)
    for v in range(n):
        count[level[v] + 1] += 1
    start = np.cumsum(count)
    by_level = np.empty(n, np.int64)
    fill = start[:-1].copy()
    for v in range(n):
        by_level[fill[level[v]]] = v
        fill[level[v]] += 1
    pos = np.empty(n, np.int64)
    key = np.empty(n, np.int64)
    for lv in range(n_levels):
        nodes = by_level[start[lv]:start[lv + 1]]
        for i in range(nodes.size):
            v = nodes[i]
            best = n
            for g in range(site_group_ptr[v], site_group_ptr[v + 1]):
                for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                    p = pos[link_supplier[e]]
                    if p < best:
                        best = p
            key[i] = best * n + v
        order = np.argsort(key[: nodes.size])
        for i in range(nodes.size):
            pos[nodes[order[i]]] = start[lv] + i
    return pos


@dataclass(frozen=True)
class OutLinks:
    """Outgoing active links as CSR: the links of supplier ``v`` are ``ptr[v]:ptr[v+1]``.

    ``customer``, ``group`` (the customer's input group) and ``share`` of each link, in the kernel numbering.
    """

    ptr: np.ndarray
    customer: np.ndarray
    group: np.ndarray
    share: np.ndarray


@dataclass(frozen=True)
class NetworkArrays:
    """Arrays derived once per network for the propagation kernels (see :func:`network_arrays`).

    The cone kernel works in its own topological numbering (:func:`_locality_order`): ``to_kernel[site]`` and
    ``from_kernel[k]`` translate; every ``k_*`` array is in that numbering.

    Attributes
    ----------
    intact : ndarray of float
        ``x`` of each site (network numbering) with every capacity 1 (all ones when shares are normalised).
    reaches_market : ndarray of bool
        Sites (network numbering) with a path to a market, markets included.
    homogeneous : bool
        Every input group's shares sum to 1 (within :data:`HOMOGENEOUS_TOLERANCE`): then the deficit ``1 - x``
        is a max of linear functions and scales exactly through a single site (the "funnel" shortcut).
    to_kernel, from_kernel : ndarray of int
        Site index -> kernel index, and back.
    k_level, k_intact : ndarray
        Topological level (suppliers below customers) and intact ``x`` per kernel index.
    k_group_ptr, k_group_base : ndarray
        Input groups of each kernel site (CSR) and each group's intact supply ``sum of share * intact[supplier]``.
    k_out, k_market_out : OutLinks
        All outgoing active links, and those into sites that reach a market (the others cannot change a market).
    """

    intact: np.ndarray
    reaches_market: np.ndarray
    homogeneous: bool
    to_kernel: np.ndarray
    from_kernel: np.ndarray
    k_level: np.ndarray
    k_intact: np.ndarray
    k_group_ptr: np.ndarray
    k_group_base: np.ndarray
    k_out: OutLinks
    k_market_out: OutLinks


_ARRAYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_INDEX = np.int32  # kernel index arrays: half the cache footprint of int64 (networks stay below 2**31 links)


def _out_links(n: int, supplier: np.ndarray, customer: np.ndarray, group: np.ndarray, share: np.ndarray) -> OutLinks:
    order = np.lexsort((customer, supplier))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(supplier, minlength=n), out=ptr[1:])
    return OutLinks(ptr.astype(_INDEX), np.ascontiguousarray(customer[order], dtype=_INDEX),
                    np.ascontiguousarray(group[order], dtype=_INDEX),
                    np.ascontiguousarray(share[order], dtype=np.float64))


def network_arrays(net: SupplyNetwork) -> NetworkArrays:
    """Arrays the kernels need beyond the network's own views; computed once per network and cached beside it.

    Parameters
    ----------
    net : SupplyNetwork
        The network (not modified; the arrays live in a weak-keyed cache and go away with it).

    Returns
    -------
    NetworkArrays

    Examples
    --------
    >>> arrays = network_arrays(net)  # doctest: +SKIP
    >>> bool(arrays.homogeneous), arrays.intact.min()  # doctest: +SKIP
    (True, 1.0)
    """
    arrays = _ARRAYS.get(net)
    if arrays is not None:
        return arrays
    n = net.n_sites
    site_group_ptr, group_link_ptr, link_supplier, link_share = _group_arrays(net)
    customer = net.links["customer"].to_numpy(np.int64) if len(net.links) else np.zeros(0, np.int64)
    group = net.link_group.astype(np.int64)
    intact = np.empty(n)
    _supply_pass(np.ones(n), site_group_ptr, group_link_ptr, link_supplier, link_share, intact)
    base = np.bincount(group, weights=link_share * intact[link_supplier], minlength=net.n_groups)
    sums = np.bincount(group, weights=link_share, minlength=net.n_groups)
    homogeneous = bool(np.all(np.abs(sums - 1.0) <= HOMOGENEOUS_TOLERANCE))

    to_k = _locality_order(net.level.astype(np.int64), site_group_ptr, group_link_ptr, link_supplier)
    from_k = np.empty(n, np.int64)
    from_k[to_k] = np.arange(n)
    n_groups_of = np.diff(site_group_ptr)[from_k]
    k_group_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(n_groups_of, out=k_group_ptr[1:])
    k_group_of = np.empty(net.n_groups, np.int64)  # network group -> kernel group
    k_group_of[np.repeat(site_group_ptr[from_k] - k_group_ptr[:-1], n_groups_of) + np.arange(net.n_groups)] = \
        np.arange(net.n_groups)
    k_base = np.empty(net.n_groups)
    k_base[k_group_of] = base
    ks, kc, kg = to_k[link_supplier], to_k[customer], k_group_of[group]
    k_out = _out_links(n, ks, kc, kg, link_share)
    reach_k = _reaches_market(net.is_market[from_k].astype(np.bool_), k_out.ptr, k_out.customer)
    keep = reach_k[kc]
    k_market_out = _out_links(n, ks[keep], kc[keep], kg[keep], link_share[keep])
    arrays = NetworkArrays(
        intact=intact, reaches_market=reach_k[to_k], homogeneous=homogeneous, to_kernel=to_k, from_kernel=from_k,
        k_level=net.level[from_k].astype(_INDEX), k_intact=intact[from_k], k_group_ptr=k_group_ptr.astype(_INDEX),
        k_group_base=k_base, k_out=k_out, k_market_out=k_market_out)
    _ARRAYS[net] = arrays
    return arrays


def _group_arrays(net: SupplyNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The network's input-group CSR (section 3.1 in arrays) with the dtypes the kernels are compiled for."""
    return (np.asarray(net.site_group_ptr, dtype=np.int64), np.asarray(net.group_link_ptr, dtype=np.int64),
            np.asarray(net.link_supplier, dtype=np.int64), np.asarray(net.link_share, dtype=np.float64))


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


# ------------------------------------------------------------------------------------------------ public API
def _check_capacity(capacity, n: int, ndim: int) -> np.ndarray:
    cap = np.ascontiguousarray(capacity, dtype=np.float64)
    if cap.ndim != ndim or cap.shape[-1] != n:
        want = "(n_sites,)" if ndim == 1 else "(k, n_sites)"
        raise ValueError(f"capacity must have shape {want} with n_sites={n}, got {cap.shape}")
    if not np.all((cap >= 0.0) & (cap <= 1.0)):
        raise ValueError("capacity fractions must be in [0, 1] (1 = intact, 0 = lost)")
    return cap


def propagate(net: SupplyNetwork, capacity) -> np.ndarray:
    """Supply fraction ``x`` of every site for one scenario (section 3.1), one pass in topological order.

    Parameters
    ----------
    net : SupplyNetwork
        The network.
    capacity : array_like of float, shape (n_sites,)
        Capacity fraction kept by each site, in network order (``net.site_ids``): 1 intact, 0 lost.

    Returns
    -------
    x : ndarray of float, shape (n_sites,)
        Supply fraction of each site; a market loses ``weekly_demand * (1 - x)``.

    Examples
    --------
    >>> cap = np.ones(net.n_sites); cap[net.index_of(["API-1"])] = 0.0  # doctest: +SKIP
    >>> x = propagate(net, cap); x[net.market_index]  # doctest: +SKIP
    array([0.4])
    """
    cap = _check_capacity(capacity, net.n_sites, 1)
    x = np.empty(net.n_sites)
    _supply_pass(cap, *_group_arrays(net), x)
    return x


def _sparse_scenarios(net: SupplyNetwork, scenarios: Iterable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scenarios (iterables of sites, or mappings site -> capacity) as CSR arrays of site indices and capacities."""
    ptr, sites, caps = [0], [], []
    for scen in scenarios:
        if isinstance(scen, Mapping):
            keys, vals = list(scen.keys()), np.asarray(list(scen.values()), dtype=np.float64)
        else:
            keys = list(scen) if not isinstance(scen, (str, bytes)) else [scen]
            vals = np.zeros(len(keys))
        idx = _site_indices(net, keys)
        if vals.size and not np.all((vals >= 0.0) & (vals <= 1.0)):
            raise ValueError("capacity fractions must be in [0, 1] (1 = intact, 0 = lost)")
        sites.append(idx)
        caps.append(vals)
        ptr.append(ptr[-1] + len(idx))
    return (np.asarray(ptr, dtype=np.int64), np.concatenate([np.zeros(0, np.int64), *sites]).astype(np.int64),
            np.concatenate([np.zeros(0), *caps]).astype(np.float64))


def _site_indices(net: SupplyNetwork, keys: Sequence) -> np.ndarray:
    if not len(keys):
        return np.zeros(0, np.int64)
    if all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in keys):
        idx = np.asarray(keys, dtype=np.int64)
        bad = (idx < 0) | (idx >= net.n_sites)
        if bad.any():
            raise IndexError(f"site index {int(idx[bad][0])} out of range 0..{net.n_sites - 1}")
        return idx
    idx = net.index_of([str(k) for k in keys]).astype(np.int64)
    if (idx < 0).any():
        raise KeyError(f"unknown site id {[str(k) for k in keys][int(np.flatnonzero(idx < 0)[0])]!r}")
    return idx


@dataclass
class ConeResult:
    """Raw output of :func:`run_cones`: changed sites as (scenario, site, x) triplets, grouped by scenario.

    ``funnel_to[t] >= 0`` means scenario ``t`` stopped at that site: downstream of it, scenario ``t`` has
    ``funnel_fac[t]`` times the deficit ``intact - x`` of that site failing alone (its triplets hold nothing).
    """

    scenario: np.ndarray
    site: np.ndarray
    x: np.ndarray
    funnel_to: np.ndarray
    funnel_fac: np.ndarray


def run_cones(net: SupplyNetwork, scen_ptr: np.ndarray, seed_site: np.ndarray, seed_cap: np.ndarray, *,
              record: np.ndarray | None = None, markets_only: bool = False, funnel: bool = False,
              chunks: int | None = None) -> ConeResult:
    """Propagate sparse scenarios through their downstream cones on a thread pool (the engine behind the API).

    Parameters
    ----------
    net : SupplyNetwork
        The network.
    scen_ptr, seed_site, seed_cap : ndarray
        CSR scenarios: scenario ``t`` sets the capacity of sites ``seed_site[scen_ptr[t]:scen_ptr[t+1]]`` to
        ``seed_cap[...]`` (a site listed twice keeps the smaller capacity); every other site keeps capacity 1.
    record : ndarray of bool, optional
        Sites whose changed ``x`` is returned (default: all sites).
    markets_only : bool
        Follow only links into sites that reach a market (sites that cannot reach a market are then not visited
        unless seeded): exact for every market, and faster.
    funnel : bool
        Stop a scenario at a site that carries all its remaining effect (valid only when
        ``network_arrays(net).homogeneous``; the caller resolves it from that site's own scenario).
    chunks : int, optional
        At most this many pieces for the thread pool (default: 4 per core, and at least 32 scenarios a piece).

    Returns
    -------
    ConeResult

    Examples
    --------
    >>> r = run_cones(net, np.array([0, 1]), np.array([3]), np.array([0.0]))  # doctest: +SKIP
    >>> r.site, r.x  # the sites whose supply changed when site 3 is lost, and their x  # doctest: +SKIP
    """
    arrays = network_arrays(net)
    if funnel and not arrays.homogeneous:
        raise ValueError("the funnel shortcut needs normalised shares (sum 1 per input group)")
    record = np.ones(net.n_sites, np.bool_) if record is None else np.asarray(record, dtype=np.bool_)
    k_record = np.ascontiguousarray(record[arrays.from_kernel])
    out = arrays.k_market_out if markets_only else arrays.k_out
    k = len(scen_ptr) - 1
    if k == 0:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
        return ConeResult(empty_i, empty_i, empty_f, empty_i.copy(), empty_f.copy())
    # a few dozen scenarios per chunk at least: below that a thread costs more than it saves
    n_chunks = max(1, min(k // 32, chunks or 4 * _threads()))
    # deal the scenarios out round-robin: neighbours in topological order have similar cones, so contiguous
    # chunks would leave one thread with all the upstream (large-cone) sites
    perm = np.concatenate([np.arange(c, k, n_chunks) for c in range(n_chunks)])
    bounds = np.zeros(n_chunks + 1, np.int64)
    np.cumsum([len(range(c, k, n_chunks)) for c in range(n_chunks)], out=bounds[1:])
    lens = np.diff(scen_ptr)[perm]
    ptr_p = np.zeros(k + 1, np.int64)
    np.cumsum(lens, out=ptr_p[1:])
    take = np.repeat(scen_ptr[perm] - ptr_p[:-1], lens) + np.arange(ptr_p[-1])
    sites_p = np.ascontiguousarray(arrays.to_kernel[seed_site[take]], dtype=_INDEX)
    caps_p = np.ascontiguousarray(seed_cap[take], dtype=np.float64)
    def work(i: int):
        lo, hi = bounds[i], bounds[i + 1]
        s0, s1 = ptr_p[lo], ptr_p[hi]
        res = _cone_kernel(ptr_p[lo:hi + 1] - s0, sites_p[s0:s1], caps_p[s0:s1], arrays.k_intact, arrays.k_level,
                           arrays.k_group_ptr, arrays.k_group_base, out.ptr, out.customer, out.group, out.share,
                           k_record, funnel)
        funnel_to = np.where(res[3] >= 0, arrays.from_kernel[np.maximum(res[3], 0)], -1)
        return perm[res[0] + lo], arrays.from_kernel[res[1]], res[2], funnel_to, res[4]

    if n_chunks == 1 or _threads() == 1:
        parts = [work(i) for i in range(n_chunks)]
    else:
        with ThreadPoolExecutor(max_workers=_threads()) as pool:
            parts = list(pool.map(work, range(n_chunks)))
    scen, site, x = (np.concatenate([p[j] for p in parts]) for j in range(3))
    order = np.argsort(scen, kind="stable")
    funnel_to = np.empty(k, np.int64)
    funnel_fac = np.empty(k)
    funnel_to[perm] = np.concatenate([p[3] for p in parts])
    funnel_fac[perm] = np.concatenate([p[4] for p in parts])
    return ConeResult(scen[order], site[order], x[order], funnel_to, funnel_fac)


def propagate_many(net: SupplyNetwork, capacity) -> np.ndarray:
    """Supply fraction of every site for many scenarios at once.

    Parameters
    ----------
    net : SupplyNetwork
        The network.
    capacity : array_like of shape (k, n_sites), or a sequence of scenarios
        Either dense capacity fractions (one full pass per row, rows spread over the cores), or a sparse list
        where each scenario is an iterable of failed sites (ids or indices; capacity 0) or a mapping
        ``{site: capacity fraction}``. Sparse scenarios are propagated only through their downstream cones.

    Returns
    -------
    x : ndarray of float, shape (k, n_sites)
        Supply fraction of each site in each scenario. This is ``8 * k * n`` bytes: for large ``k`` and ``n``
        use :func:`propagate_markets`.

    Examples
    --------
    >>> x = propagate_many(net, [["API-1"], {"API-2": 0.5}, []])  # doctest: +SKIP
    >>> x.shape  # doctest: +SKIP
    (3, 12)
    """
    n = net.n_sites
    if isinstance(capacity, np.ndarray) and capacity.dtype != object:
        caps = _check_capacity(capacity, n, 2)
        out = np.empty(caps.shape)
        groups = _group_arrays(net)
        rows = np.linspace(0, len(caps), max(1, min(len(caps) // 8, 4 * _threads())) + 1).round().astype(np.int64)

        def work(i: int) -> None:
            _supply_pass_rows(caps[rows[i]:rows[i + 1]], *groups, out[rows[i]:rows[i + 1]])

        if len(rows) == 2 or _threads() == 1:
            work(0)
        else:
            with ThreadPoolExecutor(max_workers=_threads()) as pool:
                list(pool.map(work, range(len(rows) - 1)))
        return out
    ptr, sites, caps = _sparse_scenarios(net, capacity)
    res = run_cones(net, ptr, sites, caps)
    out = np.tile(network_arrays(net).intact, (len(ptr) - 1, 1))
    out[res.scenario, res.site] = res.x
    return out


def propagate_markets(net: SupplyNetwork, scenarios: Iterable) -> np.ndarray:
    """Supply fraction of every market for many sparse scenarios (cone propagation, markets only).

    Parameters
    ----------
    net : SupplyNetwork
        The network.
    scenarios : sequence
        Each scenario an iterable of failed sites (ids or indices) or a mapping ``{site: capacity fraction}``.

    Returns
    -------
    ndarray of float, shape (k, n_markets)
        Columns follow ``net.market_index`` (markets in network order).

    Examples
    --------
    >>> propagate_markets(net, [["API-1"], ["GLASS-1", "API-2"]])  # doctest: +SKIP
    array([[0.4], [0. ]])
    """
    ptr, sites, caps = _sparse_scenarios(net, scenarios)
    arrays = network_arrays(net)
    res = run_cones(net, ptr, sites, caps, record=net.is_market, markets_only=True)
    col = np.full(net.n_sites, -1, np.int64)
    col[net.market_index] = np.arange(len(net.market_index))
    out = np.tile(arrays.intact[net.market_index], (len(ptr) - 1, 1))
    out[res.scenario, col[res.site]] = res.x
    return out
