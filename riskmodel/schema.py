"""Declarative schema of the two input tables, ``sites`` and ``links`` (PRODUCT.md section 2).

One :class:`Column` per column says its type, whether it is required, its default and what it means. Validation
(:mod:`riskmodel.validate`), the templates (:mod:`riskmodel.template`) and ``docs/data-format.md`` all read
these declarations, so the rules live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "KINDS",
    "LINKS",
    "SITES",
    "SITE_ID_PATTERN",
    "STATUSES",
    "TABLES",
    "TECHNOLOGIES",
    "Column",
    "Table",
    "normalise_header",
]

#: site kinds, in supply-chain tier order (upstream first)
KINDS: tuple[str, ...] = (
    "raw_material",
    "api",
    "cmo",
    "fill_finish",
    "packaging",
    "logistics",
    "distribution",
    "market",
)
STATUSES: tuple[str, ...] = ("active", "backup")
#: fill-finish technologies named by the spec; others are accepted (substitution only within one technology)
TECHNOLOGIES: tuple[str, ...] = ("bfs", "aseptic_vial", "lyophilized", "prefilled_syringe", "lvp_bag")
SITE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``kind`` is the value type: ``id`` (a site id), ``text``, ``choice`` (one of ``choices``), ``country``,
    ``number``. Numbers are checked against ``minimum``/``maximum`` (``exclusive_minimum`` excludes the bound).
    """

    name: str
    kind: str
    required: bool
    description: str
    example: str = ""
    default: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def range_text(self) -> str:
        """The allowed range of a number column, as people write it (e.g. ``> 0``, ``0 to 1``)."""
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            return f"more than {lo:g} and at most {hi:g}" if self.exclusive_minimum else f"{lo:g} to {hi:g}"
        if lo is not None:
            return f"more than {lo:g}" if self.exclusive_minimum else f">= {lo:g}"
        return "a number"


@dataclass(frozen=True)
class Table:
    """An input table: its name (file stem and sheet name) and its columns."""

    name: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


SITES = Table(
    "sites",
    (
        Column("site_id", "id", True, "Unique id of the site: 1-64 letters, digits or _ - . :", "API-IN-AHM-01"),
        Column("name", "text", True, "Display name", "Fictitious Pharma Ahmedabad API plant"),
        Column(
            "kind",
            "choice",
            True,
            "What the site does: raw_material (key starting materials, excipients, primary packaging), api, cmo "
            "(drug-product manufacture), fill_finish, packaging, logistics (port, hub: a chokepoint), distribution, "
            "market (demand of one product in one country or region)",
            "api",
            choices=KINDS,
        ),
        Column(
            "country",
            "country",
            True,
            "ISO 3166 alpha-2, alpha-3 or English name; stored as alpha-3 (Puerto Rico is PRI). May be left empty "
            "when lat/lon are given: the country is then taken from the coordinates",
            "IND",
        ),
        Column("city", "text", False, "City, used to place the site when lat/lon are missing (offline gazetteer)",
               "Ahmedabad"),
        Column("lat", "number", False, "Latitude, WGS84 degrees (give lat and lon, or a city)", "23.02",
               minimum=-90, maximum=90),
        Column("lon", "number", False, "Longitude, WGS84 degrees", "72.57", minimum=-180, maximum=180),
        Column("operator", "text", False, "Operating company", "Fictitious Pharma Ltd"),
        Column(
            "technology",
            "text",
            False,
            "For fill_finish: bfs, aseptic_vial, lyophilized, prefilled_syringe, lvp_bag (or your own word); "
            "substitution is only allowed within one technology",
            "",
        ),
        Column("weekly_demand", "number", False, "Markets only (required there): units per week", "",
               minimum=0, exclusive_minimum=True),
        Column("inventory_days", "number", False, "Days of normal output held as stock (markets: days of demand)", "",
               default="by kind", minimum=0),
        Column("ttr_weeks", "number", False, "Weeks to recover after a full loss", "", default="by kind", minimum=0),
        Column("surge", "number", False, "Spare capacity as a fraction of normal output (0.25 = 25% more)", "0.1",
               default="0", minimum=0),
        Column("annual_disruption_prob", "number", False, "Yearly probability of a disruption (Monte Carlo)", "",
               default="by kind and country", minimum=0, maximum=1),
    ),
)

LINKS = Table(
    "links",
    (
        Column("supplier_id", "id", True, "Site id of the supplier (must be in sites)", "API-IN-AHM-01"),
        Column("customer_id", "id", True, "Site id of the customer (must be in sites)", "FF-IN-AHM-02"),
        Column("material", "text", True, "What flows, e.g. 'heparin API', 'saline 0.9% 100 mL bag'", "cisplatin API"),
        Column(
            "share",
            "number",
            False,
            "Fraction of the customer's need of this material bought from this supplier, in (0, 1]. Empty for all "
            "suppliers of a material: equal split. Backup links: the most the backup can cover (default 1)",
            "0.6",
            default="equal split",
            minimum=0,
            maximum=1,
            exclusive_minimum=True,
        ),
        Column("lead_time_days", "number", False, "Transit time in days", "35", default="0", minimum=0),
        Column("status", "choice", False, "active, or backup: a known alternate that carries nothing today", "active",
               default="active", choices=STATUSES),
        Column("qualification_weeks", "number", False,
               "For backup links: weeks before it may ship after a disruption starts", "", default="0", minimum=0),
    ),
)

TABLES: dict[str, Table] = {"sites": SITES, "links": LINKS}

_HEADER_SEP = re.compile(r"[\s\-]+")


def normalise_header(name: object) -> str:
    """Column name as matched: trimmed, lower case, runs of spaces or hyphens as one underscore.

    Examples
    --------
    >>> normalise_header("  Site ID ")
    'site_id'
    >>> normalise_header("\\ufeffLead_Time_Days")
    'lead_time_days'
    """
    text = "" if name is None else str(name)
    return _HEADER_SEP.sub("_", text.replace("\ufeff", "").strip().lower())
