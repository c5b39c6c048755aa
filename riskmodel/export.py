"""Export of result tables as CSV and Excel files that are safe to open in a spreadsheet.

This module owns the conversion of analysis results (exposure table, what-if result) into flat tables and then
into file bytes. It is pure: no Dash, no files written; the dashboard and the CLI hand the bytes to the user.

Formula injection: a spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or carriage return) as a formula. Site names, operators and materials come from user files, so
every *text* cell that starts with one of these characters gets a leading apostrophe (``'=HYPERLINK(...)``): the
cell shows the text and never runs. Numbers stay numbers (a negative number is not text). Column names are
neutralised too. Lists (e.g. the markets a site cuts off) become ``"; "``-separated text.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "exposure_table",
    "neutralise",
    "safe_frame",
    "simulation_tables",
    "to_csv_bytes",
    "to_xlsx_bytes",
]

#: first characters that make a spreadsheet treat a text cell as a formula
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def neutralise(value: object) -> object:
    """A cell value that cannot run as a formula: text starting with ``= + - @`` (or tab/CR) gets a leading ``'``.

    Lists, tuples and sets become ``"; "``-separated text (then neutralised); other values are returned unchanged.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object

    Examples
    --------
    >>> neutralise("=1+2"), neutralise("-cmd"), neutralise("plain"), neutralise(-3.5)
    ("'=1+2", "'-cmd", 'plain', -3.5)
    >>> neutralise(["@evil", "MKT-US"])
    "'@evil; MKT-US"
    """
    if isinstance(value, list | tuple | set | np.ndarray):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name neutralised (see :func:`neutralise`).

    Examples
    --------
    >>> safe_frame(pd.DataFrame({"name": ["=2*3", "ok"], "x": [-1.0, 2.0]})).to_dict("list")
    {'name': ["'=2*3", 'ok'], 'x': [-1.0, 2.0]}
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[col] = s.map(neutralise).astype(object)
    out.columns = [str(neutralise(str(c))) for c in out.columns]
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with BOM, so that Excel reads accents right; comma-separated) of a neutralised copy.

    Examples
    --------
    >>> to_csv_bytes(pd.DataFrame({"name": ["+SUM(A1)"]})).decode("utf-8-sig").splitlines()
    ['name', "'+SUM(A1)"]
    """
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", str(name)).strip("'") or "sheet"
    base = base[:31]
    candidate, k = base, 2
    while candidate.lower() in used:
        suffix = f" ({k})"
        candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(candidate.lower())
    return candidate


def _cell_value(value):
    """A value openpyxl writes as it is: None for missing, Python scalars for numpy ones, text for the rest."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return str(value)


def to_xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An ``.xlsx`` workbook with one sheet per table (neutralised; header row frozen; readable column widths).

    Written row by row (openpyxl's write-only mode: about 10 times faster than ``DataFrame.to_excel`` for the daily
    series of a what-if run). Every text cell is written as text, never as a formula.

    Parameters
    ----------
    sheets : mapping of str to DataFrame
        Sheet name (made valid for Excel: at most 31 characters, no ``[]:*?/\\``) to table.

    Returns
    -------
    bytes

    Examples
    --------
    >>> data = to_xlsx_bytes({"exposure": pd.DataFrame({"site": ["=A1"], "exposure": [0.25]})})
    >>> data[:2]
    b'PK'
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(_sheet_name(name, used))
        safe = safe_frame(frame)
        for i, col in enumerate(safe.columns, start=1):
            sample = safe[col].head(200).map(lambda v: len(str(v)))
            width = max(len(str(col)), int(sample.max()) if len(sample) else 0)
            sheet.column_dimensions[get_column_letter(i)].width = min(60, max(10, width + 2))
        sheet.freeze_panes = "A2"

        def cells(values, font=None, sheet=sheet):
            out = []
            for v in values:
                cell = WriteOnlyCell(sheet, value=_cell_value(v))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula
                if font is not None:
                    cell.font = font
                out.append(cell)
            return out

        sheet.append(cells([str(c) for c in safe.columns], bold))
        for row in safe.itertuples(index=False, name=None):
            sheet.append(cells(row))
    if not used:
        book.create_sheet("empty")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def exposure_table(result, tts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The exposure of every supply site as a flat table, ready for :func:`to_csv_bytes` / :func:`to_xlsx_bytes`.

    Parameters
    ----------
    result : riskmodel.exposure.ExposureResult
        From :func:`riskmodel.exposure.site_exposure`.
    tts : DataFrame, optional
        Per-site ``site_id, tts_days, ttr_days`` (from the time-to-survive analysis), joined on ``site_id``.

    Returns
    -------
    pandas.DataFrame
        ``rank, site_id, name, kind, country, region, operator, exposure_pct, lost_weekly_units, spof,
        spof_markets, critical_markets`` (lists as ``"; "``-separated text), then ``tts_days, ttr_days`` if given.

    Examples
    --------
    >>> table = exposure_table(site_exposure(net))  # doctest: +SKIP
    >>> table.columns[:3].tolist()  # doctest: +SKIP
    ['rank', 'site_id', 'name']
    """
    s = result.sites
    out = pd.DataFrame({
        "rank": np.arange(1, len(s) + 1),
        "site_id": s["site_id"].astype(str),
        "name": s["name"].astype(str),
        "kind": s["kind"].astype(str),
        "country": s["country"].astype(str),
        "region": s["region"].astype(str),
        "operator": s["operator"].astype(str),
        "exposure_pct": (s["exposure"].astype(float) * 100.0).round(4),
        "lost_weekly_units": s["lost_weekly_units"].astype(float).round(3),
        "spof": s["spof"].astype(bool),
        "spof_markets": s["spof_markets"].map(lambda v: "; ".join(map(str, v))),
        "critical_markets": s["critical_markets"].map(lambda v: "; ".join(map(str, v))),
    })
    if tts is not None and len(tts):
        cols = [c for c in ("tts_days", "ttr_days") if c in tts.columns]
        extra = tts.drop_duplicates("site_id").set_index(tts["site_id"].astype(str))[cols]
        for c in cols:
            out[c] = extra[c].reindex(out["site_id"]).to_numpy()
    return out


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def simulation_tables(doc: Mapping, scenario: Mapping | None = None, all_markets: bool = False
                      ) -> dict[str, pd.DataFrame]:
    """A what-if result (the ``riskmodel simulate --json`` document) as three tables.

    Parameters
    ----------
    doc : mapping
        ``{"disrupted_sites", "time_to_survive_days", "lost_units", "markets": {id: {"inflow_fraction",
        "supplied_fraction", "shortfall_units", "stock_units", "lost_units", "first_shortfall_day"}}}``
        (PRODUCT.md section 4); other top-level scalars are kept in the summary.
    scenario : mapping, optional
        What was run (name, disruption specs, severity, ...): added to the summary as ``scenario.<key>`` rows.
    all_markets : bool
        Daily rows for every market; by default only for the markets the disruption reaches (inflow or supply
        below normal on some day): the others are 1.0 every day, and a 52-week series of every market of a large
        network makes a workbook slow to write and to open.

    Returns
    -------
    dict of str to DataFrame
        ``summary`` (``item, value``), ``markets`` (one row per market: lost units, first shortfall day, days in
        shortage, lowest supplied fraction) and ``daily`` (long format: ``market_id, day, inflow_fraction,
        supplied_fraction, shortfall_units, stock_units``; see ``all_markets``).

    Examples
    --------
    >>> doc = {"disrupted_sites": ["A"], "time_to_survive_days": 3, "lost_units": 5.0,
    ...        "markets": {"M": {"supplied_fraction": [1, 0.5], "shortfall_units": [0, 5], "lost_units": 5.0,
    ...                          "first_shortfall_day": 1}}}
    >>> tables = simulation_tables(doc)
    >>> row = tables["markets"].iloc[0]
    >>> str(row["market_id"]), int(row["days_in_shortage"]), float(row["min_supplied_fraction"])
    ('M', 1, 0.5)
    """
    rows: list[tuple[str, object]] = []
    items = [(f"scenario.{k}", v) for k, v in (scenario or {}).items()]
    items += [(k, v) for k, v in doc.items() if k != "markets"]
    for key, value in items:
        if isinstance(value, list | tuple):
            rows.append((key, "; ".join(map(str, value))))
        elif not isinstance(value, Mapping):
            rows.append((key, value))
    summary = pd.DataFrame(rows, columns=["item", "value"])
    summary["value"] = summary["value"].map(lambda v: "" if v is None else v).astype(object)

    market_rows = []
    daily = []
    for mid, m in (doc.get("markets") or {}).items():
        supplied = np.asarray(m.get("supplied_fraction") or [], dtype=float)
        shortfall = np.asarray(m.get("shortfall_units") or [], dtype=float)
        n = max(len(supplied), len(shortfall), len(m.get("inflow_fraction") or []), len(m.get("stock_units") or []))
        market_rows.append({
            "market_id": str(mid),
            "lost_units": _num(m.get("lost_units")),
            "first_shortfall_day": _num(m.get("first_shortfall_day")),
            "days_in_shortage": int((shortfall > 1e-9).sum()) if len(shortfall) else 0,
            "min_supplied_fraction": float(supplied.min()) if len(supplied) else None,
        })
        inflow = np.asarray(m.get("inflow_fraction") or [], dtype=float)
        reached = (len(supplied) and supplied.min() < 1 - 1e-9) or (len(inflow) and inflow.min() < 1 - 1e-9)
        if n and (all_markets or reached or (_num(m.get("lost_units")) or 0) > 0):
            part = {"market_id": np.full(n, str(mid), dtype=object), "day": np.arange(n)}
            for key in ("inflow_fraction", "supplied_fraction", "shortfall_units", "stock_units"):
                vals = np.full(n, np.nan)
                got = np.asarray(m.get(key) or [], dtype=float)
                vals[: len(got)] = got
                part[key] = vals
            daily.append(pd.DataFrame(part))
    markets = pd.DataFrame(market_rows, columns=["market_id", "lost_units", "first_shortfall_day",
                                                 "days_in_shortage", "min_supplied_fraction"])
    if len(markets):
        markets = markets.sort_values(["lost_units", "market_id"], ascending=[False, True],
                                      na_position="last").reset_index(drop=True)
    daily_frame = (pd.concat(daily, ignore_index=True) if daily else
                   pd.DataFrame(columns=["market_id", "day", "inflow_fraction", "supplied_fraction",
                                         "shortfall_units", "stock_units"]))
    return {"summary": summary, "markets": markets, "daily": daily_frame}
