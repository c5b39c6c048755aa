"""Real messy files: every encoding, delimiter and quoting case risk teams send, and naughty strings."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest
from conftest import LINK_HEADER, SITE_HEADER, base_links, base_sites, to_csv

from riskmodel import readers
from riskmodel.template import workbook_bytes
from riskmodel.validate import validate_dataset


def _assert_loaded_like_base(report):
    assert report.valid, [str(e) for e in report.errors]
    sites = report.sites.set_index("site_id")
    assert len(sites) == 8
    assert sites.loc["FF-1", "country"] == "PRI"
    assert sites.loc["FF-1", "lon"] == pytest.approx(-66.54)
    assert sites.loc["FF-1", "surge"] == pytest.approx(0.2)
    links = report.links
    api = links[(links.customer_id == "FF-1") & (links.material == "API")].set_index("supplier_id")["share"]
    assert api.to_dict() == pytest.approx({"API-1": 0.6, "API-2": 0.4})


@pytest.mark.parametrize(
    "encoding, delimiter, newline",
    [
        ("utf-8", ",", "\n"),
        ("utf-8-sig", ",", "\r\n"),  # Excel "CSV UTF-8"
        ("utf-16", "\t", "\r\n"),  # Excel "Unicode text": UTF-16 LE with BOM, tab-separated
        ("utf-16", ",", "\n"),
        ("cp1252", ",", "\r\n"),  # Excel "CSV" on Western Windows
        ("latin-1", ";", "\r\n"),
        ("utf-8", ";", "\r\n"),
        ("utf-8", "\t", "\n"),
    ],
)
def test_encodings_and_delimiters(dataset, encoding, delimiter, newline):
    sites = base_sites()
    sites[0]["name"] = "Société Chimique Zürich ærø"  # accents that differ between UTF-8 and cp1252
    folder = dataset(sites=sites, encoding=encoding, delimiter=delimiter, newline=newline)
    report = validate_dataset(folder)
    _assert_loaded_like_base(report)
    assert report.sites.set_index("site_id").loc["KSM-1", "name"] == "Société Chimique Zürich ærø"
    raw = readers.read_dataset(folder)
    assert raw.tables["sites"].delimiter == delimiter


def test_decimal_commas_in_semicolon_files(dataset):
    """European Excel: `;` separator and `1,5` decimals, CRLF, Windows-1252."""
    sites = base_sites()
    for s in sites:
        for c in ("lat", "lon", "surge"):
            s[c] = s[c].replace(".", ",")
    sites[6]["weekly_demand"] = "1.000,5"  # thousands dot, decimal comma
    links = base_links()
    links[2]["share"], links[3]["share"] = "0,6", "0,4"
    folder = dataset(sites=sites, links=links, encoding="cp1252", delimiter=";", newline="\r\n")
    report = validate_dataset(folder)
    _assert_loaded_like_base(report)
    assert report.sites.set_index("site_id").loc["MKT-US", "weekly_demand"] == pytest.approx(1000.5)


def test_headers_case_and_space_insensitive(dataset):
    site_header = [" Site ID", "NAME", "Kind ", "Country", "city", "Lat", "LON", "Operator", "Technology",
                   "Weekly Demand", "inventory days", "TTR_weeks", "surge", "annual-disruption-prob"]
    link_header = ["Supplier_ID", "customer id", " Material ", "SHARE", "Lead Time Days", "Status",
                   "Qualification Weeks"]
    sites = [dict(zip(site_header, r.values(), strict=True)) for r in base_sites()]
    links = [dict(zip(link_header, r.values(), strict=True)) for r in base_links()]
    folder = dataset(sites=sites, links=links, site_header=site_header, link_header=link_header)
    _assert_loaded_like_base(validate_dataset(folder))


NAUGHTY = [
    '=HYPERLINK("http://evil.example/x","click")',
    "+1+cmd|' /C calc'!A0",
    "<script>alert('x')</script>",
    "Robert'); DROP TABLE sites;--",
    "💊 Pharma 🏭 Ltd",
    "مصنع الأدوية \u202eRTL",
    'Quoted "name", with comma',
    "Line one\nLine two, still the name",
]
OTHER_NAUGHTY = ["  leading and trailing spaces kept in names  ", "NULL", "NaN"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-8-sig"])
def test_naughty_strings_keep_their_exact_text(dataset, encoding):
    sites = base_sites()
    for s, text in zip(sites, NAUGHTY, strict=True):
        s["name"] = text
    for s, text in zip(sites, OTHER_NAUGHTY, strict=False):
        s["operator"] = text
    links = base_links()
    links[4]["material"] = "vial glass, type I \"borosilicate\"\n(2 mL)"
    folder = dataset(sites=sites, links=links, encoding=encoding, newline="\r\n")
    report = validate_dataset(folder)
    assert report.valid, [str(e) for e in report.errors]
    names = report.sites.set_index("site_id")["name"]
    for s, text in zip(base_sites(), NAUGHTY, strict=True):
        assert names[s["site_id"]] == text
    assert {"leading and trailing spaces kept in names", "NULL", "NaN"} <= set(report.sites["operator"])
    assert (report.links["material"] == "vial glass, type I \"borosilicate\"\n(2 mL)").sum() == 1


def test_row_numbers_count_records_not_lines(dataset):
    """A quoted newline makes a record span two lines; a spreadsheet still shows it as one row."""
    sites = base_sites()
    sites[0]["name"] = "two\nlines"
    sites[2]["country"] = "Atlantis"  # record 3 -> spreadsheet row 4
    report = validate_dataset(dataset(sites=sites))
    assert [(e.file, e.row, e.column) for e in report.errors] == [("sites.csv", 4, "country")]


def test_quoted_fields_with_delimiters_and_quotes(tmp_path):
    text = to_csv(base_sites(), SITE_HEADER, quoting=csv.QUOTE_ALL).replace('"Fill-finish"', '"Fill, ""finish"""')
    (tmp_path / "sites.csv").write_text(text, encoding="utf-8")
    (tmp_path / "links.csv").write_text(to_csv(base_links(), LINK_HEADER, quoting=csv.QUOTE_ALL), encoding="utf-8")
    report = validate_dataset(tmp_path)
    assert report.valid, [str(e) for e in report.errors]
    assert report.sites.set_index("site_id").loc["FF-1", "name"] == 'Fill, "finish"'


def test_excel_workbook(tmp_path):
    sites = pd.DataFrame(base_sites())
    sites.loc[sites.site_id == "API-1", "name"] = "=1+2"  # text that looks like a formula stays text
    book = tmp_path / "Supplier Data (final v2).xlsx"
    book.write_bytes(workbook_bytes({"Sites": sites, "LINKS": pd.DataFrame(base_links())}))
    report = validate_dataset(book)
    _assert_loaded_like_base(report)
    assert report.sites.set_index("site_id").loc["API-1", "name"] == "=1+2"


def test_excel_numbers_typed_as_numbers_and_error_rows(tmp_path):
    """Numeric cells (not text) read correctly; errors name the sheet and the sheet's row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "sites"
    ws.append(SITE_HEADER)
    for s in base_sites():
        ws.append([float(v) if h in ("lat", "lon", "weekly_demand") and v else v for h, v in s.items()])
    ws.cell(row=9, column=10).value = -5  # MKT-PR weekly_demand (row 9 = header + 8th site)
    wl = wb.create_sheet("links")
    wl.append(LINK_HEADER)
    for r in base_links():
        wl.append(list(r.values()))
    path = tmp_path / "data.xlsx"
    wb.save(path)
    report = validate_dataset(path)
    assert [(e.file, e.row, e.column) for e in report.errors] == [("data.xlsx[sites]", 9, "weekly_demand")]


def test_excel_missing_sheet_and_not_a_workbook(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.save(tmp_path / "a.xlsx")
    report = validate_dataset(tmp_path / "a.xlsx")
    assert not report.valid
    assert {e.message.split(" (")[0] for e in report.errors} == {"no sheet named 'sites'", "no sheet named 'links'"}
    (tmp_path / "b.xlsx").write_bytes(b"site_id,name\nA,B\n")
    report = validate_dataset(tmp_path / "b.xlsx")
    assert len(report.errors) == 1 and "not an .xlsx workbook" in report.errors[0].message
    (tmp_path / "c.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    report = validate_dataset(tmp_path / "c.xlsx")
    assert len(report.errors) == 1 and "cannot open the workbook" in report.errors[0].message


def test_empty_binary_and_oversized_files(dataset, monkeypatch):
    folder = dataset()
    (folder / "sites.csv").write_bytes(b"")
    (folder / "links.csv").write_bytes(bytes(range(256)) * 20)
    report = validate_dataset(folder)
    assert sorted((e.file, e.message) for e in report.errors) == [
        ("links.csv", "this is not a text file (binary content): save the table as CSV or .xlsx"),
        ("sites.csv", "the file is empty"),
    ]
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 100)
    report = validate_dataset(dataset())
    assert {e.file for e in report.errors} == {"sites.csv", "links.csv"}
    assert all("over the limit" in e.message for e in report.errors)


def test_missing_files_and_missing_columns(dataset, tmp_path):
    report = validate_dataset(tmp_path / "nope")
    assert report.errors[0].message == "no such file or folder"
    folder = dataset()
    (folder / "links.csv").unlink()
    assert any(e.file == "links.csv" and "missing" in e.message for e in validate_dataset(folder).errors)
    header = [h for h in SITE_HEADER if h not in ("kind", "country")]
    report = validate_dataset(dataset(site_header=header))
    cols = [(e.file, e.row, e.column) for e in report.errors]
    assert cols == [("sites.csv", 1, "country"), ("sites.csv", 1, "kind")]
    assert "required column 'kind' is missing" in report.errors[1].message


def test_ragged_row_is_an_error_not_a_crash(dataset):
    folder = dataset()
    text = (folder / "sites.csv").read_text()
    (folder / "sites.csv").write_text(text + "EXTRA-1,x,api,IND,,1,2,,,,,,,,surplus,fields\n")
    report = validate_dataset(folder)
    assert [(e.row, e.column) for e in report.errors] == [(10, None)]
    assert "16 fields but the header has 14" in report.errors[0].message
