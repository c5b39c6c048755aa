"""Regions: named groups of countries (PRODUCT.md 3.5), shipped in ``data/regions.csv``, overridable by a CSV.

The default assignment of every ISO 3166 country (plus Kosovo) to one of the seven :data:`REGIONS` is documented in
``data/README.md`` and produced by ``scripts/build_geodata.py``. An override CSV has a country column (``iso_a3`` or
``country``, any spelling :func:`riskmodel.countries.to_alpha3` accepts) and a ``region`` column; its rows replace the
default region of the countries it lists, the others keep theirs. A region name that matches one of :data:`REGIONS`
apart from case and spacing is written the canonical way; other names define new regions.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from riskmodel.countries import normalise, to_alpha3, to_alpha3_many
from riskmodel.paths import REGIONS_CSV

REGIONS = (
    "North America",
    "Latin America",
    "Europe",
    "Middle East and Africa",
    "South Asia",
    "East Asia",
    "Southeast Asia and Oceania",
)

_CANONICAL = {normalise(name): name for name in REGIONS}


class RegionFileError(ValueError):
    """An override CSV that cannot be used; ``errors`` holds dicts with file, row, column, message.

    Rows are numbered as a spreadsheet shows them (header = row 1). ``str(error)`` has one
    ``FILE:ROW:COLUMN: message`` line per problem.
    """

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("\n".join(f"{e['file']}:{e['row']}:{e['column']}: {e['message']}" for e in errors))


@functools.cache
def _default_regions() -> dict[str, str]:
    table = pd.read_csv(REGIONS_CSV, dtype=str, keep_default_na=False)
    return dict(zip(table["iso_a3"], table["region"], strict=True))


def _read_override(path: Path) -> dict[str, str]:
    name = str(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RegionFileError([{"file": name, "row": 1, "column": "", "message": f"cannot read: {exc}"}]) from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    country_col = next((c for c in ("iso_a3", "country") if c in table.columns), None)
    missing = [c for c, present in (("iso_a3 or country", country_col), ("region", "region" in table.columns))
               if not present]
    if missing:
        raise RegionFileError([{"file": name, "row": 1, "column": c, "message": "required column is missing"}
                               for c in missing])
    codes = to_alpha3_many(table[country_col])
    errors, mapping = [], {}
    rows = zip(table[country_col], codes, table["region"].str.strip(), strict=True)
    for row, (raw, code, region) in enumerate(rows, start=2):
        if code is None:
            errors.append({"file": name, "row": row, "column": country_col, "message": f"unknown country {raw!r}"})
        if not region:
            errors.append({"file": name, "row": row, "column": "region", "message": "region is empty"})
        if code is not None and region:
            mapping[code] = _CANONICAL.get(normalise(region), region)
    if errors:
        raise RegionFileError(errors)
    return mapping


def load_regions(path: str | Path | None = None) -> dict[str, str]:
    """Return the country -> region mapping: the shipped default, updated by an optional override CSV.

    Parameters
    ----------
    path : str or Path, optional
        Override CSV with columns ``iso_a3`` (or ``country``) and ``region``.

    Returns
    -------
    dict
        Alpha-3 code -> region name, for every known country (a fresh dict each call).

    Raises
    ------
    RegionFileError
        When the override cannot be read, lacks a column, names an unknown country or has an empty region.

    Examples
    --------
    >>> load_regions()["PRI"]
    'North America'
    """
    mapping = dict(_default_regions())
    if path is not None:
        mapping.update(_read_override(Path(path)))
    return mapping


def region_of(alpha3: object, mapping: dict[str, str] | None = None) -> str | None:
    """Return the region of a country (alpha-3 or any spelling accepted by ``to_alpha3``); None if unknown.

    Parameters
    ----------
    alpha3 : object
        Country code or name.
    mapping : dict, optional
        Result of :func:`load_regions`; the shipped default when omitted.

    Returns
    -------
    str or None

    Examples
    --------
    >>> region_of("MEX"), region_of("Turkey"), region_of("PRI")
    ('Latin America', 'Europe', 'North America')
    """
    mapping = _default_regions() if mapping is None else mapping
    found = mapping.get(alpha3) if isinstance(alpha3, str) else None
    return found if found is not None else mapping.get(to_alpha3(alpha3))
