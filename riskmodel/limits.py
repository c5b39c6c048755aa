"""Input limits for uploads: size and row limits, the file type judged by content, names made safe to show.

This module owns the checks an upload passes before anything reads it as a table:

* :func:`max_file_bytes` / :func:`check_file_size` - the size limit (``RISKMODEL_MAX_FILE_MB``, default 50, the same
  setting :mod:`riskmodel.readers` uses);
* :func:`max_rows` / :func:`check_row_limit` - the row limit per table (``RISKMODEL_MAX_ROWS``, default 1,000,000);
* :func:`sniff_kind` - ``"xlsx"``, ``"csv"``, ``"binary"`` or ``"empty"`` from the bytes themselves, never from the
  file name; :func:`check_upload` combines it with the size and a zip-bomb guard for workbooks;
* :func:`safe_label` - a user's file name as a short, printable, one-line label for display. File names from users
  are never used as paths.

The settings are read from the environment at each call, so a running server or a test can change them.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
import zipfile
from typing import Literal

from riskmodel.issues import Issue
from riskmodel.readers import looks_binary  # the readers' own test of what text they accept

__all__ = [
    "DEFAULT_MAX_FILE_MB",
    "DEFAULT_MAX_ROWS",
    "MAX_XLSX_EXPANSION",
    "check_file_size",
    "check_row_limit",
    "check_upload",
    "max_file_bytes",
    "max_rows",
    "safe_label",
    "sniff_kind",
]

DEFAULT_MAX_FILE_MB = 50.0
DEFAULT_MAX_ROWS = 1_000_000
#: a workbook may unpack to at most this many times the file size limit (guards against zip bombs)
MAX_XLSX_EXPANSION = 20

Kind = Literal["xlsx", "csv", "binary", "empty"]

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Unicode format characters that reorder or hide text (bidi overrides, zero-width): never shown in a label
_HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        return default
    return value if value > 0 else default


def max_file_bytes() -> int:
    """The upload size limit in bytes: ``RISKMODEL_MAX_FILE_MB`` mebibytes (default 50).

    Examples
    --------
    >>> max_file_bytes() > 0
    True
    """
    return int(_env_number("RISKMODEL_MAX_FILE_MB", DEFAULT_MAX_FILE_MB) * 1024 * 1024)


def max_rows() -> int:
    """The row limit per table: ``RISKMODEL_MAX_ROWS`` (default 1,000,000; invalid or non-positive values ignored).

    Examples
    --------
    >>> max_rows() > 0
    True
    """
    return int(_env_number("RISKMODEL_MAX_ROWS", DEFAULT_MAX_ROWS))


def check_file_size(n_bytes: int, file: str, *, limit: int | None = None) -> Issue | None:
    """An error when a file is larger than the size limit, else ``None``.

    Parameters
    ----------
    n_bytes : int
        Size of the file.
    file : str
        Label of the file in the message (see :func:`safe_label`).
    limit : int, optional
        Limit in bytes; default :func:`max_file_bytes`.

    Examples
    --------
    >>> check_file_size(10, "sites.csv") is None
    True
    >>> print(check_file_size(3 * 2**20, "sites.csv", limit=2**20))
    sites.csv::: the file is 3.0 MiB, over the limit of 1 MiB (RISKMODEL_MAX_FILE_MB)
    """
    limit = max_file_bytes() if limit is None else limit
    if n_bytes <= limit:
        return None
    return Issue(file, None, None, f"the file is {n_bytes / 2**20:.1f} MiB, over the limit of {limit / 2**20:.0f} MiB "
                                   "(RISKMODEL_MAX_FILE_MB)")


def check_row_limit(n_rows: int, file: str, *, limit: int | None = None) -> Issue | None:
    """An error when a table has more data rows than the row limit, else ``None``.

    Parameters
    ----------
    n_rows : int
        Number of data rows (the header not counted).
    file : str
        The file (or ``book.xlsx[sheet]``) the table came from, as in other issues.
    limit : int, optional
        Default :func:`max_rows` (``RISKMODEL_MAX_ROWS``).

    Returns
    -------
    Issue or None
        A whole-file error (row and column ``None``).

    Examples
    --------
    >>> check_row_limit(10, "links.csv") is None
    True
    >>> print(check_row_limit(1_500_000, "links.csv", limit=1_000_000))
    links.csv::: the table has 1,500,000 rows, over the limit of 1,000,000 rows (RISKMODEL_MAX_ROWS)
    """
    limit = max_rows() if limit is None else limit
    if n_rows <= limit:
        return None
    return Issue(file, None, None,
                 f"the table has {n_rows:,} rows, over the limit of {limit:,} rows (RISKMODEL_MAX_ROWS)")


def _is_xlsx(data: bytes) -> bool:
    """A zip archive holding a workbook part (``xl/workbook.xml`` or its strict/macro variants)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False
    return "[Content_Types].xml" in names and any(n.lower().startswith("xl/workbook") for n in names)


def sniff_kind(data: bytes) -> Kind:
    """What a file is, from its bytes alone (the name a user gave it is not trusted).

    Returns
    -------
    str
        ``"empty"`` (no bytes, or only whitespace and byte-order marks), ``"xlsx"`` (a zip archive with a workbook
        inside), ``"csv"`` (text: anything the CSV reader can decode) or ``"binary"`` (everything else: old ``.xls``,
        other archives, images, executables).

    Examples
    --------
    >>> sniff_kind(b""), sniff_kind(b"site_id,name\\nA,B\\n"), sniff_kind(b"\\xd0\\xcf\\x11\\xe0\\x00\\x00")
    ('empty', 'csv', 'binary')
    """
    stripped = data
    for bom in _BOMS:
        if stripped.startswith(bom):
            stripped = stripped[len(bom):]
            break
    if not stripped.strip(b" \t\r\n\x00"):
        return "empty"
    if data.startswith(b"PK\x03\x04"):
        return "xlsx" if _is_xlsx(data) else "binary"
    return "binary" if looks_binary(data) else "csv"


def check_upload(data: bytes, file: str, *, allowed: tuple[str, ...] = ("csv", "xlsx")) -> Issue | None:
    """All checks on an uploaded file before it is read: size, kind by content, and how far a workbook unpacks.

    Parameters
    ----------
    data : bytes
        The file as uploaded.
    file : str
        Its label for messages (pass :func:`safe_label` of the user's name).
    allowed : tuple of str
        Kinds accepted (see :func:`sniff_kind`).

    Returns
    -------
    Issue or None
        The first problem found, or ``None`` when the file may be read.

    Examples
    --------
    >>> check_upload(b"site_id\\nA\\n", "sites.csv") is None
    True
    >>> print(check_upload(b"", "sites.csv"))
    sites.csv::: the file is empty
    """
    size = check_file_size(len(data), file)
    if size is not None:
        return size
    kind = sniff_kind(data)
    if kind == "empty":
        return Issue(file, None, None, "the file is empty")
    if kind not in allowed:
        want = " or ".join("an .xlsx workbook" if k == "xlsx" else "a CSV file" for k in allowed)
        found = {"xlsx": "an Excel workbook", "csv": "a text (CSV) file"}.get(kind, "not a CSV file or .xlsx workbook "
                                                                              "(binary content)")
        return Issue(file, None, None, f"expected {want}, but this is {found}")
    if kind == "xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(max(0, i.file_size) for i in z.infolist())
        if unpacked > MAX_XLSX_EXPANSION * max_file_bytes():
            return Issue(file, None, None, f"the workbook unpacks to {unpacked / 2**20:.0f} MiB, over the limit of "
                                           f"{MAX_XLSX_EXPANSION * max_file_bytes() / 2**20:.0f} MiB")
    return None


def safe_label(name: object, *, limit: int = 80, fallback: str = "upload") -> str:
    """A user-given file name as a label for display and messages only: never use it (or the input) as a path.

    Keeps the last path component (``/`` or ``\\``), drops control and invisible reordering characters (e.g. the
    right-to-left override used to disguise ``exe`` as ``txt``), joins lines and runs of spaces, normalises Unicode
    (NFC) and shortens to ``limit`` characters with an ellipsis in the middle so the extension stays visible.

    Examples
    --------
    >>> safe_label("../../etc/passwd"), safe_label("C:\\\\Users\\\\me\\\\Q3 sites.csv"), safe_label("\\n")
    ('passwd', 'Q3 sites.csv', 'upload')
    >>> safe_label("report\\u202egpj.exe")
    'reportgpj.exe'
    """
    text = unicodedata.normalize("NFC", "" if name is None else str(name))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _HIDDEN.sub("", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if text in ("", ".", ".."):
        return fallback
    if len(text) > limit:
        keep = limit - 1
        text = text[: keep - keep // 3] + "…" + text[-(keep // 3):]
    return text
