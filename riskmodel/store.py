"""Storage of uploads and results: a SQL database (SQLite by default, PostgreSQL on request) through SQLAlchemy.

This module owns the database schema (:data:`METADATA`, migrated with Alembic from ``riskmodel/migrations/``), the
choice of database (:func:`default_url`) and every read and write of it (:class:`Store`):

* **dataset versions** (``datasets``, ``dataset_sites``, ``dataset_links``): each valid upload is a new, immutable
  version (name, uploader, time, source file names, checksum, counts, warnings) with its canonical ``sites`` and
  ``links`` tables (:mod:`riskmodel.validate`), bulk-inserted (PostgreSQL ``COPY``, SQLite ``executemany``).
  A version is written in one transaction: a failed or interrupted upload leaves the database as it was. Versions
  are never updated or deleted.
* the **active dataset** (``active_dataset``): a per-installation pointer to one version, changed atomically;
* saved **what-if scenarios** (``scenarios``): parameters and summary results as JSON, per dataset version;
* the **audit log** (``audit_log``): who did what, when;
* the ``users`` table, whose rules (names, roles, password hashing) live in :mod:`riskmodel.users`.

Where the data lives: ``DATABASE_URL`` when set (``postgresql://user:password@host/db`` or ``sqlite:///path``),
else the SQLite file ``riskmodel.db`` in ``RISKMODEL_HOME`` (default ``~/.riskmodel``), created on first use with
owner-only permissions. SQLite runs in WAL mode (readers never wait for an upload) and writers take the write lock
when their transaction begins (``BEGIN IMMEDIATE``), so two uploads at once queue instead of failing.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from riskmodel.issues import Issue

__all__ = [
    "METADATA",
    "MIGRATIONS_DIR",
    "AuditEntry",
    "DatasetVersion",
    "NotFound",
    "Scenario",
    "Store",
    "StoreError",
    "checksum",
    "default_url",
    "riskmodel_home",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ACTIVE_SLOT = "default"
_PG_MIGRATION_LOCK = 0x7269736B  # "risk": advisory lock key serialising schema upgrades on PostgreSQL

SITE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("site_id", "str"), ("name", "str"), ("kind", "str"), ("country", "str"), ("city", "str"),
    ("lat", "float"), ("lon", "float"), ("operator", "str"), ("technology", "str"), ("weekly_demand", "float"),
    ("inventory_days", "float"), ("ttr_weeks", "float"), ("surge", "float"), ("annual_disruption_prob", "float"),
    ("region", "str"),
)
LINK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("supplier_id", "str"), ("customer_id", "str"), ("material", "str"), ("share", "float"),
    ("lead_time_days", "float"), ("status", "str"), ("qualification_weeks", "float"),
)

# ---------------------------------------------------------------------------------------------- schema
METADATA = sa.MetaData()
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIME = sa.DateTime(timezone=True)


def _table_columns(spec: Sequence[tuple[str, str]]) -> list[sa.Column]:
    out = []
    for name, kind in spec:
        if kind == "float":
            out.append(sa.Column(name, sa.Double(), nullable=True))
        elif name in ("site_id", "supplier_id", "customer_id"):
            out.append(sa.Column(name, sa.String(64), nullable=False))
        else:
            out.append(sa.Column(name, sa.Text(), nullable=False))
    return out


DATASETS = sa.Table(
    "datasets", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("uploader", sa.String(64), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("source_files", _JSON, nullable=False),
    sa.Column("checksum", sa.String(128), nullable=False),
    sa.Column("n_sites", sa.Integer, nullable=False),
    sa.Column("n_links", sa.Integer, nullable=False),
    sa.Column("n_backup_links", sa.Integer, nullable=False),
    sa.Column("counts", _JSON, nullable=False),
    sa.Column("warnings", _JSON, nullable=False),
)
DATASET_SITES = sa.Table(
    "dataset_sites", METADATA,
    # no foreign key to datasets: PostgreSQL checks one row at a time (3x slower bulk loads); rows are only ever
    # written in the transaction that creates their version, and versions are never deleted
    sa.Column("dataset_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("pos", sa.Integer, primary_key=True, autoincrement=False),
    *_table_columns(SITE_COLUMNS),
)
DATASET_LINKS = sa.Table(
    "dataset_links", METADATA,
    # no foreign key to datasets: PostgreSQL checks one row at a time (3x slower bulk loads); rows are only ever
    # written in the transaction that creates their version, and versions are never deleted
    sa.Column("dataset_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("pos", sa.Integer, primary_key=True, autoincrement=False),
    *_table_columns(LINK_COLUMNS),
)
ACTIVE_DATASET = sa.Table(
    "active_dataset", METADATA,
    sa.Column("slot", sa.String(32), primary_key=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("set_by", sa.String(64), nullable=False),
    sa.Column("set_at", _TIME, nullable=False),
)
SCENARIOS = sa.Table(
    "scenarios", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("parameters", _JSON, nullable=False),
    sa.Column("results", _JSON, nullable=False),
)
AUDIT_LOG = sa.Table(
    "audit_log", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", _TIME, nullable=False, index=True),
    sa.Column("user_name", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", _JSON, nullable=True),
)
USERS = sa.Table(
    "users", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.Column("sessions_after", _TIME, nullable=True),  # sessions started earlier are void (migration 0002)
)


# ---------------------------------------------------------------------------------------------- values
class StoreError(Exception):
    """A request the store cannot carry out (invalid report, unsupported database URL, ...)."""


class NotFound(StoreError, LookupError):
    """No dataset version or scenario with that id."""


@dataclass(frozen=True)
class DatasetVersion:
    """One stored dataset version (its metadata; :meth:`Store.load_dataset` gives the tables)."""

    id: int
    name: str
    uploader: str
    created_at: datetime
    source_files: tuple[str, ...]
    checksum: str
    n_sites: int
    n_links: int
    n_backup_links: int
    counts: dict = field(default_factory=dict, compare=False)

    def to_row(self) -> dict:
        """A row for a versions table (the keys the dashboard's table uses, plus uploader and checksum)."""
        c = self.counts or {}
        return {"id": self.id, "name": self.name, "created": self.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "uploader": self.uploader, "source": ", ".join(self.source_files), "sites": self.n_sites,
                "links": self.n_links, "markets": c.get("markets"), "countries": c.get("countries"),
                "checksum": self.checksum[:12]}


@dataclass(frozen=True)
class Scenario:
    """A saved what-if scenario: its parameters and summary results (JSON-compatible)."""

    id: int
    dataset_id: int
    name: str
    author: str
    created_at: datetime
    parameters: dict
    results: dict


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    id: int
    at: datetime
    user: str
    action: str
    detail: Any


def riskmodel_home() -> Path:
    """The data directory: ``$RISKMODEL_HOME``, default ``~/.riskmodel``.

    Examples
    --------
    >>> riskmodel_home().is_absolute()
    True
    """
    return Path(os.environ.get("RISKMODEL_HOME") or "~/.riskmodel").expanduser().resolve()


def default_url() -> str:
    """The database to use: ``$DATABASE_URL`` if set, else the SQLite file ``riskmodel.db`` in :func:`riskmodel_home`.

    Examples
    --------
    >>> default_url().startswith(("sqlite:///", "postgresql"))
    True
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or f"sqlite:///{riskmodel_home() / 'riskmodel.db'}"


def _normalise_url(url: str) -> sa.URL:
    """Parse a URL; ``postgres://`` and ``postgresql://`` use psycopg 3. Only SQLite and PostgreSQL are supported."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")
    return parsed


def checksum(blobs: Iterable[bytes] | Mapping[str, bytes]) -> str:
    """SHA-256 of uploaded files (in the given order; for a mapping, sorted by key), as hex.

    Each file's length is hashed before its bytes, so ``[b"ab", b"c"]`` and ``[b"a", b"bc"]`` differ.

    Examples
    --------
    >>> checksum([b"a"]) == checksum({"sites.csv": b"a"}), len(checksum([b"a", b"b"]))
    (True, 64)
    """
    items = [v for _, v in sorted(blobs.items())] if isinstance(blobs, Mapping) else list(blobs)
    h = hashlib.sha256()
    for blob in items:
        h.update(len(blob).to_bytes(8, "big"))
        h.update(blob)
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """A JSON-compatible copy: numpy scalars and arrays to Python, NaN and infinities to ``None``, keys to str."""
    if isinstance(value, dict | Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, pd.Series):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    raise StoreError(f"cannot store a value of type {type(value).__name__} as JSON")


def _utc(value: datetime) -> datetime:
    """Times come back naive from SQLite: they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _actor(user: Any, action: str) -> str:
    """The name to record for ``user`` (a name or a :class:`riskmodel.users.User`); checks a User's role."""
    if hasattr(user, "role") and hasattr(user, "name"):
        from riskmodel.users import has_role

        if not has_role(user, action):
            raise PermissionError(f"user {user.name!r} ({user.role}) may not {action}")
        return str(user.name)
    name = str(user or "").strip()
    if not name:
        raise StoreError("who did it is required (a user name)")
    return name[:64]


def _arrow(frame: pd.DataFrame, spec: Sequence[tuple[str, str]]) -> pa.Table:
    """A canonical table as Arrow columns with fixed types (NaN and missing text as null; NUL characters dropped).

    PostgreSQL text cannot hold NUL characters, so they are removed on both backends (results stay the same).
    """
    arrays, names = [], []
    for name, kind in spec:
        s = frame[name]
        if kind == "float":
            arr = pa.array(s.to_numpy(dtype=float, na_value=np.nan), type=pa.float64(), from_pandas=True)
        else:
            arr = pa.array(s, type=pa.string(), from_pandas=True)
            arr = pc.replace_substring(arr, "\x00", "")
        arrays.append(arr)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _types(spec: Sequence[tuple[str, str]]) -> dict[str, pa.DataType]:
    return {name: pa.float64() if kind == "float" else pa.string() for name, kind in spec}


def _frame(table: pa.Table) -> pd.DataFrame:
    """Arrow columns read back (in ``pos`` order) as a canonical table with the dtypes validation produces."""
    return table.to_pandas()


# ---------------------------------------------------------------------------------------------- the store
class Store:
    """The database of one installation: dataset versions, the active dataset, scenarios, audit log, users.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default :func:`default_url` (``$DATABASE_URL`` or the SQLite file in ``$RISKMODEL_HOME``).
    migrate : bool
        Bring the schema up to date (Alembic) on opening; default True. Concurrent openers are serialised.
    echo : bool
        Log SQL statements (debugging).

    Examples
    --------
    >>> import tempfile, os
    >>> store = Store(f"sqlite:///{tempfile.mkdtemp()}/t.db")
    >>> store.list_datasets(), store.active_dataset()
    ([], None)
    >>> store.close()
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True, echo: bool = False):
        self.url = _normalise_url(url or default_url())
        self.backend = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.backend == "sqlite":
            database = self.url.database
            if not database or database == ":memory:":
                raise StoreError("use a SQLite file (sqlite:///PATH), not an in-memory database")
            _prepare_sqlite_file(Path(database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.backend == "sqlite":
            _sqlite_events(self.engine)
        if migrate:
            self.upgrade()

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Close the connections of this store (the data stays)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ transactions
    @contextmanager
    def begin(self, write: bool = False) -> Iterator[sa.Connection]:
        """A connection in a transaction, committed on success and rolled back on any exception.

        ``write=True`` takes SQLite's write lock at once (``BEGIN IMMEDIATE``), so concurrent writers wait their
        turn (up to 60 s) instead of failing half-way; PostgreSQL needs no such step.
        """
        with self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(riskmodel_write=True)
            with conn.begin():
                yield conn

    def upgrade(self) -> str:
        """Apply the Alembic migrations up to the newest (a no-op when current). Returns the revision.

        Safe when several processes open the database at once: the check is repeated under the write lock
        (SQLite) or an advisory lock (PostgreSQL).
        """
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        with self.begin() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return head
        with self.begin(write=True) as conn:
            if self.backend == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            if MigrationContext.configure(conn).get_current_revision() != head:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        return head

    # ------------------------------------------------------------------------------------------ datasets
    def add_dataset(self, report, name: str, uploader: Any, source_files: Sequence[str],
                    raw_bytes_checksum: str, *, activate: bool = False) -> DatasetVersion:
        """Store a valid dataset as a new version, in one transaction (all of it, or nothing on any failure).

        Parameters
        ----------
        report : ValidationReport
            A valid report (:func:`riskmodel.validate.validate_dataset`) with its canonical ``sites`` and ``links``.
        name : str
            Display name of the version (shown, never used as a path).
        uploader : str or User
            Who uploads. A :class:`riskmodel.users.User` must have a role that may ``upload``.
        source_files : list of str
            The file names as uploaded (labels only).
        raw_bytes_checksum : str
            Checksum of the uploaded bytes (see :func:`checksum`).
        activate : bool
            Also make it the active dataset, in the same transaction.

        Returns
        -------
        DatasetVersion
            The new version; its ``id`` is new even when the same files were uploaded before.

        Raises
        ------
        StoreError
            The report has errors or no tables (nothing is written).
        PermissionError
            ``uploader`` is a user whose role may not upload.

        Examples
        --------
        >>> v = store.add_dataset(report, "Q3 network", "alice", ["sites.csv", "links.csv"],
        ...                       checksum([b"..."]))  # doctest: +SKIP
        """
        who = _actor(uploader, "upload")
        if not getattr(report, "valid", False) or report.sites is None or report.links is None:
            raise StoreError("only a valid dataset can be stored: it has errors or no tables")
        name = " ".join(str(name or "").split())[:200] or "dataset"
        files = tuple(str(f) for f in source_files)
        for table, spec in ((report.sites, SITE_COLUMNS), (report.links, LINK_COLUMNS)):
            missing = [c for c, _ in spec if c not in table.columns]
            if missing:
                raise StoreError(f"not a canonical table: missing columns {', '.join(missing)}")
        site_rows = _arrow(report.sites, SITE_COLUMNS)
        link_rows = _arrow(report.links, LINK_COLUMNS)
        counts = _plain(dict(report.counts or {}))
        active = report.links["status"].eq("active")
        n_links, n_backup = int(active.sum()), int((~active).sum())
        warnings = [_plain(w.to_dict()) for w in report.warnings]
        created = _now()
        with self.begin(write=True) as conn:
            result = conn.execute(DATASETS.insert().values(
                name=name, uploader=who, created_at=created, source_files=list(files),
                checksum=str(raw_bytes_checksum), n_sites=len(report.sites), n_links=n_links,
                n_backup_links=n_backup, counts=counts, warnings=warnings))
            vid = int(result.inserted_primary_key[0])
            self._insert_sites(conn, vid, site_rows)
            self._insert_links(conn, vid, link_rows)
            self._audit(conn, who, "dataset.upload", {"dataset_id": vid, "name": name, "files": list(files),
                                                      "sites": len(report.sites), "links": len(report.links)})
            if activate:
                self._set_active(conn, vid, who)
        return DatasetVersion(vid, name, who, created, files, str(raw_bytes_checksum), len(report.sites), n_links,
                              n_backup, counts)

    def _insert_sites(self, conn: sa.Connection, dataset_id: int, rows: pa.Table) -> None:
        self._bulk_insert(conn, DATASET_SITES, dataset_id, rows)

    def _insert_links(self, conn: sa.Connection, dataset_id: int, rows: pa.Table) -> None:
        self._bulk_insert(conn, DATASET_LINKS, dataset_id, rows)

    def _bulk_insert(self, conn: sa.Connection, table: sa.Table, dataset_id: int, rows: pa.Table) -> None:
        """Insert a table's rows fast: PostgreSQL ``COPY`` of Arrow-written CSV (psycopg 3), else ``executemany``."""
        n = rows.num_rows
        if n == 0:
            return
        rows = rows.add_column(0, "pos", pa.array(np.arange(n, dtype=np.int64)))
        rows = rows.add_column(0, "dataset_id", pa.array(np.full(n, dataset_id, dtype=np.int64)))
        names = ", ".join(rows.column_names)
        if self.backend == "postgresql" and conn.dialect.driver == "psycopg":
            buf = io.BytesIO()
            pacsv.write_csv(rows, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT csv)") as copy:
                view = buf.getbuffer()
                for start in range(0, len(view), 1 << 20):
                    copy.write(view[start:start + (1 << 20)])
                view.release()
        elif self.backend == "sqlite":
            marks = ", ".join("?" * rows.num_columns)
            columns = [c.to_pylist() for c in rows.columns]
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                                 list(zip(*columns, strict=True)))
        else:  # pragma: no cover - other PostgreSQL drivers
            conn.execute(table.insert(), rows.to_pylist())

    def list_datasets(self) -> list[DatasetVersion]:
        """Every stored version, oldest first.

        Examples
        --------
        >>> [v.id for v in store.list_datasets()]  # doctest: +SKIP
        [1, 2, 3]
        """
        with self.begin() as conn:
            rows = conn.execute(sa.select(DATASETS).order_by(DATASETS.c.id)).mappings().all()
        return [_version(r) for r in rows]

    def get_dataset(self, version_id: int) -> DatasetVersion:
        """The metadata of one version; raises :class:`NotFound`."""
        with self.begin() as conn:
            return self._get_dataset(conn, version_id)

    def _get_dataset(self, conn: sa.Connection, version_id: int) -> DatasetVersion:
        row = conn.execute(sa.select(DATASETS).where(DATASETS.c.id == _int_id(version_id))).mappings().first()
        if row is None:
            raise NotFound(f"no dataset version {version_id}")
        return _version(row)

    def load_dataset(self, version_id: int):
        """The tables of a version as a valid :class:`~riskmodel.validate.ValidationReport`.

        Its ``sites`` and ``links`` equal (values, order and dtypes) those of the report that was stored, so
        ``report.network()`` builds the :class:`~riskmodel.network.SupplyNetwork`; ``counts`` and ``warnings``
        are the ones of the upload; ``source`` names the version.

        Examples
        --------
        >>> net = store.load_dataset(3).network()  # doctest: +SKIP
        """
        from riskmodel.validate import ValidationReport

        with self.begin() as conn:
            version = self._get_dataset(conn, version_id)
            meta = conn.execute(sa.select(DATASETS.c.warnings).where(DATASETS.c.id == version.id)).scalar_one()
            sites = self._read_table(conn, DATASET_SITES, SITE_COLUMNS, version.id)
            links = self._read_table(conn, DATASET_LINKS, LINK_COLUMNS, version.id)
        warnings = [Issue(w.get("file", ""), w.get("row"), w.get("column"), w.get("message", "")) for w in meta or []]
        return ValidationReport(errors=[], warnings=warnings, counts=dict(version.counts), sites=sites, links=links,
                                source=f"dataset version {version.id} ({version.name})")

    def _read_table(self, conn: sa.Connection, table: sa.Table, spec: Sequence[tuple[str, str]],
                    dataset_id: int) -> pd.DataFrame:
        """The rows of one version in ``pos`` order (PostgreSQL: ``COPY TO`` read by Arrow's CSV reader)."""
        names = [c for c, _ in spec]
        select = f"SELECT {', '.join(names)} FROM {table.name} WHERE dataset_id = {int(dataset_id)} ORDER BY pos"
        if self.backend == "postgresql" and conn.dialect.driver == "psycopg":
            data = bytearray()
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY ({select}) TO STDOUT (FORMAT csv)") as copy:
                while chunk := copy.read():
                    data += chunk
            if not data:
                return _frame(pa.table({n: pa.array([], t) for n, t in _types(spec).items()}))
            out = pacsv.read_csv(io.BytesIO(data), read_options=pacsv.ReadOptions(column_names=names),
                                 parse_options=pacsv.ParseOptions(newlines_in_values=True),
                                 convert_options=pacsv.ConvertOptions(column_types=_types(spec),
                                                                      strings_can_be_null=False,
                                                                      quoted_strings_can_be_null=False))
            return _frame(out)
        if self.backend == "sqlite":  # the driver's own tuples: no SQLAlchemy row objects for 100,000s of rows
            rows = conn.connection.driver_connection.execute(select).fetchall()
        else:  # pragma: no cover - other PostgreSQL drivers
            rows = conn.execute(sa.text(select)).all()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        types = _types(spec)
        return _frame(pa.table({n: pa.array(list(col), types[n]) for n, col in zip(names, columns, strict=True)}))

    # ------------------------------------------------------------------------------------------ active
    def set_active(self, version_id: int, user: Any) -> DatasetVersion:
        """Make a version the active dataset of this installation (one atomic update, audited).

        Raises :class:`NotFound` for an unknown version (the pointer is then unchanged).
        """
        who = _actor(user, "activate")
        with self.begin(write=True) as conn:
            version = self._get_dataset(conn, version_id)
            self._set_active(conn, version.id, who)
            self._audit(conn, who, "dataset.activate", {"dataset_id": version.id})
        return version

    def _set_active(self, conn: sa.Connection, dataset_id: int, who: str) -> None:
        insert = (postgresql.insert if self.backend == "postgresql" else sqlite.insert)(ACTIVE_DATASET)
        values = {"slot": ACTIVE_SLOT, "dataset_id": dataset_id, "set_by": who, "set_at": _now()}
        conn.execute(insert.values(**values).on_conflict_do_update(
            index_elements=["slot"], set_={k: v for k, v in values.items() if k != "slot"}))

    def active_dataset(self) -> DatasetVersion | None:
        """The active version, or ``None`` before any was set."""
        with self.begin() as conn:
            vid = conn.execute(sa.select(ACTIVE_DATASET.c.dataset_id)
                               .where(ACTIVE_DATASET.c.slot == ACTIVE_SLOT)).scalar()
            return None if vid is None else self._get_dataset(conn, vid)

    # ------------------------------------------------------------------------------------------ scenarios
    def save_scenario(self, dataset_id: int, name: str, author: Any, parameters: Mapping,
                      results: Mapping) -> Scenario:
        """Save a what-if scenario (parameters and summary results, JSON-compatible) for a dataset version.

        NaN and infinities are stored as ``null``; numpy values as plain numbers and lists. Saving under a name
        used before adds another scenario (nothing is overwritten).

        Examples
        --------
        >>> s = store.save_scenario(3, "Jiangsu flood", "alice", {"disrupt": ["region:East Asia"], "weeks": 8},
        ...                         {"lost_units": 1.2e6})  # doctest: +SKIP
        """
        who = _actor(author, "scenario")
        params, res = _plain(dict(parameters)), _plain(dict(results))
        name = " ".join(str(name or "").split())[:200] or "scenario"
        created = _now()
        with self.begin(write=True) as conn:
            self._get_dataset(conn, dataset_id)
            result = conn.execute(SCENARIOS.insert().values(
                dataset_id=_int_id(dataset_id), name=name, author=who, created_at=created, parameters=params,
                results=res))
            sid = int(result.inserted_primary_key[0])
            self._audit(conn, who, "scenario.save", {"scenario_id": sid, "dataset_id": _int_id(dataset_id),
                                                     "name": name})
        return Scenario(sid, _int_id(dataset_id), name, who, created, params, res)

    def list_scenarios(self, dataset_id: int | None = None) -> list[Scenario]:
        """Saved scenarios, oldest first (of one dataset version, or all)."""
        query = sa.select(SCENARIOS).order_by(SCENARIOS.c.id)
        if dataset_id is not None:
            query = query.where(SCENARIOS.c.dataset_id == _int_id(dataset_id))
        with self.begin() as conn:
            return [_scenario(r) for r in conn.execute(query).mappings().all()]

    def load_scenario(self, scenario_id: int) -> Scenario:
        """One saved scenario; raises :class:`NotFound`."""
        with self.begin() as conn:
            row = conn.execute(sa.select(SCENARIOS).where(SCENARIOS.c.id == _int_id(scenario_id))).mappings().first()
        if row is None:
            raise NotFound(f"no scenario {scenario_id}")
        return _scenario(row)

    # ------------------------------------------------------------------------------------------ audit
    def audit(self, user: Any, action: str, detail: Any = None) -> None:
        """Record that ``user`` did ``action`` (e.g. ``"export.pdf"``) with a JSON-compatible ``detail``.

        Examples
        --------
        >>> store.audit("alice", "export.csv", {"dataset_id": 3})  # doctest: +SKIP
        """
        with self.begin(write=True) as conn:
            self._audit(conn, _actor(user, "view"), action, detail)

    def _audit(self, conn: sa.Connection, who: str, action: str, detail: Any = None) -> None:
        conn.execute(AUDIT_LOG.insert().values(at=_now(), user_name=who[:64], action=str(action)[:64],
                                               detail=_plain(detail)))

    def audit_log(self, *, limit: int = 100, user: str | None = None, action: str | None = None) -> list[AuditEntry]:
        """The newest audit entries first, optionally of one user or one action."""
        query = sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.id.desc()).limit(int(limit))
        if user is not None:
            query = query.where(AUDIT_LOG.c.user_name == user)
        if action is not None:
            query = query.where(AUDIT_LOG.c.action == action)
        with self.begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [AuditEntry(r["id"], _utc(r["at"]), r["user_name"], r["action"], r["detail"]) for r in rows]

    def audit_names(self) -> tuple[list[str], list[str]]:
        """The user names and the actions that occur in the audit log, each sorted (the choices of a filter).

        Examples
        --------
        >>> store.audit_names()  # doctest: +SKIP
        (['alice', 'system'], ['dataset.upload', 'login', 'user.add'])
        """
        with self.begin() as conn:
            names = conn.execute(sa.select(AUDIT_LOG.c.user_name).distinct()).scalars().all()
            actions = conn.execute(sa.select(AUDIT_LOG.c.action).distinct()).scalars().all()
        return sorted(names), sorted(actions)


# ---------------------------------------------------------------------------------------------- helpers
def _int_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(f"not a version or scenario id: {value!r}") from None


def _version(r: Mapping) -> DatasetVersion:
    return DatasetVersion(r["id"], r["name"], r["uploader"], _utc(r["created_at"]), tuple(r["source_files"] or ()),
                          r["checksum"], r["n_sites"], r["n_links"], r["n_backup_links"], dict(r["counts"] or {}))


def _scenario(r: Mapping) -> Scenario:
    return Scenario(r["id"], r["dataset_id"], r["name"], r["author"], _utc(r["created_at"]),
                    dict(r["parameters"] or {}), dict(r["results"] or {}))


def _prepare_sqlite_file(path: Path) -> None:
    """Create the data directory (owner-only) and the database file (owner read/write) before SQLite opens it."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _sqlite_events(engine: sa.Engine) -> None:
    """SQLite: foreign keys on, WAL journal, and BEGIN emitted by us (IMMEDIATE for writes, see Store.begin)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # the driver must not begin transactions on its own
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("riskmodel_write") else "BEGIN")
