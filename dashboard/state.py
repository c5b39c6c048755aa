"""The datasets the dashboard shows: dataset versions kept in the database, and per version its results computed once.

This module owns the dashboard's view of :class:`riskmodel.store.Store` (the database of dataset versions, the
active version and saved what-if scenarios) and the results the pages show:

* :class:`Dataset` - one dataset version loaded in this process, with its network and every result the pages show,
  each computed on first use and kept (``cached_property``): exposure, flow fractions, concentration, time to
  survive, the site table the pages read. Results come from :mod:`riskmodel` analyses; this module only joins them
  for display.
* :class:`Versions` - the dataset versions of one app: listed from the store (name, uploader, time, source files,
  counts, checksum); a valid upload becomes a new version in one transaction (:meth:`Store.add_dataset`), switching
  moves the installation's active pointer (:meth:`Store.set_active`), what-if scenarios are saved per version. The
  active version is read from the database on every request, so several worker processes always agree. The
  :class:`Dataset` objects (which cache the analyses) are kept per version id in this process, the few last used
  (LRU), and loaded with :meth:`Store.load_dataset` on first use.
* :func:`ensure_version` - the dataset the app is started on, as a version: reused (not stored again) when a version
  with the same tables exists, and made active.

Each app keeps its :class:`Versions` in ``app.server.extensions`` (:func:`attach`); :func:`active`, :func:`get` and
:func:`versions` find the one of the app serving the current request (outside a request: the last app created).
Pages keep the id of the version they rendered in a ``dcc.Store`` and their callbacks fetch that version with
:func:`get`, so a page never mixes two versions even if another user switches the active one.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from riskmodel.network import SupplyNetwork
from riskmodel.store import LINK_COLUMNS, SITE_COLUMNS, DatasetVersion, NotFound, Scenario, Store, StoreError, checksum
from riskmodel.validate import ValidationReport

__all__ = ["CACHE_SIZE", "Dataset", "NoDataset", "Versions", "active", "attach", "display_name", "ensure_version",
           "for_app", "get", "refusal", "table_checksum", "versions"]

log = logging.getLogger(__name__)
#: dataset versions kept loaded (with their cached analyses) per process
CACHE_SIZE = 4
_EXTENSION = "riskmodel.versions"
_tokens = itertools.count(1)
#: what each write action is called in a refusal ("Your role (viewer) may not upload datasets.")
_ACTIONS = {"upload": "upload datasets", "activate": "switch the active dataset", "scenario": "save scenarios"}


class NoDataset(RuntimeError):
    """The database holds no dataset version yet (start the app with a dataset)."""


def display_name(text: str | None, fallback: str = "dataset", limit: int = 60, basename: bool = False) -> str:
    """A user-given name made safe to show: printable, one line, at most ``limit`` characters; with ``basename``
    (the name of an uploaded file) only its last path part. Names are shown, never used as paths.

    Examples
    --------
    >>> display_name(" Q3/Q4 data\\n"), display_name(""), display_name("../../etc/passwd", basename=True)
    ('Q3/Q4 data', 'dataset', 'passwd')
    """
    text = str(text or "")
    if basename:
        text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:limit] or fallback


# ---------------------------------------------------------------------------------------------- dataset
class Dataset:
    """One loaded dataset version: its validation report, network and results (each computed once).

    Parameters
    ----------
    report : ValidationReport
        The valid report of the version (as validated, or as loaded from the store).
    name : str
        Display name.
    version_id : int
        The store's id of the version.
    created : str
        When the version was stored (ISO 8601, UTC).
    source : str
        Where it came from (a label).
    cache_key : str, optional
        Identifies the version in caches shared by every app of the process (result caches keyed by version);
        default ``str(version_id)``.
    source_files : sequence of str
        The file names it was read from (labels).
    uploader : str
        Who stored it.
    """

    def __init__(self, report: ValidationReport, name: str, version_id: int = 0, created: str = "",
                 source: str = "", *, cache_key: str | None = None, source_files: Sequence[str] = (),
                 uploader: str = ""):
        self.report, self.name, self.id = report, name, version_id
        self.created = created or datetime.now(UTC).isoformat(timespec="seconds")
        self.source = source or report.source
        self.cache_key = cache_key or str(version_id)
        self.source_files = tuple(source_files)
        self.uploader = uploader
        self._lock = threading.Lock()
        self._shares: dict[tuple[str, str | None], pd.DataFrame] = {}

    @property
    def label(self) -> str:
        return f"{self.name} (version {self.id})"

    @property
    def cli_data(self) -> str:
        """The ``DATA`` argument of an equivalent command line: the one file or folder it was read from, else
        ``DATA`` (two uploaded CSV files are no single path)."""
        return self.source_files[0] if len(self.source_files) == 1 else "DATA"

    @cached_property
    def network(self) -> SupplyNetwork:
        return self.report.network()

    @cached_property
    def exposure(self):
        """:class:`riskmodel.exposure.ExposureResult` of every supply site."""
        from riskmodel.exposure import site_exposure

        return site_exposure(self.network)

    @cached_property
    def flows(self) -> sp.csr_matrix:
        """Flow fractions ``F[site, market]`` (:func:`riskmodel.concentration.flow_fractions`)."""
        from riskmodel.concentration import flow_fractions

        return flow_fractions(self.network)

    @cached_property
    def throughput(self) -> np.ndarray:
        """Weekly units flowing through each site (network order): ``F @ weekly_demand`` of the markets."""
        net = self.network
        return np.asarray(self.flows @ net.demand[net.market_index]).ravel()

    @cached_property
    def concentration(self) -> pd.DataFrame:
        from riskmodel.concentration import concentration

        return concentration(self.network, self.flows)

    def group_exposure(self, by: str) -> pd.DataFrame:
        """:func:`riskmodel.exposure.group_exposure` by country, region or operator (cached)."""
        key = f"_group_{by}"
        if key not in self.__dict__:
            from riskmodel.exposure import group_exposure

            self.__dict__[key] = group_exposure(self.network, by=by)
        return self.__dict__[key]

    @cached_property
    def tts(self) -> pd.DataFrame | None:
        """:func:`riskmodel.tts.time_to_survive` table (``site_id, tts_days`` (NaN: no shortfall), ``ttr_days``,
        ``gap_days``, ``lost_units``, ``needs_mitigation``, ...), or None if that analysis is not available."""
        try:
            from riskmodel.tts import time_to_survive
        except ImportError:  # pragma: no cover - the what-if simulation is not installed
            return None
        return time_to_survive(self.network).sites

    @cached_property
    def site_table(self) -> pd.DataFrame:
        """Every site (network order, index = network index) with its facts, volume and exposure figures.

        Columns: the validated site columns, ``throughput`` (units/week), ``exposure``, ``lost_weekly_units``,
        ``spof``, ``spof_markets``, ``critical_markets``, ``n_spof_markets``, ``n_critical_markets``,
        ``markets_hit`` (markets that lose anything). Markets have NaN exposure and empty lists.
        """
        net, res = self.network, self.exposure
        t = net.sites.copy()
        t["throughput"] = self.throughput
        ex = res.sites.set_index("site_id")
        hit = np.diff(res.market_loss().tocsr().indptr)
        ex = ex.assign(markets_hit=hit)
        cols = ["exposure", "lost_weekly_units", "spof", "spof_markets", "critical_markets", "markets_hit"]
        joined = ex[cols].reindex(t["site_id"])
        for c in cols:
            t[c] = joined[c].to_numpy()
        t["spof"] = t["spof"].fillna(False).astype(bool)
        for c in ("spof_markets", "critical_markets"):
            t[c] = t[c].map(lambda v: list(v) if isinstance(v, list | tuple | np.ndarray) else [])
        t["n_spof_markets"] = t["spof_markets"].map(len)
        t["n_critical_markets"] = t["critical_markets"].map(len)
        t["markets_hit"] = pd.to_numeric(t["markets_hit"], errors="coerce").fillna(0).astype(int)
        return t

    def site_table_with_tts(self) -> pd.DataFrame:
        """:attr:`site_table` plus ``tts_days``, ``ttr_days`` and ``gap_days`` (TTR - TTS) (cached; do not modify)."""
        return self.sites_full

    @cached_property
    def sites_full(self) -> pd.DataFrame:
        """:attr:`site_table` plus ``tts_days`` (NaN: no shortfall), ``ttr_days`` and ``gap_days`` (TTR - TTS)."""
        t = self.site_table.copy()
        tts = self.tts
        if tts is None:
            t["tts_days"] = np.nan
            t["ttr_days"] = t["ttr_weeks"] * 7.0
        else:
            x = tts.drop_duplicates("site_id").set_index("site_id").reindex(t["site_id"])
            t["tts_days"] = x["tts_days"].to_numpy()
            t["ttr_days"] = x["ttr_days"].to_numpy()
            t.loc[t["ttr_days"].isna(), "ttr_days"] = t["ttr_weeks"] * 7.0
        t["gap_days"] = t["ttr_days"] - t["tts_days"]
        t.loc[t["kind"] == "market", ["tts_days", "ttr_days", "gap_days"]] = np.nan
        return t

    def tier_country_shares(self, tier: str, market: str | None = None) -> pd.DataFrame:
        """Share of a tier's supply by country: for one market, or averaged over markets (each weighs the same).

        Built from the flow fractions: the supply of tier ``tier`` reaching market ``m`` is ``F[v, m]`` summed over
        the tier's sites ``v`` by country, normalised per market. Returns ``country, share`` (largest first).
        """
        key = (tier, market)
        if key not in self._shares:
            net = self.network
            rows = np.flatnonzero(net.sites["kind"].to_numpy() == tier)
            flows = self.flows
            if market is not None:
                col = np.flatnonzero(net.site_ids[net.market_index] == market)
                flows = flows[:, col] if col.size else flows[:, :0]
            f = flows[rows].toarray() if rows.size else np.zeros((0, flows.shape[1]))
            countries = net.sites["country"].astype(str).to_numpy()[rows]
            frame = pd.DataFrame(f).groupby(countries).sum() if rows.size else pd.DataFrame()
            if frame.empty:
                out = pd.DataFrame({"country": [], "share": []})
            else:
                tot = frame.sum(axis=0)
                used = tot > 0
                norm = frame.loc[:, used] / tot[used]
                share = norm.mean(axis=1) if used.any() else norm.sum(axis=1)
                out = (share.rename("share").rename_axis("country").reset_index()
                       .sort_values(["share", "country"], ascending=[False, True]).reset_index(drop=True))
                out = out[out["share"] > 0].reset_index(drop=True)
            self._shares[key] = out
        return self._shares[key]

    def warm(self) -> None:
        """Compute the cached results (in a background thread at start, so the first page opens quickly)."""
        try:
            _ = self.sites_full
            _ = self.concentration
            from dashboard import scenarios  # compile the simulation kernels once, before the first what-if run

            supply = self.network.site_ids[~self.network.is_market]
            if len(supply):
                scenarios.run(self, {"sites": [str(supply[0])], "duration_weeks": 1, "horizon_weeks": 2})
        except Exception:  # pragma: no cover - a page will show the error when it asks again
            log.exception("warming the caches of %s failed", self.label)



# ---------------------------------------------------------------------------------------------- versions
def _version_id(value: Any) -> int | None:
    """A version id from a page (an int, or its text from a table row); None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def table_checksum(report: ValidationReport) -> str:
    """SHA-256 of a report's canonical ``sites`` and ``links`` tables (the columns the store keeps, as CSV).

    Equal tables give equal checksums, whatever files they were read from; a version loaded from the store gives
    the checksum of the report that stored it. :func:`ensure_version` uses it to recognise a dataset stored before.

    Examples
    --------
    >>> table_checksum(report) == table_checksum(store.load_dataset(version.id))  # doctest: +SKIP
    True
    """
    blobs = []
    for frame, spec in ((report.sites, SITE_COLUMNS), (report.links, LINK_COLUMNS)):
        columns = [c for c, _ in spec]
        blobs.append(frame[columns].to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return checksum(blobs)


def ensure_version(store: Store, report: ValidationReport, name: str, source: str = "", *,
                   who: Any = "system") -> DatasetVersion:
    """The version of the dataset the app starts on, made active: an existing one with the same tables, or a new one.

    Restarting on the same data adds no version (nor an audit entry when it is already active).

    Parameters
    ----------
    store : Store
        The database.
    report : ValidationReport
        A valid report (:func:`riskmodel.validate.validate_dataset`).
    name : str
        Display name for a new version.
    source : str
        Where the data came from (a label: the path given on the command line); default ``report.source``.
    who : str or User
        Recorded as the uploader and in the audit log (default ``"system"``: the server's operator).

    Returns
    -------
    DatasetVersion
        The version, now active. Its ``checksum`` is :func:`table_checksum` of the report.

    Raises
    ------
    StoreError
        The report is not valid (nothing is written).

    Notes
    -----
    Not atomic across processes: start it once (the parent of the worker processes), not in each worker.
    """
    if not getattr(report, "valid", False) or report.sites is None or report.links is None:
        raise StoreError("only a valid dataset can be stored: it has errors or no tables")
    digest = table_checksum(report)
    same = [v for v in store.list_datasets() if v.checksum == digest]
    if same:
        version = same[-1]
        current = store.active_dataset()
        if current is None or current.id != version.id:
            store.set_active(version.id, who)
        return version
    label = display_name(source or report.source or name, "dataset", limit=200)
    return store.add_dataset(report, display_name(name, "dataset"), who, [label], digest, activate=True)


class Versions:
    """The dataset versions of one app: the store, the active version, the versions loaded in this process.

    Parameters
    ----------
    store : Store
        The database of the installation (one per process).
    cache_size : int
        How many loaded versions (:class:`Dataset`, with their cached analyses) to keep; the least recently used
        is dropped first (it loads again from the store when asked for).

    Examples
    --------
    >>> versions = Versions(Store())  # doctest: +SKIP
    >>> versions.active().network.n_sites  # doctest: +SKIP
    244
    """

    def __init__(self, store: Store, cache_size: int = CACHE_SIZE):
        self.store = store
        self.cache_size = max(1, int(cache_size))
        self._token = next(_tokens)  # keeps result caches keyed by version apart from another app's store
        self._datasets: OrderedDict[int, Dataset] = OrderedDict()
        self._loading: dict[int, threading.Lock] = {}
        self._lock = threading.Lock()

    # -------------------------------------------------------------------------------------- listing
    def list(self) -> list[DatasetVersion]:
        """Every version, oldest first."""
        return self.store.list_datasets()

    def active_version(self) -> DatasetVersion:
        """The installation's active version (the newest one if none was set); raises :class:`NoDataset`."""
        version = self.store.active_dataset()
        if version is None:
            every = self.store.list_datasets()
            if not every:
                raise NoDataset("the database holds no dataset version yet: start the dashboard with a dataset "
                                "(riskmodel serve --data DATA)")
            version = every[-1]
        return version

    def rows(self) -> list[dict]:
        """The versions table, newest first, the active one marked.

        Keys: ``id`` (as text, the grid's row id), ``active``, ``name``, ``created``, ``uploader``, ``source``,
        ``sites``, ``links``, ``markets``, ``countries``, ``checksum`` (its first 12 characters).
        """
        every = self.store.list_datasets()
        if not every:
            return []
        pointer = self.store.active_dataset()
        active_id = pointer.id if pointer is not None else every[-1].id
        out = []
        for v in reversed(every):
            row = v.to_row()
            row["id"] = str(v.id)
            row["active"] = "active" if v.id == active_id else ""
            out.append(row)
        return out

    # -------------------------------------------------------------------------------------- loading
    def active(self) -> Dataset:
        """The active dataset version (read from the database: every worker process agrees)."""
        return self._dataset(self.active_version())

    def get(self, version_id: int | str | None) -> Dataset:
        """The dataset of a version (an int, or its text); the active one when None or not a version here."""
        vid = _version_id(version_id)
        if vid is None:
            return self.active()
        hit = self._cached(vid)
        if hit is not None:
            return hit
        try:
            version = self.store.get_dataset(vid)
        except NotFound:  # a page rendered on another database (before a restart): show the active version
            return self.active()
        return self._dataset(version)

    def _cached(self, vid: int) -> Dataset | None:
        with self._lock:
            ds = self._datasets.get(vid)
            if ds is not None:
                self._datasets.move_to_end(vid)
            return ds

    def _keep(self, ds: Dataset) -> Dataset:
        with self._lock:
            self._datasets[ds.id] = ds
            self._datasets.move_to_end(ds.id)
            while len(self._datasets) > self.cache_size:
                self._datasets.popitem(last=False)
            return ds

    def _dataset(self, version: DatasetVersion) -> Dataset:
        """The loaded :class:`Dataset` of ``version`` (from the store on first use; one load at a time per id)."""
        hit = self._cached(version.id)
        if hit is not None:
            return hit
        with self._lock:
            loading = self._loading.setdefault(version.id, threading.Lock())
        with loading:
            hit = self._cached(version.id)
            if hit is None:
                hit = self._keep(self._make(self.store.load_dataset(version.id), version))
        with self._lock:
            self._loading.pop(version.id, None)
        return hit

    def _make(self, report: ValidationReport, version: DatasetVersion) -> Dataset:
        return Dataset(report, version.name, version.id, version.created_at.isoformat(timespec="seconds"),
                       " + ".join(version.source_files), cache_key=f"{self._token}:{version.id}",
                       source_files=version.source_files, uploader=version.uploader)

    # -------------------------------------------------------------------------------------- writing
    def add_upload(self, report: ValidationReport, name: str, user: Any, source_files: Sequence[str],
                   raw_checksum: str) -> Dataset:
        """Store a valid upload as a new version and make it active, in one transaction.

        Parameters
        ----------
        report : ValidationReport
            The validated upload (valid; a report with errors is refused and nothing is written).
        name : str
            Display name of the version.
        user : User or str
            The uploader (a :class:`riskmodel.users.User` is checked for the ``upload`` role by the store).
        source_files : list of str
            The uploaded file names, as labels.
        raw_checksum : str
            :func:`riskmodel.store.checksum` of the uploaded bytes.

        Returns
        -------
        Dataset
            The new version, loaded (from ``report``: the store keeps equal tables).

        Raises
        ------
        StoreError, PermissionError, sqlalchemy.exc.SQLAlchemyError
            Nothing was written: the versions and the active one are as before.
        """
        version = self.store.add_dataset(report, display_name(name, "upload"), user, list(source_files),
                                         raw_checksum, activate=True)
        return self._keep(self._make(report, version))

    def activate(self, version_id: int | str, user: Any) -> Dataset:
        """Make a version the installation's active one (audited by the store); raises :class:`NotFound`."""
        vid = _version_id(version_id)
        if vid is None:
            raise NotFound(f"not a dataset version: {version_id!r}")
        return self._dataset(self.store.set_active(vid, user))

    def save_scenario(self, version_id: int | str, name: str, user: Any, parameters: Mapping,
                      results: Mapping) -> Scenario:
        """Save a what-if scenario of a version (its parameters and summary results); raises :class:`NotFound`."""
        vid = _version_id(version_id)
        if vid is None:
            raise NotFound(f"not a dataset version: {version_id!r}")
        return self.store.save_scenario(vid, name, user, parameters, results)

    def scenarios(self, version_id: int | str | None) -> list[Scenario]:
        """The saved scenarios of a version, oldest first (none for an unknown version)."""
        vid = _version_id(version_id)
        return [] if vid is None else self.store.list_scenarios(vid)


# ---------------------------------------------------------------------------------------------- per app
_default: Versions | None = None


def attach(server, versions_: Versions) -> Versions:
    """Give a Flask server (``app.server``) its versions; also the default outside a request (the last app)."""
    global _default
    server.extensions[_EXTENSION] = versions_
    _default = versions_
    return versions_


def for_app(app) -> Versions:
    """The :class:`Versions` of a Dash app (or of its Flask server)."""
    server = getattr(app, "server", app)
    return server.extensions[_EXTENSION]


def versions() -> Versions:
    """The versions of the app serving this request (outside a request: the last app created)."""
    from flask import current_app, has_app_context

    if has_app_context():
        found = current_app.extensions.get(_EXTENSION)
        if found is not None:
            return found
    if _default is None:
        raise NoDataset("no dashboard app: call dashboard.app.create_app() first")
    return _default


def active() -> Dataset:
    """The active dataset version."""
    return versions().active()


def get(version_id: int | str | None) -> Dataset:
    """The dataset of ``version_id`` (an int or its text; the active one if unknown or None)."""
    return versions().get(version_id)


def refusal(action: str, user: Any = None) -> str:
    """What a page says when the current user may not do ``action`` (``upload``, ``activate``, ``scenario``).

    Examples
    --------
    >>> from riskmodel.users import User
    >>> refusal("upload", User("vera", "viewer", datetime(2026, 1, 1)))
    'Your role (viewer) may not upload datasets.'
    >>> refusal("scenario", None)
    'Sign in to save scenarios.'
    """
    what = _ACTIONS.get(action, action)
    role = getattr(user, "role", None)
    return f"Your role ({role}) may not {what}." if role else f"Sign in to {what}."
