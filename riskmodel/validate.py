"""Validation of the input tables: every rule of PRODUCT.md section 2, all errors in one pass.

:func:`validate_dataset` reads a folder or workbook (:mod:`riskmodel.readers`), checks each column against
:mod:`riskmodel.schema`, resolves countries to ISO alpha-3, places sites without coordinates by offline
geocoding, checks each site's country against its coordinates (a spatial join with the shipped country
polygons), assigns regions, fills defaults (:mod:`riskmodel.defaults`), checks the links (known sites, shares,
duplicates, markets, cycles), normalises shares and returns a :class:`ValidationReport`: errors and warnings as
``file, row, column, message`` plus, when there is no error, the canonical tables. It never raises on bad input.

Checks are vectorised over columns (pandas), so a 100,000-site dataset validates in a few seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from riskmodel import defaults
from riskmodel.checks import (
    Collector,
    check_columns,
    check_ids,
    check_number_column,
    member,
    show,
    sorted_issues,
    text_column,
    word_column,
)
from riskmodel.issues import Issue
from riskmodel.limits import check_row_limit
from riskmodel.network import SupplyNetwork, topological_levels
from riskmodel.readers import RawTable, read_dataset
from riskmodel.schema import KINDS, LINKS, SITES, STATUSES

__all__ = ["DataError", "ValidationReport", "load_network", "validate_dataset", "validate_sites", "validate_tables"]

SHARE_TOLERANCE = 0.01
SITE_COLUMNS = SITES.names + ["region"]
LINK_COLUMNS = LINKS.names


@dataclass
class ValidationReport:
    """Outcome of validation: errors, warnings, counts and (when valid) the canonical tables."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    sites: pd.DataFrame | None = None
    links: pd.DataFrame | None = None
    source: str = ""

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        """The document of ``riskmodel validate --json`` (PRODUCT.md section 4)."""
        return {
            "valid": self.valid,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "counts": self.counts,
        }

    def network(self) -> SupplyNetwork:
        """The :class:`SupplyNetwork` of a valid report (raises :class:`DataError` if there are errors)."""
        if not self.valid:
            raise DataError(self)
        return SupplyNetwork(self.sites, self.links)


class DataError(Exception):
    """Raised by :func:`load_network` when the data has errors; carries the report."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(f"{len(report.errors)} error(s) in {report.source or 'the data'}")


# ------------------------------------------------------------------------------------------ sites
def validate_sites(table: RawTable, errors: list[Issue], warnings: list[Issue], regions_path
                    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Returns (canonical sites or None if any error, site_id/kind of every row for the links' checks)."""
    from riskmodel import countries, geo, geocode, regions

    f = table.frame
    err = Collector(table.file, f["row"], errors)
    warn = Collector(table.file, f["row"], warnings)
    if not check_columns(table, SITES, err, warn):
        return None, None
    if f.empty:
        err.whole(None, "no sites: the table has a header but no rows")
        return None, None
    decimal_comma = table.delimiter == ";"
    rows = f["row"]

    site_id = text_column(f, "site_id")
    id_ok = check_ids(site_id, "site_id", err)
    dup = site_id.duplicated(keep="first") & id_ok
    first_row = rows.groupby(site_id).transform("first")
    err.add(dup, "site_id", lambda i: f"duplicate site id {show(site_id.iat[i])} (first on row {first_row.iat[i]})")

    name = f["name"].astype(str)
    err.add(name.str.strip().eq(""), "name", "required: a display name")

    kind = word_column(f, "kind")
    kind_ok = member(kind, KINDS)
    err.add(~kind_ok, "kind",
            lambda i: f"unknown kind {show(f['kind'].iat[i])}: expected one of {', '.join(KINDS)}")
    is_market = kind.eq("market").to_numpy()
    ids_kinds = pd.DataFrame({"site_id": site_id.to_numpy(), "kind": kind.to_numpy()})

    country_text = text_column(f, "country")
    alpha3 = countries.to_alpha3_many(country_text)
    country_empty = country_text.eq("").to_numpy()
    bad_country = ~country_empty & alpha3.isna().to_numpy()
    err.add(bad_country, "country",
            lambda i: f"unknown country {show(country_text.iat[i])}: expected ISO 3166 alpha-2, alpha-3 or "
                      "English name")

    nums = {c.name: check_number_column(f, c, err, decimal_comma) for c in SITES.columns if c.kind == "number"}
    lat, lon = nums["lat"].to_numpy().copy(), nums["lon"].to_numpy().copy()
    lat_given = text_column(f, "lat").ne("").to_numpy()
    lon_given = text_column(f, "lon").ne("").to_numpy()
    err.add(lat_given & ~lon_given, "lon", "lat is given but lon is empty: give both, or neither and a city")
    err.add(lon_given & ~lat_given, "lat", "lon is given but lat is empty: give both, or neither and a city")

    # offline geocoding of sites without coordinates
    city = text_column(f, "city")
    need = ~lat_given & ~lon_given
    no_place = need & city.eq("").to_numpy()
    err.add(no_place, "lat", "no coordinates: give lat and lon, or a city that can be found offline")
    to_geocode = need & ~no_place & alpha3.notna().to_numpy()
    if to_geocode.any():
        sub = pd.DataFrame({"city": city[to_geocode].to_numpy(), "country": alpha3[to_geocode].to_numpy()})
        glat, glon = geocode.lookup_many(sub)
        lat[to_geocode], lon[to_geocode] = glat, glon
        missed = np.zeros(len(f), dtype=bool)
        missed[np.flatnonzero(to_geocode)[np.isnan(np.asarray(glat, dtype=float))]] = True
        err.add(missed, "city",
                lambda i: f"city {show(city.iat[i])} not found in {alpha3.iat[i]} (offline gazetteer of places "
                          "with 5,000+ people): give lat and lon")
    need_country_from_coords = country_empty & need
    err.add(need_country_from_coords & ~no_place, "country", "required: a country (or lat and lon)")

    # country from coordinates (spatial join): warn where it disagrees, fill where the cell is empty
    located = np.isfinite(lat) & np.isfinite(lon)
    at = np.full(len(f), None, dtype=object)
    if located.any():
        at[located] = geo.country_at(lat[located], lon[located])
    stated = alpha3.to_numpy(dtype=object)
    has_at = np.array([bool(a) for a in at])
    disagree = has_at & ~country_empty & ~bad_country & (at != stated)
    warn.add(disagree, "country",
             lambda i: f"country {stated[i]} but the coordinates ({lat[i]:.3f}, {lon[i]:.3f}) are in {at[i]}: "
                       f"using {at[i]} (check lat/lon if that is wrong)")
    fill = country_empty & has_at
    warn.add(fill, "country", lambda i: f"no country given: {at[i]} from the coordinates")
    err.add(country_empty & located & ~has_at, "country",
            "required: a country (the coordinates are not inside any country)")
    final_country = np.where(has_at & (disagree | fill), at, stated)

    # markets and demand
    demand = nums["weekly_demand"].to_numpy()
    demand_given = text_column(f, "weekly_demand").ne("").to_numpy()
    err.add(is_market & ~demand_given, "weekly_demand", "required for a market: units per week, > 0")
    err.add(~is_market & kind_ok & demand_given, "weekly_demand",
            lambda i: f"only markets have a weekly_demand (this site is a {kind.iat[i]}): leave it empty")

    if errors:
        return None, ids_kinds

    region_map = regions.load_regions(regions_path)
    kinds = kind.to_numpy()
    out = pd.DataFrame(
        {
            "site_id": site_id.to_numpy(),
            "name": name.to_numpy(),
            "kind": kinds,
            "country": final_country.astype(str),
            "city": text_column(f, "city").to_numpy(),
            "lat": lat,
            "lon": lon,
            "operator": text_column(f, "operator").to_numpy(),
            "technology": word_column(f, "technology").to_numpy(),
            "weekly_demand": np.where(is_market, demand, np.nan),
            "inventory_days": nums["inventory_days"].fillna(pd.Series(kinds).map(defaults.INVENTORY_DAYS)).to_numpy(),
            "ttr_weeks": nums["ttr_weeks"].fillna(pd.Series(kinds).map(defaults.TTR_WEEKS)).to_numpy(),
            "surge": nums["surge"].fillna(defaults.SURGE).to_numpy(),
            "annual_disruption_prob": nums["annual_disruption_prob"]
            .fillna(pd.Series(defaults.annual_disruption_probs(kinds, final_country)))
            .to_numpy(),
        }
    )
    out["region"] = out["country"].map(region_map).fillna("Unassigned")
    unassigned = out["region"].eq("Unassigned").to_numpy()
    warn.add(unassigned, "country",
             lambda i: f"country {out['country'].iat[i]} has no region: add it to the regions CSV")
    out["row"] = rows.to_numpy()
    return out, ids_kinds


# ------------------------------------------------------------------------------------------ links
def _validate_links(table: RawTable, sites: pd.DataFrame | None, errors: list[Issue], warnings: list[Issue]
                    ) -> pd.DataFrame | None:
    """Canonical links (shares filled and normalised), or None if any error. ``sites``: site_id and kind."""
    f = table.frame
    err = Collector(table.file, f["row"], errors)
    warn = Collector(table.file, f["row"], warnings)
    if not check_columns(table, LINKS, err, warn):
        return None
    if f.empty:
        err.whole(None, "no links: the table has a header but no rows")
        return None
    decimal_comma = table.delimiter == ";"
    supplier = text_column(f, "supplier_id")
    customer = text_column(f, "customer_id")
    sup_ok = check_ids(supplier, "supplier_id", err)
    cus_ok = check_ids(customer, "customer_id", err)
    material = f["material"].astype(str).str.strip()
    err.add(material.eq(""), "material", "required: the material that flows (e.g. 'heparin API')")

    status_text = text_column(f, "status").str.lower()
    status = status_text.where(status_text.ne(""), "active")
    err.add(~member(status, STATUSES), "status",
            lambda i: f"unknown status {show(f['status'].iat[i])}: expected active or backup")
    is_backup = status.eq("backup").to_numpy()

    nums = {c.name: check_number_column(f, c, err, decimal_comma) for c in LINKS.columns if c.kind == "number"}
    share = nums["share"].to_numpy().copy()
    share_given = text_column(f, "share").ne("").to_numpy()

    err.add(sup_ok & cus_ok & supplier.eq(customer).to_numpy(), "customer_id", "a site cannot supply itself")
    key = supplier + "\x1f" + customer + "\x1f" + material
    dup = key.duplicated(keep="first").to_numpy() & sup_ok & cus_ok
    first_row = f["row"].groupby(key).transform("first")
    err.add(dup, "material", lambda i: f"duplicate link {supplier.iat[i]} -> {customer.iat[i]} for "
                                       f"{show(material.iat[i])} (first on row {first_row.iat[i]})")

    if sites is not None:
        known = pd.Index(sites["site_id"]).drop_duplicates()
        market_ids = set(sites.loc[sites["kind"].eq("market"), "site_id"])
        err.add(sup_ok & ~member(supplier, known), "supplier_id",
                lambda i: f"unknown site {show(supplier.iat[i])}: not in sites")
        err.add(cus_ok & ~member(customer, known), "customer_id",
                lambda i: f"unknown site {show(customer.iat[i])}: not in sites")
        sup_market = member(supplier, market_ids)
        err.add(sup_market, "supplier_id", lambda i: f"{supplier.iat[i]} is a market: a market supplies nobody")

    # shares per (customer, material) of the active links
    active = ~is_backup
    grp = (customer + "\x1f" + material).to_numpy()
    frame = pd.DataFrame({"g": grp, "share": np.where(share_given, share, np.nan), "given": share_given,
                          "active": active})
    act = frame[active]
    g_sum = act.groupby("g")["share"].sum(min_count=1)
    g_given = act.groupby("g")["given"].sum()
    g_n = act.groupby("g").size()
    g_missing = g_n - g_given
    remainder = (1.0 - g_sum.fillna(0.0))
    mixed = (g_given > 0) & (g_missing > 0)
    mixed_bad = mixed & (remainder <= SHARE_TOLERANCE)
    bad_groups = set(mixed_bad[mixed_bad].index)
    err.add(active & ~share_given & member(grp, bad_groups), "share",
            lambda i: f"empty share, but the other suppliers of {show(material.iat[i])} to {customer.iat[i]} "
                      "already sum to 1 or more: give this share too")
    # fill: all empty -> equal split; some empty -> they split the remainder equally
    fill_value = pd.Series(np.where(g_given > 0, remainder / g_missing.where(g_missing > 0, 1), 1.0 / g_n),
                           index=g_n.index)
    fill_for = frame["g"].map(fill_value).to_numpy()
    share = np.where(active & ~share_given, fill_for, share)
    share = np.where(is_backup & ~share_given, 1.0, share)

    if errors:
        return None

    out = pd.DataFrame(
        {
            "supplier_id": supplier.to_numpy(),
            "customer_id": customer.to_numpy(),
            "material": material.to_numpy(),
            "share": share,
            "lead_time_days": nums["lead_time_days"].fillna(0.0).to_numpy(),
            "status": status.to_numpy(),
            "qualification_weeks": nums["qualification_weeks"].fillna(0.0).to_numpy(),
            "row": f["row"].to_numpy(),
        }
    )
    # normalise active shares per (customer, material); warn once per group that is off by more than the tolerance
    sums = out.loc[active].groupby(grp[active])["share"].transform("sum")
    out.loc[active, "share"] = out.loc[active, "share"].to_numpy() / sums.to_numpy()
    off = (sums - 1.0).abs() > SHARE_TOLERANCE
    first_of_group = ~pd.Series(grp[active]).duplicated().to_numpy()
    flagged = np.zeros(len(out), dtype=bool)
    flagged[np.flatnonzero(active)[off.to_numpy() & first_of_group]] = True
    sums_full = np.full(len(out), np.nan)
    sums_full[active] = sums.to_numpy()
    warn.add(flagged, "share",
             lambda i: f"shares of {show(material.iat[i])} to {customer.iat[i]} sum to {sums_full[i]:.3g}, not 1: "
                       "normalised")
    qual_on_active = active & (out["qualification_weeks"].to_numpy() > 0)
    warn.add(qual_on_active, "qualification_weeks", "qualification_weeks only applies to backup links: ignored")
    return out


def _check_structure(sites: pd.DataFrame, links: pd.DataFrame, site_file: str, link_file: str,
                     errors: list[Issue], warnings: list[Issue]) -> None:
    """Markets have suppliers; every other site supplies someone (warning); the active links have no cycle."""
    active = links[links["status"] == "active"]
    has_supplier = member(sites["site_id"], active["customer_id"])
    is_market = sites["kind"].eq("market").to_numpy()
    site_err = Collector(site_file, sites["row"], errors)
    site_warn = Collector(site_file, sites["row"], warnings)
    site_err.add(is_market & ~has_supplier, "site_id",
                 lambda i: f"market {sites['site_id'].iat[i]} has no active supplier in links")
    supplies = member(sites["site_id"], links["supplier_id"])
    site_warn.add(~is_market & ~supplies, "site_id",
                  lambda i: f"{sites['site_id'].iat[i]} ({sites['kind'].iat[i]}) supplies nobody: it cannot affect "
                            "any market")
    pos = pd.Index(sites["site_id"])
    src = pos.get_indexer(active["supplier_id"])
    dst = pos.get_indexer(active["customer_id"])
    order, _ = topological_levels(len(sites), src, dst)
    if len(order) < len(sites):
        left = np.ones(len(sites), dtype=bool)
        left[order] = False
        keep = left[src] & left[dst]
        g = nx.DiGraph()
        g.add_edges_from(zip(active["supplier_id"].to_numpy()[keep], active["customer_id"].to_numpy()[keep],
                             strict=True))
        cycle = nx.find_cycle(g)
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        row_of = dict(zip(zip(active["supplier_id"], active["customer_id"], strict=True), active["row"], strict=True))
        errors.append(Issue(link_file, int(row_of[cycle[-1]]), "customer_id",
                            f"the active links form a cycle: {path} ({int(left.sum())} sites are on or behind "
                            "cycles); a supply chain must flow one way"))


def _counts(sites: pd.DataFrame, links: pd.DataFrame) -> dict:
    active = links["status"].eq("active")
    markets = sites[sites["kind"] == "market"]
    return {
        "sites": len(sites),
        "links": int(active.sum()),
        "backup_links": int((~active).sum()),
        "by_kind": {k: int(v) for k, v in sites["kind"].value_counts().reindex(KINDS, fill_value=0).items()},
        "countries": int(sites["country"].nunique()),
        "regions": {k: int(v) for k, v in sites["region"].value_counts().sort_index().items()},
        "operators": int(sites["operator"].replace("", np.nan).nunique()),
        "materials": int(links.loc[active, "material"].nunique()),
        "markets": len(markets),
        "total_weekly_demand": float(markets["weekly_demand"].sum()),
    }


def validate_tables(tables: dict[str, RawTable | None], *, read_errors: Iterable[Issue] = (),
                    source: str = "", regions_path: str | os.PathLike | None = None) -> ValidationReport:
    """Validate read tables (see :func:`riskmodel.readers.read_dataset`); never raises on bad data."""
    errors: list[Issue] = list(read_errors)
    warnings: list[Issue] = []
    site_table, link_table = tables.get("sites"), tables.get("links")
    explained = bool(errors)  # a reading error already says why a table is missing
    for name, table in (("sites", site_table), ("links", link_table)):
        if table is None and not explained:
            errors.append(Issue(f"{name}.csv", None, None, f"missing: no {name} table was given"))
    too_big = [issue for t in (site_table, link_table)
               if t is not None and (issue := check_row_limit(len(t.frame), t.file)) is not None]
    if too_big:
        return ValidationReport(errors=sorted_issues([*errors, *too_big]), source=source)
    site_errors: list[Issue] = []
    sites, ids_kinds = (validate_sites(site_table, site_errors, warnings, regions_path)
                        if site_table is not None else (None, None))
    errors.extend(site_errors)
    link_errors: list[Issue] = []
    links = _validate_links(link_table, ids_kinds, link_errors, warnings) if link_table is not None else None
    errors.extend(link_errors)
    report = ValidationReport(source=source)
    if sites is not None and links is not None and not errors:
        _check_structure(sites, links, site_table.file, link_table.file, errors, warnings)
    report.errors, report.warnings = sorted_issues(errors), sorted_issues(warnings)
    if sites is not None and links is not None:
        report.counts = _counts(sites, links)
    if report.valid and sites is not None and links is not None:
        report.sites = sites[SITE_COLUMNS].reset_index(drop=True)
        report.links = links[LINK_COLUMNS].reset_index(drop=True)
    return report


def validate_dataset(path: str | os.PathLike, *, regions_path: str | os.PathLike | None = None) -> ValidationReport:
    """Read and validate a dataset (folder of CSV files or ``.xlsx`` workbook). Never raises on bad input.

    Examples
    --------
    >>> report = validate_dataset("data/sample")   # doctest: +SKIP
    >>> report.valid, report.counts["sites"]       # doctest: +SKIP
    (True, 180)
    """
    try:
        raw = read_dataset(path)
        return validate_tables(raw.tables, read_errors=raw.errors, source=raw.source, regions_path=regions_path)
    except Exception as exc:
        return ValidationReport(errors=[Issue(str(path), None, None,
                                              f"internal error while validating ({type(exc).__name__}: {exc}); "
                                              "please report it")], source=str(path))


def load_network(path: str | os.PathLike, **kwargs) -> SupplyNetwork:
    """Validate a dataset and build its :class:`SupplyNetwork`; raises :class:`DataError` if it has errors."""
    return validate_dataset(path, **kwargs).network()
