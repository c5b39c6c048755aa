"""The /regionalization page in a real headless Chromium with no internet: map, self-sufficiency, frontier, options,
budget, and testing an option against a disruption."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from browser import (
    WAIT_MS,
    external_requests,
    go_to,
    screenshot,
    wait_for_map,
    wait_idle,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
#: the first visit computes the analysis (options, exact scores, simulated worst case): allow for a busy machine
SLOW_MS = 3 * WAIT_MS


def test_regionalization_page_shows_map_frontier_and_options_offline(dash_server, app_page):
    page = app_page
    page.goto(dash_server.url + "/")
    go_to(page, "Regionalization")
    expect(page.locator("#rg-k-risk")).to_have_text(re.compile(r".+ → .+"), timeout=SLOW_MS)
    wait_for_map(page, "rg-map")
    wait_for_map(page, "rg-choropleth")
    wait_idle(page, timeout=SLOW_MS)
    # the map: in-region and cross-region flows, markets by self-sufficiency, the chosen portfolio
    legend = page.locator("#rg-map .legendtext")
    expect(legend.filter(has_text="in-region flow")).to_have_count(1)
    expect(legend.filter(has_text="cross-region flow")).to_have_count(1)
    expect(legend.filter(has_text="portfolio: new or qualified sources")).to_have_count(1)
    # the frontier: exact risk, the additive estimate and the chosen portfolio
    expect(page.locator("#rg-frontier .scatterlayer .trace")).to_have_count(3)
    expect(page.locator("#rg-frontier .legendtext", has_text="exact risk after")).to_have_count(1)
    # self-sufficiency bars for every market, the options table with the chosen ones marked
    expect(page.locator("#rg-bars .barlayer .point")).to_have_count(2 * 47)
    expect(page.locator("#rg-grid .ag-row").first).to_be_visible()
    expect(page.locator("#rg-grid .ag-center-cols-container")).to_contain_text("chosen")
    expect(page.locator("#rg-rule")).to_contain_text("default budget")
    screenshot(page, "regionalization")
    assert page.console_errors == []
    assert external_requests(page, dash_server.url) == []


def test_regionalization_budget_changes_the_portfolio(dash_server, app_page):
    page = app_page
    go_to(page, "Overview")
    go_to(page, "Regionalization")
    cost = page.locator("#rg-k-cost")
    expect(cost).to_have_text(re.compile(r"USD"), timeout=SLOW_MS)
    wait_idle(page, timeout=SLOW_MS)
    before = cost.inner_text()
    page.locator("#rg-budget").fill("2000000")
    page.locator("#rg-apply").click()
    expect(cost).not_to_have_text(before, timeout=WAIT_MS)
    value = float(re.match(r"([\d.,]+)([kM]?)", cost.inner_text()).group(1).replace(",", ""))
    unit = re.match(r"[\d.,]+([kM]?)", cost.inner_text()).group(1)
    assert value * {"": 1, "k": 1e3, "M": 1e6}[unit] <= 2_000_000
    expect(page.locator("#rg-k-cost-sub")).to_contain_text("budget 2.0M")
    page.locator("#rg-default").click()
    expect(cost).to_have_text(before, timeout=WAIT_MS)
    assert page.console_errors == []


def test_an_option_is_tested_against_a_disruption_and_sent_to_the_what_if_page(dash_server, app_page):
    page = app_page
    go_to(page, "Overview")
    go_to(page, "Regionalization")
    expect(page.locator("#rg-k-risk")).to_have_text(re.compile(r".+ → .+"), timeout=SLOW_MS)
    wait_idle(page, timeout=SLOW_MS)
    # pick the European second source for the Indian API of the Bedford (US) cisplatin line
    page.locator("#rg-grid .ag-floating-filter input").nth(2).fill("LODI")
    row = page.locator("#rg-grid .ag-center-cols-container .ag-row", has_text="API-CIS-LODI-IT")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    row.click()
    expect(page.locator("#rg-map .legendtext", has_text="selected option")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("#rg-test-what")).to_contain_text("API-CIS-LODI-IT")
    expect(page.locator("#rg-test-site")).to_contain_text("API-CIS-AHMEDABAD-IN", timeout=WAIT_MS)
    href = page.locator("#rg-test-link").get_attribute("href")
    q = parse_qs(urlparse(href).query)
    assert urlparse(href).path == "/what-if"
    assert q["options"] == ["Q:API-CIS-LODI-IT>FF-CIS-BEDFORD-US"] and q["sites"] == ["API-CIS-AHMEDABAD-IN"]
    page.locator("#rg-test-run").click()
    expect(page.locator("#rg-test-result")).to_contain_text("units lost", timeout=WAIT_MS)
    expect(page.locator("#rg-test-chart .scatterlayer .trace")).not_to_have_count(0)
    wait_idle(page)
    screenshot(page, "regionalization-test-option")
    assert page.console_errors == []
