"""Offline geocoding: (city, country) -> (lat, lon) from the shipped GeoNames extract ``data/geo/cities.csv.gz``.

Names match exactly after :func:`riskmodel.countries.normalise` (case, accents, spaces and punctuation ignored) on a
city's name, ASCII name and Latin-script alternate names ("Munich", "München", "Muenchen"), only within the given
country. When several cities of a country share a name, the most populous wins. The table (about 69,000 cities of
5,000 people or more) is read once per process; each country's name index is built on its first lookup.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.countries import normalise, to_alpha3, to_alpha3_many
from riskmodel.paths import CITIES_CSV

CITY_DTYPES = {
    "geonameid": "int64", "name": str, "asciiname": str, "alternatenames": str, "iso_a2": str, "iso_a3": str,
    "lat": "float64", "lon": "float64", "population": "int64",
}


class _CityTable:
    """The cities of one CSV, sorted by country then population (largest first), with lazy per-country indexes."""

    def __init__(self, path: Path):
        table = pd.read_csv(path, dtype=CITY_DTYPES, keep_default_na=False, na_filter=False)
        table = table.sort_values(["iso_a3", "population"], ascending=[True, False], kind="stable")
        self.table = table.reset_index(drop=True)
        self.lat = self.table["lat"].to_numpy()
        self.lon = self.table["lon"].to_numpy()
        codes = self.table["iso_a3"].to_numpy()
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        stops = np.r_[starts[1:], len(codes)]
        self.spans = {codes[a]: (int(a), int(b)) for a, b in zip(starts, stops, strict=True)}
        self.indexes: dict[str, dict[str, int]] = {}

    def index(self, alpha3: str) -> dict[str, int]:
        """Matching key -> row of the city of ``alpha3`` with that name.

        A city's own name (or ASCII name) beats another city's alternate name ("Marion" is Marion, Iowa, not Reseda,
        once called Marion); among equals the most populous city wins (rows run from most to least populous).
        """
        found = self.indexes.get(alpha3)
        if found is None:
            start, stop = self.spans.get(alpha3, (0, 0))
            rows = self.table.iloc[start:stop]
            found = {}
            for tier in (rows["name"] + "|" + rows["asciiname"], rows["alternatenames"]):
                for row, names in zip(range(start, stop), tier, strict=True):
                    for name in names.split("|"):
                        found.setdefault(normalise(name), row)
            found.pop("", None)
            self.indexes[alpha3] = found
        return found


@functools.cache
def _city_table(path: Path) -> _CityTable:
    return _CityTable(path)


class Geocoder:
    """Forward geocoder over a cities CSV (default: the shipped GeoNames extract), shared by all instances.

    Parameters
    ----------
    path : str or Path, optional
        A CSV (optionally gzipped) with the columns of ``data/geo/cities.csv.gz``.

    Examples
    --------
    >>> Geocoder().lookup("München", "DEU")
    (48.13743, 11.57549)
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).resolve() if path is not None else CITIES_CSV

    @property
    def table(self) -> pd.DataFrame:
        """The cities table (read on first use, then cached for the process)."""
        return _city_table(self.path).table

    def lookup(self, city: object, country: object) -> tuple[float, float] | None:
        """Return (lat, lon) of a city in a country, or None when it is not known.

        Parameters
        ----------
        city : object
            City name in any case, with or without accents ("Sao Paulo", "São Paulo").
        country : object
            Country as alpha-3, alpha-2 or English name.

        Returns
        -------
        tuple of float or None
            WGS84 degrees of the most populous matching city.

        Examples
        --------
        >>> Geocoder().lookup("cologne", "Germany")
        (50.93333, 6.95)
        """
        alpha3 = to_alpha3(country)
        if alpha3 is None or not isinstance(city, str):
            return None
        cities = _city_table(self.path)
        row = cities.index(alpha3).get(normalise(city))
        return None if row is None else (float(cities.lat[row]), float(cities.lon[row]))

    def lookup_many(self, frame: pd.DataFrame, city: str = "city",
                    country: str = "country") -> tuple[np.ndarray, np.ndarray]:
        """Geocode every row of a table; each distinct (city, country) pair is looked up once.

        Parameters
        ----------
        frame : pandas.DataFrame
            Holds a city column and a country column (any accepted country spelling).
        city, country : str
            Column names.

        Returns
        -------
        lat, lon : numpy.ndarray
            Float arrays aligned with ``frame``; NaN where no city matched.

        Examples
        --------
        >>> lat, lon = Geocoder().lookup_many(pd.DataFrame({"city": ["Basel", "Atlantis"], "country": ["CH", "CH"]}))
        >>> lat.round(2).tolist()
        [47.56, nan]
        """
        codes = to_alpha3_many(frame[country]).tolist()
        names = [name if isinstance(name, str) else None for name in frame[city].tolist()]
        found = {pair: self.lookup(*pair) for pair in set(zip(names, codes, strict=True))} if names else {}
        points = [found[pair] or (np.nan, np.nan) for pair in zip(names, codes, strict=True)]
        coords = np.array(points, dtype=float).reshape(-1, 2)
        return coords[:, 0], coords[:, 1]


def lookup(city: object, country: object) -> tuple[float, float] | None:
    """:meth:`Geocoder.lookup` on the shipped cities table.

    Examples
    --------
    >>> lookup("Basel", "CHE")
    (47.55839, 7.57327)
    """
    return Geocoder().lookup(city, country)


def lookup_many(frame: pd.DataFrame, city: str = "city", country: str = "country") -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Geocoder.lookup_many` on the shipped cities table.

    Examples
    --------
    >>> lat, lon = lookup_many(pd.DataFrame({"city": ["Cork"], "country": ["IRL"]}))
    >>> float(lat[0]), float(lon[0])
    (51.89797, -8.47061)
    """
    return Geocoder().lookup_many(frame, city=city, country=country)
