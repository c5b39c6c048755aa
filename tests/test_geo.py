"""Shipped geographic data and its modules: country codes, offline geocoding, regions, the country spatial join."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pycountry
import pyproj
import pytest
import shapely

from riskmodel import geocode
from riskmodel.countries import ALIASES, all_alpha3, country_name, normalise, to_alpha3, to_alpha3_many
from riskmodel.geo import country_at, country_polygons
from riskmodel.geocode import Geocoder
from riskmodel.paths import CITIES_CSV, COUNTRIES_GPKG, REGIONS_CSV, TOPOJSON_DIR
from riskmodel.regions import REGIONS, RegionFileError, load_regions, region_of

# Hubs of REFERENCE-FACTS.md (approximate city centres) whose city name is unambiguous in GeoNames.
HUBS = [
    ("Ahmedabad", "IND", 23.02, 72.57), ("Vadodara", "IND", 22.31, 73.18), ("Ankleshwar", "IND", 21.63, 73.00),
    ("Hyderabad", "IND", 17.39, 78.49), ("Mumbai", "IND", 19.08, 72.88), ("Baddi", "IND", 30.96, 76.79),
    ("Visakhapatnam", "IND", 17.69, 83.22), ("Shijiazhuang", "CHN", 38.04, 114.51),
    ("Shanghai", "CHN", 31.22, 121.54), ("Changzhou", "CHN", 31.81, 119.97), ("Jinan", "CHN", 36.65, 117.12),
    ("Barceloneta", "PRI", 18.45, -66.54), ("Jayuya", "PRI", 18.22, -66.59), ("Aibonito", "PRI", 18.14, -66.27),
    ("Guayama", "PRI", 17.98, -66.11), ("Juncos", "PRI", 18.23, -65.92), ("Cork", "IRL", 51.83, -8.32),
    ("Castlebar", "IRL", 53.86, -9.30), ("Basel", "CHE", 47.56, 7.59), ("Visp", "CHE", 46.29, 7.88),
    ("Rocky Mount", "USA", 35.99, -77.82), ("McPherson", "USA", 38.37, -97.66), ("New Brunswick", "USA", 40.49, -74.45),
    ("West Columbia", "USA", 33.99, -81.07), ("Singapore", "SGP", 1.32, 103.65), ("Incheon", "KOR", 37.38, 126.66),
]


# --- country codes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("USA", "USA"), ("US", "USA"), ("United States", "USA"), ("united states of america", "USA"),
    ("  United   States ", "USA"), ("U.S.A.", "USA"), ("UK", "GBR"), ("United Kingdom", "GBR"), ("gb", "GBR"),
    ("South Korea", "KOR"), ("Korea, Republic of", "KOR"), ("Republic of Korea", "KOR"), ("North Korea", "PRK"),
    ("Türkiye", "TUR"), ("Turkey", "TUR"), ("TURKIYE", "TUR"), ("Czech Republic", "CZE"), ("Czechia", "CZE"),
    ("Russia", "RUS"), ("Russian Federation", "RUS"), ("Vietnam", "VNM"), ("Viet Nam", "VNM"), ("Taiwan", "TWN"),
    ("Puerto Rico", "PRI"), ("PR", "PRI"), ("pri", "PRI"), ("Germany", "DEU"), ("de", "DEU"), ("DEU", "DEU"),
    ("Côte d'Ivoire", "CIV"), ("Cote d’Ivoire", "CIV"), ("Ivory Coast", "CIV"), ("The Gambia", "GMB"),
    ("St. Lucia", "LCA"), ("Iran", "IRN"), ("Bolivia", "BOL"), ("DR Congo", "COD"), ("Congo", "COG"),
    ("Kosovo", "XKX"), ("XK", "XKX"), ("Hong Kong", "HKG"), ("Macau", "MAC"),
])
def test_to_alpha3_accepts_codes_names_and_aliases(value, expected):
    assert to_alpha3(value) == expected


def test_puerto_rico_is_not_the_united_states():
    assert {to_alpha3(v) for v in ("Puerto Rico", "PR", "PRI")} == {"PRI"}
    assert to_alpha3("USA") == "USA" and country_name("PRI") == "Puerto Rico"


@pytest.mark.parametrize("garbage", [None, float("nan"), np.nan, 840, 3.5, True, "", "   ", "🙂", "Atlantis",
                                     "U", "XX", "ZZZ", ["DE"], {"a": 1}, b"DE", pd.NA])
def test_to_alpha3_returns_none_on_odd_input(garbage):
    assert to_alpha3(garbage) is None


def test_every_iso_country_resolves_by_codes_and_name():
    for c in pycountry.countries:
        assert to_alpha3(c.alpha_2) == c.alpha_3
        assert to_alpha3(c.alpha_3.lower()) == c.alpha_3
        assert to_alpha3(c.name) == c.alpha_3, c.name
        assert to_alpha3(country_name(c.alpha_3)) == c.alpha_3


def test_aliases_never_shadow_another_countrys_code():
    codes = {normalise(c.alpha_2): c.alpha_3 for c in pycountry.countries}
    codes |= {normalise(c.alpha_3): c.alpha_3 for c in pycountry.countries}
    for alpha3, aliases in ALIASES.items():
        for alias in aliases:
            assert codes.get(normalise(alias), alpha3) == alpha3, alias


def test_to_alpha3_many_keeps_index_and_maps_unique_values_once(monkeypatch):
    values = pd.Series(["US", "Puerto Rico", None, "Puerto Rico", np.nan, "Nowhere"] * 1000,
                       index=range(10, 6010))
    calls = []
    import riskmodel.countries as countries

    original = countries.to_alpha3
    monkeypatch.setattr(countries, "to_alpha3", lambda v: calls.append(v) or original(v))
    out = countries.to_alpha3_many(values)
    assert out.index.equals(values.index)
    assert out.iloc[:6].tolist() == ["USA", "PRI", None, "PRI", None, None]
    assert len(calls) <= 5


def test_to_alpha3_many_is_fast_and_accepts_lists():
    values = pd.Series(np.random.default_rng(1).choice(["USA", "germany", "IN", "Puerto Rico", "?"], 100_000))
    start = time.perf_counter()
    out = to_alpha3_many(values)
    assert time.perf_counter() - start < 1.0
    assert set(out.dropna()) == {"USA", "DEU", "IND", "PRI"}
    assert to_alpha3_many(["CH", [1], None]).tolist() == ["CHE", None, None]


def test_country_name():
    assert country_name("KOR") == "South Korea"
    assert country_name("TWN") == "Taiwan"
    assert country_name("de") == "Germany"
    assert country_name("nowhere") is None and country_name(None) is None


# --- geocoding -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("city", "country", "other"), [
    ("München", "DEU", "Munich"), ("Köln", "DE", "Cologne"), ("Sao Paulo", "BRA", "São Paulo"),
    ("KÖLN", "Germany", "koln"), ("muenchen", "DEU", "MUNICH"), ("sao  paulo", "Brazil", "São-Paulo"),
])
def test_geocoder_matches_accent_case_and_space_insensitively(city, country, other):
    geocoder = Geocoder()
    found = geocoder.lookup(city, country)
    assert found is not None and found == geocoder.lookup(other, country)


def test_geocoder_known_coordinates():
    geocoder = Geocoder()
    lat, lon = geocoder.lookup("Munich", "DEU")
    assert abs(lat - 48.14) < 0.05 and abs(lon - 11.58) < 0.05
    lat, lon = geocoder.lookup("Cologne", "DEU")
    assert abs(lat - 50.94) < 0.05 and abs(lon - 6.96) < 0.05
    lat, lon = geocoder.lookup("São Paulo", "BRA")
    assert abs(lat + 23.55) < 0.05 and abs(lon + 46.63) < 0.05


@pytest.mark.parametrize(("city", "country", "lat", "lon"), HUBS)
def test_geocoder_finds_reference_hubs(city, country, lat, lon):
    found = Geocoder().lookup(city, country)
    assert found is not None, city
    assert abs(found[0] - lat) < 0.3 and abs(found[1] - lon) < 0.3, (city, found)


def test_geocoder_stays_within_the_country_and_prefers_the_most_populous():
    geocoder = Geocoder()
    assert geocoder.lookup("Barceloneta", "USA") is None  # Puerto Rico is its own country
    assert geocoder.lookup("Cologne", "ITA") != geocoder.lookup("Cologne", "DEU")  # a small Cologne in Lombardy
    lat, _lon = geocoder.lookup("Hyderabad", "PAK")
    assert abs(lat - 25.4) < 0.3  # Hyderabad, Sindh, not the Indian one
    lat, lon = geocoder.lookup("Portland", "USA")
    assert abs(lat - 45.52) < 0.1 and abs(lon + 122.68) < 0.1  # Oregon (larger than Maine's)
    lat, _lon = geocoder.lookup("Marion", "USA")
    assert abs(lat - 42.03) < 0.1  # a city's own name beats another city's former name (Reseda, once Marion)


@pytest.mark.parametrize(("city", "country"), [("Atlantis", "GRC"), ("", "DEU"), (None, "DEU"), (42, "DEU"),
                                               ("Basel", None), ("Basel", "Nowhere"), ("Basel", "DEU")])
def test_geocoder_returns_none_when_unknown(city, country):
    assert Geocoder().lookup(city, country) is None


def test_lookup_many_aligns_with_rows():
    frame = pd.DataFrame({
        "city": ["München", "Cork", None, "Atlantis", "Basel", "Incheon", np.nan, "Barceloneta", "Cork"],
        "country": ["DE", "Ireland", "USA", "GRC", "CHE", "South Korea", "FRA", "Puerto Rico", "IRL"],
    }, index=list("abcdefghi"))
    lat, lon = Geocoder().lookup_many(frame)
    assert lat.shape == lon.shape == (9,)
    assert np.isnan(lat[[2, 3, 6]]).all() and np.isnan(lon[[2, 3, 6]]).all()
    assert not np.isnan(lat[[0, 1, 4, 5, 7, 8]]).any()
    assert (lat[1], lon[1]) == (lat[8], lon[8]) == Geocoder().lookup("Cork", "IRL")
    empty_lat, empty_lon = Geocoder().lookup_many(frame.iloc[:0])
    assert empty_lat.shape == empty_lon.shape == (0,)
    module_lat, module_lon = geocode.lookup_many(frame)  # the module-level shortcut on the shipped table
    np.testing.assert_array_equal(module_lat, lat)
    np.testing.assert_array_equal(module_lon, lon)
    assert geocode.lookup("Basel", "CH") == Geocoder().lookup("Basel", "CHE")


def test_cities_table_loads_fast_and_is_compact():
    start = time.perf_counter()
    table = geocode._CityTable(CITIES_CSV).table
    assert time.perf_counter() - start < 2.0  # about 0.2 s here
    assert len(table) > 60_000 and (table["population"] >= 0).all()
    assert table["iso_a3"].isin(all_alpha3()).all()
    assert CITIES_CSV.stat().st_size < 5_500_000


# --- spatial join --------------------------------------------------------------------------------------------------

def test_country_at_places_hubs_and_sea():
    points = {
        "Barceloneta PR": (18.45, -66.54, "PRI"), "Santo Domingo": (18.48, -69.93, "DOM"),
        "Basel": (47.56, 7.59, "CHE"), "mid-Atlantic": (30.0, -40.0, None), "San Juan": (18.40, -66.06, "PRI"),
        "Miami": (25.76, -80.19, "USA"), "Paris": (48.86, 2.35, "FRA"), "Oslo": (59.91, 10.75, "NOR"),
        "Pristina": (42.66, 21.16, "XKX"), "Simferopol": (44.95, 34.10, "UKR"), "Laayoune": (27.15, -13.20, "ESH"),
        "Chukotka east of 180": (65.0, -175.0, "RUS"), "Fiji west of 180": (-17.8, 178.0, "FJI"),
        "South Pole": (-89.9, 0.0, "ATA"), "on a whole degree": (45.0, 10.0, "ITA"),
    }
    codes = country_at([p[0] for p in points.values()], [p[1] for p in points.values()])
    assert dict(zip(points, codes, strict=True)) == {name: p[2] for name, p in points.items()}


def test_country_at_takes_the_nearest_country_just_offshore():
    # Songdo (reclaimed land), Tuas (reclaimed land) and Ringaskiddy lie outside the 1:50m coastline.
    lat, lon = [37.38, 1.32, 51.83], [126.66, 103.65, -8.32]
    assert country_at(lat, lon).tolist() == ["KOR", "SGP", "IRL"]
    assert country_at(lat, lon, offshore_km=0).tolist() == [None, None, None]
    assert country_at(37.0, -25.0).tolist() == ["PRT"]  # about 4 km off Santa Maria (Azores)
    assert country_at(37.35, -25.3).tolist() == [None]  # about 35 km from the nearest Azores island


def test_country_at_odd_input():
    assert country_at([], []).shape == (0,)
    assert country_at([np.nan, 95.0, 10.0], [0.0, 0.0, np.inf]).tolist() == [None, None, None]
    out = country_at(pd.Series([47.56]), pd.Series([7.59]))
    assert out.dtype == object and out.tolist() == ["CHE"]


def test_country_at_100k_points_is_fast():
    rng = np.random.default_rng(7)
    cities = Geocoder().table.sample(50_000, replace=True, random_state=7)
    lat = np.r_[cities["lat"].to_numpy() + rng.normal(0, 0.02, 50_000), rng.uniform(-90, 90, 50_000)]
    lon = np.r_[cities["lon"].to_numpy() + rng.normal(0, 0.02, 50_000), rng.uniform(-180, 180, 50_000)]
    country_at(lat[:10], lon[:10])  # read and tile the polygons once
    start = time.perf_counter()
    codes = country_at(lat, lon)
    assert time.perf_counter() - start < 5.0  # about 0.35 s here
    assert (codes[:50_000] == cities["iso_a3"].to_numpy()).mean() > 0.97


def test_country_polygons_are_coded_valid_and_small():
    polygons = country_polygons()
    assert list(polygons.columns) == ["iso_a3", "iso_a2", "name", "geometry"]
    assert polygons["iso_a3"].is_unique and polygons.is_valid.all()
    assert set(polygons["iso_a3"]) <= set(all_alpha3())
    assert {"PRI", "USA", "FRA", "NOR", "XKX", "UKR", "ESH", "GUF", "REU"} <= set(polygons["iso_a3"])
    assert len(polygons) > 240 and polygons.crs.to_epsg() == 4326
    assert COUNTRIES_GPKG.stat().st_size < 2_500_000


def test_plotly_topojson_outlines_are_shipped():
    for name in ("world_110m.json", "world_50m.json"):
        topology = json.loads((TOPOJSON_DIR / name).read_text(encoding="utf-8"))
        assert topology["type"] == "Topology" and {"countries", "land", "coastlines"} <= set(topology["objects"])


# --- regions -------------------------------------------------------------------------------------------------------

def test_default_regions_cover_every_country_with_the_seven_names():
    assert len(REGIONS) == 7 and REGIONS[0] == "North America"
    mapping = load_regions()
    assert set(mapping) == set(all_alpha3())
    assert set(mapping.values()) == set(REGIONS)
    table = pd.read_csv(REGIONS_CSV, keep_default_na=False)
    assert list(table.columns[:2]) == ["iso_a3", "region"] and len(table) == len(mapping)


@pytest.mark.parametrize(("country", "region"), [
    ("PRI", "North America"), ("USA", "North America"), ("CAN", "North America"), ("MEX", "Latin America"),
    ("DOM", "Latin America"), ("BRA", "Latin America"), ("VIR", "Latin America"), ("DEU", "Europe"),
    ("TUR", "Europe"), ("RUS", "Europe"), ("KAZ", "Europe"), ("CHE", "Europe"), ("IRL", "Europe"),
    ("SAU", "Middle East and Africa"), ("IRN", "Middle East and Africa"), ("ZAF", "Middle East and Africa"),
    ("EGY", "Middle East and Africa"), ("IND", "South Asia"), ("PAK", "South Asia"), ("BGD", "South Asia"),
    ("LKA", "South Asia"), ("NPL", "South Asia"), ("CHN", "East Asia"), ("JPN", "East Asia"),
    ("KOR", "East Asia"), ("TWN", "East Asia"), ("MNG", "East Asia"), ("SGP", "Southeast Asia and Oceania"),
    ("AUS", "Southeast Asia and Oceania"), ("NZL", "Southeast Asia and Oceania"),
    ("VNM", "Southeast Asia and Oceania"), ("XKX", "Europe"),
])
def test_region_of(country, region):
    assert region_of(country) == region


def test_region_of_accepts_names_and_unknowns():
    assert region_of("Puerto Rico") == "North America"
    assert region_of("Türkiye") == "Europe"
    assert region_of("Nowhere") is None and region_of(None) is None
    assert region_of("PRI", {"PRI": "Caribbean"}) == "Caribbean"


def test_override_csv_replaces_listed_countries_only(tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("country,region\nPuerto Rico,latin america\nmx, North America \nIceland,Nordics\n",
                    encoding="utf-8")
    mapping = load_regions(path)
    assert mapping["PRI"] == "Latin America" and mapping["MEX"] == "North America"
    assert mapping["ISL"] == "Nordics"  # a new region name
    assert mapping["USA"] == "North America" and mapping["DEU"] == "Europe"
    assert load_regions()["PRI"] == "North America"  # the default is untouched
    assert region_of("PRI", mapping) == "Latin America"


def test_override_csv_with_iso_a3_column(tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("iso_a3,region\nTUR,Middle East and Africa\n", encoding="utf-8")
    assert load_regions(path)["TUR"] == "Middle East and Africa"


def test_override_csv_errors_name_row_and_column(tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("country,region\nFrance,Europe\nAtlantis,Europe\nItaly,\n", encoding="utf-8")
    with pytest.raises(RegionFileError) as caught:
        load_regions(path)
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(3, "country"), (4, "region")]
    assert f"{path}:3:country: unknown country 'Atlantis'" in str(caught.value)

    path.write_text("nation,zone\nFrance,Europe\n", encoding="utf-8")
    with pytest.raises(RegionFileError) as caught:
        load_regions(path)
    assert {e["column"] for e in caught.value.errors} == {"iso_a3 or country", "region"}


def _ground_km_to_land(lat: float, lon: float) -> float:
    """Distance to the nearest polygon in an azimuthal equidistant projection centred on the point (exact there)."""
    around = shapely.box(lon - 1.5, lat - 0.5, lon + 1.5, lat + 0.5)
    near = country_polygons().clip(around)
    if near.empty:
        return math.inf
    local = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
    return float(near.to_crs(local).distance(shapely.Point(0, 0)).min()) / 1000


def test_offshore_limit_is_ground_distance_at_every_latitude():
    rng = np.random.default_rng(3)
    table = Geocoder().table
    # High latitudes, where a Mercator metre is shortest on the ground (half a metre at 60 degrees).
    coastal = table[table["lat"].abs().between(45, 78)].sample(1500, random_state=3)
    bearing = rng.uniform(0, 2 * np.pi, len(coastal))
    km = rng.uniform(3, 20, len(coastal))
    lat = coastal["lat"].to_numpy() + km * np.cos(bearing) / 111.2
    lon = coastal["lon"].to_numpy() + km * np.sin(bearing) / (111.2 * np.cos(np.radians(coastal["lat"].to_numpy())))
    at_sea = pd.isna(country_at(lat, lon, offshore_km=0))
    checked = 0
    codes = country_at(lat[at_sea], lon[at_sea], offshore_km=10)
    for la, lo, code in zip(lat[at_sea], lon[at_sea], codes, strict=True):
        truth = _ground_km_to_land(la, lo)
        if abs(truth - 10) > 0.3:
            assert (code is not None) == (truth < 10), (la, lo, truth, code)
            checked += 1
    assert checked >= 20
