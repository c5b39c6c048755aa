"""The dashboard in a real headless Chromium with no internet: every route renders, the map draws from local files."""

from __future__ import annotations

import pytest
from browser import LiveServer, browser, page, screenshot  # noqa: F401 - fixtures
from conftest import SAMPLE
from playwright.sync_api import expect

from dashboard.app import NAV, create_app
from riskmodel.validate import validate_dataset

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    srv = LiveServer(create_app(validate_dataset(SAMPLE)).server)
    yield srv
    srv.stop()


def test_overview_map_draws_country_outlines_offline(server, page):  # noqa: F811
    topojson = []
    page.on("response", lambda r: "/assets/topojson/" in r.url and topojson.append((r.url, r.status)))
    page.goto(server.url + "/")
    expect(page.locator(".kpi-value").first).to_be_visible(timeout=20_000)
    # country outlines: plotly draws them as paths of the "countries" layer once the topojson loaded
    expect(page.locator("#overview-map g.layer.countries path").first).to_be_attached(timeout=25_000)
    assert page.locator("#overview-map g.scattergeo path.point").count() >= 150
    assert any(status == 200 for _, status in topojson), topojson
    screenshot(page, "overview")
    assert page.console_errors == []
    assert [u for u in page.failed_requests if not u.startswith(server.url)] == []


@pytest.mark.parametrize("label, route", NAV[1:])
def test_each_route_renders_without_console_errors(server, page, label, route):  # noqa: F811
    page.goto(server.url + route)
    expect(page.locator("nav")).to_be_visible(timeout=20_000)
    expect(page.locator("._dash-loading")).to_have_count(0, timeout=20_000)
    screenshot(page, route.strip("/").replace("/", "_") or "overview")
    assert page.console_errors == []
