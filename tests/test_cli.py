"""The command line through its real entry point (the installed ``riskmodel`` script), as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE, base_sites

RISKMODEL = str(Path(sys.executable).parent / "riskmodel")


def run(*args, env=None, timeout=300):
    return subprocess.run([RISKMODEL, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


def test_validate_sample_exits_0_with_summary():
    r = run("validate", SAMPLE)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout and "sites" in r.stdout and "by kind" in r.stdout


def test_validate_json_matches_the_spec(cli_env):
    r = run("validate", SAMPLE, "--json", env=cli_env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # stdout holds one JSON document and nothing else
    assert set(doc) == {"valid", "errors", "warnings", "counts"}
    assert doc["valid"] is True and doc["errors"] == []
    assert doc["counts"]["sites"] >= 150 and doc["counts"]["countries"] >= 15
    for w in doc["warnings"]:
        assert set(w) == {"file", "row", "column", "message"}


def test_invalid_data_exits_1_with_file_row_column_lines(dataset):
    sites = base_sites()
    sites[1]["country"] = "Atlantis"
    sites[6]["weekly_demand"] = "-1"
    folder = dataset(sites=sites)
    r = run("validate", folder)
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("sites.csv:")]
    assert lines == [
        "sites.csv:3:country: unknown country 'Atlantis': expected ISO 3166 alpha-2, alpha-3 or English name",
        "sites.csv:8:weekly_demand: expected more than 0, got -1",
    ]
    assert "Traceback" not in r.stderr
    r = run("validate", folder, "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["valid"] is False
    assert [(e["file"], e["row"], e["column"]) for e in doc["errors"]] == [
        ("sites.csv", 3, "country"), ("sites.csv", 8, "weekly_demand")]


def test_binary_and_missing_data_exit_1_without_traceback(tmp_path):
    (tmp_path / "sites.csv").write_bytes(b"\x00\x01\x02garbage" * 100)
    r = run("validate", tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "sites.csv::: this is not a text file" in r.stderr
    assert "links.csv::: missing" in r.stderr
    r = run("validate", tmp_path / "nothing-here")
    assert r.returncode == 1 and "no such file or folder" in r.stderr


@pytest.mark.parametrize("args", [[], ["validate"], ["frobnicate"], ["generate", "--sites", "x", "out"],
                                  ["generate", "--sites", "3", "out"]])
def test_wrong_usage_exits_2(args, tmp_path):
    r = run(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


def test_template_writes_empty_and_example_csv_and_xlsx(tmp_path):
    r = run("template", tmp_path / "t")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "t"
    for p in ["empty/sites.csv", "empty/links.csv", "example/sites.csv", "example/links.csv", "template.xlsx",
              "example.xlsx", "columns.csv"]:
        assert (out / p).is_file(), p
    desc = pd.read_csv(out / "columns.csv")
    assert {"sites", "links"} == set(desc["table"]) and desc["description"].str.len().min() > 5
    assert run("validate", out / "example").returncode == 0
    assert run("validate", out / "example.xlsx").returncode == 0
    sheets = pd.read_excel(out / "template.xlsx", sheet_name=None)
    assert {"sites", "links", "columns"} <= set(sheets)
    assert list(sheets["sites"].columns)[:3] == ["site_id", "name", "kind"]
    r = run("validate", out / "empty")
    assert r.returncode == 1 and "no sites: the table has a header but no rows" in r.stderr


def test_generate_is_deterministic_and_validates(tmp_path):
    for name in ("a", "b"):
        r = run("generate", "--sites", 1500, "--seed", 7, tmp_path / name)
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "a/sites.csv").read_bytes() == (tmp_path / "b/sites.csv").read_bytes()
    assert (tmp_path / "a/links.csv").read_bytes() == (tmp_path / "b/links.csv").read_bytes()
    r = run("validate", tmp_path / "a", "--json")
    assert r.returncode == 0, r.stderr[:2000]
    counts = json.loads(r.stdout)["counts"]
    assert abs(counts["sites"] - 1500) <= 75 and counts["markets"] > 0


def test_user_commands(tmp_path, cli_env):
    env = dict(cli_env, RISKMODEL_HOME=str(tmp_path / "home"))
    env.pop("DATABASE_URL", None)

    def user(*args, stdin=None):
        return subprocess.run([RISKMODEL, "user", *args], input=stdin, capture_output=True, text=True, env=env,
                              timeout=120)

    assert user("add", "alice", "--role", "analyst", stdin="correct horse battery\n").returncode == 0
    assert user("add", "bob", "--role", "viewer", stdin="another long password\n").returncode == 0
    r = user("list", "--json")
    assert r.returncode == 0
    assert [(u["name"], u["role"]) for u in json.loads(r.stdout)] == [("alice", "analyst"), ("bob", "viewer")]
    assert user("add", "carol", "--role", "superuser", stdin="pw\n").returncode == 2
    assert user("add", "dave", "--role", "viewer", stdin="short\n").returncode == 2  # password too short
    assert user("remove", "bob").returncode == 0
    assert [u["name"] for u in json.loads(user("list", "--json").stdout)] == ["alice"]
    db = tmp_path / "home" / "riskmodel.db"
    assert db.is_file() and b"correct horse battery" not in db.read_bytes()


def test_exposure_json_and_table(dataset):
    folder = dataset()
    r = run("exposure", folder, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"total_weekly_demand", "sites", "markets", "concentration"}
    assert doc["total_weekly_demand"] == 1100
    sites = {s["site_id"]: s for s in doc["sites"]}
    assert [s["exposure"] for s in doc["sites"]] == sorted((s["exposure"] for s in doc["sites"]), reverse=True)
    for s in doc["sites"]:
        assert set(s) >= {"site_id", "exposure", "lost_weekly_units", "spof", "critical_markets", "spof_markets"}
    # the sole vial-glass supplier and the fill-finish site cut both markets to 0 (AND across materials)
    assert sites["GLASS-1"]["spof"] and sorted(sites["GLASS-1"]["spof_markets"]) == ["MKT-PR", "MKT-US"]
    assert sites["GLASS-1"]["exposure"] == pytest.approx(1.0)
    # API-1 carries 60% of the API: both markets lose 60%, critical but not SPOF
    assert sites["API-1"]["exposure"] == pytest.approx(0.6) and not sites["API-1"]["spof"]
    assert sorted(sites["API-1"]["critical_markets"]) == ["MKT-PR", "MKT-US"]
    # the distributor only serves the US market: 1000 of 1100 units
    assert sites["DIST-1"]["lost_weekly_units"] == pytest.approx(1000)
    r = run("exposure", folder)
    assert r.returncode == 0 and "GLASS-1" in r.stdout and "SPOF" in r.stdout


def test_simulate_circle_around_puerto_rico():
    r = run("simulate", SAMPLE, "--disrupt", "circle:18.2,-66.5,100", "--weeks", 17, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["disrupted_sites"] and all(s.endswith("-PR") for s in doc["disrupted_sites"])
    assert doc["lost_units"] > 0 and doc["time_to_survive_days"] is not None
    m = next(iter(doc["markets"].values()))
    assert set(m) >= {"inflow_fraction", "supplied_fraction", "shortfall_units", "stock_units", "lost_units",
                      "first_shortfall_day"}
    assert len(m["supplied_fraction"]) == 52 * 7


@pytest.mark.parametrize("spec", ["site:NOPE", "circle:1,2", "region:Atlantis", "planet:Mars"])
def test_simulate_bad_selection_is_a_clear_usage_error(spec):
    r = run("simulate", SAMPLE, "--disrupt", spec, "--weeks", 4)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.strip()


def test_tts_and_regionalize_json():
    r = run("tts", SAMPLE, "--json")
    assert r.returncode == 0, r.stderr
    sites = json.loads(r.stdout)["sites"]
    gaps = [s["gap_days"] for s in sites if s["tts_days"] is not None]
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > 0  # the largest TTR - TTS first
    assert all(s["tts_days"] is None for s in sites[len(gaps):])  # sites that cause no shortfall last
    assert all(s["needs_mitigation"] == (s["tts_days"] is not None and s["tts_days"] < s["ttr_days"]) for s in sites)
    r = run("regionalize", SAMPLE, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) >= {"markets", "options", "portfolio", "frontier"}
    assert doc["portfolio"]["risk_after"] <= doc["portfolio"]["risk_before"]
