"""The Monte Carlo page without a browser: its plain data, figures and tables equal the analysis's result, finished
runs come back from the disk cache (JSON, private folders), bad input and failing runs give messages."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

from dashboard import jobs, state
from dashboard.app import create_app
from dashboard.charts import exceedance_curve, loss_histogram
from dashboard.maps import contribution_map
from dashboard.theme import pct, units
from riskmodel.montecarlo import MonteCarloError
from riskmodel.validate import validate_dataset

YEARS, SEED = 200, 5


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    a = create_app(validate_dataset(SAMPLE), "sample", home=home)
    a.home = home
    return a


@pytest.fixture(scope="module")
def mc(app):
    return sys.modules["pages.monte_carlo"]


@pytest.fixture
def request_ctx(app):
    """A request of ``app`` from this computer (the local user), as Dash runs callbacks."""
    with app.server.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        app.server.preprocess_request()
        yield


@pytest.fixture(scope="module")
def ds(app):
    return state.for_app(app).active()


@pytest.fixture(scope="module")
def result(ds):
    from riskmodel.montecarlo import run_montecarlo

    return run_montecarlo(ds.report.network(), YEARS, seed=SEED)


def _all(res) -> pd.Series:
    return res.summary.set_index("market_id").loc["ALL"]


def test_payload_is_plain_json_with_the_results_numbers(mc, ds, result):
    payload = mc.payload_from(result, ds, 1.5)
    again = json.loads(json.dumps(payload, allow_nan=False))  # JSON, no NaN, no numpy types
    assert again == payload
    assert (payload["years"], payload["seed"], payload["version"]) == (YEARS, SEED, ds.id)
    assert np.allclose(payload["total"], result.total)
    a = _all(result)
    assert payload["all"]["expected_loss"] == pytest.approx(a["expected_loss"])
    assert [r["market_id"] for r in payload["markets"]] == [m for m in result.summary["market_id"] if m != "ALL"]
    assert [r["site_id"] for r in payload["sites"]] == list(result.contributions["site_id"])
    assert payload["events"]["count"] == len(result.events)
    assert sum(payload["events"]["by_type"].values()) == len(result.events)


def test_view_shows_the_analysis_numbers(mc, ds, result):
    payload = mc.payload_from(result, ds, 1.5)
    a = _all(result)
    text = str(mc.result_view(payload, ds))
    for value in (units(a["expected_loss"]), units(a["p95"]), units(a["cvar95"]), pct(a["prob_loss"])):
        assert value in text
    assert mc.command(YEARS, SEED, ds.cli_data) in text
    rows = mc.market_rows(payload)
    summary = result.summary.set_index("market_id")
    for r in rows:
        s = summary.loc[r["market_id"]]
        assert (r["expected_loss"], r["p95"], r["cvar95"], r["prob_loss"]) == pytest.approx(
            (s["expected_loss"], s["p95"], s["cvar95"], s["prob_loss"]))
        annual = s["weekly_demand"] * 365 / 7
        assert r["loss_share"] == pytest.approx(s["expected_loss"] / annual if annual else None)
    assert mc.all_row(payload)["expected_loss"] == pytest.approx(a["expected_loss"])
    sites = mc.site_rows(payload)
    assert [r["site_id"] for r in sites] == list(result.contributions["site_id"])
    assert sites[0]["expected_loss_contribution"] == pytest.approx(
        result.contributions["expected_loss_contribution"].iat[0])
    sources = mc.source_rows(payload)
    assert [r["label"] for r in sources] == list(result.event_sources["label"])
    assert [r["expected_loss_contribution"] for r in sources] == pytest.approx(
        list(result.event_sources["expected_loss_contribution"]))
    assert units(a["max_loss"]) in text  # the worst year


def test_loss_figures_mark_p95_and_cvar95(mc, ds, result):
    payload = mc.payload_from(result, ds)
    marks = mc.marks(payload)
    a = _all(result)
    hist = loss_histogram(result.total, marks)
    if float(np.max(result.total)) <= 0:
        pytest.skip("no loss in this run")  # pragma: no cover - the sample loses units in 200 years
    bars = hist.data[0]
    assert int(np.sum(bars.y)) == YEARS  # every simulated year is in one bar
    lines = {round(s.x0, 6) for s in hist.layout.shapes}
    assert {round(a["p95"], 6), round(a["cvar95"], 6), round(a["expected_loss"], 6)} <= lines
    labels = " ".join(n.text for n in hist.layout.annotations)
    assert f"p95 {units(a['p95'])}" in labels and f"CVaR95 {units(a['cvar95'])}" in labels
    curve = exceedance_curve(result.total, marks).data[0]
    x, y = np.asarray(curve.x), np.asarray(curve.y)
    assert np.all(np.diff(x) <= 0) and np.all(np.diff(y) >= 0)  # larger losses are rarer
    assert x[0] == pytest.approx(np.max(result.total)) and y[0] == pytest.approx(1 / YEARS)
    assert y[-1] == pytest.approx(np.mean(result.total > 0))
    # with no loss at all, a message instead of an empty chart
    assert loss_histogram(np.zeros(10), {}).layout.annotations[0].text.startswith("No unit lost")


def test_contribution_map_sizes_and_colours_sites_by_contribution(ds, result):
    fig = contribution_map(result.contributions, ds)
    names = [t.name for t in fig.data]
    assert "markets" in names
    c = result.contributions
    if (c["expected_loss_contribution"] > 0).any():
        some = next(t for t in fig.data if t.name == "contributing sites")
        ids = [row[0] for row in some.customdata]
        by_id = c.set_index("site_id")
        contrib = by_id.loc[ids, "expected_loss_contribution"].to_numpy()
        assert np.all(np.diff(contrib) >= 0)  # largest drawn last, on top
        assert np.all(np.diff(np.asarray(some.marker.size)) >= 0)  # ... and largest
        assert np.allclose(some.marker.color, by_id.loc[ids, "share_of_expected_loss"])
    zero = [t for t in fig.data if t.name == "none or negative"]
    assert sum(len(t.lat) for t in fig.data if t.name in ("contributing sites", "none or negative")) == len(c)
    assert all(len(t.lat) == int((c["expected_loss_contribution"] <= 0).sum()) for t in zero)


def test_a_run_is_cached_on_disk_as_json_and_not_run_twice(mc, ds, app, request_ctx, monkeypatch):
    import diskcache

    import riskmodel.montecarlo as montecarlo

    calls = []
    real = montecarlo.run_montecarlo

    def counting(*args, **kwargs):
        calls.append(kwargs.get("seed"))
        return real(*args, **kwargs)

    monkeypatch.setattr(montecarlo, "run_montecarlo", counting)
    seen = []
    key, first, cached = mc.compute(ds, 100, 21, progress=lambda done, total: seen.append((done, total)))
    assert not cached and calls == [21]
    assert seen and seen[-1] == (100, 100)
    t0 = time.perf_counter()
    key2, second, cached = mc.compute(ds, 100, 21)
    assert cached and key2 == key and second == first and calls == [21]
    assert time.perf_counter() - t0 < 0.5
    assert not mc.compute(ds, 100, 22)[2] and calls == [21, 22]  # another seed is another run
    # the page of this version opens on its latest run, shown from the key the job stored it under
    latest = mc.result_key(ds, 100, 22)
    page = str(mc.layout())
    assert f"'key': '{latest}'" in page and "id='mc-years', value=100" in page and "id='mc-seed', value=22" in page
    view, value, label = mc.show({"version": ds.id, "key": latest, "cached": True})
    assert (value, label) == (100, "100 of 100 years (cached)") and "from the cache" in str(view)
    with monkeypatch.context() as m:  # after a change of the riskmodel code the old run is not shown
        m.setattr(mc, "code_tag", lambda: "0" * 16)
        assert "id='mc-key', data={}" in str(mc.layout())
    # a key the page did not get from the server finds nothing (only well-formed result keys are looked up)
    for bad in ("latest:" + mc.scope(ds), "result:" + key, key + "x", None, 7):
        view, value, label = mc.show({"version": ds.id, "key": bad})
        assert "no longer in the cache" in str(view) and value == 0
    # on disk: private folders, the value is JSON text (never a pickle)
    folder = app.home / "cache" / "results"
    assert (folder.stat().st_mode & 0o777, folder.parent.stat().st_mode & 0o777) == (0o700, 0o700)
    with diskcache.Cache(str(folder)) as raw:
        value = raw.get(f"result:{key}")
    assert isinstance(value, str) and json.loads(value) == first


def test_a_result_that_cannot_be_stored_is_a_message(mc, ds, request_ctx, monkeypatch):
    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jobs.results()._disk, "set", full_disk, raising=False)
    key, message = mc.run(lambda _p: None, 1, ds.id, 100, 99)
    assert key is dash_no_update() and "could not be kept on disk" in str(message)
    with pytest.raises(jobs.NotStored):
        jobs.results().put("k", {"x": float("nan")})  # not JSON: refused, not stored


def test_the_key_names_the_dataset_tables_years_seed_and_code(mc, ds, tmp_path):
    from conftest import write_dataset

    tiny = state.Dataset(validate_dataset(write_dataset(tmp_path / "tiny")), "tiny", 99, cache_key="test:99")
    key = mc.result_key(ds, 1000, 0)
    assert key == mc.result_key(ds, 1000, 0)
    assert len({key, mc.result_key(ds, 1001, 0), mc.result_key(ds, 1000, 1), mc.result_key(tiny, 1000, 0)}) == 4
    assert key.endswith(mc.code_tag())
    assert mc.KEY_PATTERN.fullmatch(key) and mc.KEY_PATTERN.fullmatch(mc.result_key(ds, 20_000, 2**32 - 1))


@pytest.mark.parametrize("years, seed, ok", [(100, 0, True), (20_000, 2**32 - 1, True), ("300", "4", True),
                                             (99, 0, False), (20_001, 0, False), (150.5, 0, False),
                                             (None, 0, False), (1000, -1, False), (1000, None, False),
                                             ("abc", 0, False), (float("nan"), 0, False)])
def test_inputs_are_checked(mc, years, seed, ok):
    y, s, problem = mc.check_inputs(years, seed)
    assert (problem is None) == ok
    if ok:
        assert (y, s) == (int(float(years)), int(float(seed)))


def test_a_failing_run_is_a_message_not_a_traceback(mc, ds, request_ctx, monkeypatch, caplog):
    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(mc, "compute", broken)
    progress = []
    key, message = mc.run(progress.append, 1, ds.id, 1000, 0)
    assert key is dash_no_update()
    assert "failed" in str(message) and "boom" not in str(message) and "Traceback" not in str(message)
    assert "boom" in caplog.text  # the traceback is in the server log
    key, message = mc.run(progress.append, 1, ds.id, 50, 0)  # out of bounds: a message, nothing run
    assert key is dash_no_update() and "100 to 20,000" in str(message)

    def refused(*_a, **_k):
        raise MonteCarloError("an unreadable hazard table")

    monkeypatch.setattr(mc, "compute", refused)  # the analysis's own message is meant for people: shown as it is
    key, message = mc.run(progress.append, 1, ds.id, 1000, 0)
    assert key is dash_no_update() and "an unreadable hazard table" in str(message)


def test_the_app_has_a_background_manager_with_a_lazy_private_cache(tmp_path):
    home = tmp_path / "home"
    a = create_app(validate_dataset(SAMPLE), "sample", home=home)
    manager = a._background_manager
    assert manager is not None
    assert not (home / "cache").exists()  # nothing on disk until a background callback needs it
    manager.handle.set("probe", 1)
    assert (home / "cache" / "callbacks").stat().st_mode & 0o777 == 0o700
    with a.server.test_request_context("/"):
        assert jobs.results().folder == home.resolve() / "cache" / "results"


def dash_no_update():
    from dash import no_update

    return no_update


def test_a_job_compiles_numba_code_in_its_threads_even_while_a_server_thread_compiles(tmp_path):
    """The job process is forked from the web server. A server thread holding numba's compiler lock at the fork would
    leave it locked forever in the child, and the job's threads (which compile or load kernels) would hang; the
    manager forks only between compilations, and the child frees the lock it inherits."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import psutil
    from numba import njit
    from numba.core.compiler_lock import global_compiler_lock

    manager = jobs.background_manager(tmp_path / "callbacks")

    @njit
    def plus_one(x):  # never called here: the child compiles it, in a thread
        return x + 1

    def job(result_key, _progress_key, _args, _context):
        with ThreadPoolExecutor(2) as pool:
            manager.handle.set(result_key, pool.submit(plus_one, 41).result())

    holding, done = threading.Event(), threading.Event()

    def server_thread_compiling():
        with global_compiler_lock:
            holding.set()
            done.wait(5)

    threading.Thread(target=server_thread_compiling, daemon=True).start()
    holding.wait(5)
    threading.Timer(0.3, done.set).start()
    pid = manager.call_job_fn("job-key", job, (), {})  # waits for the compilation, then forks
    try:
        deadline = time.monotonic() + 60
        while manager.handle.get("job-key") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert manager.handle.get("job-key") == 42
    finally:
        if psutil.pid_exists(pid):
            manager.terminate_job(pid)


def test_polling_requests_need_a_session_when_sign_in_is_required(tmp_path):
    """The browser polls a background job with POSTs to /_dash-update-component: the sign-in guard answers them."""
    a = create_app(validate_dataset(SAMPLE), "sample", home=tmp_path / "home", auth_required=True)
    body = {"output": "..mc-key.data...mc-status.children..", "outputs": [], "inputs": [
        {"id": "mc-run", "property": "n_clicks", "value": 1}], "changedPropIds": ["mc-run.n_clicks"], "state": []}
    client = a.server.test_client()
    r = client.post("/_dash-update-component?cacheKey=x&job=1", json=body)
    assert r.status_code == 401
    assert not (tmp_path / "home" / "cache" / "callbacks").exists()  # nothing started


def test_a_job_process_holds_none_of_the_servers_sockets_and_stops_with_it(tmp_path):
    """The job process gives up the sockets it inherits (the port is free when the server stops; it cannot write to
    a client or a database connection of the server) and is daemonic (it ends with the worker process)."""
    import os
    import socket
    import stat

    manager = jobs.background_manager(tmp_path / "callbacks")
    listener = socket.create_server(("127.0.0.1", 0))

    def job(result_key, _progress_key, _args, _context):
        import multiprocess

        mode = os.fstat(listener.fileno()).st_mode
        manager.handle.set(result_key, {"socket": stat.S_ISSOCK(mode), "daemon": multiprocess.current_process().daemon})

    try:
        manager.call_job_fn("sockets", job, (), {})
        deadline = time.monotonic() + 30
        while manager.handle.get("sockets") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert manager.handle.get("sockets") == {"socket": False, "daemon": True}
        assert stat.S_ISSOCK(os.fstat(listener.fileno()).st_mode)  # the server's own socket is untouched
    finally:
        listener.close()
