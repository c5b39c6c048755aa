"""Dataset versions and saved scenarios of the dashboard, in the database: the Data and What-if pages' callbacks.

Callbacks are called as Dash calls them (inside a request of their app, after the sign-in guard), without a browser.
Each test runs on SQLite and on PostgreSQL (as tests/test_store.py: ``RISKMODEL_TEST_POSTGRES_URL``), on a fresh
database. "Worker processes" and "restarts" are apps on one database, each with its own
:class:`riskmodel.store.Store` and its own loaded versions, as two gunicorn workers or two server runs have.
"""

from __future__ import annotations

import base64
import sys
from contextvars import copy_context
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import LINK_HEADER, SITE_HEADER, base_links, base_sites, to_csv, write_dataset
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from test_store import BACKENDS, backend_url

from dashboard import auth, state
from dashboard.app import create_app
from riskmodel.store import Store, checksum
from riskmodel.users import User
from riskmodel.validate import validate_dataset

#: a request from this computer (without user accounts the dashboard answers only on loopback)
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    return validate_dataset(write_dataset(tmp_path_factory.mktemp("tiny") / "data"))


@pytest.fixture(params=BACKENDS)
def open_app(request, tmp_path):
    """``open_app(report=None, name="tiny")``: a new app (a worker process, a restart) on this test's database."""
    url, cleanup = backend_url(request.param, tmp_path)
    stores = []

    def make(report=None, name="tiny"):
        stores.append(Store(url))
        return create_app(report, name, store=stores[-1])

    yield make
    for store in stores:
        store.close()
    cleanup()


def _page(name: str):
    return sys.modules[f"pages.{name}"]


def call(app, page: str, callback: str, *args, trigger: str | None = None):
    """Run a page callback the way Dash does: in a request of ``app``, with ``trigger`` as the triggering input."""
    func = getattr(_page(page), callback)

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{trigger}.n_clicks", "value": 1}]
                                        if trigger else []))
        with app.server.test_request_context("/_dash-update-component", method="POST", environ_base=LOOPBACK):
            assert app.server.preprocess_request() is None  # the sign-in guard lets the request through
            return func(*args)

    return copy_context().run(run)


def in_request(app, func, *args):
    """``func(*args)`` in a request of ``app`` (what a page layout or callback of that app sees)."""
    with app.server.test_request_context("/", environ_base=LOOPBACK):
        assert app.server.preprocess_request() is None
        return func(*args)


def _data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def _upload_args(sites=None, links=None, name="Q3 network"):
    """The Data page's upload callback arguments for sites.csv + links.csv (the user's file names as sent)."""
    sites_csv = to_csv(base_sites() if sites is None else sites, SITE_HEADER)
    links_csv = to_csv(base_links() if links is None else links, LINK_HEADER)
    return [_data_url(sites_csv), _data_url(links_csv)], ["C:\\exports\\sites.csv", "links (2).csv"], name, \
        {"sites.csv": sites_csv.encode(), "links.csv": links_csv.encode()}


def _bigger_sites():
    sites = base_sites()
    sites[6]["weekly_demand"] = "2000"  # other data than the start-up dataset
    return sites


def _snapshot(store: Store) -> tuple:
    """What an upload must not change when it fails: the versions, the active one, the stored rows, the audit log."""
    with store.begin() as conn:
        rows = tuple(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                     for t in ("datasets", "dataset_sites", "dataset_links", "active_dataset", "audit_log"))
    active = store.active_dataset()
    return [v.id for v in store.list_datasets()], (active.id if active else None), rows


def _text(component) -> str:
    return str(component)


# ---------------------------------------------------------------------------------------------- uploads
def test_a_valid_upload_becomes_the_active_version_uploaded_by_local(open_app, tiny_report):
    app = open_app(tiny_report)
    versions = state.for_app(app)
    start = versions.active_version()
    contents, names, name, raw = _upload_args(_bigger_sites())
    view, active_out, rows, page_version = call(app, "data", "upload", contents, names, name)
    every = versions.list()
    assert [v.id for v in every] == [start.id, every[-1].id] and every[-1].id != start.id
    new = every[-1]
    assert (new.name, new.uploader, new.source_files) == ("Q3 network", "local", ("sites.csv", "links (2).csv"))
    assert new.checksum == checksum(raw)  # of the bytes as uploaded
    assert versions.store.active_dataset().id == new.id
    assert active_out == page_version == new.id
    assert rows[0]["id"] == str(new.id) and rows[0]["active"] == "active" and rows[0]["uploader"] == "local"
    assert [r["active"] for r in rows] == ["active", ""]
    assert "It is now the active dataset" in _text(view)
    assert in_request(app, state.active).network.n_sites == 8
    assert versions.store.audit_log(limit=1)[0].action == "dataset.upload"
    assert versions.store.audit_log(limit=1)[0].user == "local"


def test_an_upload_with_errors_leaves_versions_and_the_active_one_untouched(open_app, tiny_report):
    app = open_app(tiny_report)
    store = state.for_app(app).store
    before = _snapshot(store)
    sites = base_sites()
    sites[2]["country"] = "Atlantis"
    contents, names, name, _ = _upload_args(sites)
    view, *rest = call(app, "data", "upload", contents, names, name)
    assert "nothing was loaded" in _text(view) and "Atlantis" in _text(view)
    assert all(r is no_update for r in rest)
    assert _snapshot(store) == before


def test_an_upload_whose_write_fails_half_way_leaves_everything_untouched(open_app, tiny_report, monkeypatch):
    app = open_app(tiny_report)
    versions = state.for_app(app)
    store = versions.store
    before = _snapshot(store)

    def crash(self, conn, dataset_id, rows):  # after the version row and its sites are written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "_insert_links", crash)
    contents, names, name, _ = _upload_args(_bigger_sites())
    view, *rest = call(app, "data", "upload", contents, names, name)
    text = _text(view)
    assert "storing them failed" in text and "nothing was changed" in text and "still 'tiny'" in text
    assert "Traceback" not in text and "No space left" not in text
    assert all(r is no_update for r in rest)
    assert _snapshot(store) == before  # no version row, no orphan sites, the same active pointer, no audit entry
    assert in_request(app, state.active).id == before[1]
    # the same files store fine once the fault is gone
    monkeypatch.undo()
    call(app, "data", "upload", contents, names, name)
    assert len(store.list_datasets()) == 2


def test_state_level_write_fault_keeps_the_loaded_versions(open_app, tiny_report, monkeypatch):
    app = open_app(tiny_report)
    versions = state.for_app(app)
    before = _snapshot(versions.store)

    def lost(self, conn, dataset_id, rows):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(Store, "_insert_links", lost)
    with pytest.raises(RuntimeError, match="connection lost"):
        versions.add_upload(tiny_report, "x", "local", ["sites.csv", "links.csv"], "abc")
    assert _snapshot(versions.store) == before
    assert list(versions._datasets) == [before[1]]


# ---------------------------------------------------------------------------------------------- roles
def test_a_viewer_may_not_upload_switch_or_save_and_nothing_is_written(open_app, tiny_report, monkeypatch):
    app = open_app(tiny_report)
    versions = state.for_app(app)
    contents, names, name, _ = _upload_args(_bigger_sites())
    call(app, "data", "upload", contents, names, name)  # a second version, by the local user
    start = versions.list()[0].id
    viewer = User("vera", "viewer", datetime(2026, 1, 1, tzinfo=UTC))
    monkeypatch.setattr(auth, "current_user", lambda: viewer)
    before = _snapshot(versions.store)
    # the page hides the upload widget and disables switching
    page = _text(in_request(app, _page("data").layout))
    assert "Your role (viewer) may not upload datasets." in page and "data-upload'" not in page
    assert "'data-switch'" in page and "disabled=True" in page
    # a crafted request to the callbacks is refused by the callbacks themselves
    view, *rest = call(app, "data", "upload", contents, names, name)
    assert "Your role (viewer) may not upload datasets." in _text(view)
    assert all(r is no_update for r in rest)
    *_, msg, _version = call(app, "data", "switch", 1, [{"id": str(start)}])
    assert "Your role (viewer) may not switch the active dataset." in _text(msg)
    controls = [["API-1"], [], [], [], None, None, 250, 100, 0, 4, "step", 52]
    saved, msg = call(app, "what_if", "save", 1, "viewer's", *controls, start, [])
    assert saved is no_update
    assert "Your role (viewer) may not save scenarios." in _text(msg)
    assert _snapshot(versions.store) == before and versions.store.list_scenarios() == []


# ---------------------------------------------------------------------------------------------- workers
def test_two_workers_on_one_database_agree_on_the_active_version(open_app, tiny_report):
    first = open_app(tiny_report)
    second = open_app()  # another worker process: its own store and loaded versions
    a, b = state.for_app(first), state.for_app(second)
    assert a is not b and a.store is not b.store
    start = in_request(second, state.active).id
    # an upload through the first worker: the second shows it on its next request
    call(first, "data", "upload", *_upload_args(_bigger_sites())[:3])
    new = a.store.active_dataset().id
    assert new != start
    assert in_request(second, state.active).id == new
    assert in_request(second, state.active).report.counts["sites"] == 8
    assert [r["active"] for r in in_request(second, lambda: state.versions().rows())] == ["active", ""]
    # switching back through the second worker: the first follows
    active_out, rows, msg, _ = call(second, "data", "switch", 1, [{"id": str(start)}])
    assert active_out == start and "is now active" in msg and rows[1]["active"] == "active"
    assert in_request(first, state.active).id == start
    assert [a.store.audit_log(limit=1)[0].action, a.store.audit_log(limit=1)[0].user] == ["dataset.activate", "local"]


# ---------------------------------------------------------------------------------------------- restarts
def test_restarting_on_the_same_data_adds_no_version(open_app, tmp_path, tiny_report):
    app = open_app(tiny_report)
    store = state.for_app(app).store
    open_app(tiny_report)
    again = validate_dataset(write_dataset(tmp_path / "same-data-elsewhere"))
    open_app(again, "copy")
    assert [v.name for v in store.list_datasets()] == ["tiny"]
    assert [e.action for e in store.audit_log()] == ["dataset.upload"]  # no new version, no needless activation
    # the checksum is of the tables: a report loaded from the store is recognised too
    assert state.ensure_version(store, store.load_dataset(1), "x").id == 1
    # after an upload, a restart on the start-up data makes it active again (without storing it again)
    call(app, "data", "upload", *_upload_args(_bigger_sites())[:3])
    assert store.active_dataset().id == 2
    open_app(tiny_report)
    assert store.active_dataset().id == 1 and len(store.list_datasets()) == 2
    # a worker started without a dataset keeps the active version
    store.set_active(2, "local")
    assert in_request(open_app(), state.active).id == 2
    assert len(store.list_datasets()) == 2


def test_an_app_on_an_empty_database_says_what_to_do(open_app, tmp_path):
    with pytest.raises(state.NoDataset, match=r"no dataset version yet.*--data"):
        open_app()
    # home=: the SQLite file riskmodel.db in that folder
    with pytest.raises(state.NoDataset):
        create_app(None, home=tmp_path / "home-of-tests")
    assert (tmp_path / "home-of-tests" / "riskmodel.db").is_file()


def test_saved_scenarios_come_back_after_a_restart(open_app, tiny_report):
    app = open_app(tiny_report)
    vid = state.for_app(app).active_version().id
    controls = [["API-1"], [], [], [], None, None, 250, 100, 0, 4, "step", 52]
    first, msg = call(app, "what_if", "save", 1, "API-1 for 4 weeks", *controls, vid, [])
    assert "Saved 'API-1 for 4 weeks'. 1 scenario(s)" in msg
    longer = [*controls[:9], 20, *controls[10:]]
    second, msg = call(app, "what_if", "save", 1, "  API-1   for 20 weeks ", *longer, vid, [])
    assert "2 scenario(s)" in msg and second != first
    # a restart: a new process with its own store and nothing loaded
    restarted = open_app()
    saved = state.for_app(restarted).store.list_scenarios(vid)
    assert [(s.name, s.author) for s in saved] == [("API-1 for 4 weeks", "local"), ("API-1 for 20 weeks", "local")]
    assert saved[0].parameters["sites"] == ["API-1"] and saved[1].parameters["duration_weeks"] == 20
    assert saved[0].results["lost_units"] < saved[1].results["lost_units"]
    opts_a, opts_b, a, b = call(restarted, "what_if", "compare_options", None, vid, None, None)
    assert [o["value"] for o in opts_a] == [first, second] and opts_a == opts_b
    assert opts_a[0]["label"].startswith("API-1 for 4 weeks · local, ")
    assert (a, b) == (first, second)
    view = _text(call(restarted, "what_if", "compare", a, b, vid))
    assert "API-1 for 4 weeks" in view and "API-1 for 20 weeks" in view
    # the scenario just saved becomes B
    third, _ = call(restarted, "what_if", "save", 1, "again", *controls, vid, [])
    *_, a, b = call(restarted, "what_if", "compare_options", third, vid, first, second, trigger="wi-saved")
    assert (a, b) == (first, third)
    # another version has its own scenarios
    assert call(restarted, "what_if", "compare_options", None, 999, None, None) == ([], [], None, None)


# ---------------------------------------------------------------------------------------------- loading
def test_versions_are_fetched_by_int_or_text_and_few_stay_loaded(open_app, tiny_report):
    app = open_app(tiny_report)
    call(app, "data", "upload", *_upload_args(_bigger_sites())[:3])
    store = state.for_app(app).store
    versions = state.Versions(store, cache_size=1)
    one = versions.get(1)
    assert versions.get("1") is one and versions.get(" 1 ") is one
    assert versions.get(None).id == versions.get("not an id").id == versions.get(999).id == 2  # the active one
    assert list(versions._datasets) == [2]  # one kept: version 1 was dropped
    reloaded = versions.get(1)
    assert reloaded is not one and reloaded.network.n_sites == one.network.n_sites == 8
    assert reloaded.uploader == "system" and reloaded.cache_key != state.for_app(app).get(1).cache_key
    assert reloaded.report.sites.equals(tiny_report.sites[reloaded.report.sites.columns])
