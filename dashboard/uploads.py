"""Uploaded files (``dcc.Upload``) to tables for validation: which file is which table, decoded and read as sent.

The user drops ``sites.csv`` + ``links.csv`` or one ``.xlsx`` workbook. Bytes are read with
:func:`riskmodel.readers.read_csv_bytes` / :func:`riskmodel.readers.read_xlsx_bytes`; a CSV file is recognised as the
sites or the links table by its header (``site_id`` + ``kind`` / ``supplier_id`` + ``customer_id``), then by its
name. The user's file names only label the errors (made printable and short); they are never used as paths. The bytes
as uploaded are kept under fixed names (``sites.csv``, ``links.csv``, ``dataset.xlsx``) for the checksum of the stored
version (:func:`riskmodel.store.checksum`); the tables themselves are stored in the database, never the files.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from dashboard.state import display_name
from riskmodel.issues import Issue
from riskmodel.readers import MAX_FILE_BYTES, RawTable, read_csv_bytes, read_xlsx_bytes

__all__ = ["Upload", "decode_contents", "read_upload"]

MAX_FILES = 4


@dataclass
class Upload:
    """What an upload gave: the tables (None when missing or unreadable), reading errors, the bytes (for a checksum)."""

    tables: dict[str, RawTable | None]
    errors: list[Issue]
    files: dict[str, bytes] = field(default_factory=dict)
    source: str = ""


def decode_contents(contents: str) -> bytes | None:
    """The bytes of a ``dcc.Upload`` data URL (``data:<type>;base64,<data>``), or None if it is not one.

    Examples
    --------
    >>> decode_contents("data:text/csv;base64,YSxiCg==")
    b'a,b\\n'
    >>> decode_contents("not a data url") is None
    True
    """
    if not isinstance(contents, str) or "," not in contents or not contents.startswith("data:"):
        return None
    header, data = contents.split(",", 1)
    if not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def _which(table: RawTable, label: str) -> str | None:
    cols = set(table.frame.columns)
    if {"site_id", "kind"} <= cols:
        return "sites"
    if {"supplier_id", "customer_id"} & cols:
        return "links"
    low = label.lower()
    if "link" in low:
        return "links"
    if "site" in low:
        return "sites"
    return None


def read_upload(files: list[tuple[str, bytes]]) -> Upload:
    """Read uploaded files (name, bytes) into the ``sites`` and ``links`` tables, with errors for people.

    Examples
    --------
    >>> up = read_upload([("sites.csv", b"site_id,kind\\nA,api\\n")])
    >>> up.tables["sites"] is not None, [e.message[:28] for e in up.errors]
    (True, ['missing: upload links.csv to'])
    """
    tables: dict[str, RawTable | None] = {"sites": None, "links": None}
    errors: list[Issue] = []
    keep: dict[str, bytes] = {}
    labels = [display_name(name, f"file {i + 1}", limit=80, basename=True) for i, (name, _) in enumerate(files)]
    if not files:
        return Upload(tables, [Issue("upload", None, None, "no file received")])
    if len(files) > MAX_FILES:
        return Upload(tables, [Issue("upload", None, None, f"{len(files)} files: drop sites.csv and links.csv, or "
                                                           "one .xlsx workbook")])
    books = [(lab, data) for lab, (_, data) in zip(labels, files, strict=True)
             if data.startswith(b"PK\x03\x04") or lab.lower().endswith((".xlsx", ".xlsm", ".xls"))]
    if books:
        if len(files) > 1:
            return Upload(tables, [Issue("upload", None, None, "drop one .xlsx workbook alone (with sheets 'sites' and "
                                                               "'links'), or two CSV files, not both")])
        label, data = books[0]
        tables, errs = read_xlsx_bytes(data, label)
        return Upload(tables, list(errs), {"dataset.xlsx": data}, f"upload: {label}")
    unreadable = 0
    for label, (_, data) in zip(labels, files, strict=True):
        if len(data) > MAX_FILE_BYTES:
            unreadable += 1
            errors.append(Issue(label, None, None, f"the file is {len(data) / 2**20:.1f} MiB, over the limit of "
                                                   f"{MAX_FILE_BYTES / 2**20:.0f} MiB"))
            continue
        table, errs = read_csv_bytes(data, label)
        if table is None:
            unreadable += 1
            errors.extend(errs)
            continue
        kind = _which(table, label)
        if kind is None:
            unreadable += 1
            found = ", ".join(table.columns_in_file[:8]) or "none"
            errors.append(Issue(label, 1, None, "cannot tell whether this is the sites or the links table: sites need "
                                                f"site_id and kind columns, links supplier_id and customer_id (columns "
                                                f"found: {found})"))
            continue
        if tables[kind] is not None:
            errors.append(Issue(label, None, None, f"a second {kind} table (already read {tables[kind].file}): drop "
                                                   "one sites and one links file"))
            continue
        tables[kind] = table
        keep[f"{kind}.csv"] = data
        errors.extend(errs)
    for kind in ("sites", "links"):
        if tables[kind] is None and not unreadable:
            other = "links" if kind == "sites" else "sites"
            errors.append(Issue(f"{kind}.csv", None, None, f"missing: upload {kind}.csv together with {other}.csv "
                                                           "(drop both files at once), or one .xlsx workbook"))
    source = "upload: " + " + ".join(t.file for t in tables.values() if t is not None)
    return Upload(tables, errors, keep, source)
