"""What-if scenarios as the dashboard holds them, and their translation to :mod:`riskmodel.disruption` objects.

A *scenario* is a JSON-ready dict (it lives in ``dcc.Store`` s and in the saved-scenario list)::

    {"name": "...", "version": "<dataset version id>",
     "sites": [...ids], "countries": [...codes], "regions": [...names], "operators": [...names],
     "circle": {"lat": .., "lon": .., "km": ..} | None,
     "severity": 0-1, "start_day": int, "duration_weeks": float, "recovery": "step" | "linear",
     "horizon_weeks": float, "options": [...regionalization option ids in force]}

Every part of "what fails" becomes one :class:`riskmodel.disruption.Selector`; they share severity, start, duration
and recovery (the command line's ``--disrupt`` options do the same, so :func:`cli_command` gives the equivalent
``riskmodel simulate`` command). The simulation itself is :func:`riskmodel.simulate.simulate`; results are kept in a
small LRU cache keyed by dataset version and scenario, so comparing and exporting never run a scenario twice.
With regionalization ``options`` (``/what-if?options=...`` from the Regionalization page) the scenario runs on the
network with those options in force (:func:`riskmodel.regionalize.options_network`, kept per dataset version).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from riskmodel.disruption import Disruption, DisruptionError, Selector, select_sites

DEFAULTS = {"sites": [], "countries": [], "regions": [], "operators": [], "circle": None, "severity": 1.0,
            "start_day": 0, "duration_weeks": 12.0, "recovery": "step", "horizon_weeks": 52.0, "options": []}
_KEYS = tuple(DEFAULTS)
_CACHE_SIZE = 24
_cache: OrderedDict[str, tuple] = OrderedDict()
_cache_lock = threading.Lock()


def normalise(spec: dict | None) -> dict:
    """The scenario with defaults filled and lists sorted (two equal scenarios give the same dict).

    Examples
    --------
    >>> normalise({"countries": ["IND", "CHN"], "severity": "0.5"})["countries"]
    ['CHN', 'IND']
    """
    spec = dict(spec or {})
    out = {k: spec.get(k, v) if spec.get(k) is not None else v for k, v in DEFAULTS.items()}
    for k in ("sites", "countries", "regions", "operators", "options"):
        out[k] = sorted({str(v) for v in (out[k] or []) if str(v).strip()})
    c = out["circle"]
    if c is not None:
        try:
            c = {"lat": float(c["lat"]), "lon": float(c["lon"]), "km": float(c["km"])}
            if not all(np.isfinite(list(c.values()))):
                c = None
        except (KeyError, TypeError, ValueError):
            c = None
    out["circle"] = c
    for k in ("severity", "duration_weeks", "horizon_weeks"):
        try:
            out[k] = float(out[k])
        except (TypeError, ValueError):
            out[k] = DEFAULTS[k]
    try:
        out["start_day"] = int(float(out["start_day"]))
    except (TypeError, ValueError):
        out["start_day"] = 0
    out["recovery"] = out["recovery"] if out["recovery"] in ("step", "linear") else "step"
    return out


def key(spec: dict, version: str | int) -> str:
    """Cache key: the dataset version (its :attr:`dashboard.state.Dataset.cache_key`) and the normalised scenario
    (its name left out)."""
    return f"{version}|" + json.dumps(normalise(spec), sort_keys=True)


def selectors(spec: dict) -> list[Selector]:
    """One selector per part of "what fails" (sites, each country, region and operator, the circle)."""
    s = normalise(spec)
    out: list[Selector] = []
    if s["sites"]:
        out.append(Selector.sites(s["sites"]))
    out += [Selector("country", c) for c in s["countries"]]
    out += [Selector("region", r) for r in s["regions"]]
    out += [Selector("operator", o) for o in s["operators"]]
    if s["circle"]:
        c = s["circle"]
        out.append(Selector.circle(c["lat"], c["lon"], c["km"]))
    return out


def is_empty(spec: dict) -> bool:
    s = normalise(spec)
    return not (s["sites"] or s["countries"] or s["regions"] or s["operators"] or s["circle"])


def preview(net, spec: dict) -> tuple[list[str], list[str]]:
    """The supply sites a scenario takes (ids, network order) and a message per part that selects nothing.

    Examples
    --------
    >>> preview(net, {"countries": ["PRI"]})  # doctest: +SKIP
    (['RM-...', ...], [])
    """
    idx, problems = [], []
    for sel in selectors(spec):
        try:
            idx.append(select_sites(net, [sel]))
        except DisruptionError as exc:
            problems.append(str(exc))
    picked = np.unique(np.concatenate(idx)) if idx else np.zeros(0, np.int64)
    return net.site_ids[picked].tolist(), problems


def disruptions(spec: dict) -> list[Disruption]:
    """The :class:`~riskmodel.disruption.Disruption` list of a scenario (raises DisruptionError if invalid)."""
    s = normalise(spec)
    sels = selectors(s)
    if not sels:
        raise DisruptionError("choose what fails first: sites on the map, a country, a region, an operator or a "
                              "circle")
    return [Disruption(sel, duration_weeks=s["duration_weeks"], severity=s["severity"], start_day=s["start_day"],
                       recovery=s["recovery"]) for sel in sels]


@dataclass
class Run:
    """A simulated scenario: the result (:class:`riskmodel.simulate.SimulationResult`) and its server time."""

    spec: dict
    result: object
    seconds: float
    cached: bool = False


def run(ds, spec: dict) -> Run:
    """Simulate a scenario on a dataset version (cached: the same scenario on the same version runs once).

    Raises :class:`~riskmodel.disruption.DisruptionError` with a message for the user when it cannot run.

    Examples
    --------
    >>> r = run(ds, {"countries": ["IND"], "duration_weeks": 12})  # doctest: +SKIP
    >>> r.result.time_to_survive_days  # doctest: +SKIP
    30
    """
    from riskmodel.simulate import simulate

    k = key(spec, getattr(ds, "cache_key", ds.id))
    with _cache_lock:
        hit = _cache.get(k)
        if hit is not None:
            _cache.move_to_end(k)
            return Run(normalise(spec), hit[0], hit[1], cached=True)
    t0 = time.perf_counter()
    s = normalise(spec)
    result = simulate(network(ds, s["options"]), disruptions(s), s["horizon_weeks"])
    seconds = time.perf_counter() - t0
    with _cache_lock:
        _cache[k] = (result, seconds)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return Run(s, result, seconds)


def network(ds, options=()):
    """The dataset's network, or (with regionalization option ids) the network with those options in force.

    Raises :class:`~riskmodel.disruption.DisruptionError` for an unknown option id (a link from another version).
    """
    ids = tuple(sorted({str(o) for o in options or ()}))
    if not ids:
        return ds.network
    cache = ds.__dict__.setdefault("_options_networks", OrderedDict())
    if ids not in cache:
        from riskmodel.regionalize import options_network

        try:
            cache[ids] = options_network(ds.network, list(ids))
        except KeyError as exc:
            raise DisruptionError(f"{exc.args[0] if exc.args else exc} (a regionalization option of another dataset "
                                  "version?)") from exc
        while len(cache) > 8:
            cache.popitem(last=False)
    return cache[ids]


def summary(result) -> dict:
    """The key figures of a result, JSON-ready (what a saved scenario keeps)."""
    return {"time_to_survive_days": result.time_to_survive_days, "lost_units": result.lost_units,
            "markets_short": int(np.count_nonzero(result.market_first_shortfall >= 0)),
            "peak_shortfall_fraction": result.peak_shortfall_fraction, "days_in_shortage": result.days_in_shortage,
            "full_recovery_day": result.full_recovery_day, "disrupted_sites": len(result.disrupted_sites),
            "horizon_days": result.horizon_days}


def describe(spec: dict) -> str:
    """One line saying what fails and how (for labels and the compare view).

    Examples
    --------
    >>> describe({"countries": ["CHN"], "duration_weeks": 12})
    'country CHN · 100% lost for 12 weeks from day 0, step recovery'
    """
    s = normalise(spec)
    parts = []
    if s["sites"]:
        parts.append(f"{len(s['sites'])} site{'s' if len(s['sites']) > 1 else ''}" if len(s["sites"]) > 2
                     else "site " + ", ".join(s["sites"]))
    parts += [f"country {c}" for c in s["countries"]] + [f"region {r}" for r in s["regions"]]
    parts += [f"operator {o}" for o in s["operators"]]
    if s["circle"]:
        c = s["circle"]
        parts.append(f"circle {c['km']:g} km around ({c['lat']:.2f}, {c['lon']:.2f})")
    what = " + ".join(parts) or "nothing"
    with_options = f" · with option{'s' if len(s['options']) > 1 else ''} {', '.join(s['options'])}" \
        if s["options"] else ""
    return (f"{what} · {s['severity']:.0%} lost for {s['duration_weeks']:g} weeks from day {s['start_day']}, "
            f"{s['recovery']} recovery{with_options}")


def cli_command(spec: dict, data: str = "DATA") -> str:
    """The equivalent ``riskmodel simulate`` command (so a scenario can be rerun and scripted).

    Examples
    --------
    >>> cli_command({"countries": ["IND"], "duration_weeks": 12})
    'riskmodel simulate DATA --disrupt country:IND --weeks 12 --severity 1 --start-day 0 --recovery step --horizon-weeks 52 --json'
    """  # noqa: E501
    s = normalise(spec)  # regionalization options have no command-line form yet: see the page's note
    args = " ".join(f"--disrupt {_quote(sel.text)}" for sel in selectors(s))
    return (f"riskmodel simulate {data} {args} --weeks {s['duration_weeks']:g} --severity {s['severity']:g} "
            f"--start-day {s['start_day']} --recovery {s['recovery']} --horizon-weeks {s['horizon_weeks']:g} --json")


_LISTS = {"country": "countries", "region": "regions", "operator": "operators"}


def from_disruptions(disruptions: list[Disruption], horizon_weeks: float = DEFAULTS["horizon_weeks"]) -> dict:
    """The scenario of the command line's ``--disrupt`` options (the inverse of :func:`disruptions`).

    The disruptions share severity, start, duration and recovery (as :func:`disruptions_from_specs
    <riskmodel.disruption.disruptions_from_specs>` makes them). Raises
    :class:`~riskmodel.disruption.DisruptionError` for what a scenario cannot hold: a polygon, a second circle.

    Examples
    --------
    >>> from riskmodel.disruption import disruptions_from_specs
    >>> s = from_disruptions(disruptions_from_specs(["country:IND", "site:A,B"], weeks=4, severity=0.5))
    >>> s["countries"], s["sites"], s["duration_weeks"], s["severity"]
    (['IND'], ['A', 'B'], 4.0, 0.5)
    """
    if not disruptions:
        raise DisruptionError("choose what fails first")
    spec: dict = {"sites": [], "countries": [], "regions": [], "operators": [], "circle": None}
    for d in disruptions:
        sel = d.selector
        if sel.kind == "site":
            spec["sites"] += list(sel.value)
        elif sel.kind in _LISTS:
            spec[_LISTS[sel.kind]].append(str(sel.value))
        elif sel.kind == "circle" and spec["circle"] is None:
            lat, lon, km = sel.value
            spec["circle"] = {"lat": lat, "lon": lon, "km": km}
        else:
            what = "a second circle" if sel.kind == "circle" else "a polygon"
            raise DisruptionError(f"{sel.text!r}: a scenario of the dashboard cannot hold {what}; use `riskmodel "
                                  "simulate` for it")
    d = disruptions[0]
    spec.update(severity=d.severity, start_day=d.start_day, duration_weeks=d.duration_weeks,
                recovery=d.recovery, horizon_weeks=horizon_weeks)
    return normalise(spec)


def _quote(text: str) -> str:
    return f"'{text}'" if any(ch in text for ch in " ;&|$`\"'()<>") else text
