"""The optional ``candidates`` table: new sites a company could build or contract, for the regionalization options.

This module owns the table's schema (:data:`CANDIDATES`: the site columns of :data:`riskmodel.schema.SITES` except
``weekly_demand``, plus ``material``, ``capex``, ``annual_cost``, ``qualification_weeks``, ``capacity_share``,
``requires`` and ``excludes``), reading it (a CSV file, a folder holding ``candidates.csv``, or an ``.xlsx`` workbook
with a ``candidates`` sheet, through :mod:`riskmodel.readers`) and validating it with the same helpers and the same
kind of errors as the ``sites`` and ``links`` tables (:mod:`riskmodel.validate`): file, spreadsheet row, column and
what was expected, all at once. Location, country, region and defaults are resolved exactly as for a site.

How a candidate becomes an option (which customers it would serve, its inputs, its cost) is
:mod:`riskmodel.options`' job; see ``docs/regionalization.md``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel import checks, readers
from riskmodel.issues import Issue
from riskmodel.network import SupplyNetwork
from riskmodel.readers import RawTable
from riskmodel.schema import SITES, Column, Table

__all__ = ["CANDIDATES", "CANDIDATE_COLUMNS", "DEFAULT_QUALIFICATION_WEEKS", "load_candidates", "read_candidates",
           "validate_candidates"]

#: default ``qualification_weeks`` of a candidate new site: REFERENCE-FACTS, "end to end, a new generic source takes
#: 2-5 years (approx)": the low end, 2 years
DEFAULT_QUALIFICATION_WEEKS = 104.0

_EXTRA = (
    Column("material", "text", False,
           "The material the new site would supply (as named in links). Empty: every material that customers in its "
           "region buy from sites of its kind (and technology)", "cisplatin API"),
    Column("capex", "number", True, "One-off cost of building or contracting and qualifying the site (currency of "
           "the cost parameters, USD by default)", "25000000", minimum=0),
    Column("annual_cost", "number", False, "Yearly running cost of keeping the site available (reservation fee, "
           "audits, minimum orders)", "500000", default="0", minimum=0),
    Column("qualification_weeks", "number", False, "Weeks until it may ship: build, validation and regulatory "
           "approval", "104", default=f"{DEFAULT_QUALIFICATION_WEEKS:g}", minimum=0),
    Column("capacity_share", "number", False, "Share of each customer's need of the material it can cover, in (0, 1]",
           "0.5", default="1", minimum=0, maximum=1, exclusive_minimum=True),
    Column("requires", "text", False, "Other candidate ids (separated by ;) that must be chosen with it, e.g. the "
           "API plant a new fill-finish site depends on", "CAND-API-EU"),
    Column("excludes", "text", False, "Other candidate ids (separated by ;) that cannot be chosen together with it, "
           "e.g. two locations for the same plant", "CAND-FF-ES"),
)

#: the candidates table: site columns (no ``weekly_demand``: a candidate is never a market) and the option columns
CANDIDATES = Table("candidates", tuple(c for c in SITES.columns if c.name != "weekly_demand") + _EXTRA)
#: canonical columns of a validated candidates table
CANDIDATE_COLUMNS = [c.name for c in CANDIDATES.columns] + ["region"]
_SITE_PART = [c.name for c in SITES.columns if c.name != "weekly_demand"]
_ID_SPLIT = re.compile(r"[;|,\s]+")


def read_candidates(path: str | os.PathLike) -> tuple[RawTable | None, list[Issue]]:
    """Read a candidates table as text: a CSV file, a folder with ``candidates.csv``, or a workbook sheet.

    Parameters
    ----------
    path : str or PathLike
        ``candidates.csv`` (any name ending ``.csv``/``.txt``/``.tsv``), a folder holding ``candidates.csv``, or an
        ``.xlsx`` workbook with a sheet named ``candidates``.

    Returns
    -------
    (RawTable or None, list of Issue)
        The table (cells as text, ``row`` = spreadsheet row) and reading errors. Never raises on bad input.

    Examples
    --------
    >>> table, errors = read_candidates("no/such/file.csv")
    >>> table, errors[0].message
    (None, 'no such file or folder')
    """
    p = Path(path)
    if p.is_dir():
        f = readers.find_file(p, "candidates")
        if f is None:
            return None, [Issue("candidates.csv", None, None, f"missing: the folder {p} has no candidates.csv")]
        p = f
    if not p.is_file():
        return None, [Issue(str(p), None, None, "no such file or folder")]
    data = readers.read_file(p, p.name)
    if isinstance(data, Issue):
        return None, [data]
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_sheet(data, p.name)
    return readers.read_csv_bytes(data, p.name)


def _read_sheet(data: bytes, file: str) -> tuple[RawTable | None, list[Issue]]:
    """The ``candidates`` sheet of a workbook (values, never formulas), as :func:`riskmodel.readers.read_xlsx_bytes`."""
    import io

    import openpyxl

    if not data.startswith(b"PK\x03\x04"):
        return None, [Issue(file, None, None, "this is not an .xlsx workbook: save it as .xlsx or as a CSV file")]
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # any damage to the zip or XML: one clear error, never a traceback
        return None, [Issue(file, None, None, f"cannot open the workbook ({type(exc).__name__}): is it a valid .xlsx "
                                              "file?")]
    try:
        sheets = {readers.normalise_header(n): n for n in book.sheetnames}
        if "candidates" not in sheets:
            return None, [Issue(file, None, None, "no sheet named 'candidates' (sheets found: "
                                                  f"{', '.join(book.sheetnames)})")]
        label = f"{file}[candidates]"
        try:
            rows = [[readers.cell_text(v) for v in r] for r in book[sheets["candidates"]].iter_rows(values_only=True)]
        except Exception as exc:
            return None, [Issue(label, None, None, f"cannot read the sheet ({type(exc).__name__})")]
    finally:
        book.close()
    first = 0
    while first < len(rows) and not any(c.strip() for c in rows[first]):
        first += 1
    if first == len(rows):
        return None, [Issue(label, None, None, "the sheet is empty")]
    errors: list[Issue] = []
    frame, cols = readers.frame_from_rows(rows[first:], first + 1, label, errors)
    return RawTable(label, frame, "", "xlsx", cols), errors


def _split_ids(text: str) -> list[str]:
    return [t for t in _ID_SPLIT.split(text.strip()) if t]


def validate_candidates(table: RawTable, net: SupplyNetwork | None = None, *,
                        regions_path: str | os.PathLike | None = None) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Validate a read candidates table: every rule at once, errors naming file, row and column.

    Rules: the site columns follow the ``sites`` rules (id format, unique ids, name, kind, country or coordinates or
    an offline-geocoded city, numbers in range; country and region resolved as for sites) and a candidate is never a
    ``market``; its id is not already a site of the dataset; ``capex`` is required and ``>= 0``; ``annual_cost``,
    ``qualification_weeks`` ``>= 0``; ``capacity_share`` in (0, 1]; ``requires`` and ``excludes`` name other
    candidates of the table. Warnings: unknown columns (ignored), a ``material`` no link of the dataset carries.

    Parameters
    ----------
    table : RawTable
        From :func:`read_candidates`.
    net : SupplyNetwork, optional
        The dataset the candidates are for (checks ids and materials against it).
    regions_path : str or PathLike, optional
        Region override CSV, as for :func:`riskmodel.validate.validate_dataset`.

    Returns
    -------
    (DataFrame or None, list of Issue)
        With no error: the canonical table (:data:`CANDIDATE_COLUMNS`, defaults filled) and the warnings. With
        errors: ``None`` and the errors (sorted by row).

    Examples
    --------
    >>> t, _ = readers.read_csv_bytes(b"site_id,name,kind,country,lat,lon,capex\\nC1,New API,api,FRA,45.3,4.8,1e7\\n",
    ...                               "candidates.csv")
    >>> df, issues = validate_candidates(t)
    >>> df.loc[0, ["site_id", "region"]].tolist(), float(df.loc[0, "qualification_weeks"]), issues
    (['C1', 'Europe'], 104.0, [])
    """
    from riskmodel import validate as v

    errors: list[Issue] = []
    warnings: list[Issue] = []
    f = table.frame
    err = checks.Collector(table.file, f["row"], errors)
    warn = checks.Collector(table.file, f["row"], warnings)
    if not checks.check_columns(table, CANDIDATES, err, warn):
        return None, checks.sorted_issues(errors)
    if f.empty:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS), [Issue(table.file, None, None, "no candidates: the table "
                                                                                     "has a header but no rows")]
    kind = checks.text_column(f, "kind").str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    err.add(kind.eq("market").to_numpy(), "kind", "a candidate is a new supply site, not a market: use another kind")

    # the site columns, through the sites rules (its own errors name this file and its rows)
    site_frame = f[[c for c in _SITE_PART if c in f.columns] + ["row"]]
    site_table = RawTable(table.file, site_frame, table.delimiter, table.encoding, table.columns_in_file)
    site_errors: list[Issue] = []
    sites, _ = v.validate_sites(site_table, site_errors, warnings, regions_path)
    errors.extend(e for e in site_errors if e.column != "weekly_demand")

    decimal_comma = table.delimiter == ";"
    nums = {c.name: checks.check_number_column(f, c, err, decimal_comma) for c in _EXTRA if c.kind == "number"}
    capex_given = checks.text_column(f, "capex").ne("").to_numpy()
    err.add(~capex_given, "capex", "required: the one-off cost of the new site (a number >= 0)")

    ids = checks.text_column(f, "site_id")
    if net is not None:
        known = set(net.site_ids.tolist())
        err.add(ids.isin(known).to_numpy(), "site_id",
                lambda i: f"{ids.iat[i]} is already a site of the dataset: a candidate is a new site (use another id)")
    own = set(ids)
    parsed: dict[str, list[list[str]]] = {}
    for col in ("requires", "excludes"):
        lists = [_split_ids(t) for t in checks.text_column(f, col)]
        parsed[col] = lists
        for i, refs in enumerate(lists):
            for r in refs:
                if r == ids.iat[i]:
                    err.add(np.arange(len(f)) == i, col, f"a candidate cannot name itself in {col}")
                elif r not in own:
                    err.add(np.arange(len(f)) == i, col, f"unknown candidate {checks.show(r)}: not in this table")
    for i, (req, exc) in enumerate(zip(parsed["requires"], parsed["excludes"], strict=True)):
        both = sorted(set(req) & set(exc))
        if both:
            err.add(np.arange(len(f)) == i, "excludes", f"{', '.join(both)} is both required and excluded")

    material = f["material"].astype(str).str.strip() if "material" in f else pd.Series("", index=f.index)
    if net is not None and len(net.links):
        carried = set(net.links["material"].astype(str)) | set(net.backup_links["material"].astype(str))
        warn.add((material.ne("") & ~material.isin(carried)).to_numpy(), "material",
                 lambda i: f"no link of the dataset carries {checks.show(material.iat[i])}: this candidate will "
                           "have no customer (check the spelling)")
    if errors or sites is None:
        return None, checks.sorted_issues(errors)

    out = sites[_SITE_PART + ["region"]].copy()
    out["material"] = material.to_numpy()
    out["capex"] = nums["capex"].to_numpy()
    out["annual_cost"] = nums["annual_cost"].fillna(0.0).to_numpy()
    out["qualification_weeks"] = nums["qualification_weeks"].fillna(DEFAULT_QUALIFICATION_WEEKS).to_numpy()
    out["capacity_share"] = nums["capacity_share"].fillna(1.0).to_numpy()
    out["requires"] = [";".join(r) for r in parsed["requires"]]
    out["excludes"] = [";".join(r) for r in parsed["excludes"]]
    return out[CANDIDATE_COLUMNS].reset_index(drop=True), checks.sorted_issues(warnings)


def load_candidates(path: str | os.PathLike, net: SupplyNetwork | None = None, *,
                    regions_path: str | os.PathLike | None = None) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Read and validate a candidates table (see :func:`read_candidates`, :func:`validate_candidates`).

    Parameters
    ----------
    path : str or PathLike
        A CSV file, a folder holding ``candidates.csv``, or an ``.xlsx`` workbook with a ``candidates`` sheet.
    net : SupplyNetwork, optional
        The validated dataset the candidates are for.
    regions_path : str or PathLike, optional
        Region override CSV.

    Returns
    -------
    (DataFrame or None, list of Issue)
        ``None`` and the **errors** when the table cannot be used (nothing of it is used then); otherwise the
        canonical table and the **warnings**. Never raises on bad input.

    Examples
    --------
    >>> df, issues = load_candidates("no/such/candidates.csv")
    >>> df is None, str(issues[0])
    (True, 'no/such/candidates.csv::: no such file or folder')
    """
    try:
        table, errors = read_candidates(path)
        if table is None or errors:
            return None, errors
        return validate_candidates(table, net, regions_path=regions_path)
    except Exception as exc:  # a bug must not become a traceback for the user
        return None, [Issue(str(path), None, None, f"internal error while validating ({type(exc).__name__}: {exc}); "
                                                   "please report it")]
