"""The Data page in a real headless Chromium: uploads with errors, a valid upload switching the app, versions, files.

Its own server and database (an upload changes the installation's active dataset). Test order matters here: each test
starts where the previous one left the app (a bad upload, then a good one, then switching back).
"""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from browser import (
    WAIT_MS,
    external_requests,
    go_to,
    screenshot,
    wait_for_map,
    wait_idle,
)
from conftest import LINK_HEADER, SITE_HEADER, base_links, base_sites, to_csv
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _files(sites: list[dict], links: list[dict], sites_name: str = "sites.csv", links_name: str = "links.csv"):
    return [{"name": sites_name, "mimeType": "text/csv", "buffer": to_csv(sites, SITE_HEADER).encode()},
            {"name": links_name, "mimeType": "text/csv", "buffer": to_csv(links, LINK_HEADER).encode()}]


def _upload(page, files) -> None:
    page.locator("#data-upload input[type=file]").set_input_files(files)


def _open_data_page(page, url) -> None:
    if page.url.startswith(url):
        go_to(page, "Data")
    else:
        page.goto(url + "/data")
    expect(page.locator("#data-versions .ag-row").first).to_be_visible(timeout=WAIT_MS)
    wait_idle(page)


def test_upload_with_errors_lists_them_by_row_and_keeps_the_active_dataset(dash_server, app_page):
    page = app_page
    _open_data_page(page, dash_server.url)
    sites = base_sites()
    sites[2]["country"] = "Atlantis"  # spreadsheet row 4
    sites[4]["lat"] = "north"  # row 6
    links = base_links()
    links[1]["supplier_id"] = "NOPE-1"  # links.csv row 3
    # the user's file names label the errors; they are never used as paths
    _upload(page, _files(sites, links, "../../etc/Sites (v2).csv", "links.csv"))
    expect(page.locator("#data-result")).to_contain_text("nothing was loaded", timeout=WAIT_MS)
    expect(page.locator("#data-result")).to_contain_text("still 'sample'")
    grid = page.locator("#data-errors")
    expect(grid.locator(".ag-row")).not_to_have_count(0)
    rows = grid.locator(".ag-center-cols-container .ag-row")
    cells = [(rows.nth(i).locator("[col-id=file]").inner_text(), rows.nth(i).locator("[col-id=row]").inner_text(),
              rows.nth(i).locator("[col-id=column]").inner_text()) for i in range(rows.count())]
    assert ("Sites (v2).csv", "4", "country") in cells, cells
    assert ("Sites (v2).csv", "6", "lat") in cells, cells
    # the links file is checked as well: all errors at once
    assert any(f == "links.csv" for f, _, _ in cells), cells
    expect(page.locator("#dataset-badge")).to_contain_text("sample")
    expect(page.locator("#data-versions .ag-center-cols-container .ag-row")).to_have_count(1)
    assert [v.name for v in dash_server.versions.list()] == ["sample"]  # nothing stored
    wait_idle(page)
    screenshot(page, "data")
    assert page.console_errors == []
    assert external_requests(page, dash_server.url) == []


def test_valid_upload_becomes_a_new_version_the_whole_app_shows(dash_server, app_page):
    page = app_page
    _open_data_page(page, dash_server.url)
    page.locator("#data-name").fill("Cisplatin chain Q3")
    _upload(page, _files(base_sites(), base_links()))
    expect(page.locator("#data-result")).to_contain_text("It is now the active dataset", timeout=WAIT_MS)
    expect(page.locator("#dataset-badge")).to_contain_text("Cisplatin chain Q3", timeout=WAIT_MS)
    expect(page.locator("#data-versions .ag-center-cols-container .ag-row")).to_have_count(2)
    # a new version in the database, uploaded by the local user, now the installation's active one
    stored = dash_server.versions.list()
    assert [(v.name, v.uploader) for v in stored] == [("sample", "system"), ("Cisplatin chain Q3", "local")]
    assert stored[-1].source_files == ("sites.csv", "links.csv") and stored[-1].n_sites == 8
    assert dash_server.versions.store.active_dataset().id == stored[-1].id
    new_row = page.locator("#data-versions .ag-row", has_text="Cisplatin chain Q3")
    expect(new_row.locator("[col-id=uploader]")).to_have_text("local")
    expect(new_row.locator("[col-id=active]")).to_have_text("active")
    # every page now shows the new dataset: 8 sites
    go_to(page, "Overview")
    expect(page.locator(".kpi-value").first).to_have_text("8", timeout=WAIT_MS)
    go_to(page, "What-if")
    wait_for_map(page, "wi-map")
    assert page.locator("#wi-map g.scattergeo path.point").count() == 8
    go_to(page, "Single points of failure")
    expect(page.locator("#spof-count")).to_have_text("6 of 6 sites", timeout=WAIT_MS)
    assert page.console_errors == []


def test_earlier_versions_stay_selectable(dash_server, app_page):
    page = app_page
    _open_data_page(page, dash_server.url)
    expect(page.locator("#dataset-badge")).to_contain_text("Cisplatin chain Q3")
    page.locator("#data-versions .ag-row", has_text="sample").first.click()
    page.locator("#data-switch").click()
    expect(page.locator("#data-switch-msg")).to_contain_text("is now active", timeout=WAIT_MS)
    expect(page.locator("#dataset-badge")).to_contain_text("sample", timeout=WAIT_MS)
    assert dash_server.versions.store.active_dataset().name == "sample"
    go_to(page, "Overview")
    expect(page.locator(".kpi-value").first).to_have_text("244", timeout=WAIT_MS)
    assert page.console_errors == []


def test_templates_and_exports_download(dash_server, app_page):
    page = app_page
    _open_data_page(page, dash_server.url)
    with page.expect_download() as info:
        page.locator("#data-tpl-example").click()
    book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    assert {"sites", "links", "columns"} <= set(book.sheetnames)
    with page.expect_download() as info:
        page.locator("#data-exp-csv").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("rank,site_id,name,kind")
    assert len(text.splitlines()) == 198  # header + 197 supply sites
    # no what-if run yet in this session: a clear message instead of a file
    page.locator("#data-sim-xlsx").click()
    expect(page.locator("#data-export-msg")).to_contain_text("Run a what-if scenario first", timeout=WAIT_MS)
    with page.expect_download() as info:
        page.locator("#data-exp-xlsx").click()
    book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    assert book.sheetnames[0] == "exposure"
    assert re.match(r"exposure-sample-1\.xlsx", info.value.suggested_filename)
    assert page.console_errors == []
