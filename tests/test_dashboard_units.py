"""The dashboard without a browser: exports, uploads, scenarios, page layouts, the what-if budget."""

from __future__ import annotations

import csv
import io
import re
import sys
import time

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import LINK_HEADER, SAMPLE, SITE_HEADER, base_links, base_sites, to_csv, write_dataset

from dashboard import scenarios, state
from dashboard.app import NAV, create_app
from dashboard.uploads import decode_contents, read_upload
from riskmodel.export import (
    exposure_table,
    neutralise,
    safe_frame,
    simulation_tables,
    to_csv_bytes,
    to_xlsx_bytes,
)
from riskmodel.template import example_tables, workbook_bytes
from riskmodel.validate import validate_dataset, validate_tables

PAGES = ["pages.overview", "pages.spof", "pages.what_if", "pages.monte_carlo", "pages.regionalization",
         "pages.data"]


@pytest.fixture(scope="module")
def sample_report():
    return validate_dataset(SAMPLE)


@pytest.fixture(scope="module")
def app(sample_report, tmp_path_factory):
    return create_app(sample_report, "sample", home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def ds(app):
    d = state.for_app(app).active()
    d.warm()
    return d


# ---------------------------------------------------------------------------------------------- export
@pytest.mark.parametrize("text", ["=1+2", "+SUM(A1:A9)", "-2+3", "@cmd", "\t=1", "\r=1",
                                  '=HYPERLINK("http://evil.example","click")'])
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", "a=b", "MKT-USA", -3.5, 0, None, True])
def test_other_values_are_left_alone(value):
    assert neutralise(value) == value


def test_csv_export_cells_cannot_run_formulas():
    frame = pd.DataFrame({"name": ['=HYPERLINK("http://x")', "Plant - North", "-1+1"], "operator": ["@a", "b", "+c"],
                          "lost": [-1.5, 2.0, 3.0], "markets": [["=X", "Y"], [], ["Z"]]})
    rows = list(csv.reader(io.StringIO(to_csv_bytes(frame).decode("utf-8-sig"))))
    assert rows[0] == ["name", "operator", "lost", "markets"]
    assert rows[1] == ['\'=HYPERLINK("http://x")', "'@a", "-1.5", "'=X; Y"]
    assert rows[2] == ["Plant - North", "b", "2.0", ""]
    assert rows[3][:2] == ["'-1+1", "'+c"]
    for row in rows:
        assert not any(cell.startswith(("=", "+", "@")) for cell in row)


def test_xlsx_export_never_writes_a_formula():
    frame = pd.DataFrame({"=name": ["=1+2", "ok"], "value": [-1.0, 2.0]})
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"a/b:c[d]*?": frame, "second": frame})))
    assert book.sheetnames == ["a_b_c_d___", "second"]
    sheet = book.worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert sheet["A1"].value == "'=name" and sheet["A2"].value == "'=1+2" and sheet["B2"].value == -1.0


def test_safe_frame_does_not_modify_its_input():
    frame = pd.DataFrame({"name": ["=1"]})
    safe_frame(frame)
    assert frame.loc[0, "name"] == "=1"


def test_exposure_table_has_every_supply_site_ranked(ds):
    table = exposure_table(ds.exposure, ds.tts)
    assert len(table) == int((~ds.network.is_market).sum()) == 197
    assert table["rank"].tolist() == list(range(1, 198))
    assert table["exposure_pct"].is_monotonic_decreasing
    assert {"tts_days", "ttr_days"} <= set(table.columns)
    assert table.loc[table["spof"], "spof_markets"].str.len().gt(0).all()


def test_what_if_result_tables(ds):
    r = scenarios.run(ds, {"countries": ["IND"], "duration_weeks": 12})
    tables = simulation_tables(r.result.to_json(), scenario={"what_fails": scenarios.describe(r.spec)})
    n_markets = len(ds.network.market_index)
    assert len(tables["markets"]) == n_markets
    short = set(tables["markets"].loc[tables["markets"]["lost_units"] > 0, "market_id"])
    daily = set(tables["daily"]["market_id"])
    assert short and short <= daily < set(tables["markets"]["market_id"])  # markets the disruption reaches
    assert len(tables["daily"]) == r.result.horizon_days * len(daily)
    summary = dict(zip(tables["summary"]["item"], tables["summary"]["value"], strict=True))
    assert summary["time_to_survive_days"] == r.result.time_to_survive_days
    assert summary["scenario.what_fails"].startswith("country IND")
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(tables)))
    assert book.sheetnames == ["summary", "markets", "daily"]


# ---------------------------------------------------------------------------------------------- uploads
def _csv(rows, header) -> bytes:
    return to_csv(rows, header).encode()


def test_upload_tables_are_recognised_by_their_columns_not_their_names():
    up = read_upload([("export (2).csv", _csv(base_links(), LINK_HEADER)), ("b.csv", _csv(base_sites(), SITE_HEADER))])
    assert up.errors == []
    assert set(up.files) == {"sites.csv", "links.csv"}
    assert up.tables["sites"].file == "b.csv" and up.tables["links"].file == "export (2).csv"
    assert validate_tables(up.tables, read_errors=up.errors).valid


def test_upload_of_a_workbook():
    up = read_upload([("Q3 suppliers.xlsx", workbook_bytes(example_tables()))])
    assert up.errors == [] and list(up.files) == ["dataset.xlsx"]
    report = validate_tables(up.tables, read_errors=up.errors, source=up.source)
    assert report.valid, report.errors
    assert report.counts["sites"] == 8


def test_upload_with_one_table_missing_says_which():
    up = read_upload([("sites.csv", _csv(base_sites(), SITE_HEADER))])
    assert [e.file for e in up.errors] == ["links.csv"]
    assert "drop both files" in up.errors[0].message
    assert not validate_tables(up.tables, read_errors=up.errors).valid


@pytest.mark.parametrize("files, words", [
    ([], "no file"),
    ([("a.csv", b"x,y\n1,2\n"), ("b.csv", b"x,y\n1,2\n")], "cannot tell"),
    ([("book.xlsx", b"PK\x03\x04junk"), ("links.csv", b"a\n")], "not both"),
    ([("empty.csv", b"")], "empty"),
])
def test_bad_uploads_give_errors_not_exceptions(files, words):
    up = read_upload(files)
    assert any(words in e.message for e in up.errors), up.errors


def test_user_file_names_only_label_errors():
    sites = base_sites()
    sites[0]["country"] = "Atlantis"
    up = read_upload([("../../etc/passwd\x00/sites.csv", _csv(sites, SITE_HEADER)),
                      ("C:\\Users\\me\\links.csv", _csv(base_links(), LINK_HEADER))])
    report = validate_tables(up.tables, read_errors=up.errors)
    assert {e.file for e in report.errors} == {"sites.csv"}
    assert report.errors[0].row == 2 and report.errors[0].column == "country"


def test_decode_contents():
    assert decode_contents("data:text/csv;base64,YSxiCg==") == b"a,b\n"
    assert decode_contents("data:text/csv,a,b") is None
    assert decode_contents(None) is None


# ---------------------------------------------------------------------------------------------- versions
# dataset versions and saved scenarios in the database: tests/test_dashboard_versions.py


def test_display_names_are_never_paths():
    assert state.display_name("../../etc/passwd", basename=True) == "passwd"
    assert state.display_name("Q3/Q4 <b>") == "Q3/Q4 <b>"
    assert state.display_name("a\nb\x00c") == "abc"
    assert len(state.display_name("x" * 500)) == 60


# ---------------------------------------------------------------------------------------------- results
def test_site_table_joins_facts_volume_and_exposure(ds):
    t = ds.sites_full
    assert len(t) == 244
    m = t[t["kind"] == "market"]
    np.testing.assert_allclose(m["throughput"], m["weekly_demand"])
    assert m["exposure"].isna().all()
    s = t[t["kind"] != "market"]
    assert s["exposure"].between(0, 1).all() and int(s["spof"].sum()) == 8
    assert (s["markets_hit"] >= s["n_critical_markets"]).all()
    assert t["tts_days"].notna().sum() > 100
    assert ds.sites_full is ds.sites_full  # computed once per version


@pytest.mark.parametrize("market", [None, "MKT-USA-SAL"])
def test_tier_country_shares_sum_to_one(ds, market):
    for tier in ("raw_material", "api", "fill_finish", "distribution"):
        shares = ds.tier_country_shares(tier, market)
        if len(shares):
            assert shares["share"].sum() == pytest.approx(1.0)
            assert shares["share"].is_monotonic_decreasing


def test_scenario_parts_become_selectors():
    spec = {"sites": ["B", "A"], "countries": ["IND"], "regions": ["Europe"], "operators": ["X Co"],
            "circle": {"lat": 18.2, "lon": -66.5, "km": 150}}
    assert [s.text for s in scenarios.selectors(spec)] == ["site:A,B", "country:IND", "region:Europe",
                                                           "operator:X Co", "circle:18.2,-66.5,150"]
    assert "--disrupt 'operator:X Co'" in scenarios.cli_command(spec)
    assert scenarios.key(spec, "v1") == scenarios.key({**spec, "sites": ["A", "B"], "name": "other"}, "v1")
    assert scenarios.is_empty({}) and not scenarios.is_empty(spec)


def test_scenario_preview_reports_parts_that_select_nothing(ds):
    ids, problems = scenarios.preview(ds.network, {"countries": ["PRI"], "circle": {"lat": 0, "lon": -140, "km": 50}})
    assert len(ids) == 7 and len(problems) == 1 and "no supply site within 50 km" in problems[0]


def test_what_if_run_answers_in_under_300_ms(app, ds):
    """Issue 5: a run on the sample data answers in under 300 ms of server time (the Run callback's whole work)."""
    what_if = sys.modules["pages.what_if"]
    spec = what_if.spec_from([[], ["IND"], [], [], None, None, 250, 100, 0, 12, "step", 52], ds.id)
    what_if.run_view(ds, {**spec, "duration_weeks": 3})  # compiled kernels (the app warms them at start)
    times = []
    for weeks in (12, 11, 10):
        scenarios._cache.clear()
        t0 = time.perf_counter()
        _kpis, supply, _stock, rows, stored = what_if.run_view(ds, {**spec, "duration_weeks": weeks})
        times.append(time.perf_counter() - t0)
    assert min(times) < 0.3, times
    assert stored["failed"] and rows and supply.data


def test_what_if_link_from_the_regionalization_page(app, ds):
    """``/what-if?sites=..&weeks=..&options=..`` opens the page with them; the run uses the options network."""
    what_if = sys.modules["pages.what_if"]
    option = "Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US"
    page = str(what_if.layout(sites="API-CIS-AHMEDABAD-IN,NOT-A-SITE", weeks="52", options=option))
    assert "API-CIS-AHMEDABAD-IN" in page and "NOT-A-SITE" not in page and option in page
    spec = {"sites": ["API-CIS-AHMEDABAD-IN"], "duration_weeks": 52}
    plain, with_option = scenarios.run(ds, spec), scenarios.run(ds, {**spec, "options": [option]})
    assert with_option.result.lost_units < plain.result.lost_units
    assert "with option" in scenarios.describe({**spec, "options": [option]})
    with pytest.raises(scenarios.DisruptionError, match="another dataset version"):
        scenarios.run(ds, {**spec, "options": ["Q:NOPE"]})


def test_every_page_layout_renders(app, ds, tmp_path):
    with app.server.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        app.server.preprocess_request()  # who is asking (dashboard.auth): the local user
        for name in PAGES:
            sys.modules[name].layout()
        # and on a tiny dataset (one market without a shortage risk, a backup link)
        report = validate_dataset(write_dataset(tmp_path / "tiny"))
        versions = state.versions()
        versions.add_upload(report, "tiny", "local", ["sites.csv", "links.csv"], "test")
        try:
            for name in PAGES:
                sys.modules[name].layout()
        finally:
            versions.activate(ds.id, "local")


def test_the_app_serves_everything_itself(app):
    client = app.server.test_client()
    html = client.get("/").get_data(as_text=True)
    assert re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html) == []  # no script or style from elsewhere
    assert app.server.config["MAX_CONTENT_LENGTH"] < 200 * 2**20
    for _, route in NAV:
        assert client.get(route).status_code == 200
    assert client.get("/assets/topojson/world_110m.json").status_code == 200
