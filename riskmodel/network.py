"""The supply network model: validated tables, the networkx graph and the array views analyses share.

A :class:`SupplyNetwork` is built once per dataset from the *validated* ``sites`` and ``links`` tables
(see :mod:`riskmodel.validate`). It numbers the sites in a topological order of the active links, so that
index ``i`` is both a row of :attr:`SupplyNetwork.sites` and a position in every array, and any propagation
can run over ``range(n)`` with every supplier seen before its customers.

Array views (built with numpy from the tables, not by walking networkx, so that a 100,000-site network is
ready in well under a second):

* input groups: one group per (customer, material) pair of the active links. ``site_group_ptr`` (CSR) gives
  the groups of a site, ``group_link_ptr`` (CSR) the links of a group, ``link_supplier`` / ``link_share``
  the supplier index and normalised share of each link. Section 3.1 of the spec is then
  ``a[g] = min(1, sum(link_share * x[link_supplier]))`` over a group's links and ``x[v] = c[v] * min(a[g])``.
* ``supply_matrix``: the same as a ``scipy.sparse`` CSR matrix of shape (groups, sites).
* ``adjacency``: CSR (sites, sites), 1 where a site supplies another through at least one active link.

The networkx graph (:attr:`SupplyNetwork.graph`, a ``MultiDiGraph`` keyed by material, built on first use)
holds the same active links with every site's attributes on its node; backup links are kept apart in
:attr:`SupplyNetwork.backup_links` and are not edges of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["SupplyNetwork", "topological_levels"]


def topological_levels(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Topological order of a directed graph on ``n`` nodes given as edge arrays (Kahn's algorithm by levels).

    Parameters
    ----------
    n : int
        Number of nodes, numbered ``0..n-1``.
    src, dst : array of int
        Edge endpoints (parallel edges allowed).

    Returns
    -------
    order : ndarray of int
        The nodes in topological order (level by level, by node number within a level). Nodes on or behind a
        cycle are missing: ``len(order) < n`` means the graph has a cycle.
    level : ndarray of int
        Length of the longest path from a source to each node (-1 for nodes left out).

    Examples
    --------
    >>> order, level = topological_levels(3, np.array([2, 0]), np.array([0, 1]))
    >>> order.tolist(), level.tolist()
    ([2, 0, 1], [1, 2, 0])
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    indeg = np.bincount(dst, minlength=n)
    by_src = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    sorted_dst = dst[by_src]
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    parts = []
    depth = 0
    while frontier.size:
        level[frontier] = depth
        parts.append(frontier)
        starts, ends = ptr[frontier], ptr[frontier + 1]
        counts = ends - starts
        if counts.sum() == 0:
            break
        idx = np.repeat(ends - counts.cumsum(), counts) + np.arange(counts.sum())
        targets = sorted_dst[idx]
        np.subtract.at(indeg, targets, 1)
        frontier = np.unique(targets[indeg[targets] == 0])
        depth += 1
    order = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return order, level


@dataclass(frozen=True)
class InputLink:
    """One supplier of one input material of a site (a row of :meth:`SupplyNetwork.inputs`)."""

    supplier_id: str
    share: float
    lead_time_days: float


class SupplyNetwork:
    """A validated supply network: tables, graph, topological order and array views.

    Parameters
    ----------
    sites, links : pandas.DataFrame
        Validated tables (canonical columns of :mod:`riskmodel.schema`; shares already normalised).
        Use :func:`riskmodel.validate.load_network` to get one from files.

    Examples
    --------
    >>> sites = pd.DataFrame({"site_id": ["m", "a"], "kind": ["market", "api"], "weekly_demand": [10.0, np.nan]})
    >>> links = pd.DataFrame({"supplier_id": ["a"], "customer_id": ["m"], "material": ["x"], "share": [1.0],
    ...                       "lead_time_days": [0.0], "status": ["active"], "qualification_weeks": [0.0]})
    >>> net = SupplyNetwork(sites, links)
    >>> net.site_ids.tolist(), net.demand.tolist()
    (['a', 'm'], [0.0, 10.0])
    """

    def __init__(self, sites: pd.DataFrame, links: pd.DataFrame):
        ids_in = sites["site_id"].astype(str).to_numpy()
        pos = pd.Index(ids_in)
        is_backup = links["status"].astype(str).eq("backup").to_numpy() if len(links) else np.zeros(0, bool)
        active = links.loc[~is_backup]
        src = pos.get_indexer(active["supplier_id"].astype(str))
        dst = pos.get_indexer(active["customer_id"].astype(str))
        if (src < 0).any() or (dst < 0).any():
            raise ValueError("links refer to unknown sites; validate the tables first")
        order, level = topological_levels(len(ids_in), src, dst)
        if len(order) < len(ids_in):
            raise ValueError("the active links have a cycle; validate the tables first")

        #: sites in topological order; row i is site i of every array
        self.sites: pd.DataFrame = sites.iloc[order].reset_index(drop=True)
        #: site ids in topological order (index i -> id)
        self.site_ids: np.ndarray = ids_in[order]
        #: depth of each site (longest path from a site with no inputs)
        self.level: np.ndarray = level[order]
        self.n_sites: int = len(order)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        self._pos = pd.Index(self.site_ids)

        # active links sorted by (customer, material, supplier): groups are contiguous runs
        lk = active.reset_index(drop=True)
        lk = lk.assign(_s=rank[src], _c=rank[dst]).sort_values(["_c", "material", "_s"], kind="stable")
        #: active links (rows sorted by customer, material) with ``supplier``/``customer`` index columns
        self.links: pd.DataFrame = lk.rename(columns={"_s": "supplier", "_c": "customer"}).reset_index(drop=True)
        #: backup links: known alternates, not part of the static model
        self.backup_links: pd.DataFrame = links.loc[is_backup].reset_index(drop=True)

        cust = self.links["customer"].to_numpy(np.int64)
        mat = self.links["material"].astype(str).to_numpy()
        new_group = np.ones(len(cust), dtype=bool)
        if len(cust) > 1:
            new_group[1:] = (cust[1:] != cust[:-1]) | (mat[1:] != mat[:-1])
        starts = np.flatnonzero(new_group)
        #: index of the input group (customer, material) of each active link
        self.link_group: np.ndarray = np.cumsum(new_group) - 1
        #: supplier index and normalised share of each active link
        self.link_supplier: np.ndarray = self.links["supplier"].to_numpy(np.int64)
        self.link_share: np.ndarray = self.links["share"].to_numpy(np.float64)
        self.n_groups: int = len(starts)
        #: CSR pointer: links of group g are ``group_link_ptr[g]:group_link_ptr[g+1]``
        self.group_link_ptr: np.ndarray = np.append(starts, len(cust)).astype(np.int64)
        #: customer site index and material of each input group
        self.group_site: np.ndarray = cust[starts]
        self.group_material: np.ndarray = mat[starts]
        #: CSR pointer: groups of site v are ``site_group_ptr[v]:site_group_ptr[v+1]``
        self.site_group_ptr: np.ndarray = np.zeros(self.n_sites + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.group_site, minlength=self.n_sites), out=self.site_group_ptr[1:])

        kinds = self.sites["kind"].astype(str).to_numpy()
        #: boolean mask of market sites and weekly demand per site (0 for non-markets)
        self.is_market: np.ndarray = kinds == "market"
        demand = pd.to_numeric(self.sites["weekly_demand"], errors="coerce").to_numpy(np.float64)
        self.demand: np.ndarray = np.where(self.is_market, np.nan_to_num(demand), 0.0)
        #: indices of the market sites, in topological order
        self.market_index: np.ndarray = np.flatnonzero(self.is_market)

    # ----------------------------------------------------------------------------------------- lookups
    def index_of(self, site_ids) -> np.ndarray:
        """Array indices of site ids (-1 for unknown ids)."""
        return self._pos.get_indexer(pd.Index(np.atleast_1d(np.asarray(site_ids, dtype=object)).astype(str)))

    def inputs(self, site_id: str) -> dict[str, list[InputLink]]:
        """Active suppliers of a site grouped by input material.

        Examples
        --------
        >>> # net.inputs("FF-1") -> {"vial glass": [InputLink("GL-1", 1.0, 30.0)], ...}
        """
        v = int(self.index_of([site_id])[0])
        if v < 0:
            raise KeyError(site_id)
        out: dict[str, list[InputLink]] = {}
        for g in range(self.site_group_ptr[v], self.site_group_ptr[v + 1]):
            lo, hi = self.group_link_ptr[g], self.group_link_ptr[g + 1]
            rows = self.links.iloc[lo:hi]
            out[str(self.group_material[g])] = [
                InputLink(str(s), float(sh), float(lt))
                for s, sh, lt in zip(rows["supplier_id"], rows["share"], rows["lead_time_days"], strict=True)
            ]
        return out

    @property
    def topological_order(self) -> np.ndarray:
        """Site ids in topological order (suppliers before customers)."""
        return self.site_ids

    @property
    def total_weekly_demand(self) -> float:
        """Sum of the markets' weekly demand."""
        return float(self.demand.sum())

    # ----------------------------------------------------------------------------------------- matrices
    @cached_property
    def supply_matrix(self) -> sp.csr_matrix:
        """CSR matrix (groups x sites) of normalised shares: ``min(1, supply_matrix @ x)`` is ``a[g]``."""
        return sp.csr_matrix(
            (self.link_share, (self.link_group, self.link_supplier)), shape=(self.n_groups, self.n_sites)
        )

    @cached_property
    def adjacency(self) -> sp.csr_matrix:
        """CSR matrix (sites x sites): 1 where the row site supplies the column site (active links)."""
        m = sp.csr_matrix(
            (np.ones(len(self.link_supplier)), (self.link_supplier, self.links["customer"].to_numpy(np.int64))),
            shape=(self.n_sites, self.n_sites),
        )
        m.data[:] = 1.0
        return m

    # ----------------------------------------------------------------------------------------- graph
    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The networkx graph: sites as nodes with their attributes, active links as edges keyed by material."""
        g = nx.MultiDiGraph()
        records = self.sites.to_dict("records")
        g.add_nodes_from((r["site_id"], r) for r in records)
        cols = ["supplier_id", "customer_id", "material", "share", "lead_time_days"]
        for s, c, m, sh, lt in self.links[cols].itertuples(index=False, name=None):
            g.add_edge(s, c, key=m, material=m, share=sh, lead_time_days=lt)
        return g

    def __repr__(self) -> str:
        return (
            f"SupplyNetwork({self.n_sites} sites, {len(self.links)} active links, "
            f"{len(self.backup_links)} backup links, {len(self.market_index)} markets)"
        )
