"""Disruption over time (PRODUCT.md section 3.2): the daily simulation of stock, pipelines, surge and backups.

This module owns the dynamic model and its outputs:

* :func:`simulate` - one what-if (one or several :class:`~riskmodel.disruption.Disruption`) over a horizon of days:
  per market and day the inflow fraction, supplied fraction, shortfall units and stock, and the summary (time to
  survive, lost units in total and per market, peak shortfall, days in shortage, day of full recovery).
* :func:`simulate_json` / :func:`format_simulation` - the document of ``riskmodel simulate --json`` and its readable
  summary.
* :func:`sim_arrays` - the arrays the kernel needs (normal daily flows, stock targets, ring buffers, backups),
  derived once per network and kept beside it.
* the numba kernels, also used by :mod:`riskmodel.tts` (which runs thousands of one-site scenarios, each over its
  downstream cone only: :func:`run_single_site_batch`).

The rules (docs/model.md, "Disruption over time"), in short. Every quantity is in units per day. A site's *normal
output* ``N`` is what its customers need when nothing fails: markets need ``weekly_demand / 7``, and a supplier's
``N`` is the sum of ``share * N_customer`` over its active links (shares normalised per input group), so the intact
network is exactly in balance (the static model's ``x = 1``). Each day, sites are processed in topological order:

1. inputs: for each input material, what arrives today on its links (ring buffers of ``round(lead_time_days)``
   days) plus what was left over from earlier days; ``a`` = the scarcest material (AND across materials);
2. production ``P = min(c(t) * (1 + surge) * N, a + surge * min(a, N), N + R + T - S)``: capacity, inputs (spare
   capacity brings its own extra inputs in proportion to what arrives), and need (normal shipments ``N``, extra
   requests ``R`` from customers, stock rebuild up to the target ``T = inventory_days * N``);
3. shipments: the normal ``min(N, P + S)`` split by share (stock covers a production shortfall), then extras from
   production beyond ``N`` only; stock ``S`` takes the rest, up to ``T``;
4. requests for tomorrow: a customer whose delivery of a material arrived short today asks the suppliers of that
   material that shipped in full and have spare capacity for the missing quantity (in proportion to their spare),
   and what they cannot cover from its qualified backup links (``qualification_weeks`` after the start, each up
   to ``share`` of its need).

Markets hand out ``min(demand, inflow + stock)`` and keep the rest as stock (all of it: extras that arrive out of
step with the gap they answer can lift it above its target), and ask for extras like any customer. Inputs that
arrive but cannot be used yet are kept too; nothing is thrown away.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from riskmodel import defaults
from riskmodel.disruption import Disruption, DisruptionError
from riskmodel.network import SupplyNetwork

__all__ = [
    "SHORTFALL_TOLERANCE",
    "SimArrays",
    "SimulationResult",
    "format_simulation",
    "run_single_site_batch",
    "sim_arrays",
    "simulate",
    "simulate_json",
]

#: a market's daily shortfall below this fraction of its daily demand counts as none (floating point)
SHORTFALL_TOLERANCE = 1e-9
#: a supplier that ships at least this fraction of its normal output counts as shipping in full
FULL_RATIO = 1.0 - 1e-12
DEFAULT_HORIZON_WEEKS = 52.0


# ------------------------------------------------------------------------------------------------ kernels
@njit(cache=True)
def _normal_flows(daily_demand, is_mkt, site_group_ptr, group_link_ptr, link_sup, link_share):  # pragma: no cover
    """Normal output ``N`` of each site and normal flow ``F`` of each active link (reverse topological pass)."""
    n = daily_demand.size
    out_n = np.zeros(n)
    flow = np.zeros(link_sup.size)
    for v in range(n - 1, -1, -1):
        if is_mkt[v]:
            out_n[v] += daily_demand[v]
        nv = out_n[v]
        for g in range(site_group_ptr[v], site_group_ptr[v + 1]):
            tot = 0.0
            for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                tot += link_share[e]
            for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                f = link_share[e] / tot * nv if tot > 0.0 else 0.0
                flow[e] = f
                out_n[link_sup[e]] += f
    return out_n, flow


@njit(cache=True)
def _market_depth(is_mkt, out_ptr, o_cust, o_lead):  # pragma: no cover - numba
    """Longest ``sum of (lead + 1)`` days from each site to a market (0 for markets and dead ends)."""
    n = is_mkt.size
    depth = np.zeros(n, np.int64)
    for v in range(n - 1, -1, -1):
        if is_mkt[v]:
            continue
        best = 0
        for j in range(out_ptr[v], out_ptr[v + 1]):
            d = o_lead[j] + 1 + depth[o_cust[j]]
            if d > best:
                best = d
        depth[v] = best
    return depth


@njit(cache=True, nogil=True)
def _init_state(nw, sites, flag, state):  # pragma: no cover - numba
    """Steady state of the intact network for the listed sites: full stock, nothing abnormal in transit."""
    target, site_group_ptr, group_link_ptr, link_lead, ring_ptr = nw[1], nw[4], nw[5], nw[7], nw[8]
    link_j, b_lead, bring_ptr, group_b_ptr, group_b = nw[11], nw[20], nw[22], nw[23], nw[24]
    (stock, ibuf, ratio, req, reqb, ring, bring, greq, pend, gshort, nreq) = state
    for i in range(sites.size):
        v = sites[i]
        stock[v] = target[v]
        ratio[v] = 1.0
        nreq[v] = 0
        if flag[v] != 1:
            continue
        for g in range(site_group_ptr[v], site_group_ptr[v + 1]):
            ibuf[g] = 0.0
            greq[g] = 0
            pend[g] = 0
            gshort[g] = 0.0
            for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                for k in range(link_lead[e] + 1):
                    ring[ring_ptr[e] + k] = 0.0
                req[link_j[e]] = 0.0
            for jb in range(group_b_ptr[g], group_b_ptr[g + 1]):
                b = group_b[jb]
                for k in range(b_lead[b] + 1):
                    bring[bring_ptr[b] + k] = 0.0
                reqb[0, b] = 0.0
                reqb[1, b] = 0.0


@njit(cache=True, nogil=True)
def _run_scenario(nw, sites, flag, dis, b_from, horizon, state, stats, record, stop_after):  # pragma: no cover
    """Run one scenario for ``horizon`` days over ``sites`` (sorted, i.e. topological); state must be initialised.

    ``flag[v]``: 1 = simulated site, 2 = frozen supplier (outside the affected cone: inputs, capacity and stock
    stay normal; it only serves the extra and backup requests of simulated customers), 0 = not in the scenario.
    Every customer of a simulated site must be simulated. ``b_from[b]``: the first day on which backup link ``b``
    may ship (the start of its qualification plus ``qualification_weeks``; only read for simulated customers).
    Returns ``(first shortfall day or -1, lost units)`` over the simulated markets; per-market statistics go to
    ``stats`` for markets with ``mcol[v] >= 0`` (and the daily series when ``record``).

    ``stop_after >= 0``: stop early (exact for the returned values) once the day is at least ``stop_after`` (the end
    of every disruption) and, for longer than the longest lead time, no site has shipped short and no market has
    been short: every pipeline then carries at least the normal flow, so nothing can be short again.

    Sparse by design: the ring buffers hold only what differs from the normal flow of a link (shortfalls, extras,
    backups), with a count per input group of the entries in transit. A supplier shipping exactly its normal flow
    writes nothing; a customer with nothing pending takes its group's normal arrival without reading its links; the
    request loop runs only for groups with a delivery that arrived short today or with requests still open.
    """
    (out_n, target, surge, is_mkt, site_group_ptr, group_link_ptr, link_sup, link_lead, ring_ptr, _link_flow,
     link_spare, link_j, out_ptr, o_cust, o_flow, o_lead, o_ring, _b_sup, b_cust, b_cap, b_lead, _b_qual, bring_ptr,
     group_b_ptr, group_b, bout_ptr, bout, gnorm, o_group, b_group) = nw
    (dis_head, dis_next, d_sev, d_start, d_dur, d_linear) = dis
    (stock, ibuf, ratio, req, reqb, ring, bring, greq, pend, gshort, nreq) = state
    (mcol, m_lost, m_first, m_days, m_peak, m_last, day_short, rec_inflow, rec_supplied, rec_short, rec_stock) = stats
    max_lead = 0
    for e in range(link_lead.size):
        max_lead = max(max_lead, link_lead[e])
    for b in range(b_lead.size):
        max_lead = max(max_lead, b_lead[b])
    rpos = np.zeros(max_lead + 1, np.int64)  # today's read slot of a ring of lead L
    wpos = np.zeros(max_lead + 1, np.int64)  # today's write slot (arrives in L days)
    first = -1
    lost = 0.0
    last_bad = -1
    for t in range(horizon):
        if stop_after >= 0 and t >= stop_after and t - last_bad > max_lead + 1:
            break
        cur = t & 1
        nxt = 1 - cur
        # slots t % (lead + 1) and (t + lead) % (lead + 1), kept by counting (no division in the daily loop)
        if t == 0:
            for lead in range(max_lead + 1):
                rpos[lead] = 0
                wpos[lead] = lead
        else:
            for lead in range(max_lead + 1):
                rp = rpos[lead]
                wpos[lead] = rp  # (t + lead) % (lead + 1) is yesterday's t % (lead + 1)
                rpos[lead] = rp + 1 if rp < lead else 0
        for i in range(sites.size):
            v = sites[i]
            nv = out_n[v]
            j0 = out_ptr[v]
            j1 = out_ptr[v + 1]
            if flag[v] == 2:
                # frozen supplier: ships its normal flow plus extras from spare capacity, and backups
                r_tot = 0.0
                if nreq[v] > 0:
                    for j in range(j0, j1):
                        if flag[o_cust[j]] == 1:
                            r_tot += req[j]
                xe = min(r_tot, surge[v] * nv)
                if xe > 0.0:
                    for j in range(j0, j1):
                        if flag[o_cust[j]] == 1 and req[j] > 0.0:
                            slot = o_ring[j] + wpos[o_lead[j]]
                            if ring[slot] == 0.0:
                                pend[o_group[j]] += 1
                            ring[slot] += xe * req[j] / r_tot
                for jb in range(bout_ptr[v], bout_ptr[v + 1]):
                    b = bout[jb]
                    if flag[b_cust[b]] == 1:
                        amt = min(reqb[cur, b], b_cap[b])
                        if amt > 0.0:
                            slot = bring_ptr[b] + wpos[b_lead[b]]
                            if bring[slot] == 0.0:
                                pend[b_group[b]] += 1
                            bring[slot] += amt
                ratio[v] = 1.0
                continue

            # capacity kept today (the worst of the site's disruptions)
            c = 1.0
            k = dis_head[v]
            while k >= 0:
                dt = t - d_start[k]
                if dt >= 0 and dt < d_dur[k]:
                    if d_linear[k]:
                        val = 1.0 - d_sev[k] * (1.0 - dt / d_dur[k])
                    else:
                        val = 1.0 - d_sev[k]
                    if val < c:
                        c = val
                k = dis_next[k]
            if c < 0.0:
                c = 0.0

            # inputs: normal arrival + what differs from it + leftovers, per material; a = the scarcest (AND)
            g0 = site_group_ptr[v]
            g1 = site_group_ptr[v + 1]
            a = 1e300
            for g in range(g0, g1):
                avail = ibuf[g] + gnorm[g]
                if pend[g] > 0:
                    for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                        slot = ring_ptr[e] + rpos[link_lead[e]]
                        if ring[slot] != 0.0:
                            avail += ring[slot]
                            if ring[slot] < 0.0:  # a short delivery (a slot holds a shortfall or an extra)
                                gshort[g] += -ring[slot]
                            ring[slot] = 0.0
                            pend[g] -= 1
                    for jb in range(group_b_ptr[g], group_b_ptr[g + 1]):
                        b = group_b[jb]
                        slot = bring_ptr[b] + rpos[b_lead[b]]
                        if bring[slot] != 0.0:
                            avail += bring[slot]
                            bring[slot] = 0.0
                            pend[g] -= 1
                if avail < 0.0:
                    avail = 0.0
                ibuf[g] = avail
                if avail < a:
                    a = avail

            if is_mkt[v]:
                if g1 == g0:
                    a = 0.0
                have = a + stock[v]
                sup = min(nv, have)
                short = nv - sup
                if short <= SHORTFALL_TOLERANCE * nv:
                    short = 0.0
                stock[v] = have - sup  # a market keeps all it gets (late extras can lift it above its target)
                for g in range(g0, g1):
                    left = ibuf[g] - a  # the usable combination went to stock; the rest of each material waits
                    ibuf[g] = left if left > 0.0 else 0.0
                lost += short
                if short > 0.0:
                    last_bad = t
                    if first < 0:
                        first = t
                m = mcol[v]
                if m >= 0:
                    m_lost[m] += short
                    if short > 0.0:
                        m_days[m] += 1
                        if m_first[m] < 0:
                            m_first[m] = t
                        if short > m_peak[m]:
                            m_peak[m] = short
                    if short > 0.0 or a < nv * (1.0 - SHORTFALL_TOLERANCE):
                        m_last[m] = t
                    day_short[t] += short
                    if record:
                        rec_inflow[t, m] = a / nv
                        rec_supplied[t, m] = 1.0 - short / nv
                        rec_short[t, m] = short
                        rec_stock[t, m] = stock[v]
            else:
                s = surge[v]
                pmax = c * (1.0 + s) * nv
                if g1 > g0:
                    by_inputs = a + s * min(a, nv)
                    if by_inputs < pmax:
                        pmax = by_inputs
                r_tot = 0.0
                if nreq[v] > 0:
                    for j in range(j0, j1):
                        r_tot += req[j]
                need = nv + r_tot + target[v] - stock[v]
                p = pmax if pmax < need else need
                if p < 0.0:
                    p = 0.0
                xn = min(nv, p + stock[v])
                xe = 0.0
                if p > nv:
                    xe = min(p - nv, r_tot)
                s_new = stock[v] + p - xn - xe
                if s_new < 0.0:
                    s_new = 0.0
                elif s_new > target[v]:
                    s_new = target[v]
                stock[v] = s_new
                if g1 > g0:
                    used = min(p, a)
                    for g in range(g0, g1):
                        left = ibuf[g] - used
                        ibuf[g] = left if left > 0.0 else 0.0
                r = xn / nv if nv > 0.0 else 1.0
                if r >= FULL_RATIO:
                    r = 1.0
                else:
                    last_bad = t
                ratio[v] = r
                if r < 1.0 or xe > 0.0:
                    for j in range(j0, j1):
                        d = o_flow[j] * (r - 1.0)
                        if xe > 0.0:
                            d += xe * req[j] / r_tot
                        if d != 0.0:
                            slot = o_ring[j] + wpos[o_lead[j]]
                            if ring[slot] == 0.0:
                                pend[o_group[j]] += 1
                            ring[slot] += d
                if bout_ptr[v + 1] > bout_ptr[v]:
                    frac = c
                    if g1 > g0 and nv > 0.0 and a < nv * frac:
                        frac = a / nv
                    for jb in range(bout_ptr[v], bout_ptr[v + 1]):
                        b = bout[jb]
                        if flag[b_cust[b]] == 1:
                            amt = min(reqb[cur, b], b_cap[b] * frac)
                            if amt > 0.0:
                                slot = bring_ptr[b] + wpos[b_lead[b]]
                                if bring[slot] == 0.0:
                                    pend[b_group[b]] += 1
                                bring[slot] += amt

            # requests for tomorrow: cover what arrived short today
            for g in range(g0, g1):
                e0 = group_link_ptr[g]
                e1 = group_link_ptr[g + 1]
                gap = gshort[g]
                gshort[g] = 0.0
                cover = 0.0
                if gap > 0.0:
                    pool = 0.0
                    for e in range(e0, e1):
                        if ratio[link_sup[e]] >= 1.0:
                            pool += link_spare[e]
                    cover = gap if gap < pool else pool
                    if cover > 0.0:
                        for e in range(e0, e1):
                            new = 0.0
                            if link_spare[e] > 0.0 and ratio[link_sup[e]] >= 1.0:
                                new = link_spare[e] * (cover / pool)
                            jj = link_j[e]
                            if new > 0.0 and not req[jj] > 0.0:
                                nreq[link_sup[e]] += 1
                            elif req[jj] > 0.0 and not new > 0.0:
                                nreq[link_sup[e]] -= 1
                            req[jj] = new
                        greq[g] = 1
                if cover <= 0.0 and greq[g]:
                    for e in range(e0, e1):
                        jj = link_j[e]
                        if req[jj] > 0.0:
                            nreq[link_sup[e]] -= 1
                        req[jj] = 0.0
                    greq[g] = 0
                if group_b_ptr[g + 1] > group_b_ptr[g]:
                    rest = gap - cover
                    pool_b = 0.0
                    for jb in range(group_b_ptr[g], group_b_ptr[g + 1]):
                        b = group_b[jb]
                        if t + 1 >= b_from[b]:
                            pool_b += b_cap[b]
                    for jb in range(group_b_ptr[g], group_b_ptr[g + 1]):
                        b = group_b[jb]
                        if rest > 0.0 and pool_b > 0.0 and t + 1 >= b_from[b]:
                            reqb[nxt, b] = b_cap[b] * min(1.0, rest / pool_b)
                        else:
                            reqb[nxt, b] = 0.0
    return first, lost


@njit(cache=True, nogil=True)
def _new_state(nw):  # pragma: no cover - numba
    """Scratch state for :func:`_run_scenario` (compiled; callable from Python too)."""
    n, n_groups = nw[0].size, nw[4][-1]
    return (np.zeros(n), np.zeros(n_groups), np.ones(n), np.zeros(nw[6].size), np.zeros((2, nw[17].size)),
            np.zeros(nw[8][-1]), np.zeros(nw[22][-1]), np.zeros(n_groups, np.int8), np.zeros(n_groups, np.int64),
            np.zeros(n_groups), np.zeros(n, np.int64))


@njit(cache=True, nogil=True)
def _close_downstream(nw, members, head, cnt, flag, qstart, day):  # pragma: no cover - numba
    """Add every site downstream (on active links) of ``members[head:cnt]`` that is not flagged yet: flag 1 (to
    simulate), ``qstart = day`` (when its backups start to qualify). Returns the new count of ``members``."""
    out_ptr, o_cust = nw[12], nw[13]
    while head < cnt:
        u = members[head]
        head += 1
        for j in range(out_ptr[u], out_ptr[u + 1]):
            w = o_cust[j]
            if flag[w] == 0:
                flag[w] = 1
                qstart[w] = day
                members[cnt] = w
                cnt += 1
    return cnt


@njit(cache=True, nogil=True)
def _add_frozen_suppliers(nw, members, n_cone, flag, qstart, b_from):  # pragma: no cover - numba
    """Append to ``members[:n_cone]`` (a closed cone) the direct suppliers of its sites outside it, active and backup,
    as frozen (flag 2), and set ``b_from`` of each backup of a cone site: ``qstart`` of its customer plus its
    qualification. Returns the new count of ``members``."""
    site_group_ptr, group_link_ptr, link_sup = nw[4], nw[5], nw[6]
    b_sup, b_qual, group_b_ptr, group_b = nw[17], nw[21], nw[23], nw[24]
    cnt = n_cone
    for i in range(n_cone):
        v = members[i]
        for g in range(site_group_ptr[v], site_group_ptr[v + 1]):
            for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                u = link_sup[e]
                if flag[u] == 0:
                    flag[u] = 2
                    members[cnt] = u
                    cnt += 1
            for jb in range(group_b_ptr[g], group_b_ptr[g + 1]):
                b = group_b[jb]
                b_from[b] = qstart[v] + b_qual[b]
                u = b_sup[b]
                if flag[u] == 0:
                    flag[u] = 2
                    members[cnt] = u
                    cnt += 1
    return cnt


@njit(cache=True, nogil=True)
def _single_site_batch(seeds, durations, horizons, nw):  # pragma: no cover - numba
    """Each seed site lost alone (severity 1, step) from day 0 for ``durations[q]`` days, over its downstream cone.

    The cone is the seed and everything downstream of it on active links; the direct suppliers of cone sites
    (active and backup) outside it are frozen (they are unaffected, but serve extra and backup requests). Every
    other site is unaffected and cannot affect a market of the cone, so the result equals a full simulation.
    """
    n = nw[0].size
    k = seeds.size
    firsts = np.full(k, -1, np.int64)
    losts = np.zeros(k)
    state = _new_state(nw)
    flag = np.zeros(n, np.int8)
    qstart = np.zeros(n, np.int64)  # every scenario starts on day 0: backups qualify from day 0
    b_from = np.zeros(nw[17].size)  # qualification days may be fractional (7 x weeks)
    dis_head = np.full(n, -1, np.int64)
    d_dur = np.zeros(1, np.int64)
    dis = (dis_head, np.full(1, -1, np.int64), np.ones(1), np.zeros(1, np.int64), d_dur, np.zeros(1, np.bool_))
    empty2 = np.zeros((0, 0))
    stats = (np.full(n, -1, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
             np.zeros(0, np.int64), np.zeros(0), empty2, empty2, empty2, empty2)
    members = np.empty(n, np.int64)
    for q in range(k):
        v0 = seeds[q]
        members[0] = v0
        flag[v0] = 1
        n_cone = _close_downstream(nw, members, 0, 1, flag, qstart, 0)
        cnt = _add_frozen_suppliers(nw, members, n_cone, flag, qstart, b_from)
        sites = np.sort(members[:cnt])
        _init_state(nw, sites, flag, state)
        dis_head[v0] = 0
        d_dur[0] = durations[q]
        first, lost = _run_scenario(nw, sites, flag, dis, b_from, horizons[q], state, stats, False, durations[q])
        firsts[q] = first
        losts[q] = lost
        dis_head[v0] = -1
        for i in range(cnt):
            flag[members[i]] = 0
    return firsts, losts


# ------------------------------------------------------------------------------------------------ arrays
@dataclass(frozen=True)
class SimArrays:
    """Arrays of the daily model, derived once per network (see :func:`sim_arrays`). Sites in network order.

    Attributes
    ----------
    normal_output : ndarray
        ``N`` of each site, units per day (markets: ``weekly_demand / 7``).
    stock_target : ndarray
        ``inventory_days * N``.
    surge, inventory_days, ttr_days : ndarray
        Per site, with the documented defaults by kind where the data has none (TTR in whole days, at least 1).
    link_flow, link_lead, ring_ptr, link_spare : ndarray
        Per active link (network link order): normal flow (units/day), lead time in whole days, offsets of its
        ring buffer (``lead + 1`` slots), and its supplier's spare capacity ``surge * N`` (units/day).
    out_ptr, out_link : ndarray
        Outgoing active links of each supplier (CSR over link ids); ``link_j`` is the inverse (link id ->
        position) and ``o_cust, o_flow, o_lead, o_ring`` are customer, flow, lead and ring offset by position.
    b_supplier, b_customer, b_cap, b_lead, b_qual, bring_ptr : ndarray
        Backup links that can serve an input group of their customer: capacity ``share * N_customer``, lead in
        days (at least 1 when the supplier comes after the customer in topological order), qualification in days,
        ring offsets. ``group_b_ptr/group_b``: backups per input group; ``bout_ptr/bout``: per supplier.
    group_normal, o_group, b_group : ndarray
        Normal daily arrival of each input group (sum of its links' flows), the input group of each outgoing link
        position and of each backup link.
    market_depth : ndarray
        Longest ``sum of (lead + 1)`` days from each site to a market.
    """

    normal_output: np.ndarray
    stock_target: np.ndarray
    surge: np.ndarray
    inventory_days: np.ndarray
    ttr_days: np.ndarray
    is_market: np.ndarray
    site_group_ptr: np.ndarray
    group_link_ptr: np.ndarray
    link_supplier: np.ndarray
    link_customer: np.ndarray
    link_lead: np.ndarray
    ring_ptr: np.ndarray
    link_flow: np.ndarray
    link_spare: np.ndarray
    link_j: np.ndarray
    out_ptr: np.ndarray
    out_link: np.ndarray
    o_cust: np.ndarray
    o_flow: np.ndarray
    o_lead: np.ndarray
    o_ring: np.ndarray
    b_supplier: np.ndarray
    b_customer: np.ndarray
    b_cap: np.ndarray
    b_lead: np.ndarray
    b_qual: np.ndarray
    bring_ptr: np.ndarray
    group_b_ptr: np.ndarray
    group_b: np.ndarray
    bout_ptr: np.ndarray
    bout: np.ndarray
    group_normal: np.ndarray
    o_group: np.ndarray
    b_group: np.ndarray
    market_depth: np.ndarray

    def kernel_tuple(self) -> tuple:
        """The network tuple ``nw`` of the kernels (:func:`_run_scenario`), in its order."""
        return (self.normal_output, self.stock_target, self.surge, self.is_market, self.site_group_ptr,
                self.group_link_ptr, self.link_supplier, self.link_lead, self.ring_ptr, self.link_flow,
                self.link_spare, self.link_j, self.out_ptr, self.o_cust, self.o_flow, self.o_lead, self.o_ring,
                self.b_supplier, self.b_customer, self.b_cap, self.b_lead, self.b_qual, self.bring_ptr,
                self.group_b_ptr, self.group_b, self.bout_ptr, self.bout, self.group_normal, self.o_group,
                self.b_group)


_ARRAYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _site_number(net: SupplyNetwork, column: str, by_kind: dict[str, float] | float) -> np.ndarray:
    """A numeric site column with the documented default (by kind) where it is missing or empty."""
    kinds = net.sites["kind"].astype(str).to_numpy()
    default = (np.array([by_kind.get(k, 0.0) for k in kinds], dtype=float) if isinstance(by_kind, dict)
               else np.full(net.n_sites, float(by_kind)))
    if column not in net.sites:
        return default
    values = pd.to_numeric(net.sites[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, default)


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable").astype(np.int64)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, order


@njit(cache=True)
def _group_sums(group_link_ptr, flow):  # pragma: no cover - numba
    """Sum of the flows of each group's links, added in link order (as the kernel would add them)."""
    out = np.zeros(group_link_ptr.size - 1)
    for g in range(out.size):
        tot = 0.0
        for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
            tot += flow[e]
        out[g] = tot
    return out


def _ring_ptr(lead: np.ndarray) -> np.ndarray:
    ptr = np.zeros(len(lead) + 1, np.int64)
    np.cumsum(lead + 1, out=ptr[1:])
    return ptr


def sim_arrays(net: SupplyNetwork) -> SimArrays:
    """Arrays the daily kernel needs, computed once per network and cached beside it (weakly).

    Parameters
    ----------
    net : SupplyNetwork
        A validated network (not modified).

    Returns
    -------
    SimArrays

    Examples
    --------
    >>> sites = pd.DataFrame({"site_id": ["A", "M"], "kind": ["api", "market"], "weekly_demand": [np.nan, 70.0]})
    >>> links = pd.DataFrame({"supplier_id": ["A"], "customer_id": ["M"], "material": ["x"], "share": [1.0],
    ...                       "lead_time_days": [2.6], "status": ["active"], "qualification_weeks": [0.0]})
    >>> arr = sim_arrays(SupplyNetwork(sites, links))
    >>> arr.normal_output.tolist(), arr.link_lead.tolist(), arr.stock_target.tolist()
    ([10.0, 10.0], [3], [450.0, 150.0])
    """
    arrays = _ARRAYS.get(net)
    if arrays is not None:
        return arrays
    n = net.n_sites
    site_group_ptr = net.site_group_ptr.astype(np.int64)
    group_link_ptr = net.group_link_ptr.astype(np.int64)
    link_sup = net.link_supplier.astype(np.int64)
    link_cust = (net.links["customer"].to_numpy(np.int64) if len(net.links) else np.zeros(0, np.int64))
    share = np.nan_to_num(net.link_share.astype(np.float64), nan=0.0)
    is_mkt = net.is_market.astype(np.bool_)
    out_n, flow = _normal_flows(net.demand / 7.0, is_mkt, site_group_ptr, group_link_ptr, link_sup, share)

    inventory = np.maximum(_site_number(net, "inventory_days", defaults.INVENTORY_DAYS), 0.0)
    surge = np.maximum(_site_number(net, "surge", defaults.SURGE), 0.0)
    ttr_days = np.maximum(np.round(7.0 * _site_number(net, "ttr_weeks", defaults.TTR_WEEKS)), 1).astype(np.int64)
    lead = (np.maximum(np.round(np.nan_to_num(net.links["lead_time_days"].to_numpy(float))), 0).astype(np.int64)
            if len(net.links) else np.zeros(0, np.int64))
    out_ptr, out_link = _csr(link_sup, n)
    link_j = np.empty(len(out_link), np.int64)
    link_j[out_link] = np.arange(len(out_link))
    ring_ptr = _ring_ptr(lead)

    # backup links that can serve one of the customer's input groups
    bl = net.backup_links
    if len(bl):
        bs = net.index_of(bl["supplier_id"].astype(str).to_numpy())
        bc = net.index_of(bl["customer_id"].astype(str).to_numpy())
        keys = pd.DataFrame({"c": net.group_site.astype(np.int64), "m": net.group_material.astype(str),
                             "g": np.arange(net.n_groups)})
        found = pd.DataFrame({"c": bc.astype(np.int64), "m": bl["material"].astype(str).to_numpy()}).merge(
            keys, on=["c", "m"], how="left")["g"].to_numpy()
        keep = (bs >= 0) & (bc >= 0) & np.isfinite(found)
        bs, bc, bg = bs[keep].astype(np.int64), bc[keep].astype(np.int64), found[keep].astype(np.int64)
        bshare = pd.to_numeric(bl["share"], errors="coerce").to_numpy(float)[keep]
        bshare = np.where(np.isfinite(bshare) & (bshare > 0), np.minimum(bshare, 1.0), 1.0)
        blead = np.maximum(np.round(np.nan_to_num(pd.to_numeric(bl["lead_time_days"], errors="coerce")
                                                  .to_numpy(float)[keep])), 0).astype(np.int64)
        blead = np.where(bs > bc, np.maximum(blead, 1), blead)  # against the order: read the next day at the earliest
        bqual = 7.0 * np.maximum(np.nan_to_num(pd.to_numeric(bl["qualification_weeks"], errors="coerce")
                                               .to_numpy(float)[keep]), 0.0)
        bcap = bshare * out_n[bc]
    else:
        bs = bc = bg = blead = np.zeros(0, np.int64)
        bcap = bqual = np.zeros(0)
    group_b_ptr, group_b = _csr(bg, net.n_groups)
    bout_ptr, bout = _csr(bs, n)
    o_cust, o_lead = link_cust[out_link], lead[out_link]
    depth = _market_depth(is_mkt, out_ptr, o_cust, o_lead)
    c = np.ascontiguousarray
    arrays = SimArrays(
        normal_output=out_n, stock_target=inventory * out_n, surge=surge, inventory_days=inventory,
        ttr_days=ttr_days, is_market=is_mkt, site_group_ptr=site_group_ptr, group_link_ptr=group_link_ptr,
        link_supplier=link_sup, link_customer=link_cust, link_lead=lead, ring_ptr=ring_ptr, link_flow=flow,
        link_spare=(surge * out_n)[link_sup], link_j=link_j, out_ptr=out_ptr, out_link=out_link, o_cust=c(o_cust),
        o_flow=c(flow[out_link]), o_lead=c(o_lead), o_ring=c(ring_ptr[:-1][out_link]), b_supplier=bs,
        b_customer=bc, b_cap=bcap, b_lead=blead, b_qual=bqual, bring_ptr=_ring_ptr(blead), group_b_ptr=group_b_ptr,
        group_b=group_b, bout_ptr=bout_ptr, bout=bout, group_normal=_group_sums(group_link_ptr, flow),
        o_group=c(net.link_group.astype(np.int64)[out_link]), b_group=bg, market_depth=depth)
    _ARRAYS[net] = arrays
    return arrays


# ------------------------------------------------------------------------------------------------ results
@dataclass
class SimulationResult:
    """Outcome of :func:`simulate`. Days are indices from 0 (the first simulated day); units per day.

    Attributes
    ----------
    disruptions : list of Disruption
        What was simulated.
    disruption_sites : list of ndarray
        The site indices each disruption took (network order).
    disruption_site_ids : list of list of str
        The same as site ids.
    disrupted_sites : list of str
        Ids of every disrupted site (union, network order).
    start_day : int
        Start of the earliest disruption (time to survive counts from it; backups qualify from it).
    horizon_days : int
        Number of simulated days.
    market_ids, market_names : ndarray
        Markets, in the column order of the series.
    daily_demand : ndarray
        Units per day of each market.
    inflow_fraction, supplied_fraction, shortfall_units, stock_units : ndarray or None
        Series of shape ``(horizon_days, n_markets)`` (None when run with ``series=False``).
    market_lost, market_peak : ndarray
        Lost units and the largest daily shortfall of each market.
    market_first_shortfall, market_days_short, market_last_affected : ndarray of int
        First day with a shortfall (-1: none), number of days with one, and the last day its inflow was below
        normal or it was short (-1: never).
    daily_shortfall : ndarray
        Units short per day, all markets together.
    """

    disruptions: list
    disruption_sites: list
    disruption_site_ids: list
    disrupted_sites: list
    start_day: int
    horizon_days: int
    market_ids: np.ndarray
    market_names: np.ndarray
    daily_demand: np.ndarray
    inflow_fraction: np.ndarray | None
    supplied_fraction: np.ndarray | None
    shortfall_units: np.ndarray | None
    stock_units: np.ndarray | None
    market_lost: np.ndarray
    market_peak: np.ndarray
    market_first_shortfall: np.ndarray
    market_days_short: np.ndarray
    market_last_affected: np.ndarray
    daily_shortfall: np.ndarray

    @property
    def lost_units(self) -> float:
        """Units patients did not get, all markets and days."""
        return float(self.market_lost.sum())

    @property
    def first_shortfall_day(self) -> int | None:
        """First day on which some market is short (None: never)."""
        hit = self.market_first_shortfall[self.market_first_shortfall >= 0]
        return int(hit.min()) if hit.size else None

    @property
    def time_to_survive_days(self) -> int | None:
        """Days from the start of the (earliest) disruption to the first shortfall in any market (None: none)."""
        first = self.first_shortfall_day
        return None if first is None else first - self.start_day

    @property
    def peak_shortfall_units(self) -> float:
        """The largest daily shortfall, all markets together (units per day)."""
        return float(self.daily_shortfall.max()) if self.daily_shortfall.size else 0.0

    @property
    def peak_shortfall_day(self) -> int | None:
        """The day of :attr:`peak_shortfall_units` (None if nobody was ever short)."""
        return int(np.argmax(self.daily_shortfall)) if self.peak_shortfall_units > 0 else None

    @property
    def peak_shortfall_fraction(self) -> float:
        """:attr:`peak_shortfall_units` as a share of the daily demand of all markets."""
        total = float(self.daily_demand.sum())
        return self.peak_shortfall_units / total if total > 0 else 0.0

    @property
    def days_in_shortage(self) -> int:
        """Number of days on which at least one market is short."""
        return int(np.count_nonzero(self.daily_shortfall > 0))

    @property
    def full_recovery_day(self) -> int | None:
        """First day from which every market has its normal inflow and no shortfall until the end of the horizon.

        The start day when no market was ever affected; None when some market is still affected on the last day.
        Stock may still be below its target then (it is rebuilt only from spare capacity).
        """
        last = int(self.market_last_affected.max()) if self.market_last_affected.size else -1
        if last < 0:
            return self.start_day
        return None if last >= self.horizon_days - 1 else last + 1

    def to_json(self, series: bool = True) -> dict:
        """The document of ``riskmodel simulate --json`` (PRODUCT.md section 4) with the summary fields."""
        def day(v) -> int | None:
            return None if v < 0 else int(v)

        markets = {}
        for j, mid in enumerate(self.market_ids):
            entry = {}
            if series and self.inflow_fraction is not None:
                entry.update({
                    "inflow_fraction": self.inflow_fraction[:, j].tolist(),
                    "supplied_fraction": self.supplied_fraction[:, j].tolist(),
                    "shortfall_units": self.shortfall_units[:, j].tolist(),
                    "stock_units": self.stock_units[:, j].tolist(),
                })
            entry.update({
                "lost_units": float(self.market_lost[j]),
                "first_shortfall_day": day(self.market_first_shortfall[j]),
                "days_in_shortage": int(self.market_days_short[j]),
                "peak_shortfall_units": float(self.market_peak[j]),
                "daily_demand_units": float(self.daily_demand[j]),
            })
            markets[str(mid)] = entry
        return {
            "disrupted_sites": list(self.disrupted_sites),
            "disruptions": [{**d.to_dict(), "sites": s} for d, s in
                            zip(self.disruptions, self.disruption_site_ids, strict=True)],
            "horizon_days": self.horizon_days,
            "start_day": self.start_day,
            "time_to_survive_days": self.time_to_survive_days,
            "first_shortfall_day": self.first_shortfall_day,
            "lost_units": self.lost_units,
            "peak_shortfall_units": self.peak_shortfall_units,
            "peak_shortfall_day": self.peak_shortfall_day,
            "peak_shortfall_fraction": self.peak_shortfall_fraction,
            "days_in_shortage": self.days_in_shortage,
            "full_recovery_day": self.full_recovery_day,
            "markets_short": int(np.count_nonzero(self.market_first_shortfall >= 0)),
            "markets": markets,
        }


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _disruption_entries(net: SupplyNetwork, disruptions: Sequence[Disruption]):
    if isinstance(disruptions, Disruption):
        disruptions = [disruptions]
    disruptions = list(disruptions)
    if not disruptions:
        raise DisruptionError("at least one disruption is needed")
    for d in disruptions:
        if not isinstance(d, Disruption):
            raise DisruptionError(f"expected Disruption objects, got {type(d).__name__}")
    picked = [d.sites(net) for d in disruptions]
    site = np.concatenate(picked).astype(np.int64)
    lens = [len(p) for p in picked]
    sev = np.repeat([d.severity for d in disruptions], lens).astype(np.float64)
    start = np.repeat([d.start_day for d in disruptions], lens).astype(np.int64)
    dur = np.repeat([d.duration_days for d in disruptions], lens).astype(np.int64)
    linear = np.repeat([d.recovery == "linear" for d in disruptions], lens).astype(np.bool_)
    head = np.full(net.n_sites, -1, np.int64)
    nxt = np.full(len(site), -1, np.int64)
    for k in range(len(site)):  # a linked list of each site's disruptions
        nxt[k] = head[site[k]]
        head[site[k]] = k
    return disruptions, picked, head, nxt, sev, start, dur, linear


def simulate(net: SupplyNetwork, disruptions: Disruption | Sequence[Disruption],
             horizon_weeks: float = DEFAULT_HORIZON_WEEKS, *, series: bool = True) -> SimulationResult:
    """Simulate the network day by day under one or several disruptions (PRODUCT.md section 3.2).

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    disruptions : Disruption or sequence of Disruption
        What fails (each with its own sites, severity, start, duration and recovery profile). A site hit by
        several disruptions keeps, each day, the smallest capacity any of them leaves it.
    horizon_weeks : float
        Length of the simulation: ``round(7 * horizon_weeks)`` days (default 52 weeks).
    series : bool
        Keep the daily series per market (``horizon x markets`` floats each); without them only the summaries.

    Returns
    -------
    SimulationResult

    Raises
    ------
    DisruptionError
        For an empty list, an unknown site/operator/country/region, an empty selection, or a bad horizon.

    Examples
    --------
    >>> from riskmodel.disruption import Disruption
    >>> sites = pd.DataFrame({"site_id": ["A", "B", "M"], "kind": ["api", "api", "market"],
    ...                       "weekly_demand": [np.nan, np.nan, 7.0], "inventory_days": [0.0, 0.0, 21.0]})
    >>> links = pd.DataFrame({"supplier_id": ["A", "B"], "customer_id": ["M", "M"], "material": ["x", "x"],
    ...                       "share": [0.6, 0.4], "lead_time_days": [0.0, 0.0], "status": ["active"] * 2,
    ...                       "qualification_weeks": [0.0, 0.0]})
    >>> res = simulate(SupplyNetwork(sites, links), Disruption("site:A", duration_weeks=52))
    >>> res.time_to_survive_days, round(float(res.supplied_fraction[35, 0]), 6)  # 21 days of stock / 0.6 a day
    (35, 0.4)
    """
    horizon = round(7.0 * float(horizon_weeks))
    if not 1 <= horizon <= 20 * 365:
        raise DisruptionError(f"horizon must be between 1 day and 20 years, got {horizon_weeks!r} weeks")
    disruptions, picked, head, nxt, sev, start, dur, linear = _disruption_entries(net, disruptions)
    start0 = min(d.start_day for d in disruptions)
    arr = sim_arrays(net)
    n = net.n_sites
    markets = net.market_index
    m = len(markets)
    mcol = np.full(n, -1, np.int64)
    mcol[markets] = np.arange(m)
    shape = (horizon, m) if series else (0, 0)
    rec = [np.zeros(shape) for _ in range(4)]
    m_lost, m_peak = np.zeros(m), np.zeros(m)
    m_first, m_last = np.full(m, -1, np.int64), np.full(m, -1, np.int64)
    m_days = np.zeros(m, np.int64)
    day_short = np.zeros(horizon)

    sites = np.arange(n, dtype=np.int64)
    flag = np.ones(n, np.int8)
    nw = arr.kernel_tuple()
    state = _new_state(nw)
    _init_state(nw, sites, flag, state)
    stats = (mcol, m_lost, m_first, m_days, m_peak, m_last, day_short, *rec)
    b_from = start0 + arr.b_qual  # backups qualify from the start of the earliest disruption
    _run_scenario(nw, sites, flag, (head, nxt, sev, start, dur, linear), b_from, horizon, state, stats, series, -1)

    hit = np.unique(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
    names = (net.sites["name"].astype(str).to_numpy() if "name" in net.sites else net.site_ids)[markets]
    result = SimulationResult(
        disruptions=disruptions, disruption_sites=picked,
        disruption_site_ids=[net.site_ids[p].tolist() for p in picked],
        disrupted_sites=sorted(net.site_ids[hit].tolist()),
        start_day=start0, horizon_days=horizon, market_ids=net.site_ids[markets], market_names=names,
        daily_demand=arr.normal_output[markets],
        inflow_fraction=rec[0] if series else None, supplied_fraction=rec[1] if series else None,
        shortfall_units=rec[2] if series else None, stock_units=rec[3] if series else None,
        market_lost=m_lost, market_peak=m_peak, market_first_shortfall=m_first, market_days_short=m_days,
        market_last_affected=m_last, daily_shortfall=day_short)
    return result


def simulate_json(net: SupplyNetwork, disruptions: Disruption | Sequence[Disruption],
                  horizon_weeks: float = DEFAULT_HORIZON_WEEKS) -> dict:
    """The JSON document of ``riskmodel simulate --json`` (PRODUCT.md section 4).

    ``{"disrupted_sites", "time_to_survive_days", "lost_units", "markets": {ID: {"inflow_fraction",
    "supplied_fraction", "shortfall_units", "stock_units", "lost_units", "first_shortfall_day", ...}}}`` plus the
    summary: ``first_shortfall_day, peak_shortfall_units, peak_shortfall_day, peak_shortfall_fraction,
    days_in_shortage, full_recovery_day, markets_short, horizon_days, start_day, disruptions``.

    Examples
    --------
    >>> net = load_network("data/sample")  # doctest: +SKIP
    >>> doc = simulate_json(net, disruptions_from_specs(["site:FF-SAL-CASTLEBAR-IE"], weeks=26))  # doctest: +SKIP
    >>> doc["time_to_survive_days"], sorted(m for m, v in doc["markets"].items() if v["lost_units"])  # doctest: +SKIP
    (57, ['MKT-ESP-SAL', 'MKT-GBR-SAL'])
    """
    return simulate(net, disruptions, horizon_weeks).to_json()


def _fmt_day(v) -> str:
    return "none" if v is None else f"day {v}"


def format_simulation(result: SimulationResult | dict, top: int = 15) -> str:
    """A readable summary of a simulation (a :class:`SimulationResult` or the dict of :func:`simulate_json`).

    Examples
    --------
    >>> print(format_simulation(simulate_json(net, disruptions)))  # doctest: +SKIP
    Disrupted: 1 site(s): FF-SAL-CASTLEBAR-IE
      site:FF-SAL-CASTLEBAR-IE: 1 site(s), severity 1, days 0-181 (182 days), recovery step
    Horizon: 364 days
    Time to survive: 57 days
    ...
    """
    doc = result.to_json(series=False) if isinstance(result, SimulationResult) else result
    lines = []
    sites = doc["disrupted_sites"]
    shown = ", ".join(sites[:8]) + (f", ... ({len(sites) - 8} more)" if len(sites) > 8 else "")
    lines.append(f"Disrupted: {len(sites)} site(s): {shown}")
    for d in doc.get("disruptions", []):
        lines.append(f"  {d['spec']}: {len(d.get('sites', []))} site(s), severity {d['severity']:g}, "
                     f"days {d['start_day']}-{d['start_day'] + d['duration_days'] - 1} "
                     f"({d['duration_days']} days), recovery {d['recovery']}")
    tts = doc["time_to_survive_days"]
    lines.append(f"Horizon: {doc.get('horizon_days', '?')} days")
    lines.append("Time to survive: " + ("no shortfall within the horizon" if tts is None else f"{tts} days"))
    lines.append(f"Lost units: {doc['lost_units']:,.0f}")
    if doc.get("peak_shortfall_day") is not None:
        lines.append(f"Peak shortfall: {doc['peak_shortfall_units']:,.0f} units/day on day "
                     f"{doc['peak_shortfall_day']} ({100 * doc.get('peak_shortfall_fraction', 0.0):.1f}% of demand)")
    lines.append(f"Days in shortage: {doc.get('days_in_shortage', 0)}")
    rec = doc.get("full_recovery_day")
    lines.append("Full recovery: " + ("not within the horizon" if rec is None else f"day {rec}"))
    rows = [(mid, m) for mid, m in doc["markets"].items() if m["lost_units"] > 0]
    rows.sort(key=lambda r: (-r[1]["lost_units"], r[0]))
    if rows:
        lines.append("")
        lines.append(f"Markets short ({len(rows)}), most units lost first:")
        head = ("market", "lost units", "first short", "days short", "peak/day")
        table = [head] + [(mid, f"{m['lost_units']:,.0f}", _fmt_day(m["first_shortfall_day"]),
                           str(m.get("days_in_shortage", "")), f"{m.get('peak_shortfall_units', 0.0):,.0f}")
                          for mid, m in rows[:top]]
        widths = [max(len(r[i]) for r in table) for i in range(len(head))]
        for r in table:
            lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                          for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        if len(rows) > top:
            lines.append(f"  ... and {len(rows) - top} more")
    else:
        lines.append("No market is short.")
    return "\n".join(lines)


def run_single_site_batch(net: SupplyNetwork, seeds: np.ndarray, durations: np.ndarray,
                          horizons: np.ndarray, chunks: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lose each seed site alone (capacity 0, from day 0, for ``durations`` days); first shortfall day and loss.

    Each scenario runs over the seed's downstream cone only (exact: see :func:`_single_site_batch`); scenarios
    are cut into chunks that a thread pool runs (the kernel releases the GIL).

    Parameters
    ----------
    net : SupplyNetwork
        The network.
    seeds, durations, horizons : ndarray of int
        Site index, outage days and simulated days of each scenario.
    chunks : int, optional
        Number of pieces for the thread pool (default: 16 per thread).

    Returns
    -------
    first : ndarray of int
        First day with a market shortfall (-1: none within the horizon).
    lost : ndarray of float
        Units lost over the horizon, all markets.

    Examples
    --------
    >>> first, lost = run_single_site_batch(net, np.array([0]), np.array([28]), np.array([60]))  # doctest: +SKIP
    """
    arr = sim_arrays(net)
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    durations = np.ascontiguousarray(durations, dtype=np.int64)
    horizons = np.ascontiguousarray(horizons, dtype=np.int64)
    k = len(seeds)
    first, lost = np.full(k, -1, np.int64), np.zeros(k)
    if k == 0:
        return first, lost
    # most work first, dealt round-robin, so the chunks are of similar cost
    order = np.argsort(-(horizons.astype(np.float64) * (1 + arr.market_depth[seeds])), kind="stable")
    n_chunks = max(1, min(k, chunks or 16 * _threads()))
    parts = [order[c::n_chunks] for c in range(n_chunks)]
    nw = arr.kernel_tuple()

    def work(idx: np.ndarray):
        return _single_site_batch(seeds[idx], durations[idx], horizons[idx], nw)

    if n_chunks == 1 or _threads() == 1:
        results = [work(p) for p in parts]
    else:
        with ThreadPoolExecutor(max_workers=_threads()) as pool:
            results = list(pool.map(work, parts))
    for p, (f, lo) in zip(parts, results, strict=True):
        first[p] = f
        lost[p] = lo
    return first, lost
