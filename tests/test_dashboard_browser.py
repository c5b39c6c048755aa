"""The dashboard in a real headless Chromium with no internet (host-resolver guard): pages, maps and interactions.

One server and one browser page for the module (the sample data): the first test opens the app, the others move
through it with the navigation bar as a user does. Screenshots of each page go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import (
    WAIT_MS,
    click_site_marker,
    external_requests,
    go_to,
    pick_option,
    screenshot,
    wait_for_map,
    wait_idle,
)
from playwright.sync_api import expect

from dashboard.app import NAV

pytestmark = pytest.mark.browser


def test_overview_map_draws_country_outlines_offline(dash_server, app_page):
    page = app_page
    topojson = []
    page.on("response", lambda r: "/assets/topojson/" in r.url and topojson.append((r.url, r.status)))
    page.goto(dash_server.url + "/")
    expect(page.locator(".kpi-value").first).to_have_text("244", timeout=WAIT_MS)
    # country outlines: plotly draws them as paths of the "countries" layer once the topojson loaded
    wait_for_map(page, "ov-map")
    assert page.locator("#ov-map g.scattergeo path.point").count() >= 200
    assert any(status == 200 for _, status in topojson), topojson
    # the time-to-survive key figure fills in (the analysis runs once per dataset, cached)
    expect(page.locator("#ov-tts")).to_have_text(re.compile(r"\d+ days|no shortage"), timeout=WAIT_MS)
    # the detail panel opens on the most exposed site
    expect(page.locator("#ov-detail")).to_contain_text("Suppliers by material")
    wait_idle(page)
    screenshot(page, "overview")
    assert page.console_errors == []
    assert external_requests(page, dash_server.url) == []


@pytest.mark.parametrize("label, route", NAV[1:])
def test_each_route_renders_without_console_errors(dash_server, app_page, label, route):
    page = app_page
    go_to(page, label)
    assert page.url == dash_server.url + route
    for graph in {"/spof": ["spof-map", "spof-choropleth"], "/what-if": ["wi-map"]}.get(route, []):
        wait_for_map(page, graph)
    wait_idle(page)
    if route not in ("/what-if", "/monte-carlo"):  # screenshots after a run (below; test_dashboard_montecarlo_browser)
        screenshot(page, route.strip("/").replace("/", "_"))
    assert page.console_errors == []
    assert external_requests(page, dash_server.url) == []


def test_overview_click_on_a_site_opens_its_detail(dash_server, app_page):
    page = app_page
    go_to(page, "Overview")
    wait_for_map(page, "ov-map")
    wait_idle(page)
    before = page.locator("#ov-detail h5").inner_text()
    # markers are drawn by increasing exposure: the first ones are small sites, not the preselected worst one
    click_site_marker(page, "ov-map", 0)
    expect(page.locator("#ov-detail h5")).not_to_have_text(before, timeout=WAIT_MS)
    expect(page.locator("#ov-detail")).to_contain_text("Customers by material")
    assert page.console_errors == []


def test_spof_table_and_map_are_linked(dash_server, app_page):
    page = app_page
    go_to(page, "Single points of failure")
    wait_for_map(page, "spof-map")
    wait_idle(page)
    expect(page.locator("#spof-count")).to_have_text("197 of 197 sites")
    # select a row: the map rings it ("selected (1)" in the legend)
    page.locator("#spof-grid .ag-center-cols-container .ag-row").first.click()
    expect(page.locator("#spof-map .legendtext", has_text="selected (1)")).to_have_count(1, timeout=WAIT_MS)
    # a click on a site of the map filters the table to it
    click_site_marker(page, "spof-map", 3)
    expect(page.locator("#spof-count")).to_have_text("1 of 197 sites", timeout=WAIT_MS)
    expect(page.locator("#spof-map-chip")).to_contain_text("map selection: 1 site")
    # the flags filter too
    page.locator("#spof-map-chip span[role=button]").click()
    expect(page.locator("#spof-count")).to_have_text("197 of 197 sites", timeout=WAIT_MS)
    page.get_by_text("SPOFs only").click()
    expect(page.locator("#spof-count")).to_have_text("8 of 197 sites", timeout=WAIT_MS)
    assert page.console_errors == []


def test_what_if_country_run_changes_time_to_survive(dash_server, app_page):
    page = app_page
    go_to(page, "What-if")
    wait_for_map(page, "wi-map")
    wait_idle(page)
    tts = page.locator("#wi-tts")
    expect(tts).to_have_text("—")
    pick_option(page, "wi-countries", "India (IND)")
    expect(page.locator("#wi-selection")).to_contain_text("supply sites fail", timeout=WAIT_MS)
    page.locator("#wi-run").click()
    expect(tts).to_have_text(re.compile(r"^\d+ days$"), timeout=WAIT_MS)
    first = tts.inner_text()
    expect(page.locator("#wi-supply .scatterlayer .trace")).not_to_have_count(0)
    # the hit markets are coloured on the map: a colour bar "market demand lost" appears
    expect(page.locator("#wi-map .colorbar")).to_have_count(1, timeout=WAIT_MS)
    wait_idle(page)
    # the run as a self-contained HTML report, with the time to survive the page shows
    with page.expect_download(timeout=60_000) as info:
        page.locator("#report-what-if-html").click()
    html_report = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".html") and first.split()[0] in html_report
    assert "India" in html_report
    # save it, then a second scenario (a shorter, partial disruption), and compare them
    page.locator("#wi-name").fill("India 12 weeks")
    page.locator("#wi-save").click()
    expect(page.locator("#wi-save-msg")).to_contain_text("Saved", timeout=WAIT_MS)
    page.locator("#wi-duration").fill("2")
    page.locator("#wi-run").click()
    expect(tts).not_to_have_text(first, timeout=WAIT_MS)
    page.locator("#wi-name").fill("India 2 weeks")
    page.locator("#wi-save").click()
    expect(page.locator("#wi-save-msg")).to_contain_text("2 scenario(s)", timeout=WAIT_MS)
    page.get_by_role("tab", name="Compare scenarios").click()
    expect(page.locator("#wi-compare")).to_contain_text("India 12 weeks", timeout=WAIT_MS)
    expect(page.locator("#wi-compare")).to_contain_text("India 2 weeks")
    page.get_by_role("tab", name="Supply over time").click()
    page.locator("#wi-duration").fill("12")
    page.locator("#wi-run").click()
    expect(tts).to_have_text(first, timeout=WAIT_MS)
    wait_idle(page)
    screenshot(page, "what-if")
    assert page.console_errors == []


def test_what_if_circle_centre_from_a_click_on_the_map(dash_server, app_page):
    page = app_page
    go_to(page, "Overview")
    go_to(page, "What-if")  # a fresh what-if page
    wait_for_map(page, "wi-map")
    wait_idle(page)
    page.get_by_text("circle: click the map for its centre").click()
    # click on the map where there is no site (plotly reports no point): the app computes lat/lon itself
    pr = page.evaluate("""() => {
        const gd = document.querySelector('#wi-map .js-plotly-plot');
        const r = gd.getBoundingClientRect();
        const xy = gd._fullLayout.geo._subplot.projection([-66.5, 18.2]);   // Puerto Rico
        return [r.left + xy[0], r.top + xy[1]];
    }""")
    page.mouse.click(pr[0] + 1, pr[1] + 1)
    expect(page.locator("#wi-lat")).to_have_value(re.compile(r"^1[78]\.\d+"), timeout=WAIT_MS)
    lon = float(page.locator("#wi-lon").input_value())
    assert -68.5 < lon < -64.5
    page.locator("#wi-km").fill("150")
    page.locator("#wi-km").press("Enter")
    expect(page.locator("#wi-selection")).to_contain_text("fail", timeout=WAIT_MS)
    # the circle is drawn on the map as a line
    expect(page.locator("#wi-map .legendtext", has_text="circle 150 km")).to_have_count(1, timeout=WAIT_MS)
    assert page.console_errors == []
