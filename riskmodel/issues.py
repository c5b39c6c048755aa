"""Problems found in input data: one :class:`Issue` names the file, the row, the column and what was expected."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Issue"]


@dataclass(frozen=True)
class Issue:
    """An error or warning about input data.

    ``row`` is the row a spreadsheet shows (header = row 1); ``None`` when the problem is the whole file.
    ``column`` is the column name as in the schema; ``None`` when it is not about one column.

    Examples
    --------
    >>> str(Issue("sites.csv", 7, "country", "unknown country 'Atlantis'"))
    "sites.csv:7:country: unknown country 'Atlantis'"
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{'' if self.row is None else self.row}:{self.column or ''}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)
