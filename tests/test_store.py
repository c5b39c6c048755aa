"""Storage (riskmodel.store) on SQLite and on a real PostgreSQL server, plus the upload limits (riskmodel.limits).

Every storage test runs once per backend. PostgreSQL comes from ``RISKMODEL_TEST_POSTGRES_URL`` (``make test`` starts
a throwaway server with ``scripts/ci_postgres.sh`` and sets it); each test gets its own schema, dropped afterwards.
Without the variable the PostgreSQL cases are skipped, unless ``RISKMODEL_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import math
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import ROOT, SAMPLE, base_links, write_dataset

from riskmodel import limits
from riskmodel.store import (
    METADATA,
    DatasetVersion,
    NotFound,
    Store,
    StoreError,
    checksum,
    default_url,
)
from riskmodel.validate import ValidationReport, validate_dataset

PG_ENV = "RISKMODEL_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


# ---------------------------------------------------------------------------------------------- fixtures
def postgres_url_or_skip() -> str:
    """The test server's URL; skips (or fails in CI, with RISKMODEL_REQUIRE_POSTGRES=1) when it is not configured."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        reason = (f"PostgreSQL backend not tested: set {PG_ENV} (run scripts/ci_postgres.sh, which prints the URL; "
                  "`make test` does both)")
        if os.environ.get("RISKMODEL_REQUIRE_POSTGRES", "") not in ("", "0"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url


def backend_url(backend: str, tmp_path) -> tuple[str, callable]:
    """A fresh, empty database of ``backend``: (URL, cleanup)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'riskmodel.db'}", lambda: None
    base = sa.make_url(postgres_url_or_skip())
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    def cleanup():
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    return url, cleanup


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    url, cleanup = backend_url(request.param, tmp_path)
    yield url
    cleanup()


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def sample_report() -> ValidationReport:
    report = validate_dataset(SAMPLE)
    assert report.valid
    return report


@pytest.fixture(scope="module")
def small_report(tmp_path_factory) -> ValidationReport:
    """The seven-site dataset of conftest, with shares that do not sum to 1 (so it has a warning to keep)."""
    links = base_links()
    links[2]["share"], links[3]["share"] = "0.6", "0.6"
    report = validate_dataset(write_dataset(tmp_path_factory.mktemp("small"), links=links))
    assert report.valid and report.warnings
    return report


@pytest.fixture(scope="module")
def invalid_report(tmp_path_factory) -> ValidationReport:
    links = base_links()
    links[0]["supplier_id"] = "NOWHERE"
    report = validate_dataset(write_dataset(tmp_path_factory.mktemp("bad"), links=links))
    assert not report.valid
    return report


def synthetic_report(n_sites: int, links_per_site: float = 3.5, seed: int = 1) -> ValidationReport:
    """Canonical tables of any size, built directly (no validation): for storage speed, not for the model."""
    rng = np.random.default_rng(seed)
    kinds = np.array(["raw_material", "api", "cmo", "fill_finish", "packaging", "logistics", "distribution",
                      "market"])
    kind = kinds[rng.integers(0, len(kinds), n_sites)]
    ids = np.array([f"S{i:07d}" for i in range(n_sites)], dtype=object)
    sites = pd.DataFrame({
        "site_id": pd.Series(ids, dtype="str"),
        "name": pd.Series([f"Site {i}, Ort \"Süd\"" for i in range(n_sites)], dtype="str"),
        "kind": pd.Series(kind, dtype="str"),
        "country": pd.Series(np.array(["DEU", "USA", "CHN", "IND", "PRI"])[rng.integers(0, 5, n_sites)],
                             dtype="str"),
        "city": pd.Series(np.array(["Mainz", "", "São Paulo"])[rng.integers(0, 3, n_sites)], dtype="str"),
        "lat": rng.uniform(-60, 60, n_sites), "lon": rng.uniform(-180, 180, n_sites),
        "operator": pd.Series(["Op A"] * n_sites, dtype="str"), "technology": pd.Series([""] * n_sites, dtype="str"),
        "weekly_demand": np.where(kind == "market", rng.uniform(1, 1e4, n_sites), np.nan),
        "inventory_days": rng.uniform(0, 90, n_sites), "ttr_weeks": rng.uniform(1, 52, n_sites),
        "surge": rng.uniform(0, 1, n_sites), "annual_disruption_prob": rng.uniform(0, 0.2, n_sites),
        "region": pd.Series(["Europe"] * n_sites, dtype="str"),
    })
    m = int(n_sites * links_per_site)
    status = np.where(rng.random(m) < 0.05, "backup", "active")
    links = pd.DataFrame({
        "supplier_id": pd.Series(ids[rng.integers(0, n_sites, m)], dtype="str"),
        "customer_id": pd.Series(ids[rng.integers(0, n_sites, m)], dtype="str"),
        "material": pd.Series(np.array(["API", "saline 0.9% 100 mL bag", "vial glass"])[rng.integers(0, 3, m)],
                              dtype="str"),
        "share": rng.uniform(0, 1, m), "lead_time_days": rng.uniform(0, 60, m),
        "status": pd.Series(status, dtype="str"), "qualification_weeks": np.where(status == "backup", 26.0, 0.0),
    })
    return ValidationReport(sites=sites, links=links, counts={"sites": n_sites, "links": int((status == "active")
                                                                                               .sum())})


def snapshot(store: Store) -> tuple:
    """Everything a failed upload must leave untouched: row counts of every table, the versions, the active one."""
    with store.begin() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in METADATA.sorted_tables}
    return counts, store.list_datasets(), store.active_dataset()


def assert_same_tables(loaded: ValidationReport, original: ValidationReport) -> None:
    pd.testing.assert_frame_equal(loaded.sites, original.sites.reset_index(drop=True))
    pd.testing.assert_frame_equal(loaded.links, original.links.reset_index(drop=True))


def add(store: Store, report: ValidationReport, name: str = "network", **kw) -> DatasetVersion:
    return store.add_dataset(report, name, kw.pop("uploader", "alice"), ["sites.csv", "links.csv"],
                             checksum([name.encode()]), **kw)


# ---------------------------------------------------------------------------------------------- schema and setup
def test_migrations_create_exactly_the_declared_schema(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, METADATA) == []
        assert ctx.get_current_revision() == store.upgrade()  # at the newest revision


def test_opening_again_keeps_the_data_and_does_not_migrate_twice(store_url, small_report):
    with Store(store_url) as first:
        head = first.upgrade()
        v = add(first, small_report)
    with Store(store_url) as again:
        with again.begin() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [head]
        assert [d.id for d in again.list_datasets()] == [v.id]


def test_default_database_is_a_private_sqlite_file_in_riskmodel_home(tmp_path, monkeypatch, small_report):
    home = tmp_path / "rm-home"
    monkeypatch.setenv("RISKMODEL_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert default_url() == f"sqlite:///{home.resolve() / 'riskmodel.db'}"
    with Store() as s:
        add(s, small_report)
    db = home / "riskmodel.db"
    assert db.is_file()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_database_url_selects_the_database(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    assert default_url().endswith("/other.db")
    with Store() as s:
        assert str(s.url).endswith("other.db")


def test_urls_are_checked_and_passwords_never_shown(tmp_path):
    with pytest.raises(StoreError, match="unsupported database"):
        Store("mysql://u:p@localhost/db", migrate=False)
    with pytest.raises(StoreError, match="not a database URL"):
        Store("no url at all", migrate=False)
    with pytest.raises(StoreError, match="SQLite file"):
        Store("sqlite://", migrate=False)
    s = Store("postgres://me:hunter2secret@127.0.0.1:1/db", migrate=False)  # no connection is made
    assert s.url.drivername == "postgresql+psycopg"
    assert "hunter2secret" not in repr(s)
    s.close()


def test_checksum_depends_on_content_and_order_not_on_names():
    assert checksum({"b.csv": b"2", "a.csv": b"1"}) == checksum([b"1", b"2"])
    assert checksum([b"ab", b"c"]) != checksum([b"a", b"bc"])
    assert checksum([b"1", b"2"]) != checksum([b"2", b"1"])


# ---------------------------------------------------------------------------------------------- round trips
def test_sample_dataset_round_trips_exactly_and_builds_the_network(store, sample_report):
    v = store.add_dataset(sample_report, "Sample network", "alice", ["sites.csv", "links.csv"],
                          checksum([b"sites", b"links"]))
    assert (v.n_sites, v.n_links, v.n_backup_links) == (244, 451, 17)
    loaded = store.load_dataset(v.id)
    assert loaded.valid and loaded.errors == []
    assert_same_tables(loaded, sample_report)
    assert loaded.counts == sample_report.counts
    net, expected = loaded.network(), sample_report.network()
    assert net.n_sites == expected.n_sites == 244
    pd.testing.assert_frame_equal(net.sites, expected.sites)
    assert "Sample network" in loaded.source


def test_warnings_and_metadata_are_kept(store, small_report):
    v = store.add_dataset(small_report, "  Q3   suppliers\n(v2) ", "Alice", ["../../etc/sites.csv", "links.csv"],
                          "f" * 64)
    got = store.get_dataset(v.id)
    assert got == v
    assert got.name == "Q3 suppliers (v2)"
    assert got.source_files == ("../../etc/sites.csv", "links.csv")  # kept as labels, never used as paths
    assert got.checksum == "f" * 64 and got.uploader == "Alice"
    assert got.created_at.tzinfo is not None and abs(time.time() - got.created_at.timestamp()) < 120
    loaded = store.load_dataset(v.id)
    assert loaded.warnings == small_report.warnings
    assert_same_tables(loaded, small_report)
    row = got.to_row()
    assert row["id"] == v.id and row["sites"] == 8 and row["uploader"] == "Alice"


def test_awkward_text_and_extreme_numbers_round_trip(store):
    report = synthetic_report(6, links_per_site=1)
    texts = ["", "a,b", 'say "hi"', "tab\there", "two\nlines", "\\N", "back\\slash", "ä € 中文 🙂"]
    report.sites["name"] = pd.Series(texts[:6], dtype="str")
    report.sites["city"] = pd.Series(texts[2:], dtype="str")
    report.sites["lat"] = [0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, -90.0, 1 / 3]
    report.sites["weekly_demand"] = [np.nan, 1e-300, np.nan, 12345.678901234567, np.nan, 2.0]
    report.links["material"] = pd.Series(texts[:6], dtype="str")
    v = add(store, report)
    loaded = store.load_dataset(v.id)
    assert_same_tables(loaded, report)  # -0.0 compares equal to 0.0 (SQLite keeps no sign on zero)


def test_empty_link_table_round_trips(store):
    report = synthetic_report(3, links_per_site=0)
    v = add(store, report)
    loaded = store.load_dataset(v.id)
    assert len(loaded.links) == 0 and list(loaded.links.columns) == list(report.links.columns)
    assert_same_tables(loaded, report)


def test_nul_characters_are_dropped_on_every_backend(store):
    report = synthetic_report(3, links_per_site=1)
    report.sites["name"] = pd.Series(["a\x00b", "c", "d"], dtype="str")
    loaded = store.load_dataset(add(store, report).id)
    assert loaded.sites["name"].tolist() == ["ab", "c", "d"]


# ---------------------------------------------------------------------------------------------- versions
def test_versions_are_never_overwritten(store, small_report, sample_report):
    a = add(store, small_report, "same name")
    b = add(store, small_report, "same name")
    c = add(store, sample_report, "other")
    assert len({a.id, b.id, c.id}) == 3 and a.id < b.id < c.id
    assert [v.id for v in store.list_datasets()] == [a.id, b.id, c.id]
    assert_same_tables(store.load_dataset(a.id), small_report)
    assert_same_tables(store.load_dataset(c.id), sample_report)
    assert not hasattr(store, "delete_dataset")


def test_unknown_versions_are_not_found(store):
    for bad in (999, "x", None):
        with pytest.raises(NotFound):
            store.load_dataset(bad)
        with pytest.raises(NotFound):
            store.get_dataset(bad)


def test_active_pointer(store, small_report, sample_report):
    assert store.active_dataset() is None
    a = add(store, small_report)
    assert store.active_dataset() is None
    b = add(store, sample_report, activate=True)
    assert store.active_dataset().id == b.id
    assert store.set_active(a.id, "bob").id == a.id
    assert store.active_dataset().id == a.id
    with pytest.raises(NotFound):
        store.set_active(12345, "bob")
    assert store.active_dataset().id == a.id


# ---------------------------------------------------------------------------------------------- faults
def test_invalid_upload_changes_nothing(store, small_report, invalid_report):
    v = add(store, small_report, activate=True)
    before = snapshot(store)
    with pytest.raises(StoreError, match="only a valid dataset"):
        store.add_dataset(invalid_report, "bad", "alice", ["sites.csv", "links.csv"], "c", activate=True)
    with pytest.raises(StoreError):
        store.add_dataset(ValidationReport(), "no tables", "alice", [], "c")
    partial = ValidationReport(sites=small_report.sites.drop(columns="region"), links=small_report.links)
    with pytest.raises(StoreError, match="missing columns region"):
        store.add_dataset(partial, "old format", "alice", [], "c")
    assert snapshot(store) == before
    assert store.active_dataset().id == v.id


@pytest.mark.parametrize("activate", [False, True])
def test_write_interrupted_mid_links_changes_nothing(store, small_report, sample_report, monkeypatch, activate):
    v = add(store, small_report, activate=True)
    before = snapshot(store)
    original = Store._insert_links

    def half_then_fail(self, conn, dataset_id, rows):
        original(self, conn, dataset_id, rows.slice(0, rows.num_rows // 2))  # half the links are written...
        raise OSError("disk full")  # ...then the write fails

    monkeypatch.setattr(Store, "_insert_links", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        add(store, sample_report, "interrupted", activate=activate)
    monkeypatch.undo()
    assert snapshot(store) == before
    assert store.active_dataset().id == v.id
    assert_same_tables(store.load_dataset(v.id), small_report)
    w = add(store, sample_report, "after the failure")  # the store still works
    assert w.id > v.id


def test_killed_upload_leaves_the_database_as_before(store_url, store, small_report):
    v = add(store, small_report, activate=True)
    before = snapshot(store)
    script = textwrap.dedent("""
        import sys, time
        sys.path.insert(0, sys.argv[2])
        import riskmodel.store as st
        from test_store import synthetic_report
        original = st.Store._insert_links
        def stall(self, conn, dataset_id, rows):
            original(self, conn, dataset_id, rows.slice(0, rows.num_rows // 2))
            print("WRITING", flush=True)
            time.sleep(120)
        st.Store._insert_links = stall
        store = st.Store(sys.argv[1])
        store.add_dataset(synthetic_report(5000), "killed", "alice", ["x"], "c", activate=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, store_url, str(ROOT / "tests")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "WRITING", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with Store(store_url) as fresh:
        assert snapshot(fresh) == before
        assert fresh.active_dataset().id == v.id
        assert add(fresh, small_report, "next").id > v.id


def test_two_uploads_at_once_each_get_their_own_version(store, small_report, sample_report):
    barrier = threading.Barrier(2)
    results: dict[str, DatasetVersion] = {}
    errors: list[BaseException] = []

    def upload(name, report):
        try:
            barrier.wait(timeout=30)
            results[name] = add(store, report, name, uploader=name)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=("alice", sample_report)),
               threading.Thread(target=upload, args=("bob", small_report))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert results["alice"].id != results["bob"].id
    assert sorted(v.id for v in store.list_datasets()) == sorted(r.id for r in results.values())
    assert_same_tables(store.load_dataset(results["alice"].id), sample_report)
    assert_same_tables(store.load_dataset(results["bob"].id), small_report)


def test_two_stores_on_one_database_upload_at_once(store_url, small_report):
    """Two processes' worth of engines (not one pool): the database itself must serialise them."""
    stores = [Store(store_url), Store(store_url)]
    barrier = threading.Barrier(2)
    ids, errors = [], []

    def upload(s, i):
        try:
            barrier.wait(timeout=30)
            ids.append(add(s, small_report, f"upload {i}", activate=True).id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(s, i)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(set(ids)) == 2
    assert stores[0].active_dataset().id in ids
    for s in stores:
        s.close()


def test_a_viewer_may_not_upload_or_activate(store, small_report):
    from riskmodel.users import User

    v = add(store, small_report, activate=True)
    before = snapshot(store)
    viewer = User("vera", "viewer", v.created_at)
    with pytest.raises(PermissionError):
        store.add_dataset(small_report, "x", viewer, ["sites.csv"], "c")
    with pytest.raises(PermissionError):
        store.set_active(v.id, viewer)
    with pytest.raises(PermissionError):
        store.save_scenario(v.id, "s", viewer, {}, {})
    assert snapshot(store) == before
    analyst = User("ana", "analyst", v.created_at)
    assert store.add_dataset(small_report, "x", analyst, ["sites.csv"], "c").uploader == "ana"


# ---------------------------------------------------------------------------------------------- scenarios, audit
def test_scenarios_keep_parameters_and_results(store, small_report):
    v = add(store, small_report)
    w = add(store, small_report, "second")
    params = {"disrupt": ["region:East Asia", "site:API-1"], "weeks": 8, "severity": np.float64(0.5),
              "recovery": "linear"}
    results = {"lost_units": np.float64(1.5e6), "time_to_survive_days": None, "first_shortfall": math.nan,
               "series": np.array([1.0, 0.5, np.inf]), "markets": {"MKT-US": {"lost": np.int64(3)}}}
    s1 = store.save_scenario(v.id, "Jiangsu flood", "alice", params, results)
    s2 = store.save_scenario(w.id, "Jiangsu flood", "bob", params, {})
    s3 = store.save_scenario(v.id, "Jiangsu flood", "alice", {"weeks": 2}, {})  # same name: a new scenario
    got = store.load_scenario(s1.id)
    assert got == s1
    assert got.parameters == {"disrupt": ["region:East Asia", "site:API-1"], "weeks": 8, "severity": 0.5,
                              "recovery": "linear"}
    assert got.results == {"lost_units": 1.5e6, "time_to_survive_days": None, "first_shortfall": None,
                           "series": [1.0, 0.5, None], "markets": {"MKT-US": {"lost": 3}}}
    assert [s.id for s in store.list_scenarios()] == [s1.id, s2.id, s3.id]
    assert [s.id for s in store.list_scenarios(v.id)] == [s1.id, s3.id]
    with pytest.raises(NotFound):
        store.load_scenario(9999)
    with pytest.raises(NotFound):
        store.save_scenario(9999, "x", "alice", {}, {})
    with pytest.raises(StoreError, match="JSON"):
        store.save_scenario(v.id, "x", "alice", {"f": object()}, {})


def test_audit_log_says_who_did_what_when(store, small_report):
    v = add(store, small_report, uploader="alice")
    store.set_active(v.id, "bob")
    store.save_scenario(v.id, "s", "carol", {}, {})
    store.audit("dave", "export.csv", {"dataset_id": v.id, "rows": np.int64(3)})
    log = store.audit_log()
    assert [(e.user, e.action) for e in log] == [("dave", "export.csv"), ("carol", "scenario.save"),
                                                  ("bob", "dataset.activate"), ("alice", "dataset.upload")]
    assert log[0].detail == {"dataset_id": v.id, "rows": 3}
    assert log[-1].detail["dataset_id"] == v.id and log[-1].detail["files"] == ["sites.csv", "links.csv"]
    assert all(e.at.tzinfo is not None for e in log)
    assert [e.action for e in store.audit_log(user="bob")] == ["dataset.activate"]
    assert [e.user for e in store.audit_log(action="dataset.upload")] == ["alice"]
    assert len(store.audit_log(limit=2)) == 2
    with pytest.raises(StoreError):
        store.audit("", "x")


# ---------------------------------------------------------------------------------------------- speed
def test_100k_sites_store_and_load_in_a_few_seconds(store):
    report = synthetic_report(100_000, links_per_site=3.5)
    t0 = time.perf_counter()
    v = add(store, report, "100k")
    stored = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = store.load_dataset(v.id)
    read = time.perf_counter() - t0
    print(f"\n{store.backend}: 100,000 sites + {len(report.links):,} links stored in {stored:.2f} s, "
          f"loaded in {read:.2f} s")
    assert_same_tables(loaded, report)
    assert stored < 30 and read < 30  # a few seconds on a quiet machine; generous for busy CI runners


# ---------------------------------------------------------------------------------------------- upload limits
def test_row_limit_setting(monkeypatch):
    monkeypatch.delenv("RISKMODEL_MAX_ROWS", raising=False)
    assert limits.max_rows() == 1_000_000
    assert limits.check_row_limit(1_000_000, "links.csv") is None
    issue = limits.check_row_limit(1_000_001, "links.csv")
    assert (issue.file, issue.row, issue.column) == ("links.csv", None, None)
    assert "1,000,001 rows" in issue.message and "RISKMODEL_MAX_ROWS" in issue.message
    monkeypatch.setenv("RISKMODEL_MAX_ROWS", "10")
    assert limits.check_row_limit(11, "book.xlsx[sites]").file == "book.xlsx[sites]"
    for bad in ("-5", "lots", ""):
        monkeypatch.setenv("RISKMODEL_MAX_ROWS", bad)
        assert limits.max_rows() == 1_000_000


def test_file_size_limit_setting(monkeypatch):
    monkeypatch.setenv("RISKMODEL_MAX_FILE_MB", "1")
    assert limits.max_file_bytes() == 2**20
    assert limits.check_file_size(2**20, "a.csv") is None
    assert "RISKMODEL_MAX_FILE_MB" in limits.check_file_size(2**20 + 1, "a.csv").message
    assert "RISKMODEL_MAX_FILE_MB" in limits.check_upload(b"a,b\n" * 300_000, "a.csv").message


def _xlsx_bytes(tmp_path) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "sites"
    book.active.append(["site_id", "name"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    return path.read_bytes()


def test_kind_is_judged_by_content_not_by_name(tmp_path):
    import io
    import zipfile

    xlsx = _xlsx_bytes(tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "hello")
    cases = {
        b"": "empty", b"  \r\n\t": "empty", b"\xef\xbb\xbf": "empty", b"\xef\xbb\xbf\n": "empty",
        b"site_id,name\nA,B\n": "csv", "site_id;name\nA;Bä\n".encode("cp1252"): "csv",
        "site_id,name\n".encode("utf-16"): "csv", xlsx: "xlsx", buf.getvalue(): "binary",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100: "binary",  # old .xls
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)): "binary", b"MZ\x90\x00\x03": "binary",
        b"PK\x03\x04 truncated": "binary",
    }
    for data, kind in cases.items():
        assert limits.sniff_kind(data) == kind, data[:20]
    assert limits.check_upload(xlsx, "sites.csv") is None  # the name says CSV; the content decides
    assert "binary" in limits.check_upload(buf.getvalue(), "book.xlsx").message
    assert "expected a CSV file" in limits.check_upload(xlsx, "x", allowed=("csv",)).message


def test_workbook_that_unpacks_too_far_is_refused(tmp_path, monkeypatch):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (3 * 2**20))
    data = buf.getvalue()
    assert limits.sniff_kind(data) == "xlsx" and len(data) < 2**16
    monkeypatch.setenv("RISKMODEL_MAX_FILE_MB", "0.1")
    assert "unpacks to" in limits.check_upload(data, "bomb.xlsx").message


def test_safe_label_is_for_display_only():
    assert limits.safe_label("../../etc/passwd") == "passwd"
    assert limits.safe_label("C:\\Users\\me\\Q3 sites.csv") == "Q3 sites.csv"
    assert limits.safe_label("evil\u202etxt.exe") == "eviltxt.exe"
    assert limits.safe_label("a\nb\tc\x00d") == "a b c d"
    assert limits.safe_label("") == limits.safe_label(None) == limits.safe_label("..") == "upload"
    long = limits.safe_label("x" * 300 + ".xlsx")
    assert len(long) == 80 and long.endswith(".xlsx") and "…" in long
    assert limits.safe_label("Lieferanten München.csv") == "Lieferanten München.csv"
