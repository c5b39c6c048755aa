"""The datasets the dashboard shows: a registry of dataset versions and, per version, its results computed once.

* :class:`Dataset` - one validated dataset version with its network and every result the pages show, each computed
  on first use and kept (``cached_property``): exposure, flow fractions, concentration, time to survive, the site
  table the pages read. Results come from :mod:`riskmodel` analyses; this module only joins them for display.
* :class:`Registry` - the versions: the dataset the app started on, plus every upload that validated. An upload
  becomes a new version (its bytes written under ``$RISKMODEL_HOME/datasets/<version id>/`` with fixed file names,
  never the user's); nothing is overwritten; earlier versions stay selectable, also after a restart (they are
  listed from disk and validated again when chosen). One version is *active*: pages render it.

Pages keep the id of the version they rendered in a ``dcc.Store`` and their callbacks fetch that version with
:func:`get`, so a page never mixes two versions even if another tab switches the active one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from riskmodel.network import SupplyNetwork
from riskmodel.validate import ValidationReport, validate_dataset

__all__ = ["Dataset", "Registry", "Version", "active", "get", "registry", "set_active"]

log = logging.getLogger(__name__)
_VERSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MANIFEST = "version.json"


def riskmodel_home() -> Path:
    """``$RISKMODEL_HOME`` (default ``~/.riskmodel``): where uploaded dataset versions are kept."""
    return Path(os.environ.get("RISKMODEL_HOME") or "~/.riskmodel").expanduser()


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
    """One loaded dataset version: its validation report, network and results (each computed once)."""

    def __init__(self, report: ValidationReport, name: str, version_id: str = "v1", created: str = "",
                 source: str = ""):
        self.report, self.name, self.id = report, name, version_id
        self.created = created or datetime.now(UTC).isoformat(timespec="seconds")
        self.source = source or report.source
        self._lock = threading.Lock()
        self._shares: dict[tuple[str, str | None], pd.DataFrame] = {}

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})"

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


# ---------------------------------------------------------------------------------------------- registry
@dataclass
class Version:
    """A dataset version: what the versions table shows, where its files are (uploads only)."""

    id: str
    name: str
    created: str
    source: str
    counts: dict = field(default_factory=dict)
    folder: Path | None = None
    files: list[str] = field(default_factory=list)

    def to_row(self) -> dict:
        c = self.counts or {}
        return {"id": self.id, "name": self.name, "created": self.created.replace("T", " ")[:19],
                "source": self.source, "sites": c.get("sites"), "links": c.get("links"),
                "markets": c.get("markets"), "countries": c.get("countries")}


class Registry:
    """Dataset versions: the start-up dataset, uploads (kept on disk under ``home``), the active version."""

    def __init__(self, home: Path | None = None):
        self.home = Path(home) if home is not None else riskmodel_home()
        self.versions: dict[str, Version] = {}
        self._datasets: dict[str, Dataset] = {}
        self.active_id: str | None = None
        self._lock = threading.RLock()
        self._scan()

    @property
    def folder(self) -> Path:
        return self.home / "datasets"

    def _scan(self) -> None:
        """List the versions uploaded in earlier sessions (their manifests); they load when chosen."""
        if not self.folder.is_dir():
            return
        found = []
        for sub in sorted(self.folder.iterdir()):
            manifest = sub / _MANIFEST
            if not (sub.is_dir() and _VERSION_ID.match(sub.name) and manifest.is_file()):
                continue
            try:
                meta = json.loads(manifest.read_text(encoding="utf-8"))
                found.append(Version(id=sub.name, name=display_name(meta.get("name")), created=str(meta["created"]),
                                     source=str(meta.get("source", "")), counts=dict(meta.get("counts") or {}),
                                     folder=sub, files=[str(f) for f in meta.get("files", [])]))
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("ignoring unreadable dataset version in %s", sub)
        for v in sorted(found, key=lambda v: v.created):
            self.versions[v.id] = v

    def add_report(self, report: ValidationReport, name: str, source: str = "") -> Dataset:
        """Register a validated dataset that is already on disk (the one the app starts on) and activate it."""
        with self._lock:
            vid = "start" if "start" not in self.versions else f"start-{len(self.versions)}"
            ds = Dataset(report, display_name(name, "sample"), vid, source=source or report.source)
            self.versions[vid] = Version(vid, ds.name, ds.created, ds.source, dict(report.counts))
            self._datasets[vid] = ds
            self.active_id = vid
            return ds

    def add_upload(self, report: ValidationReport, files: dict[str, bytes], name: str, source: str) -> Dataset:
        """Keep a validated upload as a new version (files under fixed names) and activate it.

        ``files`` maps a fixed file name (``sites.csv``, ``links.csv`` or ``dataset.xlsx``) to the bytes as
        uploaded. The folder is written under a temporary name and renamed when complete: a crash never leaves a
        half-written version, and no existing folder is ever touched.
        """
        allowed = {"sites.csv", "links.csv", "dataset.xlsx"}
        if not report.valid or report.sites is None or report.links is None or not files or set(files) - allowed:
            raise ValueError("only a valid report with sites.csv + links.csv or dataset.xlsx can be stored")
        with self._lock:
            created = datetime.now(UTC)
            vid = f"{created:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
            # microseconds: two uploads in one second keep their order when a later session lists them again
            ds = Dataset(report, display_name(name, "upload"), vid, created.isoformat(timespec="microseconds"), source)
            version = Version(vid, ds.name, ds.created, source, dict(report.counts), None, sorted(files))
            try:
                self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                tmp = self.folder / f".tmp-{vid}"
                tmp.mkdir(mode=0o700)
                for fname, data in files.items():
                    (tmp / fname).write_bytes(data)
                manifest = {"name": ds.name, "created": ds.created, "source": source, "counts": report.counts,
                            "files": sorted(files)}
                (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
                final = self.folder / vid
                tmp.rename(final)
                version.folder = final
            except OSError as exc:  # the version still works for this session
                log.warning("could not keep the uploaded dataset on disk (%s): it lasts for this session only", exc)
                version.source += " (not saved: " + (exc.strerror or type(exc).__name__) + ")"
            self.versions[vid] = version
            self._datasets[vid] = ds
            self.active_id = vid
            return ds

    def get(self, version_id: str | None) -> Dataset:
        """The dataset of a version (loaded and validated again if it was uploaded in an earlier session)."""
        with self._lock:
            vid = version_id if version_id in self.versions else self.active_id
            if vid is None:
                raise RuntimeError("no dataset loaded: start the app with create_app(report)")
            if vid not in self._datasets:
                v = self.versions[vid]
                path = v.folder / "dataset.xlsx" if "dataset.xlsx" in v.files else v.folder
                report = validate_dataset(path)
                if not report.valid:
                    raise RuntimeError(f"dataset version {vid} no longer validates: {report.errors[0]}")
                self._datasets[vid] = Dataset(report, v.name, vid, v.created, v.source)
            return self._datasets[vid]

    def activate(self, version_id: str) -> Dataset:
        with self._lock:
            if version_id not in self.versions:
                raise KeyError(version_id)
            ds = self.get(version_id)
            self.active_id = version_id
            return ds

    def active(self) -> Dataset:
        return self.get(self.active_id)

    def rows(self) -> list[dict]:
        """The versions table, newest first, the active one marked."""
        out = []
        for v in reversed(list(self.versions.values())):
            row = v.to_row()
            row["active"] = "active" if v.id == self.active_id else ""
            out.append(row)
        return out


_registry: Registry | None = None


def registry() -> Registry:
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


def set_active(report: ValidationReport, name: str, *, home: Path | None = None, warm: bool = True) -> Dataset:
    """Start a fresh registry on ``report`` (the app's start-up dataset) and make it active."""
    global _registry
    _registry = Registry(home)
    ds = _registry.add_report(report, name)
    if warm:
        threading.Thread(target=ds.warm, name="warm-caches", daemon=True).start()
    return ds


def active() -> Dataset:
    """The active dataset version."""
    return registry().active()


def get(version_id: str | None) -> Dataset:
    """The dataset of ``version_id`` (the active one if unknown or None)."""
    return registry().get(version_id)
