"""Country of a coordinate: a spatial join of points with the shipped polygons ``data/geo/countries.gpkg``.

The polygons (Natural Earth 1:50m via world-atlas, coded ISO 3166 alpha-3; see data/README.md) are read once per
process. For the join they are cut into 5-degree tiles, so that each candidate polygon is small: a point costs a few
microseconds whether it is inland, on a coast or in mid-ocean.

Points in no polygon (a port on a pier, a plant on reclaimed land, or an island too small for the 1:50m coastline)
take the nearest country within ``offshore_km`` (default 10 km). That distance is measured in Web Mercator
(EPSG:3857) and multiplied by cos(latitude), Mercator's local scale at the point, which gives ground distance to within
a fraction of a percent at 10 km. Beyond 85 degrees of latitude (Mercator's limit) there is no offshore fallback.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import shapely

from riskmodel.paths import COUNTRIES_GPKG

OFFSHORE_KM = 10.0
TILE_DEGREES = 5.0
MERCATOR_MAX_LAT = 85.0


@functools.cache
def _countries() -> gpd.GeoDataFrame:
    return gpd.read_file(COUNTRIES_GPKG, layer="countries")


def country_polygons() -> gpd.GeoDataFrame:
    """Return the shipped country polygons: columns iso_a3, iso_a2, name, geometry (EPSG:4326), one row a country.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy: change it freely.

    Examples
    --------
    >>> "PRI" in set(country_polygons()["iso_a3"])
    True
    """
    return _countries().copy()


@functools.cache
def _tiles() -> gpd.GeoDataFrame:
    """Polygon parts of every country, those wider or taller than a tile cut along a TILE_DEGREES grid."""
    parts = _countries()[["iso_a3", "geometry"]].explode(index_parts=False).reset_index(drop=True)
    bounds = parts.bounds
    big = ((bounds["maxx"] - bounds["minx"]) > TILE_DEGREES) | ((bounds["maxy"] - bounds["miny"]) > TILE_DEGREES)
    xs, ys = np.meshgrid(np.arange(-180, 180, TILE_DEGREES), np.arange(-90, 90, TILE_DEGREES))
    cells = shapely.box(xs, ys, xs + TILE_DEGREES, ys + TILE_DEGREES).ravel()
    big_parts = parts[big.to_numpy()]
    part_idx, cell_idx = shapely.STRtree(cells).query(big_parts.geometry.to_numpy(), predicate="intersects")
    pieces = gpd.GeoDataFrame(
        {"iso_a3": big_parts["iso_a3"].to_numpy()[part_idx]},
        geometry=shapely.intersection(big_parts.geometry.to_numpy()[part_idx], cells[cell_idx]), crs=parts.crs,
    ).explode(index_parts=False)
    pieces = pieces[pieces.geom_type == "Polygon"]
    tiles = gpd.GeoDataFrame(
        {"iso_a3": np.r_[parts["iso_a3"].to_numpy()[~big.to_numpy()], pieces["iso_a3"].to_numpy()]},
        geometry=np.r_[parts.geometry.to_numpy()[~big.to_numpy()], pieces.geometry.to_numpy()], crs=parts.crs,
    )
    tiles.sindex  # noqa: B018  (build the spatial index now, once)
    return tiles


@functools.cache
def _tiles_mercator() -> gpd.GeoDataFrame:
    """The tiles within Mercator's latitude limit, in EPSG:3857 (only built when a point needs the fallback)."""
    limit = shapely.box(-180, -MERCATOR_MAX_LAT, 180, MERCATOR_MAX_LAT)
    tiles = _tiles().clip(limit)
    tiles = tiles[tiles.geom_type.isin(["Polygon", "MultiPolygon"])].to_crs(3857).reset_index(drop=True)
    tiles.sindex  # noqa: B018
    return tiles


def country_at(lat, lon, offshore_km: float = OFFSHORE_KM) -> np.ndarray:
    """Return the alpha-3 code of the country at each point; None at sea and for missing coordinates.

    Parameters
    ----------
    lat, lon : float or array-like
        WGS84 degrees (scalars give an array of one).
    offshore_km : float
        Points in no polygon take the nearest country within this ground distance (0 turns that off).

    Returns
    -------
    numpy.ndarray
        Object array of alpha-3 codes or None, aligned with the input.

    Examples
    --------
    >>> country_at([18.45, 47.56, 30.0], [-66.54, 7.59, -40.0]).tolist()
    ['PRI', 'CHE', None]
    """
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    codes = np.full(lat.shape, None, dtype=object)
    usable = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    if usable.size == 0:
        return codes
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon[usable], lat[usable]), crs=4326)
    # Polygons on the left, so that shapely prepares each polygon once and tests the points against it. "intersects"
    # counts a point on a tile's edge (for example at a whole degree) as inside; the first of two hits wins.
    hits = gpd.sjoin(_tiles(), points, predicate="intersects").drop_duplicates("index_right")
    found = np.zeros(usable.size, dtype=bool)
    found[hits["index_right"].to_numpy()] = True
    codes[usable[hits["index_right"].to_numpy()]] = hits["iso_a3"].to_numpy()

    near = ~found & (np.abs(lat[usable]) < MERCATOR_MAX_LAT)
    if offshore_km > 0 and near.any():
        missing = points[near].to_crs(3857)
        scale = np.cos(np.radians(lat[usable][near]))  # Mercator metres * cos(lat) = ground metres
        nearest = gpd.sjoin_nearest(missing, _tiles_mercator(), max_distance=offshore_km * 1000 / scale.min(),
                                    distance_col="distance")
        nearest = nearest[~nearest.index.duplicated()]
        position = np.flatnonzero(near)  # position of each missing point among the usable ones
        ground_m = nearest["distance"].to_numpy() * scale[np.searchsorted(position, nearest.index.to_numpy())]
        close = ground_m <= offshore_km * 1000
        codes[usable[nearest.index.to_numpy()[close]]] = nearest["iso_a3"].to_numpy()[close]
    return codes
