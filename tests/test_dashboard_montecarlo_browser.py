"""The Monte Carlo page in a real headless Chromium with no internet: a background run with its progress bar, results
equal to the analysis run here, the result cache on a second visit, and Cancel.

The run goes through Dash's background callbacks: a child process of the test's server (forked, as under gunicorn)
runs :func:`riskmodel.montecarlo.run_montecarlo`, its progress and result pass through the app's disk cache.
"""

from __future__ import annotations

import re
import time

import pytest
from browser import WAIT_MS, external_requests, go_to, screenshot, wait_for_map, wait_idle
from playwright.sync_api import expect

from dashboard.theme import pct, units

pytestmark = pytest.mark.browser
YEARS, SEED = 200, 3

#: records, in the page, every state of the Run button and every label of the progress bar while a run goes on
WATCH = """() => {
  window.mcSeen = {runDisabled: false, labels: [], values: []};
  const bar = document.querySelector('#mc-progress');
  const run = document.querySelector('#mc-run');
  const note = () => {
    const inner = bar.querySelector('.progress-bar');
    if (run.disabled) window.mcSeen.runDisabled = true;
    if (inner) { window.mcSeen.labels.push(inner.textContent); window.mcSeen.values.push(inner.style.width); }
  };
  new MutationObserver(note).observe(bar, {subtree: true, childList: true, attributes: true, characterData: true});
  new MutationObserver(note).observe(run, {attributes: true});
}"""


@pytest.fixture(scope="module")
def expected(dash_server):
    """The same run, computed here with the analysis itself (not hard-coded)."""
    from riskmodel.montecarlo import run_montecarlo

    ds = dash_server.versions.active()
    res = run_montecarlo(ds.report.network(), YEARS, seed=SEED)
    return ds, res


def test_run_shows_progress_then_the_results_of_the_analysis(dash_server, app_page, expected):
    ds, res = expected
    page = app_page
    page.goto(dash_server.url + "/")
    go_to(page, "Monte Carlo")
    expect(page.locator("#mc-results")).to_contain_text("Choose how many years")
    expect(page.locator("#mc-years")).to_have_value("1000")
    expect(page.locator("#mc-seed")).to_have_value("0")
    page.locator("#mc-years").fill(str(YEARS))
    page.locator("#mc-seed").fill(str(SEED))
    page.evaluate(WATCH)
    page.locator("#mc-run").click()

    # the progress bar completes (its label counts the years); Run was disabled while the job ran
    expect(page.locator("#mc-progress .progress-bar")).to_have_text(f"{YEARS} of {YEARS} years", timeout=WAIT_MS)
    expect(page.locator("#mc-progress .progress-bar")).to_have_attribute("aria-valuenow", "100")
    seen = page.evaluate("window.mcSeen")
    assert seen["runDisabled"], seen
    expect(page.locator("#mc-run")).to_be_enabled()
    expect(page.locator("#mc-cancel")).to_be_disabled()

    # key figures: the analysis's own numbers, as the page formats them
    a = res.summary.set_index("market_id").loc["ALL"]
    expect(page.locator("#mc-expected")).to_have_text(units(a["expected_loss"]), timeout=WAIT_MS)
    expect(page.locator("#mc-p95")).to_have_text(units(a["p95"]))
    expect(page.locator("#mc-cvar")).to_have_text(units(a["cvar95"]))
    expect(page.locator("#mc-prob")).to_have_text(pct(a["prob_loss"]))
    expect(page.locator("#mc-worst")).to_have_text(units(float(res.total.max())))
    expect(page.locator("#mc-run-info")).to_contain_text(f"{YEARS} simulated years · seed {SEED}")

    # the loss distribution: bars and the p95 / CVaR95 marks
    expect(page.locator("#mc-hist g.trace.bars path").first).to_be_attached(timeout=WAIT_MS)
    expect(page.locator("#mc-hist")).to_contain_text(f"p95 {units(a['p95'])}")
    expect(page.locator("#mc-hist")).to_contain_text(f"CVaR95 {units(a['cvar95'])}")

    # site contributions: the table's first row is the analysis's largest contributor; the map draws offline
    top = res.contributions.iloc[0]
    first = page.locator("#mc-sites .ag-center-cols-container .ag-row[row-index='0']")
    expect(first).to_contain_text(f"{top['expected_loss_contribution']:,.0f}", timeout=WAIT_MS)
    expect(page.locator("#mc-sites .ag-pinned-left-cols-container .ag-row[row-index='0']")).to_contain_text(
        str(top["name"]))
    wait_for_map(page, "mc-map")
    expect(page.locator("#mc-markets")).to_contain_text("All markets")
    expect(page.locator("#mc-command")).to_have_text(
        f"riskmodel montecarlo {ds.cli_data} --years {YEARS} --seed {SEED}")

    wait_idle(page)
    screenshot(page, "monte-carlo")
    assert page.console_errors == []
    assert external_requests(page, dash_server.url) == []


def test_a_second_visit_shows_the_cached_run(dash_server, app_page, expected):
    _ds, res = expected
    page = app_page
    go_to(page, "Overview")
    go_to(page, "Monte Carlo")
    a = res.summary.set_index("market_id").loc["ALL"]
    expect(page.locator("#mc-run-info")).to_contain_text("from the cache", timeout=WAIT_MS)
    expect(page.locator("#mc-expected")).to_have_text(units(a["expected_loss"]))
    expect(page.locator("#mc-years")).to_have_value(str(YEARS))
    expect(page.locator("#mc-seed")).to_have_value(str(SEED))
    # Run with the same years and seed again: answered from the cache, no new computation
    page.locator("#mc-run").click()
    expect(page.locator("#mc-progress .progress-bar")).to_have_text(re.compile(r"\(cached\)"), timeout=WAIT_MS)
    assert page.console_errors == []


def test_cancel_stops_a_long_run_and_keeps_the_shown_results(dash_server, app_page):
    page = app_page
    page.locator("#mc-years").fill("20000")
    page.locator("#mc-seed").fill("11")
    page.locator("#mc-run").click()
    expect(page.locator("#mc-cancel")).to_be_enabled(timeout=WAIT_MS)
    assert _jobs(), f"no job process; the page says: {page.locator('#mc-status').text_content()!r}"
    page.locator("#mc-cancel").click()
    expect(page.locator("#mc-status")).to_have_text("Run cancelled: nothing was stored.", timeout=WAIT_MS)
    expect(page.locator("#mc-run")).to_be_enabled()
    expect(page.locator("#mc-run-info")).to_contain_text(f"{YEARS} simulated years · seed {SEED}")
    deadline = time.monotonic() + 10
    while _jobs() and time.monotonic() < deadline:  # Dash kills the job process
        time.sleep(0.1)
    assert _jobs() == []
    assert page.console_errors == []


def _jobs() -> list:
    """Background job processes still running: children of this process forked from it (same command line)."""
    import psutil

    me = psutil.Process()
    out = []
    for child in me.children():
        try:
            if child.cmdline() == me.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return out
