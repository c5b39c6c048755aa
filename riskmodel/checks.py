"""Column checks shared by every table validator: the issue collector, required columns, ids, numbers and text.

Each check works on a whole column at once (pandas, pyarrow) and adds one :class:`~riskmodel.issues.Issue` per
flagged row, numbered as a spreadsheet shows the file. :mod:`riskmodel.validate` (sites and links) and
:mod:`riskmodel.candidates` (candidate sites) build on them.

Examples
--------
>>> import pandas as pd
>>> from riskmodel.schema import SITES
>>> out = []
>>> frame = pd.DataFrame({"row": [2, 3], "surge": ["0.2", "lots"]})
>>> nums = check_number_column(frame, SITES.column("surge"), Collector("sites.csv", frame["row"], out), False)
>>> [str(i) for i in out]  # doctest: +ELLIPSIS
["sites.csv:3:surge: expected a number (...), got 'lots'"]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskmodel.issues import Issue
from riskmodel.readers import RawTable
from riskmodel.schema import SITE_ID_PATTERN, Column, Table

__all__ = ["Collector", "check_columns", "check_ids", "check_number_column", "member", "parse_numbers", "show",
           "sorted_issues", "text_column", "word_column"]


class Collector:
    """Collects issues for one file; vectorised helpers add one issue per flagged row."""

    def __init__(self, file: str, rows: pd.Series, out: list[Issue]):
        self.file, self.rows, self.out = file, rows, out

    def add(self, mask: np.ndarray | pd.Series, column: str | None, message) -> None:
        """Add an issue for each row where ``mask`` holds; ``message`` is a string or a callable of the row index."""
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        for i in idx:
            text = message(i) if callable(message) else message
            self.out.append(Issue(self.file, int(self.rows.iat[i]), column, text))

    def whole(self, column: str | None, message: str, row: int | None = None) -> None:
        self.out.append(Issue(self.file, row, column, message))


def _as_arrow(values) -> pa.Array:
    if isinstance(values, set | frozenset | tuple | list):
        values = list(values)
    arr = pa.array(values, from_pandas=True)
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else arr.cast(pa.string())


def member(values: pd.Series | np.ndarray, pool) -> np.ndarray:
    """``values.isin(pool)`` as a boolean array (Arrow's hash join: pandas' isin on Arrow strings is slow)."""
    found = pc.is_in(_as_arrow(values), value_set=_as_arrow(pool))
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def show(value: object, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def parse_numbers(values: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    """Text to float. Returns (numbers with NaN for empty or bad cells, mask of bad non-empty cells).

    With ``decimal_comma`` (a ``;``-separated file), ``1,5`` and ``1.234,5`` read as 1.5 and 1234.5.
    """
    text = values.astype(str).str.strip().str.replace("\u00a0", "", regex=False)
    if decimal_comma:
        euro = text.str.fullmatch(r"[+-]?\d{1,3}(\.\d{3})*,\d+|[+-]?\d+,\d+")
        text = text.where(~euro, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    nums = pd.to_numeric(text, errors="coerce")
    finite = np.isfinite(nums.to_numpy(dtype=float, na_value=np.nan))
    empty = text.eq("").to_numpy()
    bad = ~empty & ~finite
    nums = nums.where(finite, np.nan).astype(float)
    return nums, bad


def check_number_column(frame: pd.DataFrame, col: Column, issues: Collector, decimal_comma: bool) -> pd.Series:
    """Parse a number column and report bad text and out-of-range values. Returns floats (NaN where empty/bad)."""
    if col.name not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    raw = frame[col.name]
    nums, bad = parse_numbers(raw, decimal_comma)
    issues.add(bad, col.name, lambda i: f"expected a number ({col.range_text()}), got {show(raw.iat[i])}")
    v = nums.to_numpy()
    out = np.zeros(len(v), dtype=bool)
    with np.errstate(invalid="ignore"):
        if col.minimum is not None:
            out |= (v <= col.minimum) if col.exclusive_minimum else (v < col.minimum)
        if col.maximum is not None:
            out |= v > col.maximum
    issues.add(out, col.name, lambda i: f"expected {col.range_text()}, got {v[i]:g}")
    return nums.where(~out)


def text_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A text column, trimmed (empty strings where the column is missing)."""
    if name not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[name].astype(str).str.strip()


def word_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A keyword column (kind, technology): trimmed, lower case, runs of spaces or hyphens as ``_``."""
    text = text_column(frame, name)
    codes, uniques = pd.factorize(text)
    words = pd.Index(uniques).str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    return pd.Series(np.asarray(words, dtype=object)[codes] if len(uniques) else np.array([], dtype=object),
                     index=frame.index, dtype="str")


def check_columns(table: RawTable, schema: Table, issues: Collector, warnings: Collector) -> bool:
    """Report missing required columns (an error each) and unknown columns (a warning). True if all present."""
    present = set(table.frame.columns) - {"row"}
    missing = [c for c in schema.required if c not in present]
    for c in missing:
        found = ", ".join(table.columns_in_file) or "none"
        issues.whole(c, f"required column '{c}' is missing (columns found: {found})", row=1)
    for c in sorted(present - set(schema.names)):
        warnings.whole(c, f"column '{c}' is not part of the {schema.name} table and is ignored", row=1)
    return not missing


def check_ids(ids: pd.Series, column: str, issues: Collector) -> np.ndarray:
    """Report empty and malformed site ids; returns the mask of well-formed ids."""
    empty = ids.eq("").to_numpy()
    issues.add(empty, column, "required: a site id")
    ok = ids.str.fullmatch(SITE_ID_PATTERN.pattern).fillna(False).to_numpy(dtype=bool)
    issues.add(~ok & ~empty, column,
               lambda i: f"invalid site id {show(ids.iat[i])}: expected 1-64 letters, digits or _ - . :")
    return ok


def sorted_issues(issues: Iterable[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda e: (e.file, e.row if e.row is not None else 0, e.column or "", e.message))
