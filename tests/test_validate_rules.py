"""Each validation rule of PRODUCT.md section 2: the error (or warning) names file, row, column and what is expected."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import base_links, base_sites

from riskmodel.validate import validate_dataset


def _where(issues):
    return [(e.file, e.row, e.column) for e in issues]


def _with(rows, index, **changes):
    rows = [dict(r) for r in rows]
    rows[index].update(changes)
    return rows


# site rows: KSM-1 row 2, API-1 3, API-2 4, GLASS-1 5, FF-1 6, DIST-1 7, MKT-US 8, MKT-PR 9
SITE_RULES = [
    (0, {"site_id": ""}, "site_id", "required: a site id"),
    (0, {"site_id": "bad id/with slash"}, "site_id", "invalid site id"),
    (0, {"site_id": "x" * 65}, "site_id", "invalid site id"),
    (1, {"name": "  "}, "name", "required: a display name"),
    (1, {"kind": "factory"}, "kind", "unknown kind 'factory'"),
    (1, {"country": "Atlantis"}, "country", "unknown country 'Atlantis'"),
    (1, {"lat": "91"}, "lat", "expected -90 to 90, got 91"),
    (1, {"lon": "east"}, "lon", "expected a number"),
    (1, {"lon": ""}, "lon", "lat is given but lon is empty"),
    (1, {"lat": "", "lon": "", "city": ""}, "lat", "no coordinates"),
    (1, {"lat": "", "lon": "", "city": "Nowhereville Xyz"}, "city", "city 'Nowhereville Xyz' not found in IND"),
    (6, {"weekly_demand": ""}, "weekly_demand", "required for a market"),
    (6, {"weekly_demand": "0"}, "weekly_demand", "expected more than 0"),
    (1, {"weekly_demand": "10"}, "weekly_demand", "only markets have a weekly_demand"),
    (1, {"inventory_days": "-3"}, "inventory_days", "expected >= 0, got -3"),
    (1, {"ttr_weeks": "inf"}, "ttr_weeks", "expected a number"),
    (1, {"surge": "-0.1"}, "surge", "expected >= 0"),
    (1, {"annual_disruption_prob": "1.5"}, "annual_disruption_prob", "expected 0 to 1, got 1.5"),
]


@pytest.mark.parametrize("index, change, column, message", SITE_RULES)
def test_site_rules(dataset, index, change, column, message):
    report = validate_dataset(dataset(sites=_with(base_sites(), index, **change)))
    site_errors = [e for e in report.errors if e.file == "sites.csv"]
    assert _where(site_errors) == [("sites.csv", index + 2, column)], [str(e) for e in report.errors]
    assert message in site_errors[0].message
    # a changed site id leaves its links pointing at an unknown site: reported in the same pass
    assert all("unknown site 'KSM-1'" in e.message for e in report.errors if e.file == "links.csv")
    assert report.sites is None


def test_duplicate_site_id_names_first_row(dataset):
    sites = _with(base_sites(), 2, site_id="API-1")
    report = validate_dataset(dataset(sites=sites))
    site_errors = [e for e in report.errors if e.file == "sites.csv"]
    assert _where(site_errors) == [("sites.csv", 4, "site_id")]
    assert "duplicate site id 'API-1' (first on row 3)" in site_errors[0].message


# link rows: 2.. in base_links order
LINK_RULES = [
    (0, {"supplier_id": "NOPE"}, "supplier_id", "unknown site 'NOPE'"),
    (0, {"customer_id": "NOPE"}, "customer_id", "unknown site 'NOPE'"),
    (0, {"supplier_id": ""}, "supplier_id", "required: a site id"),
    (0, {"customer_id": "KSM-1"}, "customer_id", "a site cannot supply itself"),
    (6, {"supplier_id": "MKT-PR"}, "supplier_id", "MKT-PR is a market: a market supplies nobody"),
    (0, {"material": " "}, "material", "required: the material"),
    (2, {"share": "0"}, "share", "expected more than 0 and at most 1, got 0"),
    (2, {"share": "1.2"}, "share", "expected more than 0 and at most 1, got 1.2"),
    (2, {"share": "60%"}, "share", "expected a number"),
    (0, {"lead_time_days": "-1"}, "lead_time_days", "expected >= 0"),
    (0, {"status": "maybe"}, "status", "unknown status 'maybe'"),
    (8, {"qualification_weeks": "soon"}, "qualification_weeks", "expected a number"),
]


@pytest.mark.parametrize("index, change, column, message", LINK_RULES)
def test_link_rules(dataset, index, change, column, message):
    report = validate_dataset(dataset(links=_with(base_links(), index, **change)))
    assert _where(report.errors) == [("links.csv", index + 2, column)], [str(e) for e in report.errors]
    assert message in report.errors[0].message


def test_duplicate_link(dataset):
    links = base_links() + [dict(base_links()[5], share="0.5")]
    report = validate_dataset(dataset(links=links))
    assert _where(report.errors) == [("links.csv", 11, "material")]
    assert "first on row 7" in report.errors[0].message


def test_market_without_supplier(dataset):
    links = [r for r in base_links() if r["customer_id"] != "MKT-PR"]
    report = validate_dataset(dataset(links=links))
    assert _where(report.errors) == [("sites.csv", 9, "site_id")]
    assert "market MKT-PR has no active supplier" in report.errors[0].message


def test_cycle_is_named(dataset):
    links = base_links() + [{"supplier_id": "DIST-1", "customer_id": "KSM-1", "material": "returns", "share": "",
                             "lead_time_days": "", "status": "", "qualification_weeks": ""}]
    report = validate_dataset(dataset(links=links))
    assert len(report.errors) == 1
    e = report.errors[0]
    assert e.file == "links.csv" and e.column == "customer_id"
    assert "cycle" in e.message and "DIST-1 -> KSM-1" in e.message and "KSM-1 -> API-" in e.message


def test_backup_links_are_not_cycles(dataset):
    links = base_links() + [{"supplier_id": "DIST-1", "customer_id": "KSM-1", "material": "returns", "share": "",
                             "lead_time_days": "", "status": "backup", "qualification_weeks": ""}]
    assert validate_dataset(dataset(links=links)).valid


def test_all_errors_in_one_pass(dataset):
    sites = _with(_with(base_sites(), 1, country="Atlantis"), 3, kind="glass")
    links = _with(_with(base_links(), 0, share="2"), 4, supplier_id="NOPE")
    report = validate_dataset(dataset(sites=sites, links=links))
    assert _where(report.errors) == [
        ("links.csv", 2, "share"), ("links.csv", 6, "supplier_id"),
        ("sites.csv", 3, "country"), ("sites.csv", 5, "kind"),
    ]


def test_shares_normalised_with_warning(dataset):
    links = _with(_with(base_links(), 2, share="0.9"), 3, share="0.6")
    report = validate_dataset(dataset(links=links))
    assert report.valid
    assert _where(report.warnings) == [("links.csv", 4, "share")]
    assert "sum to 1.5, not 1: normalised" in report.warnings[0].message
    api = report.links[report.links.material == "API"].query("status == 'active'").set_index("supplier_id")["share"]
    assert api.to_dict() == pytest.approx({"API-1": 0.6, "API-2": 0.4})


def test_small_share_rounding_is_silent(dataset):
    links = _with(_with(base_links(), 2, share="0.333"), 3, share="0.66")
    report = validate_dataset(dataset(links=links))
    assert report.valid and not [w for w in report.warnings if w.column == "share"]


def test_empty_shares_split_equally_and_take_the_remainder(dataset):
    links = _with(_with(base_links(), 2, share=""), 3, share="")
    report = validate_dataset(dataset(links=links))
    api = report.links.query("material == 'API' and status == 'active'")["share"]
    assert api.tolist() == pytest.approx([0.5, 0.5])
    extra = {"supplier_id": "KSM-1", "customer_id": "FF-1", "material": "API", "share": "", "lead_time_days": "",
             "status": "", "qualification_weeks": ""}
    links = _with(_with(base_links(), 2, share="0.5"), 3, share="") + [extra]
    report = validate_dataset(dataset(links=links))
    api = report.links.query("material == 'API' and status == 'active'").set_index("supplier_id")["share"]
    assert api.to_dict() == pytest.approx({"API-1": 0.5, "API-2": 0.25, "KSM-1": 0.25})
    links = _with(_with(base_links(), 2, share="1"), 3, share="")
    report = validate_dataset(dataset(links=links))
    assert _where(report.errors) == [("links.csv", 5, "share")]


def test_backup_share_defaults_to_one(dataset):
    links = _with(base_links(), 8, share="")
    report = validate_dataset(dataset(links=links))
    backup = report.links.query("status == 'backup'")
    assert backup["share"].tolist() == [1.0] and backup["qualification_weeks"].tolist() == [26.0]


def test_site_that_supplies_nobody_is_a_warning(dataset):
    sites = base_sites() + [dict(base_sites()[1], site_id="API-IDLE", name="Idle")]
    report = validate_dataset(dataset(sites=sites))
    assert report.valid
    assert ("sites.csv", 10, "site_id") in _where(report.warnings)


def test_countries_in_any_form_stored_as_alpha3(dataset):
    sites = base_sites()
    for s, form in zip(sites, ["CN", "India", "ind", "Germany", "Puerto Rico", "United States", "US", "PR"],
                       strict=True):
        s["country"] = form
    report = validate_dataset(dataset(sites=sites))
    assert report.valid, [str(e) for e in report.errors]
    assert report.sites["country"].tolist() == ["CHN", "IND", "IND", "DEU", "PRI", "USA", "USA", "PRI"]


def test_country_disagreeing_with_coordinates_warns_and_takes_the_coordinates(dataset):
    sites = _with(base_sites(), 4, country="USA")  # FF-1 is in Barceloneta, Puerto Rico
    report = validate_dataset(dataset(sites=sites))
    assert report.valid
    assert ("sites.csv", 6, "country") in _where(report.warnings)
    assert report.sites.set_index("site_id").loc["FF-1", "country"] == "PRI"
    assert report.sites.set_index("site_id").loc["FF-1", "region"] == "North America"


def test_empty_country_taken_from_coordinates(dataset):
    report = validate_dataset(dataset(sites=_with(base_sites(), 3, country="")))
    assert report.valid
    assert report.sites.set_index("site_id").loc["GLASS-1", "country"] == "DEU"


def test_offline_geocoding_places_sites_without_coordinates(dataset):
    sites = _with(_with(base_sites(), 1, lat="", lon="", city="Ahmedabad"), 3, lat="", lon="", city="München")
    report = validate_dataset(dataset(sites=sites))
    assert report.valid, [str(e) for e in report.errors]
    s = report.sites.set_index("site_id")
    assert (s.loc["API-1", "lat"], s.loc["API-1", "lon"]) == pytest.approx((23.02, 72.57), abs=0.2)
    assert (s.loc["GLASS-1", "lat"], s.loc["GLASS-1", "lon"]) == pytest.approx((48.14, 11.58), abs=0.2)


def test_defaults_filled_by_kind(dataset):
    report = validate_dataset(dataset())
    s = report.sites.set_index("site_id")
    assert s.loc["API-1", "ttr_weeks"] == 52 and s.loc["MKT-PR", "inventory_days"] == 15
    assert s.loc["MKT-US", "inventory_days"] == 20  # given in the data
    assert s.loc["FF-1", "annual_disruption_prob"] == pytest.approx(0.1)  # fill-finish 0.05 x Puerto Rico 2
    assert np.isnan(s.loc["API-1", "weekly_demand"])
    assert s["region"].to_dict() == {
        "KSM-1": "East Asia", "API-1": "South Asia", "API-2": "South Asia", "GLASS-1": "Europe",
        "FF-1": "North America", "DIST-1": "North America", "MKT-US": "North America", "MKT-PR": "North America",
    }


def test_counts(dataset):
    c = validate_dataset(dataset()).counts
    assert (c["sites"], c["links"], c["backup_links"], c["markets"], c["countries"]) == (8, 8, 1, 2, 5)
    assert c["by_kind"]["api"] == 2 and c["total_weekly_demand"] == 1100


def test_row_limit(dataset, monkeypatch):
    monkeypatch.setenv("RISKMODEL_MAX_ROWS", "5")
    report = validate_dataset(dataset())
    assert {e.file for e in report.errors} == {"sites.csv", "links.csv"}
    assert all("RISKMODEL_MAX_ROWS" in e.message for e in report.errors), [str(e) for e in report.errors]


def test_missing_tables_are_errors_never_a_valid_empty_dataset():
    from riskmodel.validate import validate_tables

    report = validate_tables({"sites": None, "links": None})
    assert not report.valid and [e.file for e in report.errors] == ["links.csv", "sites.csv"]
