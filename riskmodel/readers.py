"""Reading the input files as risk teams send them: CSV in any common encoding and delimiter, or an Excel workbook.

Everything is read as text (no type guessing: ids like ``007`` and strings like ``=HYPERLINK(...)`` keep their
exact text); typing and the rules are :mod:`riskmodel.validate`'s job. Each table comes back as a
:class:`RawTable` whose ``row`` column is the row number a spreadsheet shows (header = row 1), even when quoted
fields hold newlines.

What is read, and how:

* a folder holding ``sites.csv`` and ``links.csv`` (names case-insensitive; ``.txt``/``.tsv`` also accepted),
  or an ``.xlsx`` workbook with sheets ``sites`` and ``links`` (sheet names case-insensitive);
* encodings: a BOM says UTF-8 or UTF-16 (LE/BE); otherwise UTF-8 if the bytes are valid UTF-8, else
  Windows-1252 (Excel's "CSV" on Western Windows), else Latin-1;
* delimiter ``,`` ``;`` or tab, detected by :class:`csv.Sniffer` and checked against the header line;
* CRLF or LF line ends, quoted fields holding delimiters, doubled quotes and newlines (the :mod:`csv` module);
* size limit :data:`MAX_FILE_BYTES` per file (50 MiB by default, ``RISKMODEL_MAX_FILE_MB`` overrides).

Nothing here raises on bad input: problems come back as :class:`~riskmodel.issues.Issue` errors.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.issues import Issue
from riskmodel.schema import normalise_header

__all__ = ["MAX_FILE_BYTES", "RawDataset", "RawTable", "cell_text", "find_file", "frame_from_rows", "looks_binary",
           "read_csv_bytes", "read_dataset", "read_file", "read_xlsx_bytes"]

MAX_FILE_BYTES: int = int(float(os.environ.get("RISKMODEL_MAX_FILE_MB", "50")) * 1024 * 1024)
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_DELIMITERS = ",;\t"


@dataclass
class RawTable:
    """One table as read: all cells as text, normalised column names, plus ``row`` (spreadsheet row number)."""

    file: str
    frame: pd.DataFrame
    delimiter: str = ","
    encoding: str = "utf-8"
    columns_in_file: list[str] = field(default_factory=list)


@dataclass
class RawDataset:
    """What :func:`read_dataset` found: the two tables (``None`` when unreadable) and the reading errors."""

    tables: dict[str, RawTable | None]
    errors: list[Issue]
    warnings: list[Issue]
    source: str


def _error(file: str, message: str, row: int | None = None, column: str | None = None) -> Issue:
    return Issue(file=file, row=row, column=column, message=message)


def _decode(data: bytes) -> tuple[str, str]:
    """Decode bytes to text; returns (text, encoding name)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text in any encoding we read (NUL bytes or many control characters)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls > max(8, len(sample) // 50)


def _detect_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the sniffed one if the header line splits on it, else the header's most common."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(text[:65536], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed and counts.get(sniffed, 0) > 0 and counts[sniffed] == max(counts.values()):
        return sniffed
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _header(header_raw: list[str], first_row: int, file: str, errors: list[Issue]) -> tuple[list[str], list[int]]:
    """Normalised column names and the positions to keep (empty names dropped, a repeated name is an error)."""
    header = [normalise_header(h) for h in header_raw]
    seen: dict[str, int] = {}
    keep: list[int] = []
    for i, name in enumerate(header):
        if not name:
            continue
        if name in seen:
            errors.append(_error(file, f"column '{name}' appears twice (columns {seen[name] + 1} and {i + 1})",
                                 first_row, header_raw[i]))
            continue
        seen[name] = i
        keep.append(i)
    return [header[i] for i in keep], keep


def frame_from_rows(
    rows: list[list[str]], first_row: int, file: str, errors: list[Issue]
) -> tuple[pd.DataFrame, list[str]]:
    """Build the text frame from a header row and records; ``first_row`` is the spreadsheet row of the header.

    The careful path: reports each row with more fields than the header (the fast path cannot).
    """
    names, keep = _header(rows[0], first_row, file, errors)
    width = len(rows[0])
    body: list[list[str]] = []
    row_numbers: list[int] = []
    for offset, rec in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in rec):
            continue  # blank line: a spreadsheet shows it as an empty row; nothing to load
        if len(rec) > width and any(cell.strip() for cell in rec[width:]):
            errors.append(_error(file, f"row has {len(rec)} fields but the header has {width}: check the delimiter "
                                       "and quotes", first_row + offset))
            continue
        if len(rec) < width:
            rec = rec + [""] * (width - len(rec))
        body.append([rec[i] for i in keep])
        row_numbers.append(first_row + offset)
    frame = pd.DataFrame(body, columns=names, dtype="str") if body else pd.DataFrame(columns=names, dtype="str")
    frame["row"] = pd.Series(row_numbers, dtype="int64")
    return frame, [rows[0][i] for i in keep]


def _blank_rows(body: pd.DataFrame) -> np.ndarray:
    """Rows whose cells are all empty or whitespace (vectorised; whitespace is checked only where it can matter)."""
    blank = np.array((body == "").all(axis=1), dtype=bool)
    first = body.iloc[:, 0]
    maybe = np.flatnonzero(~blank & first.str.isspace().to_numpy(dtype=bool))
    for i in maybe:
        blank[i] = all(not str(v).strip() for v in body.iloc[i])
    return blank


def _frame_fast(text: str, delimiter: str, file: str, errors: list[Issue]) -> tuple[pd.DataFrame, list[str]] | None:
    """Parse with pandas' C reader (fast on 100k+ rows); ``None`` when a row has too many fields."""
    try:
        raw = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype="str", keep_default_na=False,
                          na_filter=False, skip_blank_lines=False, quotechar='"', doublequote=True, engine="c")
    except (pd.errors.ParserError, ValueError, OverflowError, MemoryError):
        return None
    raw = raw.fillna("")
    blank = _blank_rows(raw)
    start = int(np.argmax(~blank)) if (~blank).any() else len(raw)
    if start == len(raw):
        return pd.DataFrame(columns=["row"]), []
    header_raw = [str(v) for v in raw.iloc[start]]
    names, keep = _header(header_raw, start + 1, file, errors)
    body = raw.iloc[start + 1:, keep]
    rows = np.arange(start + 2, len(raw) + 1, dtype=np.int64)
    keep_rows = ~blank[start + 1:]
    frame = body.loc[keep_rows].reset_index(drop=True)
    frame.columns = names
    frame["row"] = rows[keep_rows]
    return frame, [header_raw[i] for i in keep]


def read_csv_bytes(data: bytes, file: str) -> tuple[RawTable | None, list[Issue]]:
    """Read one CSV file given as bytes. Returns the table (or ``None``) and the errors found.

    Examples
    --------
    >>> table, errors = read_csv_bytes(b"Site ID;Lat\\r\\nA;1,5\\r\\n", "sites.csv")
    >>> table.frame.to_dict("records"), table.delimiter, errors
    ([{'site_id': 'A', 'lat': '1,5', 'row': 2}], ';', [])
    """
    errors: list[Issue] = []
    if len(data) == 0 or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        return None, [_error(file, "the file is empty")]
    if len(data) > MAX_FILE_BYTES:
        return None, [_error(file, f"the file is {len(data) / 2**20:.1f} MiB, over the limit of "
                                   f"{MAX_FILE_BYTES / 2**20:.0f} MiB (RISKMODEL_MAX_FILE_MB)")]
    if data.startswith(b"PK\x03\x04"):
        return None, [_error(file, "this is an Excel workbook or a zip archive, not a CSV file: give the .xlsx file "
                                   "itself as DATA, or save each sheet as CSV")]
    if looks_binary(data):
        return None, [_error(file, "this is not a text file (binary content): save the table as CSV or .xlsx")]
    text, encoding = _decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    delimiter = _detect_delimiter(text)
    fast = _frame_fast(text, delimiter, file, errors)
    if fast is None:
        errors.clear()
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False))
        except csv.Error as exc:  # e.g. a field larger than the csv module's limit
            return None, [_error(file, f"cannot read as CSV: {exc}")]
        first = 0
        while first < len(rows) and not any(c.strip() for c in rows[first]):
            first += 1
        if first == len(rows):
            return None, [_error(file, "the file is empty")]
        frame, cols = frame_from_rows(rows[first:], first + 1, file, errors)
    else:
        frame, cols = fast
        if not cols:
            return None, [_error(file, "the file is empty")]
    return RawTable(file, frame, delimiter, encoding, cols), errors


def cell_text(value: object) -> str:
    """An Excel cell as the text a user typed (integers without ``.0``, dates in ISO form)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def read_xlsx_bytes(data: bytes, file: str) -> tuple[dict[str, RawTable | None], list[Issue]]:
    """Read the ``sites`` and ``links`` sheets of an ``.xlsx`` workbook given as bytes.

    Cells are read as values (``data_only``: a formula gives the value Excel saved, never the formula text).
    Errors name the file as ``book.xlsx[sheet]``.
    """
    import openpyxl  # imported here: only workbooks need it

    tables: dict[str, RawTable | None] = {"sites": None, "links": None}
    if len(data) == 0:
        return tables, [_error(file, "the file is empty")]
    if len(data) > MAX_FILE_BYTES:
        return tables, [_error(file, f"the file is {len(data) / 2**20:.1f} MiB, over the limit of "
                                     f"{MAX_FILE_BYTES / 2**20:.0f} MiB (RISKMODEL_MAX_FILE_MB)")]
    if not data.startswith(b"PK\x03\x04"):
        return tables, [_error(file, "this is not an .xlsx workbook (an .xls file from old Excel, or a renamed "
                                     "file?): save it as .xlsx or as CSV files")]
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, IndexError) as exc:
        return tables, [_error(file, f"cannot open the workbook ({type(exc).__name__}): is it a valid .xlsx file?")]
    except Exception as exc:
        return tables, [_error(file, f"cannot open the workbook ({type(exc).__name__}): is it a valid .xlsx file?")]
    errors: list[Issue] = []
    sheets = {normalise_header(name): name for name in book.sheetnames}
    for table in tables:
        label = f"{file}[{table}]"
        if table not in sheets:
            errors.append(_error(file, f"no sheet named '{table}' (sheets found: {', '.join(book.sheetnames)})"))
            continue
        try:
            raw_rows = [[cell_text(v) for v in r] for r in book[sheets[table]].iter_rows(values_only=True)]
        except Exception as exc:
            errors.append(_error(label, f"cannot read the sheet ({type(exc).__name__})"))
            continue
        first = 0
        while first < len(raw_rows) and not any(c.strip() for c in raw_rows[first]):
            first += 1
        if first == len(raw_rows):
            errors.append(_error(label, "the sheet is empty"))
            continue
        frame, cols = frame_from_rows(raw_rows[first:], first + 1, label, errors)
        tables[table] = RawTable(label, frame, "", "xlsx", cols)
    book.close()
    return tables, errors


def find_file(folder: Path, stem: str) -> Path | None:
    """The CSV file of table ``stem`` in ``folder`` (``sites.csv``, ``Sites.TXT``, ...), or None."""
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.stem.lower() == stem and p.suffix.lower() in _CSV_SUFFIXES:
            return p
    return None


def read_file(path: Path, label: str) -> bytes | Issue:
    """The bytes of a file within the size limit, or an :class:`Issue` for ``label`` saying why not."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return _error(label, f"the file is {size / 2**20:.1f} MiB, over the limit of "
                                 f"{MAX_FILE_BYTES / 2**20:.0f} MiB (RISKMODEL_MAX_FILE_MB)")
        return path.read_bytes()
    except OSError as exc:
        return _error(label, f"cannot read the file: {exc.strerror or exc}")


def read_dataset(path: str | os.PathLike) -> RawDataset:
    """Read a dataset from a folder of CSV files or an ``.xlsx`` workbook. Never raises on bad input.

    Examples
    --------
    >>> raw = read_dataset("data/sample")          # doctest: +SKIP
    >>> raw.tables["sites"].frame.shape            # doctest: +SKIP
    """
    p = Path(path)
    tables: dict[str, RawTable | None] = {"sites": None, "links": None}
    errors: list[Issue] = []
    if p.is_dir():
        for stem in tables:
            f = find_file(p, stem)
            if f is None:
                errors.append(_error(f"{stem}.csv", f"missing: the folder {p} has no {stem}.csv"))
                continue
            data = read_file(f, f.name)
            if isinstance(data, Issue):
                errors.append(data)
                continue
            tables[stem], errs = read_csv_bytes(data, f.name)
            errors.extend(errs)
    elif p.is_file():
        data = read_file(p, p.name)
        if isinstance(data, Issue):
            errors.append(data)
        elif p.suffix.lower() in (".xlsx", ".xlsm"):
            tables, errs = read_xlsx_bytes(data, p.name)
            errors.extend(errs)
        else:
            errors.append(_error(p.name, "DATA must be a folder holding sites.csv and links.csv, or an .xlsx "
                                         "workbook with sheets 'sites' and 'links'"))
    else:
        errors.append(_error(str(p), "no such file or folder"))
    return RawDataset(tables, errors, [], str(p))
