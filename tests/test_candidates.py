"""The optional candidates table (riskmodel.candidates): reading, every validation rule with file/row/column, and
candidate new sites as regionalization options on the sample data."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pytest
from conftest import SAMPLE

from riskmodel.candidates import CANDIDATE_COLUMNS, CANDIDATES, DEFAULT_QUALIFICATION_WEEKS, load_candidates
from riskmodel.options import generate_options
from riskmodel.portfolio import problem_from_options
from riskmodel.regionalize import OptionEvaluator, regionalize
from riskmodel.schema import SITES
from riskmodel.validate import load_network

HEADER = "site_id,name,kind,country,city,lat,lon,technology,material,capex,annual_cost,qualification_weeks," \
         "capacity_share,requires,excludes"
GOOD = [
    "CAND-API-CIS-EU,New cisplatin API plant,api,DEU,,50.11,8.68,,cisplatin API,20000000,1000000,104,0.5,,",
    "CAND-STOP-EU,New stopper line,raw_material,Germany,Frankfurt,,,,coated elastomer vial stoppers,15000000,,,1,,",
    "CAND-FF-US,New US fill line,fill_finish,USA,,40.49,-74.45,aseptic_vial,cisplatin 1 mg/mL 50 mL vial,"
    "30000000,2000000,130,0.6,CAND-API-US,CAND-FF-US2",
    "CAND-FF-US2,Alternative US fill line,fill_finish,US,,35.9,-78.86,aseptic_vial,cisplatin 1 mg/mL 50 mL vial,"
    "28000000,2000000,130,0.6,CAND-API-US,CAND-FF-US",
    "CAND-API-US,New US cisplatin API,api,USA,,38.37,-97.66,,cisplatin API,18000000,800000,,0.5,,",
]


@pytest.fixture(scope="module")
def net():
    return load_network(SAMPLE)


def write(tmp_path, lines, name="candidates.csv", encoding="utf-8", header=HEADER):
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode(encoding))
    return path


def errors_of(tmp_path, lines, net=None, header=HEADER):
    df, issues = load_candidates(write(tmp_path, lines, header=header), net)
    assert df is None, "expected errors"
    return {(i.row, i.column): i.message for i in issues}


# ---------------------------------------------------------------------------------------------- schema and reading
def test_schema_has_the_site_columns_and_the_option_columns():
    names = [c.name for c in CANDIDATES.columns]
    assert [c for c in SITES.names if c != "weekly_demand"] == names[: len(SITES.names) - 1]
    for c in ("material", "capex", "annual_cost", "qualification_weeks", "capacity_share", "requires", "excludes"):
        assert c in names
    assert CANDIDATES.required == ["site_id", "name", "kind", "country", "capex"]


def test_a_valid_table_loads_with_defaults_country_and_region(tmp_path, net):
    df, issues = load_candidates(write(tmp_path, GOOD), net)
    assert issues == [] and list(df.columns) == CANDIDATE_COLUMNS
    row = df.set_index("site_id")
    assert row.loc["CAND-STOP-EU", "country"] == "DEU" and row.loc["CAND-STOP-EU", "region"] == "Europe"
    assert np.isfinite(row.loc["CAND-STOP-EU", "lat"])  # placed by the offline gazetteer (Frankfurt)
    assert row.loc["CAND-STOP-EU", "qualification_weeks"] == DEFAULT_QUALIFICATION_WEEKS
    assert row.loc["CAND-STOP-EU", "annual_cost"] == 0.0
    assert row.loc["CAND-API-US", "capacity_share"] == 0.5
    assert row.loc["CAND-FF-US", "requires"] == "CAND-API-US" and row.loc["CAND-FF-US", "excludes"] == "CAND-FF-US2"
    assert row.loc["CAND-FF-US2", "country"] == "USA" and row.loc["CAND-FF-US", "region"] == "North America"


def test_folder_semicolons_decimal_commas_and_cp1252(tmp_path, net):
    header = HEADER.replace(",", ";")
    line = "CAND-1;Usine à Lyon;api;France;;45,76;4,84;;cisplatin API;1.500.000,50;;;0,5;;"
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "Candidates.CSV").write_bytes((header + "\r\n" + line + "\r\n").encode("cp1252"))
    df, issues = load_candidates(folder, net)
    assert issues == []
    assert df.loc[0, "name"] == "Usine à Lyon" and df.loc[0, "capex"] == 1_500_000.5
    assert df.loc[0, "capacity_share"] == 0.5 and df.loc[0, "lat"] == 45.76


def test_workbook_sheet(tmp_path, net):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Candidates"
    ws.append(HEADER.split(","))
    ws.append(GOOD[0].split(","))
    book.create_sheet("notes").append(["ignored"])
    buf = io.BytesIO()
    book.save(buf)
    path = tmp_path / "c.xlsx"
    path.write_bytes(buf.getvalue())
    df, issues = load_candidates(path, net)
    assert issues == [] and df.loc[0, "site_id"] == "CAND-API-CIS-EU" and df.loc[0, "capex"] == 20_000_000
    other = tmp_path / "o.xlsx"
    book.remove(book["Candidates"])
    book.save(other)
    df, issues = load_candidates(other, net)
    assert df is None and "no sheet named 'candidates'" in issues[0].message


def test_unreadable_inputs_are_errors_not_tracebacks(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "fake.xlsx").write_bytes(b"not a zip")
    for name in ("empty.csv", "bin.csv", "fake.xlsx", "missing.csv"):
        df, issues = load_candidates(tmp_path / name)
        assert df is None and issues and all(i.file for i in issues), name
    df, issues = load_candidates(tmp_path)  # a folder without candidates.csv
    assert df is None and "no candidates.csv" in issues[0].message


def test_header_only_is_an_empty_table_with_a_warning(tmp_path, net):
    df, issues = load_candidates(write(tmp_path, []), net)
    assert df is not None and df.empty and "no candidates" in issues[0].message


# ---------------------------------------------------------------------------------------------- rules
def test_every_rule_is_reported_at_once_with_row_and_column(tmp_path, net):
    lines = [
        "API-CIS-LODI-IT,Clash,api,ITA,,45.3,9.5,,,1,,,,,",  # row 2: id already a site
        "C-MKT,Market,market,DEU,,50,8,,,1,,,,,",  # row 3: a market
        "C-NOCAPEX,No capex,api,DEU,,50,8,,,,,,,,",  # row 4
        "C-BAD,Bad numbers,api,DEU,,50,8,,,-5,x,-1,1.5,,",  # row 5: capex < 0, annual_cost text, weeks < 0, share > 1
        "C-REF,Refs,api,DEU,,50,8,,,1,,,,C-NOPE;C-REF,C-BAD",  # row 6: unknown and self in requires
        "C-BOTH,Both,api,DEU,,50,8,,,1,,,,C-BAD,C-BAD",  # row 7: required and excluded
        "C-GEO,Nowhere,api,Atlantis,,,,,,1,,,,,",  # row 8: unknown country, no place
        "bad id!,Bad id,api,DEU,,50,8,,,1,,,,,",  # row 9
        "C-ZERO,Zero share,api,DEU,,50,8,,,1,,,0,,",  # row 10: share must be > 0
        "C-ZERO,Duplicate,api,DEU,,50,8,,,1,,,,,",  # row 11: duplicate id
    ]
    err = errors_of(tmp_path, lines, net)
    assert "already a site of the dataset" in err[(2, "site_id")]
    assert "not a market" in err[(3, "kind")]
    assert "required" in err[(4, "capex")]
    assert "expected" in err[(5, "capex")] and "annual_cost" in {c for _, c in err} and (5, "annual_cost") in err
    assert (5, "qualification_weeks") in err and (5, "capacity_share") in err
    assert "unknown candidate 'C-NOPE'" in err[(6, "requires")]
    assert "both required and excluded" in err[(7, "excludes")]
    assert "unknown country" in err[(8, "country")]
    assert "invalid site id" in err[(9, "site_id")]
    assert (10, "capacity_share") in err
    assert "duplicate site id" in err[(11, "site_id")]
    assert all(f == "candidates.csv" for f in {i.file for i in load_candidates(write(tmp_path, lines), net)[1]})


def test_self_reference_and_missing_required_columns(tmp_path, net):
    err = errors_of(tmp_path, ["C1,Self,api,DEU,,50,8,,,1,,,,C1,"], net)
    assert "cannot name itself" in err[(2, "requires")]
    err = errors_of(tmp_path, ["C1,x,api,DEU"], header="site_id,name,kind,country")
    assert "required column 'capex' is missing" in err[(1, "capex")]


def test_unknown_columns_and_unknown_materials_are_warnings(tmp_path, net):
    df, issues = load_candidates(write(tmp_path, ["C1,x,api,DEU,,50,8,,unobtainium API,1,,,,,,note"],
                                       header=HEADER + ",comment"), net)
    assert df is not None
    text = " | ".join(str(i) for i in issues)
    assert "column 'comment' is not part of the candidates table" in text
    assert "no link of the dataset carries 'unobtainium API'" in text


# ---------------------------------------------------------------------------------------------- as options
def test_candidates_become_options_with_inputs_customers_precedence_and_exclusion(tmp_path, net):
    cand, _ = load_candidates(write(tmp_path, GOOD), net)
    opts = {o.option_id: o for o in generate_options(net, cand, stock=False)}
    api = opts["N:CAND-API-CIS-EU"]
    assert api.type == "new_site" and api.region == "Europe"
    assert {lk.customer_id for lk in api.links} == {"FF-CIS-KUNDL-AT"}  # the European cisplatin fill line
    assert all(lk.share == 0.5 for lk in api.links)
    assert {lk.supplier_id for lk in api.inputs} == {"RM-PT-HANAU-DE", "RM-PT-RUSTENBURG-ZA"}  # like Lodi (IT)
    assert api.cost == pytest.approx(20e6 + 5 * 1e6) and api.lead_time_weeks == 104.0
    ff = opts["N:CAND-FF-US"]
    assert ff.requires == ("N:CAND-API-US",) and ff.excludes == ("N:CAND-FF-US2",)
    assert {"DIST-USA-CIS-LOUISVILLE", "DIST-USA-CIS-DALLAS"} <= {lk.customer_id for lk in ff.links}
    us_api = opts["N:CAND-API-US"]
    assert "CAND-FF-US" in {lk.customer_id for lk in us_api.links}  # a new API plant for the new fill line
    options = list(opts.values())
    p = problem_from_options(options, np.ones(len(options)))
    idx = {o.option_id: i for i, o in enumerate(options)}
    assert (idx["N:CAND-FF-US"], idx["N:CAND-API-US"]) in p.requires
    assert sorted([idx["N:CAND-FF-US"], idx["N:CAND-FF-US2"]]) in p.exclusive


def test_a_european_stopper_line_raises_european_cisplatin_self_sufficiency(tmp_path, net):
    cand, _ = load_candidates(write(tmp_path, GOOD), net)
    options = generate_options(net, cand, stock=False)
    ev = OptionEvaluator(net, options)
    idx = {o.option_id: i for i, o in enumerate(options)}
    mk = list(net.site_ids[net.market_index])
    deu = mk.index("MKT-DEU-CIS")
    assert ev.baseline.self_sufficiency[deu] == 0.0  # every vial line needs the Japanese stoppers
    stop = ev.evaluate([idx["N:CAND-STOP-EU"]]).self_sufficiency[deu]
    both = ev.evaluate([idx["N:CAND-STOP-EU"], idx["N:CAND-API-CIS-EU"]]).self_sufficiency[deu]
    assert 0.0 < stop <= both
    api_alone = ev.evaluate([idx["N:CAND-API-CIS-EU"]]).self_sufficiency[deu]
    assert api_alone == 0.0  # alone, a European API changes nothing in a cut-off: the stoppers still come from Japan


def test_regionalize_with_candidates_respects_precedence_and_exclusion(tmp_path, net):
    cand, _ = load_candidates(write(tmp_path, GOOD), net)
    res = regionalize(net, cand, budget=400e6, whatif=False)
    chosen = set(res.to_json()["portfolio"]["chosen"])
    assert not {"N:CAND-FF-US", "N:CAND-FF-US2"} <= chosen
    for ff in ("N:CAND-FF-US", "N:CAND-FF-US2"):
        if ff in chosen:
            assert "N:CAND-API-US" in chosen
    assert res.after.risk <= res.base.risk
