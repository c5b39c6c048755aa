"""Reports (issue 7 item 5): the overview and a what-if scenario as self-contained HTML, PDF and Excel.

The PDF is looked at, not only opened: the page holding the map is rendered to PNG with pdfium (saved under
``artifacts/reports/`` for a human to look at) and its map area must show the country outlines' land and ocean
colours and coloured markers. Every number is checked against the analyses (``Dataset``'s results,
``scenarios.run``, ``simulate``), never against hard-coded values. Kaleido's browser starts once for the module.
"""

from __future__ import annotations

import base64
import html
import io
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import ROOT, SAMPLE

from dashboard import reports, scenarios
from dashboard.state import Dataset
from dashboard.theme import days, pct, units
from riskmodel.simulate import simulate
from riskmodel.validate import validate_dataset

pdfium = pytest.importorskip("pypdfium2")
pytest.importorskip("kaleido")

ARTIFACTS = ROOT / "artifacts" / "reports"
RISKMODEL = str(Path(sys.executable).parent / "riskmodel")
#: a site name that a spreadsheet would run and that is HTML
EVIL = '=HYPERLINK("http://evil.example/x","<b>click</b>")'
SPEC = {"countries": ["IND"], "duration_weeks": 12}
LAND, OCEAN = (0xF1, 0xF2, 0xF4), (0xE4, 0xED, 0xF5)  # dashboard.maps.geo_layout's landcolor and oceancolor

needs_chromium = pytest.mark.skipif(not any(Path(p).exists() for p in ("/usr/bin/chromium",
                                                                        "/usr/lib/chromium/chromium")),
                                    reason="Chromium is not installed (make browser)")


def write_png(rgb: np.ndarray, path: Path) -> None:
    """An RGB array as a PNG file (no imaging library needed)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def map_page(pdf: bytes, title: str, png: Path, scale: float = 2.0) -> tuple[int, np.ndarray]:
    """Render the page whose text holds ``title`` and which has the largest image (the map) to PNG; return the page
    number and the map area's pixels (RGB)."""
    doc = pdfium.PdfDocument(pdf)
    best = None
    for i in range(len(doc)):
        page = doc[i]
        if title not in page.get_textpage().get_text_range():
            continue
        for obj in page.get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,)):
            left, bottom, right, top = obj.get_bounds()
            area = (right - left) * (top - bottom)
            if best is None or area > best[0]:
                best = (area, i, (left, bottom, right, top))
    assert best is not None, f"no page with '{title}' and an image"
    _, i, (left, bottom, right, top) = best
    page = doc[i]
    rgb = page.render(scale=scale, rev_byteorder=True).to_numpy()[:, :, :3].copy()
    write_png(rgb, png)
    height = page.get_size()[1]
    y0, y1 = int((height - top) * scale) + 2, int((height - bottom) * scale) - 2
    x0, x1 = int(left * scale) + 2, int(right * scale) - 2
    return i, rgb[y0:y1, x0:x1]


def near(rgb: np.ndarray, colour, tol: int = 4) -> np.ndarray:
    return (np.abs(rgb.astype(int) - np.array(colour)) <= tol).all(axis=-1)


def assert_map_drawn(area: np.ndarray) -> None:
    """The map area shows land and ocean (so the local outlines loaded) and several colours (markers, links)."""
    assert area.shape[0] > 300 and area.shape[1] > 600, area.shape
    n = area.shape[0] * area.shape[1]
    ink = (255 - area.astype(int)).sum(axis=-1) > 30
    assert ink.mean() > 0.5, f"only {ink.mean():.0%} of the map area is not white"
    assert near(area, LAND).mean() > 0.05, "no land colour: the country outlines were not drawn"
    assert near(area, OCEAN).mean() > 0.05, "no ocean colour"
    strong = area[(area.max(axis=-1).astype(int) - area.min(axis=-1)) > 60]  # saturated pixels: markers, links
    assert len(strong) > n * 0.003, "no coloured markers"
    assert len({tuple(c) for c in (strong // 32).tolist()}) >= 6, "too few distinct colours"


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module", autouse=True)
def renderer():
    reports.start_renderer()  # kaleido's browser starts while the data loads


@pytest.fixture(scope="module")
def ds():
    d = Dataset(validate_dataset(SAMPLE), "sample")
    _ = d.sites_full, d.concentration
    return d


@pytest.fixture(scope="module")
def evil_ds(ds, tmp_path_factory):
    """The sample with the name of its most exposed site replaced by a formula that is also HTML."""
    folder = tmp_path_factory.mktemp("evil")
    sites = pd.read_csv(SAMPLE / "sites.csv", dtype=str, keep_default_na=False)
    worst = str(ds.exposure.sites["site_id"].iat[0])
    sites.loc[sites["site_id"] == worst, "name"] = EVIL
    sites.to_csv(folder / "sites.csv", index=False)
    (folder / "links.csv").write_bytes((SAMPLE / "links.csv").read_bytes())
    report = validate_dataset(folder)
    assert report.valid, report.errors[:3]
    d = Dataset(report, "evil")
    assert d.exposure.sites["name"].iat[0] == EVIL
    return d


@pytest.fixture(scope="module")
def overview(evil_ds):
    return reports.overview_report(evil_ds)


@pytest.fixture(scope="module")
def overview_html(overview):
    return reports.to_html(overview).decode("utf-8")


@pytest.fixture(scope="module")
def whatif(ds):
    return reports.whatif_report(ds, SPEC, data="data/sample")


def shown(page: str) -> dict[str, str]:
    """The headline numbers of a report's HTML: data-key -> value as shown."""
    found = re.findall(r'<div class="num" data-key="([^"]+)"><div class="label">.*?</div>'
                       r'<div class="value[^"]*">(.*?)</div>', page)
    return {k: html.unescape(v) for k, v in found}


# ---------------------------------------------------------------------------------------------- HTML
@needs_chromium
def test_html_is_self_contained_with_figures_as_images(overview_html):
    page = overview_html
    assert page.startswith("<!DOCTYPE html>")
    assert 'http-equiv="Content-Security-Policy"' in page and "default-src 'none'" in page
    # nothing loads from anywhere: every src/href is a data: URL, no script, no external style sheet
    refs = re.findall(r'\b(?:src|href)\s*=\s*["\']?([^"\'\s>]+)', page, flags=re.I)
    assert refs and all(r.startswith("data:") for r in refs), [r[:40] for r in refs if not r.startswith("data:")]
    assert not re.search(r"<script|<link|<iframe|<object|@import|url\(", page, flags=re.I)
    images = re.findall(r'<img src="data:(image/[a-z+]+);base64,([A-Za-z0-9+/=]+)"', page)
    kinds = [k for k, _ in images]
    assert kinds.count("image/png") >= 1 and kinds.count("image/svg+xml") >= 1, kinds
    for kind, data in images:
        raw = base64.b64decode(data)
        if kind == "image/png":
            assert raw.startswith(b"\x89PNG") and len(raw) > 50_000
        else:
            svg = raw.decode("utf-8")
            assert "<svg" in svg and not re.search(r'(?:href|src)="(?:https?:)?//', svg)


@needs_chromium
def test_html_headline_numbers_come_from_the_analyses(evil_ds, overview_html):
    got = shown(overview_html)
    ex = evil_ds.exposure
    m = ex.markets
    spof_demand = float(m.loc[m["n_spof_sites"] > 0, "weekly_demand"].sum())
    tts = evil_ds.tts
    assert got["sites"] == f"{evil_ds.report.counts['sites']:,}"
    assert got["countries"] == str(evil_ds.report.counts["countries"])
    assert got["spof_sites"] == str(int(ex.sites["spof"].sum()))
    assert got["spof_demand"] == pct(spof_demand / ex.total_weekly_demand)
    assert got["worst_site"] == pct(ex.sites["exposure"].max())
    assert got["shortest_tts"] == days(tts["tts_days"].min())
    assert got["needs_mitigation"] == str(int(tts["needs_mitigation"].sum()))
    for name in ex.sites.loc[ex.sites["spof"], "name"]:  # every single point of failure is listed
        assert html.escape(str(name)) in overview_html
    # a user's site name is text: escaped in the HTML, never markup
    assert html.escape(EVIL) in overview_html and "<b>click</b>" not in overview_html


# ---------------------------------------------------------------------------------------------- PDF
@needs_chromium
def test_overview_pdf_renders_its_map(overview):
    pdf = reports.to_pdf(overview)
    assert pdf.startswith(b"%PDF")
    doc = pdfium.PdfDocument(pdf)
    width, height = doc[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert len(doc) >= 3  # sections start on new pages
    i, area = map_page(pdf, "Network map", ARTIFACTS / "overview-map-page.png")
    assert i == 0  # the map is on the first page, with the key figures
    assert_map_drawn(area)
    exposure = [(0xF0, 0x3B, 0x20), (0xFD, 0x8D, 0x3C), (0xFE, 0xB2, 0x4C), (0xBD, 0x00, 0x26)]
    assert sum(int(near(area, c, 12).sum()) for c in exposure) > 200, "no exposure-coloured site markers"


@needs_chromium
def test_whatif_pdf_renders_its_map(whatif):
    pdf = reports.to_pdf(whatif)
    _, area = map_page(pdf, "Map: failing sites", ARTIFACTS / "what-if-map-page.png")
    assert_map_drawn(area)
    assert int(near(area, (0xD5, 0x5E, 0x00), 10).sum()) > 100, "no vermillion: failing sites not drawn"


# ---------------------------------------------------------------------------------------------- what-if
def test_whatif_numbers_equal_the_simulation(ds, whatif):
    summary = scenarios.summary(scenarios.run(ds, SPEC).result)
    fresh = simulate(ds.network, scenarios.disruptions(SPEC), 52.0)  # the model itself, not the cache
    assert summary["time_to_survive_days"] == fresh.time_to_survive_days
    assert summary["lost_units"] == pytest.approx(fresh.lost_units)
    n = whatif.numbers()
    assert n["time_to_survive"].raw == summary["time_to_survive_days"]
    assert n["lost_units"].raw == pytest.approx(summary["lost_units"])
    assert n["markets_short"].raw == summary["markets_short"]
    assert n["peak_shortfall"].raw == pytest.approx(summary["peak_shortfall_fraction"])
    assert n["days_in_shortage"].raw == summary["days_in_shortage"]
    assert n["full_recovery_day"].raw == summary["full_recovery_day"]
    assert n["sites_failing"].raw == summary["disrupted_sites"] == len(fresh.disrupted_sites)
    assert n["lost_units"].value == units(summary["lost_units"])
    assert n["peak_shortfall"].value == pct(summary["peak_shortfall_fraction"])
    scenario = whatif.sections[0]
    assert scenario.code == [scenarios.cli_command(SPEC, "data/sample")]
    markets = whatif.sections[-1].tables[0].frame
    lost = dict(zip(fresh.market_ids, fresh.market_lost, strict=True))
    assert [units(lost[m]) for m in markets["Market"]] == markets["Lost units"].tolist()


def test_whatif_that_cannot_run_says_why(ds):
    from riskmodel.disruption import DisruptionError

    with pytest.raises(DisruptionError, match="unknown site"):
        reports.whatif_report(ds, {"sites": ["NO-SUCH-SITE"], "duration_weeks": 4})
    with pytest.raises(DisruptionError, match="choose what fails"):
        reports.whatif_report(ds, {"duration_weeks": 4})


# ---------------------------------------------------------------------------------------------- Excel
def test_excel_workbooks_have_the_results_and_no_formula(evil_ds, overview, whatif):
    book = openpyxl.load_workbook(io.BytesIO(reports.to_xlsx(overview)))
    assert book.sheetnames == ["summary", "exposure", "markets", "countries", "concentration"]
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    names = [c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert "'" + EVIL in names and all(v.startswith("'=") for v in names)  # neutralised: shown as text, never run
    exposure = pd.read_excel(io.BytesIO(reports.to_xlsx(overview)), sheet_name="exposure")
    assert len(exposure) == len(evil_ds.exposure.sites)
    assert exposure["spof"].sum() == evil_ds.exposure.sites["spof"].sum()

    book = openpyxl.load_workbook(io.BytesIO(reports.to_xlsx(whatif)))
    assert book.sheetnames == ["summary", "markets", "daily"]
    items = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert items["time_to_survive_days"] == whatif.numbers()["time_to_survive"].raw
    assert items["scenario.command"] == scenarios.cli_command(SPEC, "data/sample")


# ---------------------------------------------------------------------------------------------- errors
def test_without_chromium_the_report_says_how_to_install_it(ds, monkeypatch):
    monkeypatch.setenv("RISKMODEL_CHROMIUM", "/no/such/chromium")
    report = reports.overview_report(ds)
    for render in (reports.to_html, reports.to_pdf):
        with pytest.raises(reports.ReportError, match="need Chromium: apt-get install chromium"):
            render(report)
    assert reports.to_xlsx(report).startswith(b"PK")  # Excel needs no browser


def test_dashboard_download_gives_a_file_or_a_message(sample_app_ds, monkeypatch):
    from dashboard import report_downloads

    ds = sample_app_ds
    data, msg = report_downloads.download("overview", "xlsx", ds.id)
    assert msg == "" and data["filename"].endswith(".xlsx") and data["base64"] and data["content"]
    data, msg = report_downloads.download("what-if", "xlsx", ds.id, None)
    assert data is None and "Run a what-if scenario first" in str(msg)
    data, msg = report_downloads.download("what-if", "xlsx", ds.id, {"spec": SPEC, "version": "another"})
    assert data is None and "another dataset version" in str(msg)
    data, msg = report_downloads.download("what-if", "xlsx", ds.id, {"spec": {"sites": ["NOPE"]}, "version": ds.id})
    assert data is None and "unknown site" in str(msg)
    data, msg = report_downloads.download("what-if", "xlsx", ds.id, {"spec": SPEC, "version": ds.id})
    assert msg == "" and data["filename"].startswith("what-if-")
    monkeypatch.setenv("RISKMODEL_CHROMIUM", "/no/such/chromium")
    data, msg = report_downloads.download("overview", "pdf", ds.id)
    assert data is None and "apt-get install chromium" in str(msg) and "Traceback" not in str(msg)


def test_every_app_has_the_report_callbacks_once(sample_app):
    deps = sample_app.server.test_client().get("/_dash-dependencies").get_json()
    outputs = [d["output"] for d in deps]
    for kind in ("overview", "what-if"):
        assert sum(f"report-{kind}-download.data" in o for o in outputs) == 1, kind


def test_what_if_report_callback_reads_the_last_run(sample_app, sample_app_ds):
    """The What-if page's group (``buttons("what-if")``) works over HTTP as Dash calls it: the last run's spec."""
    ds = sample_app_ds
    ids = [f"report-what-if-{f}" for f in ("html", "pdf", "xlsx")]
    body = {"output": "..report-what-if-download.data...report-what-if-msg.children..",
            "outputs": [{"id": "report-what-if-download", "property": "data"},
                        {"id": "report-what-if-msg", "property": "children"}],
            "inputs": [{"id": i, "property": "n_clicks", "value": 1 if i.endswith("xlsx") else None} for i in ids],
            "state": [{"id": "report-what-if-version", "property": "data", "value": ds.id},
                      {"id": "last-run", "property": "data", "value": {"spec": SPEC, "version": ds.id}}],
            "changedPropIds": ["report-what-if-xlsx.n_clicks"]}
    r = sample_app.server.test_client().post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.data[:300]
    got = r.get_json()["response"]
    sent = got["report-what-if-download"]["data"]
    assert sent["filename"].startswith("what-if-") and sent["filename"].endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(sent["content"])))
    items = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert items["time_to_survive_days"] == scenarios.run(ds, SPEC).result.time_to_survive_days


@pytest.fixture(scope="module")
def sample_app(tmp_path_factory):
    from dashboard.app import create_app

    return create_app(validate_dataset(SAMPLE), "sample", home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def sample_app_ds(sample_app):
    from dashboard import state

    return state.active()


# ---------------------------------------------------------------------------------------------- CLI
def run(*args, env=None):
    return subprocess.run([RISKMODEL, "report", *map(str, args)], capture_output=True, text=True, timeout=300,
                          env=env)


@needs_chromium
def test_cli_writes_a_pdf(tmp_path):
    out = tmp_path / "overview.pdf"
    r = run(SAMPLE, "--kind", "overview", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "wrote the overview report" in r.stderr and r.stdout == ""
    doc = pdfium.PdfDocument(out.read_bytes())
    assert len(doc) >= 3 and "Network map" in doc[0].get_textpage().get_text_range()


def test_cli_fails_cleanly(tmp_path):
    r = run(SAMPLE, "--kind", "what-if", "--disrupt", "bogus:1", "--weeks", "4", "--format", "pdf",
            "--out", tmp_path / "x.pdf")
    assert r.returncode == 2 and r.stderr.startswith("riskmodel report: ") and "unknown kind 'bogus'" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x.pdf").exists()
    r = run(SAMPLE, "--out", tmp_path / "x.txt")
    assert r.returncode == 2 and "--format" in r.stderr


# ---------------------------------------------------------------------------------------------- browser
@pytest.mark.browser
@needs_chromium
def test_overview_page_downloads_the_pdf_report(dash_server, page, tmp_path):
    from browser import screenshot, wait_for_map
    from playwright.sync_api import expect

    page.goto(dash_server.url + "/")
    wait_for_map(page, "ov-map")
    button = page.locator("#report-overview-pdf")
    expect(button).to_have_text("PDF")
    with page.expect_download(timeout=60_000) as info:
        button.click()
        expect(button).to_be_disabled(timeout=5_000)  # the loading state while the report is made
        expect(page.locator("#report-overview-busy")).to_be_visible(timeout=5_000)
    download = info.value
    assert download.suggested_filename.startswith("overview-") and download.suggested_filename.endswith(".pdf")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    expect(button).to_be_enabled()
    expect(page.locator("#report-overview-msg")).to_have_text("")
    screenshot(page, "overview-report-buttons")
    assert not page.console_errors, page.console_errors
