"""Sign-in and roles over real HTTP: the dashboard in a thread (werkzeug) and ``riskmodel serve`` under gunicorn.

The in-process server has its own ``RISKMODEL_HOME`` and SQLite store with three accounts (a viewer, an analyst, an
administrator) created through :mod:`riskmodel.users`; the requests are the ones a browser or an attacker sends.
Cheap argon2 parameters keep sign-ins fast (the production ones are tested in ``test_users.py``).
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from argon2 import PasswordHasher
from browser import LiveServer
from conftest import LINK_HEADER, SAMPLE, SITE_HEADER, base_links, base_sites, to_csv, write_dataset

from dashboard import auth
from riskmodel import users
from riskmodel.store import Store

RISKMODEL = str(Path(sys.executable).parent / "riskmodel")
PASSWORDS = {"vera": "viewer-password-1", "anna": "analyst-password-1", "root": "admin-password-1"}
ROLES = {"vera": "viewer", "anna": "analyst", "root": "admin"}


def _a_site_name() -> str:
    """A site name of the sample data: confidential content that must never reach a visitor without a session."""
    with open(SAMPLE / "sites.csv", encoding="utf-8") as f:
        return next(r["name"] for r in csv.DictReader(f) if r["kind"] == "api")


SITE_NAME = _a_site_name()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard on the sample data with sign-in (accounts exist), served on 127.0.0.1 in a thread."""
    from dashboard.app import create_app
    from riskmodel.validate import validate_dataset

    home = tmp_path_factory.mktemp("auth-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("RISKMODEL_HOME", str(home))
    for name in ("DATABASE_URL", "RISKMODEL_SECRET_KEY", "RISKMODEL_SECURE_COOKIES"):
        mp.delenv(name, raising=False)
    mp.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    mp.setattr(users, "_dummy_hash", None)
    store = Store(f"sqlite:///{home / 'riskmodel.db'}")
    for name, password in PASSWORDS.items():
        users.add_user(name, ROLES[name], password, store=store)
    app = create_app(validate_dataset(SAMPLE), "sample", store=store)

    def boom():
        raise PermissionError("your role (viewer) may not do this test's action")

    app.server.add_url_rule("/_test-permission-error", "test_permission_error", boom)  # a callback that refuses
    srv = LiveServer(app.server)
    srv.app, srv.store, srv.home = app, store, home
    yield srv
    srv.stop()
    store.close()
    mp.undo()


@pytest.fixture(autouse=True)
def fresh_throttle(request):
    """Each test starts with no failed sign-ins counted (they all come from 127.0.0.1)."""
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        auth._state(srv.app.server).throttle.reset()


# ---------------------------------------------------------------------------------------------- helpers
def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _message(html: str) -> str:
    found = re.search(r'<div class="alert[^"]*" role="alert" id="login-message">(.*?)</div>', html, re.S)
    return found.group(1) if found else ""


def login(url: str, name: str, password: str | None = None, next_: str = "/"):
    """Sign in through the form as a browser does: (session with its cookies, the answer to the POST)."""
    s = requests.Session()
    token = _csrf(s.get(url + "/login").text)
    r = s.post(url + "/login", data={"name": name, "password": PASSWORDS.get(name, "x") if password is None
                                     else password, "csrf_token": token, "next": next_}, allow_redirects=False)
    return s, r


def _outputs(output: str) -> list[dict] | dict:
    """The ``outputs`` the renderer sends: a list for a multi-output callback (``..a.b...c.d..``), else one dict."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    specs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    return specs if output.startswith("..") else specs[0]


def callback_payload(deps: list[dict], trigger: str, values: dict, output: str | None = None) -> dict:
    """The body the Dash renderer POSTs to /_dash-update-component when ``trigger`` (``"id.property"``) changes.

    The callback is the one of ``/_dash-dependencies`` with that input (and ``output``, when given); ``values`` maps
    ``"id.property"`` to the values of its inputs and states.
    """
    dep = next(d for d in deps if (output is None or d["output"] == output)
               and any(f"{i['id']}.{i['property']}" == trigger for i in d["inputs"]))

    def items(specs):
        return [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in specs]

    return {"output": dep["output"], "outputs": _outputs(dep["output"]), "inputs": items(dep["inputs"]),
            "changedPropIds": [trigger], "state": items(dep["state"])}


def _data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def upload_payload(deps: list[dict]) -> dict:
    """A valid upload of two CSV files (the tests' small network, not the sample), as the Upload component sends it."""
    return callback_payload(deps, "data-upload.contents", {
        "data-upload.contents": [_data_url(to_csv(base_sites(), SITE_HEADER)),
                                 _data_url(to_csv(base_links(), LINK_HEADER))],
        "data-upload.filename": ["sites.csv", "links.csv"],
        "data-name.value": "http test upload"})


# ---------------------------------------------------------------------------------------------- no session
@pytest.mark.parametrize("path", ["/", "/spof", "/data", "/what-if?site=X"])
def test_pages_redirect_to_login_and_show_no_data(server, path):
    r = requests.get(server.url + path, allow_redirects=False)
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.path == "/login" and not location.netloc
    assert parse_qs(location.query).get("next", ["/"]) == [path]
    assert SITE_NAME not in r.text
    followed = requests.get(server.url + path)  # the browser lands on the login form
    assert followed.status_code == 200 and 'name="password"' in followed.text
    assert SITE_NAME not in followed.text and "_dash-renderer" not in followed.text


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/_favicon.ico",
                                  "component-suites"])
def test_dash_endpoints_refuse_without_session(server, path):
    s, _ = login(server.url, "vera")
    if path == "component-suites":  # a real script of the page (the Dash renderer's bundles)
        path = re.search(r'src="(/_dash-component-suites/[^"]+)"', s.get(server.url + "/").text).group(1)
    assert s.get(server.url + path).status_code == 200
    r = requests.get(server.url + path, allow_redirects=False)
    assert r.status_code == 401
    assert r.json()["error"] == "sign-in required"
    assert SITE_NAME not in r.text


def test_callback_endpoint_refuses_a_real_payload_without_session(server):
    s, _ = login(server.url, "vera")
    deps = s.get(server.url + "/_dash-dependencies").json()
    body = callback_payload(deps, "_pages_location.pathname",  # the page router: a page's content
                            {"_pages_location.pathname": "/spof", "_pages_location.search": ""})
    signed_in = s.post(server.url + "/_dash-update-component", json=body)
    assert signed_in.status_code == 200 and "Single points of failure" in signed_in.text  # the payload is real
    r = requests.post(server.url + "/_dash-update-component", json=body)
    assert r.status_code == 401 and r.json()["error"] == "sign-in required"
    assert "Single points of failure" not in r.text and SITE_NAME not in r.text
    upload = requests.post(server.url + "/_dash-update-component", json=upload_payload(deps))
    assert upload.status_code == 401


def test_static_assets_and_login_page_need_no_session(server):
    assert requests.get(server.url + "/assets/vendor/bootstrap.min.css").status_code == 200
    r = requests.get(server.url + "/login")
    assert r.status_code == 200 and "Sign in" in r.text
    assert "cdn" not in r.text.lower() and "<script" not in r.text  # plain HTML, served locally
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


# ---------------------------------------------------------------------------------------------- signing in
def test_wrong_password_and_unknown_user_look_the_same(server):
    s = requests.Session()
    token = _csrf(s.get(server.url + "/login").text)
    known = s.post(server.url + "/login", data={"name": "vera", "password": "not her password", "csrf_token": token})
    unknown = s.post(server.url + "/login", data={"name": "nobody", "password": "not her password",
                                                  "csrf_token": token})
    assert known.status_code == unknown.status_code == 401
    assert _message(known.text).encode() == _message(unknown.text).encode() == auth.WRONG_LOGIN.encode()
    # the whole page differs only by the name typed in (shown back in the form)
    assert known.text.replace('value="vera"', "NAME") == unknown.text.replace('value="nobody"', "NAME")
    assert s.get(server.url + "/_dash-layout").status_code == 401
    failed = server.store.audit_log(action="login.failed", limit=5)
    assert {e.detail["name"] for e in failed[:2]} == {"vera", "nobody"}


def test_sign_in_gives_a_session_for_pages_and_dash(server):
    s, r = login(server.url, "vera", next_="/spof")
    assert r.status_code == 303 and r.headers["Location"] == "/spof"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # RISKMODEL_SECURE_COOKIES is not set (plain HTTP in this test)
    page = s.get(server.url + "/spof", allow_redirects=False)
    assert page.status_code == 200 and "_dash-renderer" in page.text
    layout = s.get(server.url + "/_dash-layout")
    assert layout.status_code == 200 and layout.headers["Content-Type"].startswith("application/json")
    assert layout.headers["Cache-Control"] == "no-store"
    assert s.get(server.url + "/_dash-dependencies").status_code == 200
    deps = s.get(server.url + "/_dash-dependencies").json()
    navbar = s.post(server.url + "/_dash-update-component", json=callback_payload(
        deps, "url.pathname", {"url.pathname": "/spof"}, output="..auth-user.children...auth-user.title.."))
    assert navbar.status_code == 200
    shown = navbar.json()["response"]["auth-user"]
    assert shown["title"] == "signed in as vera (viewer)"
    assert shown["children"][0]["props"]["children"] == "vera" and shown["children"][1] == " (viewer) · "
    assert shown["children"][2]["props"] == {"children": "Sign out", "className": "link-light", "href": "/logout"}
    entry = server.store.audit_log(action="login", user="vera", limit=1)[0]
    assert entry.detail["address"] == "127.0.0.1"


def test_viewer_upload_is_refused_and_stores_nothing_analyst_upload_is_stored(server):
    before = server.store.list_datasets()
    viewer, _ = login(server.url, "vera")
    deps = viewer.get(server.url + "/_dash-dependencies").json()
    body = upload_payload(deps)
    r = viewer.post(server.url + "/_dash-update-component", json=body)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert "viewer" in r.json()["message"] and "upload" in r.json()["message"]
    # a crafted body: the upload callback's output, but the input renamed and no trigger (Dash finds the callback
    # by its output alone and does not check the inputs sent)
    crafted = dict(body, inputs=[dict(body["inputs"][0], id="innocent")], changedPropIds=[])
    assert viewer.post(server.url + "/_dash-update-component", json=crafted).status_code == 403
    assert server.store.list_datasets() == before
    assert server.store.audit_log(action="permission.denied", user="vera", limit=1)[0].detail["action"] == "upload"

    analyst, _ = login(server.url, "anna")
    ok = analyst.post(server.url + "/_dash-update-component", json=body)
    assert ok.status_code == 200, ok.text[:500]
    after = server.store.list_datasets()
    assert len(after) == len(before) + 1
    assert after[-1].uploader == "anna" and after[-1].n_sites == len(base_sites())


def _upload(session, url: str, files: dict[str, str], name: str = "http test upload"):
    """POST an upload callback of ``files`` (file name -> CSV text) as the analyst's browser would."""
    body = callback_payload(session.get(url + "/_dash-dependencies").json(), "data-upload.contents", {
        "data-upload.contents": [_data_url(text) for text in files.values()],
        "data-upload.filename": list(files), "data-name.value": name})
    return session.post(url + "/_dash-update-component", json=body)


def test_path_like_upload_names_are_labels_never_paths(server, tmp_path):
    analyst, _ = login(server.url, "anna")
    target = tmp_path / "escape"
    up = f"../../../../../../..{target}"
    before = sorted(p.name for p in server.home.iterdir())
    r = _upload(analyst, server.url, {f"{up}/sites.csv": to_csv(base_sites(), SITE_HEADER),
                                      "..\\..\\links.csv": to_csv(base_links(), LINK_HEADER)}, name="../../x")
    assert r.status_code == 200, r.text[:300]
    version = server.store.list_datasets()[-1]
    assert version.uploader == "anna" and version.name == "../../x"  # a label, shown as typed
    assert not target.exists() and sorted(p.name for p in server.home.iterdir()) == before


def test_oversized_uploads_are_refused_and_store_nothing(server, monkeypatch):
    analyst, _ = login(server.url, "anna")
    before = server.store.list_datasets()
    # a request over the server's limit never reaches a callback
    monkeypatch.setitem(server.app.server.config, "MAX_CONTENT_LENGTH", 200_000)
    big = to_csv(base_sites() * 800, SITE_HEADER)
    assert len(big) > 200_000
    r = _upload(analyst, server.url, {"sites.csv": big, "links.csv": to_csv(base_links(), LINK_HEADER)})
    assert r.status_code == 413 and "Traceback" not in r.text
    monkeypatch.undo()
    # a file over the per-file limit inside an accepted request: a message naming the file, nothing stored
    import dashboard.uploads

    monkeypatch.setattr(dashboard.uploads, "MAX_FILE_BYTES", 10_000)
    r = _upload(analyst, server.url, {"sites.csv": big, "links.csv": to_csv(base_links(), LINK_HEADER)})
    assert r.status_code == 200 and "over the limit" in r.text and "sites.csv" in r.text
    assert server.store.list_datasets() == before


def test_exports_over_http_neutralise_formula_cells(server):
    evil = '=HYPERLINK("http://evil.example/x","click")'
    sites = base_sites()
    sites[0]["name"] = evil
    sites[1]["operator"] = "@SUM(A1:A9)"
    analyst, _ = login(server.url, "anna")
    r = _upload(analyst, server.url, {"sites.csv": to_csv(sites, SITE_HEADER),
                                      "links.csv": to_csv(base_links(), LINK_HEADER)}, name="formulas")
    assert r.status_code == 200, r.text[:300]
    version = server.store.list_datasets()[-1].id
    deps = analyst.get(server.url + "/_dash-dependencies").json()
    for trigger, ext in (("data-exp-csv.n_clicks", "csv"), ("data-exp-xlsx.n_clicks", "xlsx")):
        body = callback_payload(deps, trigger, {trigger: 1, "data-version.data": version})
        r = analyst.post(server.url + "/_dash-update-component", json=body)
        assert r.status_code == 200, r.text[:300]
        sent = r.json()["response"]["data-download"]["data"]
        assert sent["filename"].endswith("." + ext)
        data = base64.b64decode(sent["content"])
        if ext == "csv":
            cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for c in row]
        else:
            import openpyxl

            book = openpyxl.load_workbook(io.BytesIO(data))
            cells = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row]
        texts = [c for c in cells if isinstance(c, str)]
        assert "'" + evil in texts and evil not in texts
        assert not any(t.startswith(("=", "+", "@")) for t in texts)


def test_permission_error_in_a_callback_is_a_clean_403(server):
    s, _ = login(server.url, "vera")
    r = s.get(server.url + "/_test-permission-error")
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "message": "Your role (viewer) may not do this test's action."}
    assert "Traceback" not in r.text


def test_logout_ends_access(server):
    s, _ = login(server.url, "anna")
    assert s.get(server.url + "/_dash-layout").status_code == 200
    r = s.get(server.url + "/logout", allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/login?signed_out=1"
    assert s.get(server.url + "/_dash-layout").status_code == 401
    assert s.get(server.url + "/", allow_redirects=False).status_code == 302
    assert auth.SIGNED_OUT in s.get(server.url + "/login?signed_out=1").text
    assert server.store.audit_log(action="logout", user="anna", limit=1)


def test_signing_out_ends_every_session_of_the_account(server, monkeypatch):
    monkeypatch.setattr(auth, "USER_CACHE_SECONDS", 0.0)
    here, _ = login(server.url, "anna")
    elsewhere, _ = login(server.url, "anna")  # another browser
    copied = requests.Session()
    copied.cookies.update(here.cookies)  # a copy of the cookie, e.g. taken from a shared computer
    assert {x.get(server.url + "/_dash-layout").status_code for x in (here, elsewhere, copied)} == {200}
    here.get(server.url + "/logout")
    assert {x.get(server.url + "/_dash-layout").status_code for x in (here, elsewhere, copied)} == {401}
    again, r = login(server.url, "anna")  # signing in again at once works
    assert r.status_code == 303 and again.get(server.url + "/_dash-layout").status_code == 200
    # an administrator ends them from the command line (a lost laptop)
    env = dict(os.environ, RISKMODEL_HOME=str(server.home))
    env.pop("DATABASE_URL", None)
    out = subprocess.run([RISKMODEL, "user", "signout", "anna"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "signed anna out everywhere" in out.stderr
    assert again.get(server.url + "/_dash-layout").status_code == 401
    # and a new password does too
    fresh, _ = login(server.url, "anna")
    users.set_password("anna", PASSWORDS["anna"], store=server.store)
    assert fresh.get(server.url + "/_dash-layout").status_code == 401


def test_removed_user_and_changed_role_take_effect_at_once(server, monkeypatch):
    monkeypatch.setattr(auth, "USER_CACHE_SECONDS", 0.0)
    users.add_user("temp", "analyst", "temporary-password", store=server.store)
    PASSWORDS["temp"] = "temporary-password"
    try:
        s, _ = login(server.url, "temp")
        deps = s.get(server.url + "/_dash-dependencies").json()
        users.set_role("temp", "viewer", store=server.store)
        assert s.post(server.url + "/_dash-update-component", json=upload_payload(deps)).status_code == 403
        users.remove_user("temp", store=server.store)
        assert s.get(server.url + "/_dash-layout").status_code == 401
    finally:
        PASSWORDS.pop("temp")


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example",
                                    "//evil.example/%2F..", " //evil.example", "javascript:alert(1)"])
def test_no_open_redirect_after_sign_in(server, target):
    _, r = login(server.url, "vera", next_=target)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    form = requests.get(server.url + "/login", params={"next": target}).text
    assert 'name="next" value="/"' in form


def test_login_without_csrf_token_is_refused(server):
    s = requests.Session()
    s.get(server.url + "/login")
    r = s.post(server.url + "/login", data={"name": "vera", "password": PASSWORDS["vera"]}, allow_redirects=False)
    assert r.status_code == 400 and _message(r.text) == auth.FORM_EXPIRED
    assert s.get(server.url + "/_dash-layout").status_code == 401
    # a token from another session (cross-site form with the attacker's own token) is refused too
    other = _csrf(requests.get(server.url + "/login").text)
    r = s.post(server.url + "/login", data={"name": "vera", "password": PASSWORDS["vera"], "csrf_token": other},
               allow_redirects=False)
    assert r.status_code == 400
    no_cookie = requests.post(server.url + "/login", data={"name": "vera", "password": PASSWORDS["vera"],
                                                           "csrf_token": other}, allow_redirects=False)
    assert no_cookie.status_code == 400


def test_too_many_failures_are_throttled_for_any_name(server):
    for _ in range(auth.MAX_FAILURES):
        assert login(server.url, "anna", "wrong password")[1].status_code == 401
    s, r = login(server.url, "anna")  # the right password, too late
    assert r.status_code == 429 and _message(r.text) == auth.TOO_MANY
    assert login(server.url, "nobody-at-all")[1].status_code == 429  # same client address, any name
    assert s.get(server.url + "/_dash-layout").status_code == 401


def test_the_throttle_counts_failures_of_every_worker(server):
    # a second app on the same database stands for another gunicorn worker: failures in both add up
    from dashboard.app import create_app

    app = create_app(None, store=server.store)
    auth._state(app.server).throttle.reset()  # count from now on, as the fixture does for the first one
    other = LiveServer(app.server)
    try:
        for i in range(auth.MAX_FAILURES):
            url = server.url if i % 2 else other.url
            assert login(url, "Anna ", "wrong password")[1].status_code == 401
        assert login(server.url, "anna")[1].status_code == 429
        assert login(other.url, "vera")[1].status_code == 429  # the address too, whichever worker answers
        entries = server.store.audit_log(action="login.failed", limit=auth.MAX_FAILURES)
        assert [e.detail for e in entries] == [{"name": "anna", "address": "127.0.0.1"}] * auth.MAX_FAILURES
    finally:
        other.stop()


# ---------------------------------------------------------------------------------------------- riskmodel serve
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve_env(tmp_path, cli_env):
    env = dict(cli_env, RISKMODEL_HOME=str(tmp_path / "home"))
    for name in ("DATABASE_URL", "RISKMODEL_SECRET_KEY", "RISKMODEL_SECURE_COOKIES"):
        env.pop(name, None)
    return env


def test_serve_on_a_public_address_without_accounts_refuses_to_start(serve_env):
    r = subprocess.run([RISKMODEL, "serve", "--host", "0.0.0.0", "--port", str(_free_port())], capture_output=True,
                       text=True, env=serve_env, timeout=60)
    assert r.returncode == 2
    assert "no user accounts exist: create one with `riskmodel user add NAME --role admin`" in r.stderr
    assert "or serve on 127.0.0.1" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([RISKMODEL, "serve", "--workers", "0"], capture_output=True, text=True, env=serve_env,
                       timeout=60)
    assert r.returncode == 2 and "--workers must be at least 1" in r.stderr and "Traceback" not in r.stderr


def test_serve_with_workers_runs_gunicorn_requires_sign_in_and_stops_on_sigterm(serve_env):
    add = subprocess.run([RISKMODEL, "user", "add", "root", "--role", "admin"], input="admin-password-1\n",
                         capture_output=True, text=True, env=serve_env, timeout=60)
    assert add.returncode == 0, add.stderr
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([RISKMODEL, "serve", "--workers", "2", "--port", str(port), "--data", str(SAMPLE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=serve_env)
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                if requests.get(url + "/login", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the server did not answer in time"
            time.sleep(0.2)
        assert requests.get(url + "/_dash-layout").status_code == 401
        assert requests.get(url + "/", allow_redirects=False).status_code == 302
        s, r = login(url, "root")
        assert r.status_code == 303
        # the workers share the session key: every request is accepted, whichever worker answers it
        assert {s.get(url + "/_dash-layout").status_code for _ in range(6)} == {200}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, stderr[-3000:]
    assert "gthread" in stderr and "Booting worker" in stderr and "sign-in required" in stderr
    assert "Traceback" not in stderr
    assert (Path(serve_env["RISKMODEL_HOME"]) / "secret_key").stat().st_mode & 0o777 == 0o600


def _serve_banner(args, env) -> str:
    """Start ``riskmodel serve ARGS``, return its start-up line (what it shows), stop it."""
    proc = subprocess.Popen([RISKMODEL, "serve", "--port", str(_free_port()), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stderr:
            if line.startswith("riskmodel dashboard on"):
                return line
            assert time.monotonic() < deadline
        raise AssertionError("serve stopped before its start-up line")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_serve_without_data_keeps_the_active_version_of_the_database(serve_env, tmp_path):
    from dashboard.state import ensure_version
    from riskmodel.validate import validate_dataset

    # a new database starts on the sample data
    assert "(data: " + str(SAMPLE.resolve()) in _serve_banner([], serve_env)
    # a team's own upload made active stays shown after a restart without --data ...
    folder = write_dataset(tmp_path / "own")
    with Store(f"sqlite:///{Path(serve_env['RISKMODEL_HOME']) / 'riskmodel.db'}") as store:
        own = ensure_version(store, validate_dataset(folder), "our network", "upload", who="anna")
        assert len(store.list_datasets()) == 2
    assert f"(data: version {own.id} (our network) from the database" in _serve_banner([], serve_env)
    # ... while --data shows (and activates) the data it names
    assert f"(data: {SAMPLE}" in _serve_banner(["--data", str(SAMPLE)], serve_env)


def test_secret_key_file_is_made_once_and_shared(tmp_path, monkeypatch):
    monkeypatch.delenv("RISKMODEL_SECRET_KEY", raising=False)
    first = auth.secret_key(tmp_path / "h")
    assert len(first) >= auth.MIN_SECRET_LENGTH and auth.secret_key(tmp_path / "h") == first
    assert (tmp_path / "h" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "h").iterdir()] == ["secret_key"]  # no temporary file left
    monkeypatch.setenv("RISKMODEL_SECRET_KEY", "short")
    with pytest.raises(auth.AuthError, match="too short"):
        auth.secret_key(tmp_path / "h")
    monkeypatch.setenv("RISKMODEL_SECRET_KEY", "k" * 40)
    assert auth.secret_key(tmp_path / "h") == b"k" * 40


def test_local_mode_without_accounts_is_the_local_user_on_loopback_only(tmp_path, monkeypatch):
    from dashboard.app import create_app
    from riskmodel.validate import validate_dataset

    monkeypatch.setenv("RISKMODEL_HOME", str(tmp_path))
    store = Store(f"sqlite:///{tmp_path / 'riskmodel.db'}")
    app = create_app(validate_dataset(SAMPLE), "sample", store=store)
    client = app.server.test_client()
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/login").status_code == 303  # nothing to sign in to
    remote = client.get("/_dash-layout", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403
    assert not (tmp_path / "secret_key").exists()  # local use never needs a session key
    monkeypatch.setattr(auth, "USER_CACHE_SECONDS", 0.0)
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    users.add_user("first", "admin", "first-password", store=store)  # the first account ends local use at once
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/login").status_code == 200
    store.close()


def test_behind_an_https_proxy_cookies_are_secure_and_client_addresses_forwarded(tmp_path, monkeypatch):
    from dashboard.app import create_app
    from riskmodel.validate import validate_dataset

    monkeypatch.setenv("RISKMODEL_HOME", str(tmp_path))
    monkeypatch.setenv("RISKMODEL_SECURE_COOKIES", "1")
    monkeypatch.setenv("RISKMODEL_TRUSTED_PROXIES", "1")
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    store = Store(f"sqlite:///{tmp_path / 'riskmodel.db'}")
    users.add_user("anna", "analyst", PASSWORDS["anna"], store=store)
    app = create_app(validate_dataset(SAMPLE), "sample", store=store, auth_required=True)
    client = app.server.test_client()
    proxy = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    form = client.get("/login", headers=proxy, base_url="https://localhost")
    r = client.post("/login", headers=proxy, base_url="https://localhost",
                    data={"name": "anna", "password": PASSWORDS["anna"], "csrf_token": _csrf(form.text)})
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert store.audit_log(action="login", user="anna", limit=1)[0].detail["address"] == "203.0.113.9"
    assert client.get("/_dash-layout", headers=proxy, base_url="https://localhost").status_code == 200
    store.close()
