"""Probabilistic risk (PRODUCT.md section 3.3): simulated years of site, country and natural-hazard events.

This module owns the Monte Carlo analysis and its outputs:

* the **event model** (:class:`EventModel`, :func:`default_event_model`): site-level events (quality or regulatory
  shutdowns, fires and accidents) with each site's ``annual_disruption_prob``; country events (export restrictions,
  lockdowns) from ``data/hazards/country.csv``; regional natural hazards (hurricane-like circles around a sampled
  track point, earthquakes) from ``data/hazards/natural.csv``. Every default and its source is in docs/model.md,
  "Probabilistic risk".
* **sampling**: year ``y`` draws from its own streams, children of ``SeedSequence(seed)`` with spawn key ``(y, .)``
  (a ``Generator`` for natural hazards; a key hashed with each site's and country row's id for their events), so a
  run gives the same numbers however its years are cut into chunks and wherever the chunks run (threads here, or a
  Dask cluster), and a site's events do not depend on the other sites (common random numbers across variants).
* **losses**: each year with events is run through the daily model of :mod:`riskmodel.simulate` (its kernel,
  ``_run_scenario``): stock, surge, backups, lead times. Events that cannot interact are simulated apart, each group
  over the downstream cones of its sites only (exact, as in the time-to-survive analysis).
* **statistics** (:func:`loss_statistics`): expected annual loss, 95th percentile, CVaR95 and the probability of a
  loss, per market and in total, and each site's contribution to the expected loss.
* :func:`run_montecarlo` -> :class:`MonteCarloResult` (``to_json`` is the document of ``riskmodel montecarlo
  --json``), :func:`format_montecarlo` (a readable summary), :func:`year_disruptions` (one simulated year as
  what-if disruptions).

References: R. T. Rockafellar and S. Uryasev, "Conditional value-at-risk for general loss distributions", Journal of
Banking & Finance 26 (2002) 1443-1471 (CVaR); G. L. Steele, D. Lea and C. H. Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014 (splitmix64's mixing function); NOAA AOML hurricane return periods (the storm
probabilities, via REFERENCE-FACTS); numpy ``SeedSequence`` (independent streams by spawn key).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

from riskmodel import defaults
from riskmodel.countries import to_alpha3
from riskmodel.disruption import Disruption, Selector, geodesic_km
from riskmodel.network import SupplyNetwork
from riskmodel.paths import data_path
from riskmodel.simulate import (
    _add_frozen_suppliers,
    _close_downstream,
    _init_state,
    _new_state,
    _run_scenario,
    _threads,
    sim_arrays,
)

__all__ = [
    "CountryEvent",
    "EventModel",
    "Hazard",
    "MonteCarloError",
    "MonteCarloResult",
    "default_event_model",
    "format_montecarlo",
    "load_country_events",
    "load_hazards",
    "loss_statistics",
    "run_montecarlo",
    "year_disruptions",
]

#: days of a simulated year (events start on days 0-364)
YEAR_DAYS = 365
#: days simulated after the end of the last event and the longest lead-time path to a market (margin)
TAIL_DAYS = 8
#: the largest number of years x markets of the loss table (8 bytes each)
MAX_CELLS = 100_000_000
#: seconds to wait for a Dask scheduler to answer, and for its first worker
CONNECT_TIMEOUT = 10
#: the definitions of a contribution to the expected loss (``contributions=`` of :func:`run_montecarlo`)
CONTRIBUTION_METHODS = {
    "marginal": "expected annual loss that disappears when the site's own site-level events are removed from the "
                "years where it had one (those years re-simulated, every other event kept); overlapping events' "
                "contributions need not add up to the expected loss",
    "standalone": "expected annual loss of the site's own site-level events, each simulated alone from the normal "
                  "state (what it would cost if nothing else failed at the time)",
}
#: site-level event types and the labels of :attr:`MonteCarloResult.event_sources`
SITE_TYPES = (("quality", "Quality or regulatory shutdown"), ("accident", "Fire, flood or accident at a site"))
MANUFACTURING_KINDS = ("raw_material", "api", "cmo", "fill_finish", "packaging")
NATURAL_CSV = data_path("hazards", "natural.csv")
COUNTRY_CSV = data_path("hazards", "country.csv")


class MonteCarloError(ValueError):
    """A Monte Carlo run that cannot be made: bad number of years or seed, bad event table, unreachable cluster.

    The message is meant for people (the CLI prints it on one line and exits with 2).

    Examples
    --------
    >>> try:
    ...     loss_statistics(np.zeros(0))
    ... except MonteCarloError as exc:
    ...     print(exc)
    no simulated years
    """


# ------------------------------------------------------------------------------------------------ event model
@dataclass(frozen=True)
class CountryEvent:
    """A country-level event: an export restriction or a lockdown (a row of ``data/hazards/country.csv``).

    In a year it happens with probability ``annual_prob`` (at most once), starts on a uniform day, lasts a uniform
    whole number of days in ``duration_days`` and takes a uniform ``severity`` (capacity lost) from all the sites it
    hits: each supply site of the country of one of ``kinds`` (``scope="all"``), or only those with a customer in
    another country (``scope="exporters"``), each with probability ``site_share`` (one product of several).
    ``country="*"`` stands for every country without a row of the same ``type``.

    Examples
    --------
    >>> ev = CountryEvent("X", "export_ban", "Export ban", "IND", 0.05, "exporters", ("api",), 0.25, (1.0, 1.0),
    ...                   (60, 120))
    >>> ev.country, ev.site_share
    ('IND', 0.25)
    """

    event_id: str
    type: str
    label: str
    country: str
    annual_prob: float
    scope: str
    kinds: tuple[str, ...]
    site_share: float
    severity: tuple[float, float]
    duration_days: tuple[int, int]
    source: str = ""


@dataclass(frozen=True)
class Hazard:
    """A regional natural hazard zone (a row of ``data/hazards/natural.csv``): hurricanes, typhoons, earthquakes.

    Storms (or quakes) come as a Poisson process; each has a *track point* uniform (by area) in the disc of
    ``zone_km`` around the zone centre. The rate is calibrated so that the yearly chance of at least one track point
    within ``within_km`` of the centre is ``annual_prob`` (NOAA's "42% within 100 miles of San Juan"):
    ``rate = -ln(1 - annual_prob) * (zone_km / within_km)**2`` a year. A storm takes the supply sites within a
    radius uniform in ``hit_km`` of its track point, each with a severity falling linearly with the distance ``d``
    from ``severity[0]`` at the track point to ``severity[1]`` at the edge ``r`` (``s0 - (s0 - s1) * d / r``), from
    a start day uniform in ``season`` for a whole number of days uniform in ``duration_days``, with the given
    recovery profile (``linear``: capacity climbs back over the duration).

    Examples
    --------
    >>> h = Hazard("H", "cyclone", "Storm", 18.47, -66.11, 300.0, 0.42, 161.0, (20.0, 120.0), (1.0, 0.2),
    ...            (60, 120), (151, 333), "linear")
    >>> round(h.rate, 3)  # storms a year with a track point within 300 km
    1.891
    """

    hazard_id: str
    type: str
    label: str
    lat: float
    lon: float
    zone_km: float
    annual_prob: float
    within_km: float
    hit_km: tuple[float, float]
    severity: tuple[float, float]
    duration_days: tuple[int, int]
    season: tuple[int, int]
    recovery: str = "linear"
    source: str = ""

    @property
    def rate(self) -> float:
        """Expected number of track points a year in the zone disc."""
        return -math.log1p(-self.annual_prob) * (self.zone_km / self.within_km) ** 2


@dataclass(frozen=True)
class EventModel:
    """What can happen in a simulated year and how likely it is (section 3.3). Frozen: a model is a value.

    Site-level events: each supply site has at most one a year, with probability ``p_site`` from its
    ``annual_disruption_prob``. When ``site_prob_includes_shared`` (the default), that column is read as the site's
    *total* yearly chance of a disruption, shared events included: the site-level part is
    ``p_site = max(0, 1 - (1 - p) / (1 - h))`` with ``h`` the yearly chance that a country event or a natural hazard
    of this model hits the site (so the defaults' country factors, which stand for export bans and hurricanes, are
    not counted twice). An event of a site of ``quality_kinds`` is a quality or regulatory shutdown with
    probability ``quality_share``, else a fire, flood or accident. Durations are lognormal: ``median * exp(sigma *
    Z)`` days, rounded, between 1 and ``max_duration_days``; a quality shutdown's median is ``quality_median_days``,
    an accident's the site's own ``ttr_weeks`` (or ``accident_median_days`` when set). Severities (capacity lost)
    are uniform in the given ranges; recovery is a step. Start days are uniform over the year.

    Parameters are described in docs/model.md with their sources. ``country_events`` and ``hazards`` are the shared
    events (empty here; :func:`default_event_model` fills them from ``data/hazards/``).

    Examples
    --------
    >>> m = EventModel(quality_share=0.0, accident_median_days=30.0, accident_sigma=0.0)
    >>> m.accident_median_days, len(m.hazards)
    (30.0, 0)
    """

    site_events: bool = True
    site_prob_includes_shared: bool = True
    quality_kinds: tuple[str, ...] = MANUFACTURING_KINDS
    quality_share: float = 0.5
    quality_median_days: float = 364.0
    quality_sigma: float = 0.3
    quality_severity: tuple[float, float] = (1.0, 1.0)
    accident_median_days: float | None = None
    accident_sigma: float = 0.5
    accident_severity: tuple[float, float] = (0.5, 1.0)
    max_duration_days: int = 728
    country_events: tuple[CountryEvent, ...] = ()
    hazards: tuple[Hazard, ...] = ()

    def __post_init__(self):
        def number(v) -> float:
            try:
                x = float(v)
            except (TypeError, ValueError):
                return math.nan
            return x if not isinstance(v, bool) else math.nan

        def within(name, v, lo, hi):
            if not lo <= number(v) <= hi:  # NaN (not a number) fails too
                raise MonteCarloError(f"event model: {name} must be a number within {lo:g}-{hi:g}, got {v!r}")

        def prob(name, v):
            within(name, v, 0.0, 1.0)

        def rng(name, pair, lo=0.0, hi=1.0):
            ok = isinstance(pair, (tuple, list)) and len(pair) == 2 and lo <= number(pair[0]) <= number(pair[1]) <= hi
            if not ok:
                raise MonteCarloError(f"event model: {name} must be a range (low, high) within {lo:g}-{hi:g}, "
                                      f"got {pair!r}")

        prob("quality_share", self.quality_share)
        rng("quality_severity", self.quality_severity)
        rng("accident_severity", self.accident_severity)
        within("quality_median_days", self.quality_median_days, 1.0, 5 * YEAR_DAYS)
        within("quality_sigma", self.quality_sigma, 0.0, 5.0)
        within("accident_sigma", self.accident_sigma, 0.0, 5.0)
        if self.accident_median_days is not None:
            within("accident_median_days", self.accident_median_days, 1.0, 5 * YEAR_DAYS)
        within("max_duration_days", self.max_duration_days, 1, 5 * YEAR_DAYS)
        for ev in self.country_events:
            prob(f"country event {ev.event_id} annual_prob", ev.annual_prob)
            prob(f"country event {ev.event_id} site_share", ev.site_share)
            rng(f"country event {ev.event_id} severity", ev.severity)
            rng(f"country event {ev.event_id} duration_days", ev.duration_days, 1, self.max_duration_days)
            if ev.scope not in ("all", "exporters"):
                raise MonteCarloError(f"event model: country event {ev.event_id} scope must be all or exporters")
        for h in self.hazards:
            within(f"hazard {h.hazard_id} lat", h.lat, -90.0, 90.0)
            within(f"hazard {h.hazard_id} lon", h.lon, -180.0, 180.0)
            within(f"hazard {h.hazard_id} zone_km", h.zone_km, 0.001, 5000.0)
            if not 0.0 <= h.annual_prob < 1.0:
                raise MonteCarloError(f"event model: hazard {h.hazard_id} annual_prob must be in [0, 1)")
            if not 0.0 < h.within_km <= h.zone_km:
                raise MonteCarloError(f"event model: hazard {h.hazard_id} needs 0 < within_km <= zone_km")
            rng(f"hazard {h.hazard_id} hit_km", h.hit_km, 0.001, 5000.0)
            if not (0.0 <= h.severity[1] <= h.severity[0] <= 1.0):
                raise MonteCarloError(f"event model: hazard {h.hazard_id} severity must fall from the centre "
                                      "to the edge, within 0-1")
            rng(f"hazard {h.hazard_id} duration_days", h.duration_days, 1, self.max_duration_days)
            rng(f"hazard {h.hazard_id} season", h.season, 0, YEAR_DAYS - 1)
            if h.recovery not in ("step", "linear"):
                raise MonteCarloError(f"event model: hazard {h.hazard_id} recovery must be step or linear")

    def to_dict(self) -> dict:
        """The model as plain JSON types (recorded in :meth:`MonteCarloResult.to_json`)."""
        d = asdict(self)
        d["country_events"] = [{k: v for k, v in e.items() if k != "source"} for e in d["country_events"]]
        d["hazards"] = [{k: v for k, v in h.items() if k != "source"} for h in d["hazards"]]
        return _plain(d)


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def _read_table(path, columns: dict[str, type], what: str) -> list[dict]:
    """Rows of a small CSV table as dicts of typed values; errors name ``FILE:ROW:COLUMN``."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise MonteCarloError(f"{path}: cannot read the {what} table: {exc}") from exc
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise MonteCarloError(f"{path.name}:1:{missing[0]}: missing column of the {what} table")
    rows = []
    for i, rec in enumerate(raw.to_dict("records"), start=2):
        row = {}
        for col, kind in columns.items():
            text = str(rec[col]).strip()
            if kind is str:
                row[col] = text
                continue
            try:
                row[col] = kind(float(text)) if kind is int else float(text)
            except ValueError:
                raise MonteCarloError(f"{path.name}:{i}:{col}: expected a number, got {text!r}") from None
            if not math.isfinite(row[col]):
                raise MonteCarloError(f"{path.name}:{i}:{col}: expected a finite number, got {text!r}")
        row["_row"] = i
        rows.append(row)
    return rows


def load_hazards(path=None) -> tuple[Hazard, ...]:
    """The natural hazard zones of a CSV table (default ``data/hazards/natural.csv``; columns as :class:`Hazard`).

    Examples
    --------
    >>> zones = load_hazards()
    >>> zones[0].hazard_id, zones[0].annual_prob, zones[0].within_km
    ('HUR-PR', 0.42, 161.0)
    """
    path = NATURAL_CSV if path is None else path
    cols = {"hazard_id": str, "type": str, "label": str, "lat": float, "lon": float, "zone_km": float,
            "annual_prob": float, "within_km": float, "hit_km_min": float, "hit_km_max": float,
            "severity_centre": float, "severity_edge": float, "duration_days_min": int, "duration_days_max": int,
            "season_first_day": int, "season_last_day": int, "recovery": str, "source": str}
    out = []
    for r in _read_table(path, cols, "natural hazard"):
        try:
            out.append(Hazard(r["hazard_id"], r["type"], r["label"], r["lat"], r["lon"], r["zone_km"],
                              r["annual_prob"], r["within_km"], (r["hit_km_min"], r["hit_km_max"]),
                              (r["severity_centre"], r["severity_edge"]),
                              (r["duration_days_min"], r["duration_days_max"]),
                              (r["season_first_day"], r["season_last_day"]), r["recovery"], r["source"]))
            EventModel(hazards=(out[-1],))
        except MonteCarloError as exc:
            raise MonteCarloError(f"{Path(path).name}:{r['_row']}: {exc}") from None
    return tuple(out)


def load_country_events(path=None) -> tuple[CountryEvent, ...]:
    """The country events of a CSV table (default ``data/hazards/country.csv``; columns as :class:`CountryEvent`,
    ``kinds`` separated by spaces, the country in any spelling the importer accepts, or ``*``).

    Examples
    --------
    >>> rows = load_country_events()
    >>> rows[0].event_id, rows[0].country, rows[0].kinds
    ('EXP-IND', 'IND', ('raw_material', 'api'))
    """
    path = COUNTRY_CSV if path is None else path
    cols = {"event_id": str, "type": str, "label": str, "country": str, "annual_prob": float, "scope": str,
            "kinds": str, "site_share": float, "severity_min": float, "severity_max": float,
            "duration_days_min": int, "duration_days_max": int, "source": str}
    out = []
    for r in _read_table(path, cols, "country event"):
        country = "*" if r["country"] == "*" else to_alpha3(r["country"])
        if country is None:
            raise MonteCarloError(f"{Path(path).name}:{r['_row']}:country: unknown country {r['country']!r}: "
                                  "expected ISO 3166 alpha-2, alpha-3, an English name or *")
        if r["scope"] not in ("all", "exporters"):
            raise MonteCarloError(f"{Path(path).name}:{r['_row']}:scope: expected all or exporters, got "
                                  f"{r['scope']!r}")
        try:
            out.append(CountryEvent(r["event_id"], r["type"], r["label"], country, r["annual_prob"],
                                    r["scope"], tuple(r["kinds"].split()), r["site_share"],
                                    (r["severity_min"], r["severity_max"]),
                                    (r["duration_days_min"], r["duration_days_max"]), r["source"]))
            EventModel(country_events=(out[-1],))
        except MonteCarloError as exc:
            raise MonteCarloError(f"{Path(path).name}:{r['_row']}: {exc}") from None
    return tuple(out)


def default_event_model(net: SupplyNetwork | None = None) -> EventModel:
    """The default event model: site events as :class:`EventModel`'s defaults, the shipped country and hazard tables.

    With a network, the wildcard country rows (``country="*"``) become one row per country of its supply sites
    that has no row of that type of its own, so the model lists what can happen to this network.

    Examples
    --------
    >>> m = default_event_model()
    >>> sorted({h.type for h in m.hazards}), m.quality_median_days
    (['cyclone', 'earthquake'], 364.0)
    """
    rows = load_country_events()
    if net is not None:
        rows = _expand_countries(rows, _supply_countries(net))
    return EventModel(country_events=rows, hazards=load_hazards())


def _supply_countries(net: SupplyNetwork) -> list[str]:
    if "country" not in net.sites:
        return []
    c = net.sites["country"].where(net.sites["country"].notna(), "").astype(str).to_numpy()[~net.is_market]
    return sorted({x for x in c if x})


def _expand_countries(rows, countries) -> tuple[CountryEvent, ...]:
    own = {(r.type, r.country) for r in rows if r.country != "*"}
    out = [r for r in rows if r.country != "*"]
    for r in rows:
        if r.country == "*":
            out += [CountryEvent(r.event_id, r.type, r.label, c, r.annual_prob, r.scope, r.kinds, r.site_share,
                                 r.severity, r.duration_days, r.source) for c in countries if (r.type, c) not in own]
    return tuple(out)


# ------------------------------------------------------------------------------------------------ random numbers
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _mix(x):  # pragma: no cover - numba
    """splitmix64's finaliser (Steele, Lea, Flood 2014): a bijection of uint64 with full avalanche."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def _uniform(year_key, key, j):  # pragma: no cover - numba
    """Uniform in [0, 1) from a year's key, an entity's key and a draw number (53 random bits)."""
    h = _mix(year_key ^ _mix(key + np.uint64(j + 1) * np.uint64(0x9E3779B97F4A7C15)))
    return (h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def _keys(texts) -> np.ndarray:
    """Stable 64-bit keys of strings (blake2b; the same in every process, unlike ``hash``)."""
    return np.array([int.from_bytes(hashlib.blake2b(str(t).encode("utf-8"), digest_size=8).digest(), "little")
                     for t in texts], dtype=np.uint64)


@njit(cache=True)
def _site_events(year_keys, site_keys, p, quality_ok, acc_median, q_share, q_median, q_sigma, q_lo, q_hi,
                 a_sigma, a_lo, a_hi, max_dur):  # pragma: no cover - numba
    """Site-level events of each year: (year row, site, type 0/1, start, duration, severity)."""
    k = year_keys.size
    n = site_keys.size
    cnt = 0
    for y in range(k):
        for i in range(n):
            if p[i] > 0.0 and _uniform(year_keys[y], site_keys[i], 0) < p[i]:
                cnt += 1
    e_year = np.empty(cnt, np.int64)
    e_site = np.empty(cnt, np.int64)
    e_type = np.empty(cnt, np.int64)
    e_start = np.empty(cnt, np.int64)
    e_dur = np.empty(cnt, np.int64)
    e_sev = np.empty(cnt)
    c = 0
    for y in range(k):
        yk = year_keys[y]
        for i in range(n):
            if not (p[i] > 0.0 and _uniform(yk, site_keys[i], 0) < p[i]):
                continue
            sk = site_keys[i]
            quality = quality_ok[i] and _uniform(yk, sk, 1) < q_share
            u2 = _uniform(yk, sk, 2)
            u3 = _uniform(yk, sk, 3)
            z = math.sqrt(-2.0 * math.log(1.0 - u2)) * math.cos(2.0 * math.pi * u3)  # Box-Muller
            if quality:
                med, sig, lo, hi = q_median, q_sigma, q_lo, q_hi
            else:
                med, sig, lo, hi = acc_median[i], a_sigma, a_lo, a_hi
            d = int(med * math.exp(sig * z) + 0.5)  # rounded (positive)
            e_year[c] = y
            e_site[c] = i
            e_type[c] = 0 if quality else 1
            e_dur[c] = min(max(d, 1), max_dur)
            e_sev[c] = lo + (hi - lo) * _uniform(yk, sk, 4)
            e_start[c] = min(int(_uniform(yk, sk, 5) * 365.0), 364)
            c += 1
    return e_year, e_site, e_type, e_start, e_dur, e_sev


@njit(cache=True)
def _country_events(year_keys, c_keys, c_prob, c_share, c_sev_lo, c_sev_hi, c_dur_lo, c_dur_hi, c_ptr, c_sites,
                    site_keys):  # pragma: no cover - numba
    """Country events of each year: (year row, row, start, duration, severity) and the hit sites (CSR)."""
    k = year_keys.size
    r = c_keys.size
    n_ev = 0
    n_ent = 0
    for y in range(k):
        for j in range(r):
            if _uniform(year_keys[y], c_keys[j], 0) < c_prob[j]:
                n_ev += 1
                n_ent += c_ptr[j + 1] - c_ptr[j]
    e_year = np.empty(n_ev, np.int64)
    e_row = np.empty(n_ev, np.int64)
    e_start = np.empty(n_ev, np.int64)
    e_dur = np.empty(n_ev, np.int64)
    e_sev = np.empty(n_ev)
    e_ptr = np.zeros(n_ev + 1, np.int64)
    ent = np.empty(n_ent, np.int64)
    c = 0
    x = 0
    for y in range(k):
        yk = year_keys[y]
        for j in range(r):
            ck = c_keys[j]
            if not _uniform(yk, ck, 0) < c_prob[j]:
                continue
            e_year[c] = y
            e_row[c] = j
            e_start[c] = min(int(_uniform(yk, ck, 1) * 365.0), 364)
            span = c_dur_hi[j] - c_dur_lo[j] + 1
            e_dur[c] = c_dur_lo[j] + min(int(_uniform(yk, ck, 2) * span), span - 1)
            e_sev[c] = c_sev_lo[j] + (c_sev_hi[j] - c_sev_lo[j]) * _uniform(yk, ck, 3)
            yk2 = _mix(yk ^ ck)
            for t in range(c_ptr[j], c_ptr[j + 1]):
                v = c_sites[t]
                if _uniform(yk2, site_keys[v], 4) < c_share[j]:
                    ent[x] = v
                    x += 1
            c += 1
            e_ptr[c] = x
    return e_year, e_row, e_start, e_dur, e_sev, e_ptr, ent[:x]


# ------------------------------------------------------------------------------------------------ kernels
@njit(cache=True)
def _find(parent, a):  # pragma: no cover - numba
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@njit(cache=True)
def _union(parent, a, b):  # pragma: no cover - numba
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


@njit(cache=True)
def _meet(u, y, ov, spare, parent, stamp, owner, fstamp, fown):  # pragma: no cover - numba
    """Supplier ``u`` of a cone site of event ``ov``: join ``ov`` with the events that also hold ``u`` this year.

    ``u`` in another event's cone changes what ``ov``'s cone receives. ``u`` frozen for two events links them
    only through its spare capacity (extras are shared among the customers that ask); a frozen supplier without
    surge ships no extras, and its backup links each have their own capacity, so it links nobody.
    """
    if stamp[u] == y:
        _union(parent, ov, owner[u])
    elif spare[u]:
        if fstamp[u] == y:
            _union(parent, ov, fown[u])
        else:
            fstamp[u] = y
            fown[u] = ov


@njit(cache=True)
def _clusters(nw, year_ptr, ev_ptr, ent_site):  # pragma: no cover - numba
    """Group each year's events into clusters that cannot influence each other; root event per event.

    An event's simulation covers its downstream cone on active links plus the direct (active and backup) suppliers
    of the cone, frozen. Two events are joined (union-find) when their cones meet, when one's cone holds a direct
    supplier of the other's, or when they share a frozen supplier with spare capacity (see :func:`_meet`); events
    in different clusters then touch nothing the other could change, and simulating them apart gives exactly the
    joint result. Events of a year come sorted by start day. Also returns whether each event's cone (as far as it
    went before meeting an earlier event's) holds a market.
    """
    is_mkt, site_group_ptr, group_link_ptr, link_sup = nw[3], nw[4], nw[5], nw[6]
    spare = nw[2] > 0.0  # surge
    out_ptr, o_cust, b_sup, group_b_ptr, group_b = nw[12], nw[13], nw[17], nw[23], nw[24]
    n = is_mkt.size
    n_ev = ev_ptr.size - 1
    parent = np.arange(n_ev)
    market = np.zeros(n_ev, np.bool_)
    stamp = np.full(n, -1, np.int64)
    owner = np.zeros(n, np.int64)
    fstamp = np.full(n, -1, np.int64)
    fown = np.zeros(n, np.int64)
    members = np.empty(n, np.int64)
    for y in range(year_ptr.size - 1):
        cnt = 0
        for e in range(year_ptr[y], year_ptr[y + 1]):
            head = cnt
            for x in range(ev_ptr[e], ev_ptr[e + 1]):
                v = ent_site[x]
                if stamp[v] == y:
                    _union(parent, e, owner[v])
                else:
                    stamp[v] = y
                    owner[v] = e
                    members[cnt] = v
                    cnt += 1
            while head < cnt:
                u = members[head]
                head += 1
                if is_mkt[u]:
                    market[e] = True
                for j in range(out_ptr[u], out_ptr[u + 1]):
                    w = o_cust[j]
                    if stamp[w] == y:
                        _union(parent, e, owner[w])
                    else:
                        stamp[w] = y
                        owner[w] = e
                        members[cnt] = w
                        cnt += 1
        for i in range(cnt):
            v = members[i]
            ov = owner[v]
            for g in range(site_group_ptr[v], site_group_ptr[v + 1]):
                for e in range(group_link_ptr[g], group_link_ptr[g + 1]):
                    _meet(link_sup[e], y, ov, spare, parent, stamp, owner, fstamp, fown)
                for jb in range(group_b_ptr[g], group_b_ptr[g + 1]):
                    _meet(b_sup[group_b[jb]], y, ov, spare, parent, stamp, owner, fstamp, fown)
    roots = np.empty(n_ev, np.int64)
    for e in range(n_ev):
        roots[e] = _find(parent, e)
    return roots, market


@njit(cache=True, nogil=True)
def _event_batch(nw, sc_ptr, sc_ev, ev_ptr, ent_site, ent_sev, ev_start, ev_dur, ev_linear, horizons, stop_after,
                 rows, mcol, out):  # pragma: no cover - numba
    """Simulate scenarios of several events each over their downstream cones (the kernel of riskmodel.simulate).

    Scenario ``q`` holds the events ``sc_ev[sc_ptr[q]:sc_ptr[q + 1]]`` (in order of start day); event ``e`` takes
    the sites ``ent_site[ev_ptr[e]:ev_ptr[e + 1]]`` with severities ``ent_sev`` from ``ev_start[e]`` for
    ``ev_dur[e]`` days (step, or linear recovery). The scenario runs over the union of the events' downstream
    cones on active links, plus the cone sites' direct suppliers outside it, frozen (as in
    ``_single_site_batch``: everything else is unaffected and cannot reach a market of the cone). A backup link
    qualifies from the start of the earliest event whose cone holds its customer. ``horizons`` and ``stop_after``
    are days of the year; a scenario is run from the start of its first event (before it the network is in its
    steady state, which the simulation starts from). Returns the units lost per scenario; the per-market losses
    are added to ``out[rows[q]]`` when ``rows[q] >= 0``.
    """
    out_n, is_mkt, b_sup = nw[0], nw[3], nw[17]
    n = out_n.size
    k = sc_ptr.size - 1
    losts = np.zeros(k)
    state = _new_state(nw)
    flag = np.zeros(n, np.int8)
    qstart = np.zeros(n, np.int64)
    b_from = np.zeros(b_sup.size)
    m_ent = max(ent_site.size, 1)
    dis_head = np.full(n, -1, np.int64)
    d_next = np.full(m_ent, -1, np.int64)
    d_sev = np.zeros(m_ent)
    d_start = np.zeros(m_ent, np.int64)
    d_dur = np.zeros(m_ent, np.int64)
    d_lin = np.zeros(m_ent, np.bool_)
    dis = (dis_head, d_next, d_sev, d_start, d_dur, d_lin)
    hmax = 1
    for q in range(k):
        hmax = max(hmax, horizons[q])
    n_mk = out.shape[1]
    m_lost = np.zeros(n_mk)
    empty2 = np.zeros((0, 0))
    stats = (mcol, m_lost, np.full(n_mk, -1, np.int64), np.zeros(n_mk, np.int64), np.zeros(n_mk),
             np.full(n_mk, -1, np.int64), np.zeros(hmax), empty2, empty2, empty2, empty2)
    members = np.empty(n, np.int64)
    for q in range(k):
        cnt = 0
        ne = 0
        base = ev_start[sc_ev[sc_ptr[q]]]  # nothing happens before the first event: day 0 of the run is its start
        for i in range(sc_ptr[q], sc_ptr[q + 1]):
            e = sc_ev[i]
            s0 = ev_start[e] - base
            head = cnt
            for x in range(ev_ptr[e], ev_ptr[e + 1]):
                v = ent_site[x]
                d_sev[ne] = ent_sev[x]
                d_start[ne] = s0
                d_dur[ne] = ev_dur[e]
                d_lin[ne] = ev_linear[e]
                d_next[ne] = dis_head[v]
                dis_head[v] = ne
                ne += 1
                if flag[v] == 0:
                    flag[v] = 1
                    qstart[v] = s0
                    members[cnt] = v
                    cnt += 1
            # an earlier event's cone is closed downstream: stop at its sites
            cnt = _close_downstream(nw, members, head, cnt, flag, qstart, s0)
        n_cone = cnt
        cnt = _add_frozen_suppliers(nw, members, n_cone, flag, qstart, b_from)
        sites = np.sort(members[:cnt])
        _init_state(nw, sites, flag, state)
        _first, lost = _run_scenario(nw, sites, flag, dis, b_from, horizons[q] - base, state, stats, False,
                                     stop_after[q] - base)
        losts[q] = lost
        r = rows[q]
        for i in range(n_cone):
            v = members[i]
            if is_mkt[v]:
                m = mcol[v]
                if r >= 0:
                    out[r, m] += m_lost[m]
                m_lost[m] = 0.0
        for i in range(cnt):
            v = members[i]
            flag[v] = 0
            dis_head[v] = -1
    return losts


# ------------------------------------------------------------------------------------------------ context
@dataclass
class _Context:
    """Everything a chunk of years needs, as plain arrays (sent once to each Dask worker)."""

    seed: int
    nw: tuple
    mcol: np.ndarray
    n_markets: int
    max_depth: int
    site_keys: np.ndarray
    site_p: np.ndarray
    quality_ok: np.ndarray
    acc_median: np.ndarray
    site_params: tuple
    country: dict
    hazard: dict
    n_country: int
    n_hazard: int


def _lens_share(r: float, zone: float, dist: np.ndarray) -> np.ndarray:
    """Share of a disc of radius ``zone`` within ``r`` of points at ``dist`` from its centre (planar)."""
    d = np.asarray(dist, dtype=float)
    out = np.zeros_like(d)
    inside = d <= abs(zone - r)
    out[inside] = math.pi * min(r, zone) ** 2
    part = ~inside & (d < r + zone)
    if part.any():
        dd = d[part]
        a1 = np.clip((dd ** 2 + r ** 2 - zone ** 2) / (2 * dd * r), -1.0, 1.0)
        a2 = np.clip((dd ** 2 + zone ** 2 - r ** 2) / (2 * dd * zone), -1.0, 1.0)
        tri = np.sqrt(np.maximum((-dd + r + zone) * (dd + r - zone) * (dd - r + zone) * (dd + r + zone), 0.0))
        out[part] = r ** 2 * np.arccos(a1) + zone ** 2 * np.arccos(a2) - 0.5 * tri
    return out / (math.pi * zone ** 2)


def _hazard_hit_prob(h: Hazard, dist: np.ndarray) -> np.ndarray:
    """Yearly chance that zone ``h`` hits a site at ``dist`` km from its centre (planar, 32-point average over r)."""
    lo, hi = h.hit_km
    rs = lo + (hi - lo) * (np.arange(32) + 0.5) / 32
    q = np.mean([_lens_share(r, h.zone_km, dist) for r in rs], axis=0)
    return -np.expm1(-h.rate * q)


def _column(net: SupplyNetwork, name: str) -> np.ndarray:
    if name not in net.sites:
        return np.full(net.n_sites, "", dtype=object)
    return net.sites[name].where(net.sites[name].notna(), "").astype(str).to_numpy(dtype=object)


def _numbers(net: SupplyNetwork, name: str) -> np.ndarray:
    if name not in net.sites:
        return np.full(net.n_sites, np.nan)
    return pd.to_numeric(net.sites[name], errors="coerce").to_numpy(dtype=float)


@dataclass
class _Setup:
    """The client's side of a run: the context plus what the results need (site and event-source tables)."""

    ctx: _Context
    supply: np.ndarray
    shared_hit_prob: np.ndarray
    site_prob: np.ndarray
    sources: list  # (type, label) per event source: site types, country rows, hazards
    country_rows: tuple


def _setup(net: SupplyNetwork, model: EventModel, seed: int) -> _Setup:
    arr = sim_arrays(net)
    n = net.n_sites
    supply = ~net.is_market
    kinds = _column(net, "kind").astype(str)
    countries = _column(net, "country").astype(str)
    p = _numbers(net, "annual_disruption_prob")
    p = np.where(np.isfinite(p), p, defaults.annual_disruption_probs(kinds, countries))
    p = np.where(supply, np.clip(p, 0.0, 1.0), 0.0)
    lat, lon = _numbers(net, "lat"), _numbers(net, "lon")
    site_keys = _keys(net.site_ids)

    # country events: expanded rows and the sites each can hit
    rows = _expand_countries(model.country_events, _supply_countries(net))
    exporter = np.zeros(n, dtype=bool)
    if len(net.links):
        s = net.links["supplier"].to_numpy(np.int64)
        c = net.links["customer"].to_numpy(np.int64)
        exporter[s[countries[s] != countries[c]]] = True
    miss = np.ones(n)
    c_sites, c_ptr = [], [0]
    for r in rows:
        cand = supply & (countries == r.country) & np.isin(kinds, r.kinds)
        if r.scope == "exporters":
            cand &= exporter
        idx = np.flatnonzero(cand)
        c_sites.append(idx)
        c_ptr.append(c_ptr[-1] + len(idx))
        miss[idx] *= 1.0 - r.annual_prob * r.site_share
    country = {
        "keys": _keys([f"country:{r.event_id}:{r.type}:{r.country}" for r in rows]),
        "prob": np.array([r.annual_prob for r in rows], float),
        "share": np.array([r.site_share for r in rows], float),
        "sev_lo": np.array([r.severity[0] for r in rows], float),
        "sev_hi": np.array([r.severity[1] for r in rows], float),
        "dur_lo": np.array([r.duration_days[0] for r in rows], np.int64),
        "dur_hi": np.array([r.duration_days[1] for r in rows], np.int64),
        "ptr": np.array(c_ptr, np.int64),
        "sites": np.concatenate(c_sites).astype(np.int64) if c_sites else np.zeros(0, np.int64),
    }

    # natural hazards: the sites each zone can reach (track point within zone_km, site within hit_km of it)
    h_sites, h_ptr = [], [0]
    geo = supply & np.isfinite(lat) & np.isfinite(lon)
    for h in model.hazards:
        dist = np.full(n, np.inf)
        if geo.any():
            dist[geo] = geodesic_km(h.lat, h.lon, lat[geo], lon[geo])
        idx = np.flatnonzero(dist <= h.zone_km + h.hit_km[1])
        h_sites.append(idx)
        h_ptr.append(h_ptr[-1] + len(idx))
        miss[idx] *= 1.0 - _hazard_hit_prob(h, dist[idx])
    hz = model.hazards
    hazard = {
        "rate": np.array([h.rate for h in hz], float),
        "lat": np.array([h.lat for h in hz], float), "lon": np.array([h.lon for h in hz], float),
        "zone": np.array([h.zone_km for h in hz], float),
        "hit_lo": np.array([h.hit_km[0] for h in hz], float), "hit_hi": np.array([h.hit_km[1] for h in hz], float),
        "sev_c": np.array([h.severity[0] for h in hz], float), "sev_e": np.array([h.severity[1] for h in hz], float),
        "dur_lo": np.array([h.duration_days[0] for h in hz], np.int64),
        "dur_hi": np.array([h.duration_days[1] for h in hz], np.int64),
        "season_lo": np.array([h.season[0] for h in hz], np.int64),
        "season_hi": np.array([h.season[1] for h in hz], np.int64),
        "linear": np.array([h.recovery == "linear" for h in hz], bool),
        "ptr": np.array(h_ptr, np.int64),
        "sites": np.concatenate(h_sites).astype(np.int64) if h_sites else np.zeros(0, np.int64),
    }
    hazard["site_lat"] = lat[hazard["sites"]]
    hazard["site_lon"] = lon[hazard["sites"]]

    shared = 1.0 - miss
    if model.site_prob_includes_shared:
        with np.errstate(divide="ignore", invalid="ignore"):
            site_p = np.where(shared < 1.0, 1.0 - (1.0 - p) / np.maximum(1.0 - shared, 1e-300), 0.0)
        site_p = np.clip(site_p, 0.0, 1.0)
    else:
        site_p = p.copy()
    if not model.site_events:
        site_p[:] = 0.0
    acc = (np.full(n, float(model.accident_median_days)) if model.accident_median_days is not None
           else arr.ttr_days.astype(float))
    mcol = np.full(n, -1, np.int64)
    mcol[net.market_index] = np.arange(len(net.market_index))
    ctx = _Context(
        seed=int(seed), nw=arr.kernel_tuple(), mcol=mcol, n_markets=len(net.market_index),
        max_depth=int(arr.market_depth.max()) if n else 0, site_keys=site_keys, site_p=site_p,
        quality_ok=np.isin(kinds, model.quality_kinds), acc_median=acc,
        site_params=(float(model.quality_share), float(model.quality_median_days), float(model.quality_sigma),
                     float(model.quality_severity[0]), float(model.quality_severity[1]),
                     float(model.accident_sigma), float(model.accident_severity[0]),
                     float(model.accident_severity[1]), int(model.max_duration_days)),
        country=country, hazard=hazard, n_country=len(rows), n_hazard=len(hz))
    sources = list(SITE_TYPES)
    sources += [(r.type, r.label if r.country in r.label else f"{r.label} ({r.country})") for r in rows]
    sources += [(h.type, h.label) for h in hz]
    return _Setup(ctx=ctx, supply=supply, shared_hit_prob=shared, site_prob=p, sources=sources, country_rows=rows)


# ------------------------------------------------------------------------------------------------ one chunk
def _year_streams(seed: int, year: int) -> tuple[np.uint64, np.random.Generator]:
    """Year ``year``'s key (site and country draws) and generator (natural hazards): children ``(year, 1)`` and
    ``(year, 0)`` of ``SeedSequence(seed)``, i.e. ``SeedSequence(seed).spawn(n)[year].spawn(2)``."""
    key = np.random.SeedSequence(seed, spawn_key=(year, 1)).generate_state(1, np.uint64)[0]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(year, 0))))
    return key, rng


def _sample(ctx: _Context, lo: int, hi: int) -> dict:
    """The events of years ``lo..hi-1`` (rows ``0..hi-lo-1``), in a canonical order: by year, start day, then
    site events, country events, natural hazards in the order drawn. Each year's draws depend on the year only."""
    k = hi - lo
    year_keys = np.empty(k, np.uint64)
    hz = ctx.hazard
    has_cand = np.diff(hz["ptr"]) > 0
    s_row, s_zone, s_u = [], [], []  # storms of zones that can reach a site: year row, zone, 5 uniforms
    for i in range(k):
        year_keys[i], rng = _year_streams(ctx.seed, lo + i)
        if not ctx.n_hazard:
            continue
        counts = rng.poisson(hz["rate"])
        total = int(counts.sum())
        if not total:
            continue
        u = rng.random((total, 5))  # azimuth, distance, radius, start, duration of each storm, in zone order
        zone = np.repeat(np.arange(ctx.n_hazard), counts)
        keep = has_cand[zone]
        if keep.any():
            s_row.append(np.full(int(keep.sum()), i, np.int64))
            s_zone.append(zone[keep])
            s_u.append(u[keep])
    storms = None
    if s_row:
        storms = _storm_hits(hz, np.concatenate(s_row), np.concatenate(s_zone), np.concatenate(s_u))

    parts = []  # (year, source, site, start, dur, linear, entry counts, entry sites, entry severities)
    if ctx.site_p.any():
        y, s, t, st, du, sv = _site_events(year_keys, ctx.site_keys, ctx.site_p, ctx.quality_ok, ctx.acc_median,
                                           *ctx.site_params)
        parts.append((y, t, s, st, du, np.zeros(len(y), bool), np.ones(len(y), np.int64), s, sv))
    if ctx.n_country:
        c = ctx.country
        y, row, st, du, sv, ptr, ent = _country_events(year_keys, c["keys"], c["prob"], c["share"], c["sev_lo"],
                                                       c["sev_hi"], c["dur_lo"], c["dur_hi"], c["ptr"], c["sites"],
                                                       ctx.site_keys)
        cnt = np.diff(ptr)
        parts.append((y, 2 + row, np.full(len(y), -1), st, du, np.zeros(len(y), bool), cnt, ent, np.repeat(sv, cnt)))
    if storms is not None:
        row, zone, start, dur, cnt, ent, sev = storms
        parts.append((row, 2 + ctx.n_country + zone, np.full(len(row), -1), start, dur, hz["linear"][zone], cnt,
                      ent, sev))
    if not parts:
        parts.append((np.zeros(0, np.int64),) * 5 + (np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, np.int64),
                                                       np.zeros(0)))
    cols = [np.concatenate([p[j] for p in parts]) for j in range(9)]
    year, source, site, start, dur, linear, cnt, ent_site, ent_sev = cols
    keep = cnt > 0  # an event that picked no site (a country event of an empty share) is not an event
    first = np.zeros(len(cnt) + 1, np.int64)
    np.cumsum(cnt, out=first[1:])
    order = np.lexsort((np.arange(len(year)), start, year))
    order = order[keep[order]]
    cnt_o = cnt[order]
    ptr = np.zeros(len(order) + 1, np.int64)
    np.cumsum(cnt_o, out=ptr[1:])
    take = (np.repeat(first[order] - ptr[:-1], cnt_o) + np.arange(ptr[-1])).astype(np.int64)
    return {"year": year[order].astype(np.int64), "source": source[order].astype(np.int64),
            "site": site[order].astype(np.int64), "start": start[order].astype(np.int64),
            "dur": dur[order].astype(np.int64), "linear": linear[order].astype(np.bool_), "ptr": ptr,
            "ent_site": ent_site[take].astype(np.int64), "ent_sev": ent_sev[take].astype(np.float64)}


def _storm_hits(hz: dict, row: np.ndarray, zone: np.ndarray, u: np.ndarray):
    """Track points, radii, start days and durations of storms from their uniforms, and the sites they hit
    (geodesic distances from each track point to its zone's candidate sites, all storms in one call)."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    lon2, lat2, _ = geod.fwd(hz["lon"][zone], hz["lat"][zone], 360.0 * u[:, 0],
                             1000.0 * hz["zone"][zone] * np.sqrt(u[:, 1]))
    radius = hz["hit_lo"][zone] + (hz["hit_hi"][zone] - hz["hit_lo"][zone]) * u[:, 2]
    span_s = hz["season_hi"][zone] - hz["season_lo"][zone] + 1
    start = hz["season_lo"][zone] + np.minimum((u[:, 3] * span_s).astype(np.int64), span_s - 1)
    span_d = hz["dur_hi"][zone] - hz["dur_lo"][zone] + 1
    dur = hz["dur_lo"][zone] + np.minimum((u[:, 4] * span_d).astype(np.int64), span_d - 1)
    # pairs (storm, candidate site of its zone), grouped by storm
    first, n_cand = hz["ptr"][zone], hz["ptr"][zone + 1] - hz["ptr"][zone]
    storm = np.repeat(np.arange(len(zone)), n_cand)
    pos = np.repeat(first - np.cumsum(n_cand) + n_cand, n_cand) + np.arange(int(n_cand.sum()))
    _, _, metres = geod.inv(np.asarray(lon2)[storm], np.asarray(lat2)[storm], hz["site_lon"][pos],
                            hz["site_lat"][pos])
    d = np.asarray(metres) / 1000.0
    hit = d <= radius[storm]
    storm, pos, d = storm[hit], pos[hit], d[hit]
    sc, se = hz["sev_c"][zone][storm], hz["sev_e"][zone][storm]
    sev = sc - (sc - se) * d / radius[storm]
    cnt = np.bincount(storm, minlength=len(zone)).astype(np.int64)
    return row, zone, start, dur, cnt, hz["sites"][pos], sev


def _run_chunk(ctx: _Context, lo: int, hi: int, contributions: str | None) -> dict:
    """Sample and simulate years ``lo..hi-1``: per-year, per-market losses, and the events with their contribution.

    ``contributions``: ``"marginal"`` (the group's loss less the loss of the group without the event),
    ``"standalone"`` (the loss of the event simulated alone) or None. A pure function of ``(ctx, lo, hi)`` year by
    year: any cutting of the years into chunks gives the same rows.
    """
    k = hi - lo
    ev = _sample(ctx, lo, hi)
    n_ev = len(ev["year"])
    lost = np.zeros((k, ctx.n_markets))
    contrib = np.zeros(n_ev) if contributions else np.full(n_ev, np.nan)
    n_sc = n_extra = 0
    if n_ev:
        year_ptr = np.zeros(k + 1, np.int64)
        np.cumsum(np.bincount(ev["year"], minlength=k), out=year_ptr[1:])
        roots, market = _clusters(ctx.nw, year_ptr, ev["ptr"], ev["ent_site"])
        has_market = np.zeros(n_ev, bool)
        np.logical_or.at(has_market, roots, market)
        order = np.lexsort((np.arange(n_ev), roots))
        bounds = np.flatnonzero(np.r_[True, roots[order][1:] != roots[order][:-1], True])
        end = ev["start"] + ev["dur"]
        sc_ev, sc_ptr, rows, stops, owner = [], [0], [], [], []

        def add(events, row, who):
            sc_ev.append(events)
            sc_ptr.append(sc_ptr[-1] + len(events))
            rows.append(row)
            stops.append(end[events].max())
            owner.append(who)

        clusters = []
        for a, b in itertools.pairwise(bounds):
            members = order[a:b]
            if has_market[roots[members[0]]]:  # else no market in any cone: nothing is lost, with or without any
                clusters.append((len(rows), members))
                add(members, ev["year"][members[0]], -1)
        n_sc = len(rows)
        for _, members in clusters:
            if contributions and len(members) > 1:
                for e in members:
                    add(members[members != e] if contributions == "marginal" else members[members == e], -1, e)
        n_extra = len(rows) - n_sc
        if rows:
            stops = np.array(stops, np.int64)
            losts = _event_batch(ctx.nw, np.array(sc_ptr, np.int64), np.concatenate(sc_ev).astype(np.int64),
                                 ev["ptr"], ev["ent_site"], ev["ent_sev"], ev["start"], ev["dur"], ev["linear"],
                                 stops + ctx.max_depth + TAIL_DAYS, stops, np.array(rows, np.int64), ctx.mcol, lost)
            if contributions:
                base = np.zeros(n_ev)
                for q, members in clusters:
                    base[members] = losts[q]
                    if len(members) == 1:
                        contrib[members[0]] = losts[q]  # alone in its group: both methods give its group's loss
                owner = np.array(owner, np.int64)
                extra = np.flatnonzero(owner >= 0)
                if contributions == "marginal":
                    contrib[owner[extra]] = base[owner[extra]] - losts[extra]
                else:
                    contrib[owner[extra]] = losts[extra]
    sev_max = (np.maximum.reduceat(ev["ent_sev"], ev["ptr"][:-1]) if n_ev else np.zeros(0))
    return {"lo": lo, "hi": hi, "lost": lost, "year": ev["year"] + lo, "source": ev["source"], "site": ev["site"],
            "start": ev["start"], "dur": ev["dur"], "severity": sev_max, "n_sites": np.diff(ev["ptr"]),
            "contribution": contrib, "n_scenarios": n_sc, "n_contribution_scenarios": n_extra}


# ------------------------------------------------------------------------------------------------ statistics
def loss_statistics(losses) -> dict[str, np.ndarray | float]:
    """Expected loss, p95, CVaR95, probability of a loss and the largest loss of yearly losses (per column).

    Definitions, for ``N`` years with losses sorted ascending ``x_(1) <= ... <= x_(N)``:

    * ``expected_loss`` = the mean, ``sum(x) / N``;
    * ``p95`` = ``x_(ceil(0.95 N))``, the smallest loss that at least 95% of the years do not exceed (the lower 95%
      quantile, numpy's ``method="inverted_cdf"``);
    * ``cvar95`` = the mean of the worst ``k = ceil(0.05 N)`` years (at least one), ``x_(N-k+1) .. x_(N)``. When
      ``0.05 N`` is whole this is the conditional value-at-risk of Rockafellar and Uryasev (2002); for smaller or
      uneven ``N`` it is the mean of the worst 5% rounded up to whole years (``N = 1..20``: the worst year only;
      ``N = 200``: the worst 10). Since the worst ``k`` years are the ones above position ``ceil(0.95 N)``,
      ``p95 <= cvar95 <= max_loss`` (clipped to that range against floating-point rounding of the mean);
    * ``prob_loss`` = the share of years with a loss above 0;
    * ``max_loss`` = ``x_(N)``.

    Parameters
    ----------
    losses : array_like
        Yearly losses: shape ``(N,)`` or ``(N, columns)``.

    Returns
    -------
    dict
        ``expected_loss, p95, cvar95, prob_loss, max_loss``: floats for a 1-d input, arrays per column otherwise.

    Examples
    --------
    >>> s = loss_statistics([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 30])
    >>> {k: float(v) for k, v in s.items()}
    {'expected_loss': 2.0, 'p95': 10.0, 'cvar95': 30.0, 'prob_loss': 0.1, 'max_loss': 30.0}
    """
    x = np.asarray(losses, dtype=float)
    n = x.shape[0] if x.ndim else 0
    if n == 0:
        raise MonteCarloError("no simulated years")
    s = np.sort(x, axis=0)
    i95 = (95 * n + 99) // 100 - 1  # ceil(0.95 n) - 1, in whole numbers
    k = max(1, (5 * n + 99) // 100)  # ceil(0.05 n)
    p95 = s[i95]
    top = s[-1]
    cvar = np.clip(s[n - k:].mean(axis=0), p95, top)
    out = {"expected_loss": x.mean(axis=0), "p95": p95, "cvar95": cvar, "prob_loss": (x > 0).mean(axis=0),
           "max_loss": top}
    if x.ndim == 1:
        out = {key: float(v) for key, v in out.items()}
    return out


# ------------------------------------------------------------------------------------------------ results
@dataclass
class MonteCarloResult:
    """Outcome of :func:`run_montecarlo`.

    Attributes
    ----------
    years, seed : int
        Simulated years and the seed (section 7: every random result records its seed).
    market_ids, market_names : ndarray
        Markets, in the column order of :attr:`lost` (network order).
    weekly_demand : ndarray
        Weekly demand of each market.
    lost : ndarray
        Units lost per year (rows) and market (columns). Each event counts in the year it starts.
    total : ndarray
        Units lost per year, all markets.
    summary : pandas.DataFrame
        One row per market (in :attr:`market_ids` order) plus a last row ``market_id="ALL"`` (the total per year):
        ``market_id, name, weekly_demand, expected_loss, p95, cvar95, prob_loss, max_loss`` (see
        :func:`loss_statistics`) and ``expected_loss_days`` (expected loss in days of the market's demand).
    contributions : pandas.DataFrame
        One row per supply site, largest contribution first: ``site_id, name, kind, country, lat, lon,
        events_per_year`` (its site-level events a year), ``annual_prob`` (its ``annual_disruption_prob``),
        ``site_event_prob`` (the site-level part, shared events taken out), ``expected_loss_contribution`` and
        ``share_of_expected_loss`` (of the total expected loss). With :attr:`contributions_method`
        ``"marginal"`` the contribution is the expected annual loss that disappears when the site's own site-level
        events are removed, everything else kept; with ``"standalone"`` the expected annual loss of its site-level
        events simulated alone; NaN when run without contributions.
    event_sources : pandas.DataFrame
        The same by event source (site event types, each country event, each hazard zone): ``type, label,
        events_per_year, expected_loss_contribution, share_of_expected_loss``.
    model : EventModel
        The event model of the run.
    scheduler : str or None
        The Dask scheduler's address, or None for a run on this machine.
    elapsed_s : float
        Wall time of the run.
    contributions_method : str or None
        ``"marginal"``, ``"standalone"`` or None (see :func:`run_montecarlo`).
    n_scenarios, n_contribution_scenarios : int
        Simulated groups of events (one per group of interacting events in a year) and the extra simulations of
        the contributions (per event of a group of several: the group without it, or the event alone).
    """

    years: int
    seed: int
    market_ids: np.ndarray
    market_names: np.ndarray
    weekly_demand: np.ndarray
    lost: np.ndarray
    total: np.ndarray
    summary: pd.DataFrame
    contributions: pd.DataFrame
    event_sources: pd.DataFrame
    model: EventModel
    scheduler: str | None
    elapsed_s: float
    contributions_method: str | None
    n_scenarios: int
    n_contribution_scenarios: int
    _raw_events: dict = field(repr=False)
    _site_ids: np.ndarray = field(repr=False)
    _sources: list = field(repr=False)

    @cached_property
    def events(self) -> pd.DataFrame:
        """The sampled events that hit at least one site: ``year, type, label, site_id`` (site-level events; empty
        for shared events), ``start_day, duration_days, severity`` (the largest over its sites), ``n_sites`` and
        ``contribution``: units of its year's loss that disappear without it (``"marginal"``), or that it loses
        alone (``"standalone"``); NaN without contributions."""
        ev = self._raw_events
        src = ev["source"]
        types = np.array([t for t, _ in self._sources], dtype=object)
        labels = np.array([lab for _, lab in self._sources], dtype=object)
        site = ev["site"]
        ids = np.where(site >= 0, self._site_ids[np.maximum(site, 0)] if len(self._site_ids) else "", "")
        return pd.DataFrame({
            "year": ev["year"], "type": pd.Categorical(types[src]), "label": pd.Categorical(labels[src]),
            "site_id": ids.astype(object), "start_day": ev["start"], "duration_days": ev["dur"],
            "severity": ev["severity"], "n_sites": ev["n_sites"], "contribution": ev["contribution"]})

    @property
    def expected_loss(self) -> float:
        """Expected (mean) annual loss, all markets."""
        return float(self.total.mean())

    def to_json(self) -> dict:
        """The document of ``riskmodel montecarlo --json`` (PRODUCT.md section 4).

        ``{"years", "seed", "scheduler", "method", "events_per_year", "total": {"weekly_demand", "expected_loss",
        "p95", "cvar95", "prob_loss", "max_loss"}, "markets": [{"market_id", "name", ...the same}] (largest expected
        loss first), "site_contributions": [{"site_id", "name", "kind", "country", "events_per_year",
        "expected_loss_contribution", "share_of_expected_loss"}] (sites with site-level events, largest first),
        "contributions_sum", "contributions_method", "contributions_definition", "event_sources": [...],
        "total_lost_by_year": [...],
        "event_model": {...}}``. The same seed and years give the same document (timings are not in it).
        """
        def num(v):
            v = float(v)
            return v if math.isfinite(v) else None

        stats = ("weekly_demand", "expected_loss", "p95", "cvar95", "prob_loss", "max_loss")
        summ = self.summary
        markets = summ[summ["market_id"] != "ALL"].sort_values(["expected_loss", "market_id"],
                                                                ascending=[False, True], kind="stable")
        total = summ[summ["market_id"] == "ALL"].iloc[0]
        contrib = self.contributions[self.contributions["events_per_year"] > 0]
        csum = self.contributions["expected_loss_contribution"].sum(min_count=1)
        return {
            "years": self.years,
            "seed": self.seed,
            "scheduler": self.scheduler,
            "method": "years simulated day by day (the what-if model) with sampled site, country and natural-hazard "
                      "events; each event counts in the year it starts; p95 = smallest loss not exceeded in 95% of "
                      "years, cvar95 = mean of the worst ceil(5%) years",
            "events_per_year": len(self._raw_events["year"]) / self.years,
            "total": {k: num(total[k]) for k in stats},
            "markets": [{"market_id": str(r["market_id"]), "name": str(r["name"]), **{k: num(r[k]) for k in stats}}
                        for r in markets.to_dict("records")],
            "site_contributions": [
                {"site_id": r["site_id"], "name": r["name"], "kind": r["kind"], "country": r["country"],
                 "events_per_year": num(r["events_per_year"]),
                 "expected_loss_contribution": num(r["expected_loss_contribution"]),
                 "share_of_expected_loss": num(r["share_of_expected_loss"])} for r in contrib.to_dict("records")],
            "contributions_sum": num(csum) if csum == csum else None,
            "contributions_method": self.contributions_method,
            "contributions_definition": CONTRIBUTION_METHODS.get(self.contributions_method),
            "event_sources": [{"type": r["type"], "label": r["label"],
                               "events_per_year": num(r["events_per_year"]),
                               "expected_loss_contribution": num(r["expected_loss_contribution"]),
                               "share_of_expected_loss": num(r["share_of_expected_loss"])}
                              for r in self.event_sources.to_dict("records")],
            "total_lost_by_year": [float(v) for v in self.total],
            "event_model": self.model.to_dict(),
        }


def _summary(market_ids, names, weekly, lost, total) -> pd.DataFrame:
    per = loss_statistics(lost) if lost.shape[1] else None
    tot = loss_statistics(total)
    rows = {"market_id": list(market_ids) + ["ALL"], "name": list(names) + ["All markets"],
            "weekly_demand": np.append(weekly, weekly.sum())}
    for key in ("expected_loss", "p95", "cvar95", "prob_loss", "max_loss"):
        rows[key] = np.append(per[key] if per is not None else np.zeros(0), tot[key])
    table = pd.DataFrame(rows)
    daily = table["weekly_demand"].to_numpy() / 7.0
    table["expected_loss_days"] = np.divide(table["expected_loss"].to_numpy(), daily, out=np.zeros(len(table)),
                                            where=daily > 0)
    return table


# ------------------------------------------------------------------------------------------------ running
def _check_years(years) -> int:
    if isinstance(years, bool) or not isinstance(years, (int, np.integer)):
        raise MonteCarloError(f"years must be a whole number, got {years!r}")
    if not 1 <= int(years) <= 10_000_000:
        raise MonteCarloError(f"years must be between 1 and 10,000,000, got {years}")
    return int(years)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MonteCarloError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def _chunk_bounds(years: int, chunk_years: int | None, workers: int) -> list[tuple[int, int]]:
    size = chunk_years or max(1, min(500, -(-years // (16 * max(1, workers)))))
    if size < 1:
        raise MonteCarloError(f"chunk_years must be at least 1, got {chunk_years}")
    return [(lo, min(lo + size, years)) for lo in range(0, years, size)]


def _run_local(ctx, bounds, contributions, progress, workers) -> list[dict]:
    total = bounds[-1][1]
    results: list = [None] * len(bounds)
    done = 0
    if workers <= 1 or len(bounds) == 1:
        for i, (lo, hi) in enumerate(bounds):
            results[i] = _run_chunk(ctx, lo, hi, contributions)
            done += hi - lo
            if progress is not None:
                progress(done, total)
        return results
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_chunk, ctx, lo, hi, contributions): i for i, (lo, hi) in enumerate(bounds)}
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                done += bounds[i][1] - bounds[i][0]
                if progress is not None:
                    progress(done, total)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return results


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def _check_address(address) -> str:
    """A Dask scheduler address, checked and probed with a plain TCP connection (so an unreachable address fails
    fast and cleanly, before a Dask client exists)."""
    import socket
    from urllib.parse import urlsplit

    text = address.strip() if isinstance(address, str) else ""
    if not text:
        raise MonteCarloError(f"scheduler address must be like tcp://HOST:PORT, got {address!r}")
    if "://" not in text:
        text = "tcp://" + text
    parts = urlsplit(text)
    if parts.scheme == "inproc":  # a cluster in this very process (tests, notebooks)
        return text
    if parts.scheme not in ("tcp", "tls", "ws", "wss"):
        raise MonteCarloError(f"scheduler address {address!r}: expected tcp://HOST:PORT (or tls://, ws://, wss://)")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None or parts.path not in ("", "/"):
        raise MonteCarloError(f"scheduler address {address!r}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise MonteCarloError(f"cannot reach the Dask scheduler at {text}: {reason}") from None
    return text


def _run_dask(address: str, ctx, bounds, contributions, progress) -> list[dict]:
    """Run the chunks on the Dask cluster at ``address``; the context travels once to each worker."""
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - a dependency of riskmodel
        raise MonteCarloError("a Dask scheduler needs the dask.distributed package: pip install "
                              "'dask[distributed]'") from exc
    address = _check_address(address)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # any failure to connect: one message for the user
        raise MonteCarloError(f"cannot reach the Dask scheduler at {address}: {_one_line(exc)}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except Exception:
            raise MonteCarloError(f"the Dask scheduler at {address} has no workers") from None
        total = bounds[-1][1]
        results: list = [None] * len(bounds)

        def failed(exc: Exception) -> MonteCarloError:  # a worker's failure (or a lost cluster), in one line
            return MonteCarloError(f"the run on the Dask cluster at {address} failed: {_one_line(exc)}")

        try:
            [shared] = client.scatter([ctx], broadcast=True, hash=False)
            futures = [client.submit(_run_chunk, shared, lo, hi, contributions, pure=False) for lo, hi in bounds]
            finished = dask_completed(futures, loop=client.loop)
        except Exception as exc:
            raise failed(exc) from exc
        index = {f.key: i for i, f in enumerate(futures)}
        done = 0
        chunks = iter(finished)
        while True:
            try:
                fut = next(chunks)
                i = index[fut.key]
                results[i] = fut.result()
            except StopIteration:
                break
            except Exception as exc:
                raise failed(exc) from exc
            done += bounds[i][1] - bounds[i][0]
            if progress is not None:  # outside the try: the caller's own exceptions pass unchanged
                progress(done, total)
        return results
    finally:
        client.close()


def run_montecarlo(net: SupplyNetwork, years: int, *, seed: int = 0, model: EventModel | None = None,
                   scheduler: str | None = None, progress: Callable[[int, int], object] | None = None,
                   contributions: bool | str = True, chunk_years: int | None = None,
                   workers: int | None = None) -> MonteCarloResult:
    """Simulate ``years`` independent years of events and their losses (PRODUCT.md section 3.3).

    Each year draws its events (:class:`EventModel`) from its own random stream, so the results depend only on
    ``(net, model, seed, years)``: not on ``chunk_years``, ``workers`` or ``scheduler``. A year's events are cut
    into groups that cannot influence each other; each group runs through the daily model of
    :mod:`riskmodel.simulate` over the downstream cones of its sites, from the first day of the year until its last
    event is over and every pipeline is back to normal (the tail runs into the next year: each event counts in the
    year it starts, and each year starts from the normal state). Years without events lose nothing.

    Parameters
    ----------
    net : SupplyNetwork
        A validated network.
    years : int
        Number of simulated years (1-10,000,000).
    seed : int
        Seed of the run (>= 0); recorded in the result.
    model : EventModel, optional
        Default: :func:`default_event_model` of ``net``.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:PORT``): the chunks of years run on its workers (which need
        riskmodel installed). Default: this machine's cores (threads).
    progress : callable, optional
        ``progress(done_years, total_years)``, called from the calling thread after each chunk (and with 0 at
        the start). It may raise to stop the run (chunks not started are cancelled).
    contributions : bool or {"marginal", "standalone"}
        Each site's (and each event source's) contribution to the expected loss. ``True`` or ``"standalone"``
        (default): the expected loss of its site events each simulated alone (one small simulation per event;
        never negative). ``"marginal"``: the expected loss that disappears when the site's own site-level events
        are removed, all else kept; each event that shares its group of interacting events with others costs one
        more simulation of the group without it, so the cost grows with the square of the events of a group (cheap
        for hundreds of sites, heavy when a year's events all meet at shared hubs, as in generated networks of
        10,000 sites).
        ``False``: none.
    chunk_years : int, optional
        Years per chunk (default: about 16 chunks per worker thread, at most 500 years each).
    workers : int, optional
        Threads on this machine (default: the number of cores, at most 8).

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    MonteCarloError
        Bad years, seed or chunk size, a bad event model, an unreachable scheduler or a failed worker.

    Examples
    --------
    >>> res = run_montecarlo(load_network("data/sample"), 1000, seed=1)  # doctest: +SKIP
    >>> res.summary.set_index("market_id").loc["ALL", ["expected_loss", "p95", "cvar95"]]  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    years = _check_years(years)
    seed = _check_seed(seed)
    if not isinstance(net, SupplyNetwork):
        raise MonteCarloError(f"expected a SupplyNetwork, got {type(net).__name__}")
    model = default_event_model(net) if model is None else model
    if not isinstance(model, EventModel):
        raise MonteCarloError(f"model must be an EventModel, got {type(model).__name__}")
    n_markets = len(net.market_index)
    if years * max(n_markets, 1) > MAX_CELLS:
        raise MonteCarloError(f"{years:,} years x {n_markets:,} markets is too large a loss table "
                              f"({years * n_markets * 8 / 1e9:.1f} GB); simulate fewer years")
    workers = _threads() if workers is None else int(workers)
    if workers < 1:
        raise MonteCarloError(f"workers must be at least 1, got {workers}")
    if chunk_years is not None and (isinstance(chunk_years, bool) or int(chunk_years) < 1):
        raise MonteCarloError(f"chunk_years must be at least 1, got {chunk_years!r}")
    method = _contribution_method(contributions)
    setup = _setup(net, model, seed)
    bounds = _chunk_bounds(years, chunk_years, workers)
    if progress is not None:
        progress(0, years)
    if scheduler is not None:
        parts = _run_dask(scheduler, setup.ctx, bounds, method, progress)
    else:
        parts = _run_local(setup.ctx, bounds, method, progress, workers)
    return _assemble(net, setup, model, seed, years, parts, scheduler, method, time.perf_counter() - t0)


def _contribution_method(contributions) -> str | None:
    if contributions is True:
        return "standalone"
    if contributions is False or contributions is None:
        return None
    if contributions in CONTRIBUTION_METHODS:
        return contributions
    raise MonteCarloError(f"contributions must be True, False, 'marginal' or 'standalone', got {contributions!r}")


def _assemble(net, setup: _Setup, model, seed, years, parts, scheduler, contributions, elapsed) -> MonteCarloResult:
    markets = net.market_index
    lost = np.vstack([p["lost"] for p in parts]) if parts else np.zeros((0, len(markets)))
    total = lost.sum(axis=1)
    keys = ("year", "source", "site", "start", "dur", "severity", "n_sites", "contribution")
    events = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    names = _column(net, "name")
    names = np.where(names == "", net.site_ids, names)
    weekly = net.demand[markets].astype(float)
    summary = _summary(net.site_ids[markets], names[markets], weekly, lost, total)
    expected = float(total.mean())

    def share(x):
        return np.divide(x, expected, out=np.zeros_like(x), where=expected > 0) if contributions else x * np.nan

    n = net.n_sites
    is_site_event = events["source"] < len(SITE_TYPES)
    site = events["site"][is_site_event]
    marg = events["contribution"][is_site_event]
    per_year = np.bincount(site, minlength=n) / years
    contrib = (np.bincount(site, weights=marg, minlength=n) / years if contributions else np.full(n, np.nan))
    idx = np.flatnonzero(setup.supply)
    table = pd.DataFrame({
        "site_id": net.site_ids[idx], "name": names[idx], "kind": _column(net, "kind")[idx],
        "country": _column(net, "country")[idx], "lat": _numbers(net, "lat")[idx],
        "lon": _numbers(net, "lon")[idx], "events_per_year": per_year[idx],
        "annual_prob": setup.site_prob[idx], "site_event_prob": setup.ctx.site_p[idx],
        "expected_loss_contribution": contrib[idx], "share_of_expected_loss": share(contrib[idx])})
    table = table.sort_values(["expected_loss_contribution", "events_per_year", "site_id"],
                              ascending=[False, False, True], kind="stable", na_position="last")
    n_src = len(setup.sources)
    src_count = np.bincount(events["source"], minlength=n_src) / years
    src_loss = (np.bincount(events["source"], weights=events["contribution"], minlength=n_src) / years
                if contributions else np.full(n_src, np.nan))
    sources = pd.DataFrame({"type": [t for t, _ in setup.sources], "label": [lab for _, lab in setup.sources],
                            "events_per_year": src_count, "expected_loss_contribution": src_loss,
                            "share_of_expected_loss": share(src_loss)})
    sources = sources.sort_values(["expected_loss_contribution", "events_per_year"], ascending=[False, False],
                                  kind="stable", na_position="last")
    return MonteCarloResult(
        years=years, seed=seed, market_ids=net.site_ids[markets], market_names=names[markets],
        weekly_demand=weekly, lost=lost, total=total, summary=summary,
        contributions=table.reset_index(drop=True), event_sources=sources.reset_index(drop=True), model=model,
        scheduler=scheduler, elapsed_s=elapsed, contributions_method=contributions,
        n_scenarios=sum(p["n_scenarios"] for p in parts),
        n_contribution_scenarios=sum(p["n_contribution_scenarios"] for p in parts), _raw_events=events,
        _site_ids=net.site_ids, _sources=setup.sources)


def year_disruptions(net: SupplyNetwork, year: int, *, seed: int = 0,
                     model: EventModel | None = None) -> list[Disruption]:
    """The events of one simulated year as what-if disruptions (for :func:`riskmodel.simulate.simulate`).

    One :class:`~riskmodel.disruption.Disruption` per event and severity (a hurricane's sites have severities by
    distance), with the event's start day, duration and recovery. Simulating them reproduces the year's losses of
    :func:`run_montecarlo` with the same seed and model, except that a what-if qualifies every backup link from
    its earliest disruption, where the Monte Carlo counts from the earliest event whose downstream cone holds the
    backup's customer (the same when the year has one event, or no backups are involved).

    Examples
    --------
    >>> [d.to_dict() for d in year_disruptions(net, 17, seed=1)]  # doctest: +SKIP
    [{'spec': 'site:API-HEP-CHANGZHOU-CN', 'severity': 1.0, 'start_day': 211, 'duration_days': 301, ...}]
    """
    seed = _check_seed(seed)
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or year < 0:
        raise MonteCarloError(f"year must be a whole number >= 0, got {year!r}")
    model = default_event_model(net) if model is None else model
    ctx = _setup(net, model, seed).ctx
    ev = _sample(ctx, int(year), int(year) + 1)
    out = []
    for e in range(len(ev["year"])):
        a, b = ev["ptr"][e], ev["ptr"][e + 1]
        sites, sev = ev["ent_site"][a:b], ev["ent_sev"][a:b]
        for s in np.unique(sev):
            ids = net.site_ids[sites[sev == s]]
            out.append(Disruption(Selector.sites(ids), duration_weeks=ev["dur"][e] / 7.0, severity=float(s),
                                  start_day=int(ev["start"][e]), recovery="linear" if ev["linear"][e] else "step"))
    return out


def format_montecarlo(result: MonteCarloResult | dict, top: int = 15) -> str:
    """A readable summary of a run (a :class:`MonteCarloResult` or the dict of :meth:`MonteCarloResult.to_json`).

    Examples
    --------
    >>> print(format_montecarlo(run_montecarlo(net, 1000, seed=1)))  # doctest: +SKIP
    Monte Carlo: 1,000 simulated years, seed 1, 9.8 events a year
    All markets: expected annual loss 123,456 units; p95 ...; CVaR95 ...
    ...
    """
    doc = result.to_json() if isinstance(result, MonteCarloResult) else result

    def f(v):
        return "-" if v is None else f"{v:,.0f}"

    t = doc["total"]
    lines = [f"Monte Carlo: {doc['years']:,} simulated years, seed {doc['seed']}, "
             f"{doc['events_per_year']:.1f} events a year" + (f", on {doc['scheduler']}" if doc["scheduler"] else ""),
             f"All markets: expected annual loss {f(t['expected_loss'])} units; p95 {f(t['p95'])}; CVaR95 "
             f"{f(t['cvar95'])}; worst year {f(t['max_loss'])}; a loss in {100 * t['prob_loss']:.1f}% of years",
             ""]

    def table(head, rows, left):
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        return ["  " + "  ".join(c.ljust(w) if i < left else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in [head, *rows]]

    mk = [m for m in doc["markets"] if (m["expected_loss"] or 0) > 0]
    if mk:
        lines.append(f"Markets with an expected loss ({len(mk)} of {len(doc['markets'])}), largest first:")
        lines += table(("market", "weekly demand", "expected", "p95", "CVaR95", "P(loss)"),
                       [(m["market_id"], f(m["weekly_demand"]), f(m["expected_loss"]), f(m["p95"]), f(m["cvar95"]),
                         f"{100 * m['prob_loss']:.1f}%") for m in mk[:top]], 1)
        if len(mk) > top:
            lines.append(f"  ... and {len(mk) - top} more")
    else:
        lines.append("No market lost anything in the simulated years.")
    sc = [s for s in doc["site_contributions"] if s["expected_loss_contribution"]]
    if sc:
        how = ("its own site events simulated alone" if doc.get("contributions_method") == "standalone"
               else "what disappears without its own site events")
        lines += ["", f"Site contributions to the expected loss ({how}), largest first:"]
        lines += table(("site", "kind", "country", "events/yr", "contribution", "share"),
                       [(s["site_id"], s["kind"], s["country"], f"{s['events_per_year']:.3f}",
                         f(s["expected_loss_contribution"]), f"{100 * (s['share_of_expected_loss'] or 0):.1f}%")
                        for s in sc[:top]], 3)
        if doc.get("contributions_sum") is not None:
            lines.append(f"  sum of all site contributions {f(doc['contributions_sum'])} of an expected loss of "
                         f"{f(t['expected_loss'])} (the rest comes from shared events, and overlaps)")
    src = [s for s in doc["event_sources"] if s["events_per_year"]]
    if src:
        lines += ["", "By event source:"]
        lines += table(("source", "events/yr", "contribution"),
                       [(s["label"], f"{s['events_per_year']:.3f}", f(s["expected_loss_contribution"]))
                        for s in src[:top]], 1)
    return "\n".join(lines)
