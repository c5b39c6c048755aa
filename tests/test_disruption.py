"""Disruption selection and profiles (riskmodel.disruption): every selector, geodesic circles, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE
from geographiclib.geodesic import Geodesic
from sim_reference import make_network

from riskmodel.disruption import (
    Disruption,
    DisruptionError,
    Selector,
    disruptions_from_specs,
    geodesic_km,
    parse_disrupt_spec,
    select_sites,
)
from riskmodel.network import SupplyNetwork
from riskmodel.validate import validate_dataset

PR_SITES = {"FF-SAL-AIBONITO-PR", "API-MAB-JUNCOS-PR", "CMO-PCM-BARCELONETA-PR", "FF-ALB-MANATI-PR",
            "FF-MAB-GUAYAMA-PR", "FF-HEP-JAYUYA-PR", "LOG-SANJUAN-PR"}


@pytest.fixture(scope="module")
def caribbean():
    """The sample data plus two Dominican Republic sites and a Puerto Rico market (a demand point)."""
    report = validate_dataset(SAMPLE)
    sites, links = report.sites.copy(), report.links.copy()
    extra = pd.DataFrame([
        {"site_id": "RM-DOM-PUNTACANA", "name": "Punta Cana plant", "kind": "raw_material", "country": "DOM",
         "city": "Punta Cana", "lat": 18.58, "lon": -68.37, "operator": "Caribe SA", "region": "Latin America"},
        {"site_id": "DIST-DOM-SANTODOMINGO", "name": "Santo Domingo DC", "kind": "distribution", "country": "DOM",
         "city": "Santo Domingo", "lat": 18.47, "lon": -69.93, "operator": "Caribe SA", "region": "Latin America"},
        {"site_id": "MKT-PRI-SAL", "name": "PR saline", "kind": "market", "country": "PRI", "city": "San Juan",
         "lat": 18.45, "lon": -66.07, "weekly_demand": 1000.0, "region": "North America"},
    ])
    sites = pd.concat([sites, extra], ignore_index=True)
    new_links = pd.DataFrame([
        {"supplier_id": "RM-DOM-PUNTACANA", "customer_id": "DIST-DOM-SANTODOMINGO", "material": "x", "share": 1.0},
        {"supplier_id": "DIST-DOM-SANTODOMINGO", "customer_id": "MKT-PRI-SAL", "material": "y", "share": 0.5},
        {"supplier_id": "LOG-SANJUAN-PR", "customer_id": "MKT-PRI-SAL", "material": "y", "share": 0.5},
    ]).assign(lead_time_days=1.0, status="active", qualification_weeks=0.0)
    return SupplyNetwork(sites, pd.concat([links, new_links], ignore_index=True))


def ids(net, idx) -> set:
    return set(net.site_ids[idx])


# ------------------------------------------------------------------------------------------------ geography
def test_circle_around_puerto_rico_takes_its_sites_and_nothing_in_the_dominican_republic(caribbean):
    picked = ids(caribbean, parse_disrupt_spec("circle:18.2,-66.5,150").select(caribbean))
    # the 7 PRI supply sites are 5-60 km from the centre; Punta Cana is about 200 km away, Santo Domingo about 360;
    # the PR market lies inside but markets are demand points, never disrupted
    assert picked == PR_SITES
    assert not any(s.startswith(("RM-DOM", "DIST-DOM", "MKT")) for s in picked)
    # widening to 250 km reaches Punta Cana, not Santo Domingo
    wide = ids(caribbean, Selector.circle(18.2, -66.5, 250).select(caribbean))
    assert wide == PR_SITES | {"RM-DOM-PUNTACANA"}


def test_geodesic_distance_matches_geographiclib():
    lat = np.array([18.58, 18.47, -33.9, 64.1, 18.2])
    lon = np.array([-68.37, -69.93, 151.2, -21.9, -66.5])
    want = [Geodesic.WGS84.Inverse(18.2, -66.5, a, b)["s12"] / 1000 for a, b in zip(lat, lon, strict=True)]
    np.testing.assert_allclose(geodesic_km(18.2, -66.5, lat, lon), want, rtol=1e-9, atol=1e-6)
    assert np.isnan(geodesic_km(0, 0, [np.nan], [0.0])[0])


def test_polygon_selects_the_sites_inside(caribbean, tmp_path):
    ring = [[-67.5, 17.8], [-65.5, 17.8], [-65.5, 18.6], [-67.5, 18.6], [-67.5, 17.8]]
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    assert ids(caribbean, Selector.polygon(geojson).select(caribbean)) == PR_SITES
    path = tmp_path / "pr.geojson"
    path.write_text(json.dumps(geojson), encoding="utf-8")
    assert ids(caribbean, parse_disrupt_spec(f"polygon:{path}").select(caribbean)) == PR_SITES
    with pytest.raises(DisruptionError, match="no GeoJSON file"):
        parse_disrupt_spec("polygon:/nonexistent/x.geojson").select(caribbean)
    with pytest.raises(DisruptionError, match="no Polygon"):
        Selector.polygon({"type": "Point", "coordinates": [0, 0]}).select(caribbean)
    with pytest.raises(DisruptionError, match="not valid GeoJSON"):
        Selector.polygon("{not json").select(caribbean)


# ------------------------------------------------------------------------------------------------ other selectors
def test_country_in_any_form_region_operator_and_site_lists(caribbean):
    by_code = ids(caribbean, parse_disrupt_spec("country:PRI").select(caribbean))
    assert by_code == PR_SITES
    for spelling in ("country:PR", "country: puerto rico", "COUNTRY:Puerto Rico"):
        assert ids(caribbean, parse_disrupt_spec(spelling).select(caribbean)) == PR_SITES
    na = ids(caribbean, parse_disrupt_spec("region:north   america").select(caribbean))
    assert PR_SITES <= na and not any(caribbean.is_market[caribbean.index_of(sorted(na))])
    op = ids(caribbean, parse_disrupt_spec("operator:caribe sa").select(caribbean))
    assert op == {"RM-DOM-PUNTACANA", "DIST-DOM-SANTODOMINGO"}
    two = parse_disrupt_spec("site: FF-ALB-MANATI-PR , LOG-SANJUAN-PR")
    assert ids(caribbean, two.select(caribbean)) == {"FF-ALB-MANATI-PR", "LOG-SANJUAN-PR"}
    union = select_sites(caribbean, [two, parse_disrupt_spec("operator:Caribe SA")])
    assert len(union) == 4


def test_unknown_or_empty_selections_raise_a_clear_error(caribbean):
    cases = [
        ("site:FF-ALB-MANATI", "unknown site 'FF-ALB-MANATI'.*did you mean 'FF-ALB-MANATI-PR'"),
        ("site:MKT-PRI-SAL", "is a market"),
        ("operator:Nobody Inc", "unknown operator"),
        ("country:Atlantis", "unknown country 'Atlantis'"),
        ("country:FJ", r"no supply site in Fiji \(FJI\)"),
        ("region:Antarctica", "unknown region 'Antarctica'; regions are: .*East Asia"),
        ("circle:0,-30,100", "no supply site within 100 km"),
    ]
    for spec, message in cases:
        with pytest.raises(DisruptionError, match=message):
            parse_disrupt_spec(spec).select(caribbean)


@pytest.mark.parametrize("spec, message", [
    ("circle:18.2,-66.5", "expected LAT,LON,KM"),
    ("circle:18.2,-66.5,150,3", "got 4 value"),
    ("circle:north,-66.5,150", "must be numbers"),
    ("circle:95,-66.5,150", "latitude 95 is outside"),
    ("circle:18,-190,150", "longitude -190 is outside"),
    ("circle:18,-66,0", "radius must be more than 0"),
    ("circle:18,-66,nan", "finite"),
    ("hurricane:Maria", "unknown kind 'hurricane'"),
    ("FF-1", "expected site:ID"),
    ("site:", "nothing after"),
    ("site: , ", "no site id"),
])
def test_malformed_specs(spec, message):
    with pytest.raises(DisruptionError, match=message):
        parse_disrupt_spec(spec)


def test_circle_spec_forms():
    assert parse_disrupt_spec("circle:18.2,-66.5,150km").value == (18.2, -66.5, 150.0)
    assert parse_disrupt_spec("Circle: 18.2 , -66.5 , 150 km").text == "circle:18.2 , -66.5 , 150 km"
    assert Selector.circle(18.2, -66.5, 150).text == "circle:18.2,-66.5,150"
    assert isinstance(DisruptionError("x"), ValueError)


# ------------------------------------------------------------------------------------------------ profiles
def test_step_and_linear_profiles():
    step = Disruption("site:A", duration_weeks=2, severity=0.6, start_day=3)
    # days 3..16 keep 1 - 0.6 = 0.4; before and from day 17 on: 1
    assert [step.capacity(t) for t in (2, 3, 16, 17)] == [1.0, pytest.approx(0.4), pytest.approx(0.4), 1.0]
    assert step.duration_days == 14 and step.end_day == 17
    ramp = Disruption("site:A", duration_weeks=1, severity=1.0, recovery="linear")
    # capacity climbs by 1/7 a day from 0: day d keeps d/7
    np.testing.assert_allclose([ramp.capacity(t) for t in range(8)], [*(np.arange(7) / 7), 1.0])
    assert Disruption("site:A", duration_weeks=0.01).duration_days == 1  # at least one day


@pytest.mark.parametrize("kwargs, message", [
    ({"severity": 1.5}, "severity must be between 0 and 1"),
    ({"severity": -0.1}, "severity"),
    ({"duration_weeks": 0}, "duration must be more than 0"),
    ({"duration_weeks": float("inf")}, "duration"),
    ({"start_day": -1}, "start day"),
    ({"start_day": 2.5}, "start day"),
    ({"recovery": "exponential"}, "recovery must be one of step, linear"),
])
def test_bad_disruptions(kwargs, message):
    args = {"selector": "site:A", "duration_weeks": 2.0} | kwargs
    with pytest.raises(DisruptionError, match=message):
        Disruption(**args)


def test_disruptions_from_specs_and_descriptions():
    net = make_network({"A": {"kind": "api"}, "B": {"kind": "api", "country": "IND", "region": "South Asia"},
                        "M": {"kind": "market", "demand": 7.0}},
                       [("A", "M", "x", 0.5, 0.0), ("B", "M", "x", 0.5, 0.0)])
    ds = disruptions_from_specs(["site:A", "country:India"], weeks=3, severity=0.5, start_day=7, recovery="linear")
    assert [d.to_dict(net)["sites"] for d in ds] == [["A"], ["B"]]
    assert ds[1].to_dict() == {"spec": "country:India", "severity": 0.5, "start_day": 7, "duration_days": 21,
                               "recovery": "linear"}
    with pytest.raises(DisruptionError, match="at least one"):
        disruptions_from_specs([], weeks=1)
