"""Validation never raises, whatever the input: random bytes, random cells under real headers, random workbooks.

``validate_dataset`` has a last-resort guard that turns an unexpected exception into an "internal error"; these
tests also fail when that guard fires, so a bug cannot hide behind it.
"""

from __future__ import annotations

import csv
import io

from conftest import LINK_HEADER, SITE_HEADER, base_links, base_sites
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.readers import read_csv_bytes, read_xlsx_bytes
from riskmodel.validate import validate_dataset, validate_tables

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _no_internal_error(report):
    assert all("internal error" not in e.message for e in report.errors), [str(e) for e in report.errors]
    for e in report.errors + report.warnings:
        assert isinstance(e.file, str) and isinstance(e.message, str) and e.message
        assert e.row is None or (isinstance(e.row, int) and e.row >= 1)


@FUZZ
@given(sites=st.binary(max_size=3000), links=st.binary(max_size=3000))
def test_random_bytes_never_raise(tmp_path, sites, links):
    (tmp_path / "sites.csv").write_bytes(sites)
    (tmp_path / "links.csv").write_bytes(links)
    report = validate_dataset(tmp_path)
    _no_internal_error(report)
    assert not report.valid or report.sites is not None


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_workbook_bytes_never_raise(tmp_path, data):
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04" + data)
    _no_internal_error(validate_dataset(tmp_path / "book.xlsx"))
    tables, errors = read_xlsx_bytes(data, "x.xlsx")
    assert errors or all(t is not None for t in tables.values())


CELL = st.one_of(
    st.sampled_from(["", " ", "0", "-1", "1e400", "nan", "inf", "0,5", "1.234,5", "API-1", "MKT-US", "FF-1", "market",
                     "api", "backup", "active", "USA", "PR", "Atlantis", "München", "=1+1", "\u202e", "💊", '"', "\n"]),
    st.text(max_size=12),
)


def _csv(header, rows, delimiter):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


@FUZZ
@given(
    site_cells=st.lists(st.lists(CELL, min_size=len(SITE_HEADER), max_size=len(SITE_HEADER)), max_size=6),
    link_cells=st.lists(st.lists(CELL, min_size=len(LINK_HEADER), max_size=len(LINK_HEADER)), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]),
)
def test_random_cells_under_real_headers_never_raise(tmp_path, site_cells, link_cells, delimiter, encoding):
    """Random values mixed into a valid dataset: deep validation paths (geocoding, shares, cycles) never crash."""
    sites = [list(r.values()) for r in base_sites()] + site_cells
    links = [list(r.values()) for r in base_links()] + link_cells
    (tmp_path / "sites.csv").write_bytes(_csv(SITE_HEADER, sites, delimiter).encode(encoding))
    (tmp_path / "links.csv").write_bytes(_csv(LINK_HEADER, links, delimiter).encode(encoding))
    report = validate_dataset(tmp_path)
    _no_internal_error(report)
    if report.valid:
        net = report.network()
        assert net.n_sites == len(report.sites)


@FUZZ
@given(text=st.text(max_size=400))
def test_random_text_tables_never_raise(text):
    sites, e1 = read_csv_bytes(text.encode("utf-8"), "sites.csv")
    links, e2 = read_csv_bytes(text.encode("utf-16"), "links.csv")
    _no_internal_error(validate_tables({"sites": sites, "links": links}, read_errors=e1 + e2))
