"""What fails in a what-if (PRODUCT.md section 3.2): selection of disrupted sites and disruption profiles.

This module owns:

* :class:`Selector` - which sites a disruption takes: by site id, operator, country (any spelling the importer
  accepts), region, a circle (centre and radius in km, geodesic distance on the WGS84 ellipsoid, vectorised with
  :class:`pyproj.Geod`) or a polygon (GeoJSON, read with geopandas/shapely). :func:`parse_disrupt_spec` reads the
  command-line form ``site:ID``, ``operator:NAME``, ``country:CODE``, ``region:NAME``, ``circle:LAT,LON,KM`` and
  ``polygon:FILE.geojson``.
* :class:`Disruption` - a selector with its severity (capacity lost, 0-1), start day, duration and recovery profile
  (``step``: capacity comes back at once at the end; ``linear``: it climbs back in a straight line over the
  duration). :meth:`Disruption.capacity` gives the capacity fraction kept on a given day.
* :class:`DisruptionError` - raised, with a message for people, for an unknown site, operator, country or region, an
  empty selection, a malformed circle or polygon, or an out-of-range severity, start or duration.

Markets are demand points, not capacity: group selectors (operator, country, region, circle, polygon) never select
them, and naming one with ``site:`` is an error (the same convention as :mod:`riskmodel.exposure`).
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from riskmodel.countries import country_name, normalise, to_alpha3
from riskmodel.network import SupplyNetwork
from riskmodel.regions import REGIONS

__all__ = [
    "RECOVERY_PROFILES",
    "Disruption",
    "DisruptionError",
    "Selector",
    "disruptions_from_specs",
    "geodesic_km",
    "parse_disrupt_spec",
    "select_sites",
]

RECOVERY_PROFILES = ("step", "linear")
SELECTOR_KINDS = ("site", "operator", "country", "region", "circle", "polygon")
SPEC_HELP = ("expected site:ID[,ID...], operator:NAME, country:CODE, region:NAME, circle:LAT,LON,KM or "
             "polygon:FILE.geojson")


class DisruptionError(ValueError):
    """A disruption that cannot be applied: unknown site/operator/country/region, empty selection, bad numbers.

    The message is meant for the person who typed the disruption (the CLI prints it and exits with 2).

    Examples
    --------
    >>> try:
    ...     parse_disrupt_spec("circle:18.2,-66.5")
    ... except DisruptionError as exc:
    ...     print(str(exc)[:40])
    circle 'circle:18.2,-66.5': expected LAT
    """


def geodesic_km(lat0: float, lon0: float, lat, lon) -> np.ndarray:
    """Geodesic distance in km on the WGS84 ellipsoid from one point to many (vectorised, :class:`pyproj.Geod`).

    Parameters
    ----------
    lat0, lon0 : float
        The centre, in degrees.
    lat, lon : array_like
        The other points, in degrees (NaN gives NaN).

    Returns
    -------
    numpy.ndarray
        Distances in km.

    Examples
    --------
    >>> # San Juan (Puerto Rico) to Santo Domingo (Dominican Republic): about 380 km
    >>> round(float(geodesic_km(18.466, -66.106, [18.486], [-69.931])[0]), -1)
    400.0
    """
    from pyproj import Geod

    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    out = np.full(lat.shape, np.nan)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if ok.any():
        _, _, metres = Geod(ellps="WGS84").inv(np.full(ok.sum(), float(lon0)), np.full(ok.sum(), float(lat0)),
                                               lon[ok], lat[ok])
        out[ok] = np.asarray(metres) / 1000.0
    return out


def _suggest(word: str, options: Iterable[str], limit: int = 3) -> str:
    options = sorted({str(o) for o in options if str(o)})
    close = difflib.get_close_matches(word, options, n=limit, cutoff=0.6)
    if not close:
        keyed = {normalise(o): o for o in options}
        close = [keyed[k] for k in difflib.get_close_matches(normalise(word), list(keyed), n=limit, cutoff=0.6)]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _read_polygon(value):
    """A shapely geometry from a GeoJSON file path, GeoJSON text, a GeoJSON-like dict or a shapely geometry."""
    import shapely
    from shapely.geometry import shape

    if hasattr(value, "geom_type"):
        return value
    if isinstance(value, (str, os.PathLike)) and not str(value).lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise DisruptionError(f"polygon: no GeoJSON file {str(value)!r}")
        import geopandas as gpd

        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise DisruptionError(f"polygon: cannot read {str(value)!r} as GeoJSON ({exc})") from exc
        if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
            frame = frame.to_crs(4326)
        geoms = [g for g in frame.geometry if g is not None]
    else:
        try:
            doc = json.loads(value) if isinstance(value, str) else dict(value)
        except (ValueError, TypeError) as exc:
            raise DisruptionError(f"polygon: not valid GeoJSON ({exc})") from exc
        kind = doc.get("type")
        if kind == "FeatureCollection":
            geoms = [f.get("geometry") for f in doc.get("features", [])]
        elif kind == "Feature":
            geoms = [doc.get("geometry")]
        else:
            geoms = [doc]
        try:
            geoms = [shape(g) for g in geoms if g]
        except Exception as exc:  # shapely raises GEOSException, ValueError, KeyError ... on bad geometry
            raise DisruptionError(f"polygon: not a valid GeoJSON geometry ({exc})") from exc
    polys = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        raise DisruptionError("polygon: the GeoJSON holds no Polygon or MultiPolygon")
    geom = shapely.union_all([shapely.make_valid(g) for g in polys])
    if geom.is_empty:
        raise DisruptionError("polygon: the polygon is empty")
    return geom


@dataclass(frozen=True)
class Selector:
    """Which sites a disruption takes.

    Parameters
    ----------
    kind : {"site", "operator", "country", "region", "circle", "polygon"}
        How sites are chosen.
    value : object
        ``site``: a tuple of site ids; ``operator``/``country``/``region``: a name; ``circle``: a tuple
        ``(lat, lon, km)``; ``polygon``: a shapely geometry, GeoJSON dict/text or a path to a GeoJSON file.
    text : str
        How the selector was written (used in messages and outputs).

    Examples
    --------
    >>> Selector.circle(18.2, -66.5, 150).text
    'circle:18.2,-66.5,150'
    >>> Selector.sites(["FF-1", "API-2"]).value
    ('FF-1', 'API-2')
    """

    kind: str
    value: object
    text: str = field(default="", compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in SELECTOR_KINDS:
            raise DisruptionError(f"unknown selector kind {self.kind!r}: {SPEC_HELP}")
        if not self.text:
            object.__setattr__(self, "text", self._default_text())

    def _default_text(self) -> str:
        if self.kind == "site":
            return "site:" + ",".join(self.value)
        if self.kind == "circle":
            return "circle:" + ",".join(f"{v:g}" for v in self.value)
        if self.kind == "polygon":
            return "polygon:" + (str(self.value) if isinstance(self.value, (str, os.PathLike)) else "<geometry>")
        return f"{self.kind}:{self.value}"

    # -------------------------------------------------------------------------------------------- constructors
    @classmethod
    def sites(cls, site_ids: Iterable[str] | str) -> Selector:
        """Select sites by id (one id or several)."""
        ids = (site_ids,) if isinstance(site_ids, str) else tuple(str(s) for s in site_ids)
        return cls("site", ids)

    @classmethod
    def circle(cls, lat: float, lon: float, km: float) -> Selector:
        """Select the supply sites within ``km`` (geodesic) of ``(lat, lon)``."""
        lat, lon, km = _check_circle(lat, lon, km, f"circle:{lat},{lon},{km}")
        return cls("circle", (lat, lon, km))

    @classmethod
    def polygon(cls, geojson) -> Selector:
        """Select the supply sites inside a polygon (GeoJSON file path, text, dict or shapely geometry)."""
        return cls("polygon", geojson)

    # -------------------------------------------------------------------------------------------- selection
    def select(self, net: SupplyNetwork) -> np.ndarray:
        """Return the indices (network order, sorted) of the sites this selector takes.

        Raises
        ------
        DisruptionError
            Unknown site, operator, country or region; a market named by ``site:``; an empty selection.
        """
        supply = ~net.is_market
        sites = net.sites
        if self.kind == "site":
            idx = net.index_of(list(self.value))
            unknown = [s for s, i in zip(self.value, idx, strict=True) if i < 0]
            if unknown:
                s = unknown[0]
                raise DisruptionError(f"{self.text!r}: unknown site {s!r}{_suggest(s, net.site_ids)}")
            markets = [s for s, i in zip(self.value, idx, strict=True) if net.is_market[i]]
            if markets:
                raise DisruptionError(f"{self.text!r}: {markets[0]!r} is a market (a demand point, not a supply "
                                      "site); disrupt its suppliers instead")
            return np.unique(idx.astype(np.int64))
        if self.kind == "operator":
            column = sites["operator"].fillna("").astype(str) if "operator" in sites else None
            if column is None:
                raise DisruptionError(f"{self.text!r}: the data has no operator column")
            keys = np.array([normalise(o) for o in column], dtype=object)
            mask = supply & (keys == normalise(str(self.value))) & (keys != "")
            if not mask.any():
                known = set(column[supply])
                if normalise(str(self.value)) in {normalise(k) for k in column}:
                    raise DisruptionError(f"{self.text!r}: operator {self.value!r} runs only markets")
                raise DisruptionError(f"{self.text!r}: unknown operator {self.value!r}"
                                      f"{_suggest(str(self.value), known)}")
        elif self.kind == "country":
            code = to_alpha3(str(self.value))
            if code is None:
                raise DisruptionError(f"{self.text!r}: unknown country {self.value!r} (use ISO alpha-2, alpha-3 "
                                      "or an English name)")
            mask = supply & (sites["country"].astype(str).to_numpy() == code)
            if not mask.any():
                raise DisruptionError(f"{self.text!r}: no supply site in {country_name(code) or code} ({code})")
        elif self.kind == "region":
            names = sorted(set(REGIONS) | set(sites["region"].dropna().astype(str)))
            by_key = {normalise(r): r for r in names}
            region = by_key.get(normalise(str(self.value)))
            if region is None:
                raise DisruptionError(f"{self.text!r}: unknown region {self.value!r}; regions are: "
                                      + ", ".join(names))
            mask = supply & (sites["region"].astype(str).to_numpy() == region)
            if not mask.any():
                raise DisruptionError(f"{self.text!r}: no supply site in region {region!r}")
        elif self.kind == "circle":
            lat, lon, km = self.value
            dist = geodesic_km(lat, lon, sites["lat"].to_numpy(float), sites["lon"].to_numpy(float))
            with np.errstate(invalid="ignore"):
                mask = supply & (dist <= km)
            if not mask.any():
                raise DisruptionError(f"{self.text!r}: no supply site within {km:g} km of ({lat:g}, {lon:g})")
        else:  # polygon
            import shapely

            geom = _read_polygon(self.value)
            lat, lon = sites["lat"].to_numpy(float), sites["lon"].to_numpy(float)
            ok = np.isfinite(lat) & np.isfinite(lon)
            inside = np.zeros(len(lat), dtype=bool)
            inside[ok] = shapely.intersects_xy(geom, lon[ok], lat[ok])
            mask = supply & inside
            if not mask.any():
                raise DisruptionError(f"{self.text!r}: no supply site inside the polygon")
        return np.flatnonzero(mask).astype(np.int64)


def _check_circle(lat, lon, km, text: str) -> tuple[float, float, float]:
    try:
        lat, lon, km = float(lat), float(lon), float(km)
    except (TypeError, ValueError) as exc:
        raise DisruptionError(f"circle {text!r}: LAT, LON and KM must be numbers") from exc
    if not all(math.isfinite(v) for v in (lat, lon, km)):
        raise DisruptionError(f"circle {text!r}: LAT, LON and KM must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        raise DisruptionError(f"circle {text!r}: latitude {lat:g} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise DisruptionError(f"circle {text!r}: longitude {lon:g} is outside -180..180")
    if not km > 0.0:
        raise DisruptionError(f"circle {text!r}: radius must be more than 0 km, got {km:g}")
    return lat, lon, km


def parse_disrupt_spec(text: str) -> Selector:
    """Read a ``--disrupt`` specification.

    Parameters
    ----------
    text : str
        ``site:ID`` (or ``site:ID1,ID2``), ``operator:NAME``, ``country:CODE`` (alpha-2, alpha-3 or English name),
        ``region:NAME``, ``circle:LAT,LON,KM`` (km may carry a ``km`` suffix) or ``polygon:FILE.geojson``. The
        keyword is case-insensitive; spaces around values are ignored.

    Returns
    -------
    Selector
        Not yet checked against a network (that happens in :meth:`Selector.select`).

    Raises
    ------
    DisruptionError
        Unknown keyword, empty value, malformed circle.

    Examples
    --------
    >>> parse_disrupt_spec("country:Puerto Rico")
    Selector(kind='country', value='Puerto Rico')
    >>> parse_disrupt_spec("circle: 18.2, -66.5, 150km").value
    (18.2, -66.5, 150.0)
    """
    if not isinstance(text, str) or ":" not in text:
        raise DisruptionError(f"disruption {text!r}: {SPEC_HELP}")
    keyword, value = text.split(":", 1)
    keyword, value = keyword.strip().lower(), value.strip()
    if keyword not in SELECTOR_KINDS:
        raise DisruptionError(f"disruption {text!r}: unknown kind {keyword!r}; {SPEC_HELP}")
    if not value:
        raise DisruptionError(f"disruption {text!r}: nothing after '{keyword}:'; {SPEC_HELP}")
    text = f"{keyword}:{value}"
    if keyword == "site":
        ids = tuple(s.strip() for s in value.split(",") if s.strip())
        if not ids:
            raise DisruptionError(f"disruption {text!r}: no site id")
        return Selector("site", ids, text)
    if keyword == "circle":
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 3:
            raise DisruptionError(f"circle {text!r}: expected LAT,LON,KM (three numbers, e.g. "
                                  f"circle:18.2,-66.5,150), got {len(parts)} value(s)")
        if parts[2].lower().endswith("km"):
            parts[2] = parts[2][:-2].strip()
        return Selector("circle", _check_circle(*parts, text), text)
    return Selector(keyword, value, text)


def select_sites(net: SupplyNetwork, selectors: Selector | Sequence[Selector]) -> np.ndarray:
    """Indices of the sites taken by one or several selectors (their union, sorted).

    Examples
    --------
    >>> select_sites(net, [parse_disrupt_spec("country:PRI")])  # doctest: +SKIP
    array([ 49,  77, 107, 111, 116, 130, 181])
    """
    if isinstance(selectors, Selector):
        selectors = [selectors]
    parts = [s.select(net) for s in selectors]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


@dataclass(frozen=True)
class Disruption:
    """One disruption: the sites it takes, how hard, from when, for how long, and how capacity comes back.

    Parameters
    ----------
    selector : Selector or str
        Which sites (a :class:`Selector`, or a spec string for :func:`parse_disrupt_spec`).
    duration_weeks : float
        How long it lasts; ``round(7 * duration_weeks)`` days (at least one).
    severity : float
        Capacity lost, in [0, 1] (1 = the sites make nothing).
    start_day : int
        First day of the disruption (day 0 is the first simulated day).
    recovery : {"step", "linear"}
        ``step``: capacity ``1 - severity`` for the whole duration, then 1. ``linear``: ``1 - severity`` on the
        first day, climbing in a straight line to 1 at the end: ``1 - severity * (1 - d / D)`` on day ``d`` of
        ``D``.

    Examples
    --------
    >>> d = Disruption("site:FF-1", duration_weeks=2, severity=0.8, recovery="linear")
    >>> d.duration_days, [round(d.capacity(t), 3) for t in (0, 7, 13, 14)]
    (14, [0.2, 0.6, 0.943, 1.0])
    """

    selector: Selector | str
    duration_weeks: float
    severity: float = 1.0
    start_day: int = 0
    recovery: str = "step"

    def __post_init__(self):
        if isinstance(self.selector, str):
            object.__setattr__(self, "selector", parse_disrupt_spec(self.selector))
        elif not isinstance(self.selector, Selector):
            raise DisruptionError(f"selector must be a Selector or a spec string, got {type(self.selector).__name__}")
        try:
            severity, weeks = float(self.severity), float(self.duration_weeks)
        except (TypeError, ValueError) as exc:
            raise DisruptionError("severity and duration must be numbers") from exc
        if not 0.0 <= severity <= 1.0:
            raise DisruptionError(f"severity must be between 0 and 1 (capacity lost), got {severity:g}")
        if not (math.isfinite(weeks) and weeks > 0):
            raise DisruptionError(f"duration must be more than 0 weeks, got {weeks:g}")
        start = self.start_day
        if isinstance(start, float) and start.is_integer():
            start = int(start)
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
            raise DisruptionError(f"start day must be a whole number of days >= 0, got {self.start_day!r}")
        if self.recovery not in RECOVERY_PROFILES:
            raise DisruptionError(f"recovery must be one of {', '.join(RECOVERY_PROFILES)}, got {self.recovery!r}")
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "duration_weeks", weeks)
        object.__setattr__(self, "start_day", int(start))

    @property
    def duration_days(self) -> int:
        """Duration in whole days (at least 1)."""
        return max(1, round(7.0 * self.duration_weeks))

    @property
    def end_day(self) -> int:
        """First day after the disruption (capacity is back to 1)."""
        return self.start_day + self.duration_days

    def capacity(self, day: int) -> float:
        """Capacity fraction kept on ``day`` (the same formula as the simulation kernel)."""
        t = day - self.start_day
        if t < 0 or t >= self.duration_days:
            return 1.0
        if self.recovery == "linear":
            return 1.0 - self.severity * (1.0 - t / self.duration_days)
        return 1.0 - self.severity

    def sites(self, net: SupplyNetwork) -> np.ndarray:
        """Indices of the sites it takes (see :meth:`Selector.select`)."""
        return self.selector.select(net)

    def to_dict(self, net: SupplyNetwork | None = None) -> dict:
        """JSON-ready description (with the selected site ids when ``net`` is given)."""
        out = {"spec": self.selector.text, "severity": self.severity, "start_day": self.start_day,
               "duration_days": self.duration_days, "recovery": self.recovery}
        if net is not None:
            out["sites"] = net.site_ids[self.sites(net)].tolist()
        return out


def disruptions_from_specs(specs: Sequence[str | Selector], weeks: float, severity: float = 1.0,
                           start_day: int = 0, recovery: str = "step") -> list[Disruption]:
    """Disruptions that share one severity, start, duration and profile (the CLI's ``--disrupt`` options).

    Examples
    --------
    >>> [d.selector.text for d in disruptions_from_specs(["site:FF-1", "country:IN"], weeks=4)]
    ['site:FF-1', 'country:IN']
    """
    if not specs:
        raise DisruptionError(f"at least one disruption is needed: {SPEC_HELP}")
    return [Disruption(s if isinstance(s, Selector) else parse_disrupt_spec(s), duration_weeks=weeks,
                       severity=severity, start_day=start_day, recovery=recovery) for s in specs]
