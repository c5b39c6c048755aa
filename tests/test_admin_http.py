"""The Admin page over real HTTP: accounts and the audit log for administrators, nothing for anyone else.

A module-scoped server (werkzeug, in a thread) with its own ``RISKMODEL_HOME`` and SQLite store holds a viewer, an
analyst and an administrator; the requests are the ones the Dash renderer sends (payloads built from
``/_dash-dependencies``), or crafted ones a viewer or an analyst could send. A second, account-less server covers
the first-administrator flow of local use. Cheap argon2 parameters keep sign-ins fast.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from argon2 import PasswordHasher
from browser import LiveServer
from conftest import write_dataset
from test_auth_http import callback_payload, login

from dashboard import auth
from riskmodel import users
from riskmodel.store import Store

PASSWORDS = {"vera": "viewer-password-1", "anna": "analyst-password-1", "root": "admin-password-1"}
ROLES = {"vera": "viewer", "anna": "analyst", "root": "admin"}
#: passwords the tests type into the page: none may ever come back in an answer or reach the audit log
TYPED = ["otto-initial-pass-1", "otto-second-pass-2", "mallory-pass-123", "boss-password-42", "mismatch-pass-9"]
ROUTER = "_pages_location.pathname"
NAVBAR = "..auth-user.children...auth-user.title.."


@pytest.fixture(scope="module")
def cheap_hashes():
    mp = pytest.MonkeyPatch()
    mp.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    mp.setattr(users, "_dummy_hash", None)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from riskmodel.validate import validate_dataset

    return validate_dataset(write_dataset(tmp_path_factory.mktemp("admin-tiny") / "data"))


def _server(home, tiny, accounts: dict[str, str]):
    from dashboard.app import create_app

    store = Store(f"sqlite:///{home / 'riskmodel.db'}")
    for name, role in accounts.items():
        users.add_user(name, role, PASSWORDS[name], store=store)
    app = create_app(tiny, "tiny", store=store)
    srv = LiveServer(app.server)
    srv.app, srv.store = app, store
    return srv


@pytest.fixture(scope="module")
def server(tmp_path_factory, cheap_hashes, tiny):
    """The dashboard with sign-in: a viewer (vera), an analyst (anna) and an administrator (root)."""
    home = tmp_path_factory.mktemp("admin-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("RISKMODEL_HOME", str(home))
    for name in ("DATABASE_URL", "RISKMODEL_SECRET_KEY", "RISKMODEL_SECURE_COOKIES", "RISKMODEL_TRUSTED_PROXIES"):
        mp.delenv(name, raising=False)
    srv = _server(home, tiny, ROLES)
    yield srv
    srv.stop()
    srv.store.close()
    mp.undo()


@pytest.fixture(autouse=True)
def fresh_throttle(request):
    if "server" in request.fixturenames:
        auth._state(request.getfixturevalue("server").app.server).throttle.reset()


# ---------------------------------------------------------------------------------------------- helpers
class Client:
    """A signed-in (or local) browser session: POSTs the callbacks of the app's ``/_dash-dependencies``."""

    def __init__(self, url: str, name: str | None = None):
        self.url = url
        if name is None:
            self.http = requests.Session()
        else:
            self.http, r = login(url, name, PASSWORDS[name])
            assert r.status_code == 303, r.text[:300]
        self.deps = self.http.get(url + "/_dash-dependencies").json()

    def post(self, trigger: str, values: dict, output: str | None = None) -> requests.Response:
        body = callback_payload(self.deps, trigger, {trigger: 1, **values}, output=output)
        return self.http.post(self.url + "/_dash-update-component", json=body)

    def call(self, trigger: str, values: dict | None = None, output: str | None = None) -> dict:
        """The callback's answer (``response``: component id -> property -> value); fails unless it is a 200."""
        r = self.post(trigger, values or {}, output)
        assert r.status_code == 200, r.text[:500]
        assert not any(p in r.text for p in TYPED), "a typed password came back"
        return r.json()["response"]

    def page(self, path: str = "/admin") -> str:
        r = self.post(ROUTER, {ROUTER: path, "_pages_location.search": ""})
        assert r.status_code == 200, r.text[:300]
        return r.text


def _text(value) -> str:
    """Every string in a Dash answer (component children), joined."""
    return json.dumps(value, ensure_ascii=False)


def _accounts(store) -> list[tuple]:
    return [(u.name, u.role, u.sessions_after) for u in users.list_users(store=store)]


def _last_id(store) -> int:
    entries = store.audit_log(limit=1)
    return entries[0].id if entries else 0


def _since(store, first_id: int) -> list:
    return [e for e in store.audit_log(limit=1000) if e.id > first_id]


def _no_password_in_audit_log(store) -> None:
    text = json.dumps([(e.user, e.action, e.detail) for e in store.audit_log(limit=100_000)], default=str)
    assert not any(p in text for p in [*TYPED, *PASSWORDS.values()])


def _admin_callbacks(deps: list[dict]) -> list[dict]:
    return [d for d in deps if any(i["id"].startswith("admin-") for i in d["inputs"])]


#: what a crafted request from a viewer or an analyst would send to each Admin callback: take over the
#: administrator, make oneself an administrator, add one, read the log
CRAFTED = {
    "admin-new-name.value": "mallory", "admin-new-role.value": "admin", "admin-new-pw.value": "mallory-pass-123",
    "admin-new-pw2.value": "mallory-pass-123", "admin-users.selectedRows": [{"name": "root"}],
    "admin-role.value": "viewer", "admin-pw.value": "mallory-pass-123", "admin-pw2.value": "mallory-pass-123",
    "admin-pending.data": "root", "admin-first-name.value": "mallory", "admin-first-pw.value": "mallory-pass-123",
    "admin-first-pw2.value": "mallory-pass-123", "admin-audit-limit.value": 100, "admin-changed.data": 1,
}


# ---------------------------------------------------------------------------------------------- who may
def test_every_admin_callback_input_is_in_the_endpoint_table(server):
    deps = Client(server.url, "root").deps
    callbacks = _admin_callbacks(deps)
    assert len(callbacks) == 9  # add, select, role, sign out, password, ask, remove, first admin, audit log
    for dep in callbacks:
        ids = {i["id"] for i in dep["inputs"]}
        assert ids <= set(auth.CALLBACK_ACTIONS), dep["output"]
        assert {auth.CALLBACK_ACTIONS[i] for i in ids} <= {"manage_users", "audit"}


@pytest.mark.parametrize("name", ["vera", "anna"])
def test_viewer_and_analyst_are_refused_at_every_admin_callback_and_nothing_changes(server, name, monkeypatch):
    client = Client(server.url, name)
    before, first_id = _accounts(server.store), _last_id(server.store)
    callbacks = _admin_callbacks(client.deps)
    for dep in callbacks:
        trigger = f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"
        r = client.post(trigger, CRAFTED, output=dep["output"])
        assert r.status_code == 403, (dep["output"], r.text[:300])
        assert r.json()["error"] == "forbidden" and ROLES[name] in r.json()["message"]
        assert "root" not in r.text and "Traceback" not in r.text
    denied = _since(server.store, first_id)
    assert [e.action for e in denied] == ["permission.denied"] * len(callbacks)
    assert all("action" in e.detail for e in denied)  # refused at the endpoint (CALLBACK_ACTIONS)
    # without the endpoint's table, the callbacks' own auth.require(...) refuses every one as well
    monkeypatch.setattr(auth, "CALLBACK_ACTIONS", {})
    first_id = _last_id(server.store)
    for dep in callbacks:
        trigger = f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"
        r = client.post(trigger, CRAFTED, output=dep["output"])
        assert r.status_code == 403, (dep["output"], r.text[:300])
        assert "Traceback" not in r.text and "root" not in r.text
    denied = _since(server.store, first_id)
    assert [e.action for e in denied] == ["permission.denied"] * len(callbacks)
    assert all("reason" in e.detail for e in denied)  # refused inside the callback (dashboard.auth.require)
    assert _accounts(server.store) == before
    assert users.authenticate("root", PASSWORDS["root"], store=server.store) is not None
    _no_password_in_audit_log(server.store)


@pytest.mark.parametrize("name", ["vera", "anna"])
def test_the_admin_page_of_a_viewer_or_analyst_holds_no_account_data(server, name):
    client = Client(server.url, name)
    page = client.page("/admin")
    assert "This page is for administrators" in page and f"your role ({ROLES[name]})" in page
    for other in ("root", "vera", "anna", "admin-users", "admin-audit", "user.add", "login"):
        assert other not in page, other
    navbar = client.call("url.pathname", {"url.pathname": "/admin"}, NAVBAR)
    assert "/admin" not in _text(navbar)  # no Admin link either
    admin = Client(server.url, "root")
    page = admin.page("/admin")
    assert all(n in page for n in ("root", "vera", "anna", "admin-users", "admin-audit", "user.add"))
    navbar = admin.call("url.pathname", {"url.pathname": "/"}, NAVBAR)["auth-user"]
    link = navbar["children"][2]
    assert link["type"] == "Link" and link["props"]["href"] == "/admin" and link["props"]["children"] == "Admin"


# ---------------------------------------------------------------------------------------------- accounts
def test_an_admin_adds_changes_signs_out_and_removes_an_account(server):
    admin = Client(server.url, "root")
    first_id = _last_id(server.store)
    # add: the password typed twice, never echoed; the fields are cleared
    out = admin.call("admin-add.n_clicks", {"admin-new-name.value": " Otto ", "admin-new-role.value": "viewer",
                                            "admin-new-pw.value": TYPED[0], "admin-new-pw2.value": TYPED[0]})
    assert "Added otto (viewer)" in _text(out["admin-add-msg"])
    assert out["admin-new-name"]["value"] == out["admin-new-pw"]["value"] == out["admin-new-pw2"]["value"] == ""
    assert {"name": "otto", "role": "viewer"}.items() <= next(
        r for r in out["admin-users"]["rowData"] if r["name"] == "otto").items()
    assert users.get_user("otto", store=server.store).role == "viewer"
    otto, r = login(server.url, "otto", TYPED[0])
    assert r.status_code == 303 and otto.get(server.url + "/_dash-layout").status_code == 200
    # change the role
    selected = {"admin-users.selectedRows": [{"name": "otto", "role": "viewer"}]}
    out = admin.call("admin-set-role.n_clicks", {**selected, "admin-role.value": "analyst"})
    assert "otto is now analyst" in _text(out["admin-msg"])
    assert users.get_user("otto", store=server.store).role == "analyst"
    # sign out everywhere: otto's open session ends at once
    out = admin.call("admin-signout.n_clicks", selected)
    row = next(r for r in out["admin-users"]["rowData"] if r["name"] == "otto")
    assert row["sessions"].startswith("signed out everywhere at ") and row["sessions"].endswith(" UTC")
    assert otto.get(server.url + "/_dash-layout").status_code == 401
    # a new password: typed twice (a mismatch changes nothing), then the old one no longer works
    out = admin.call("admin-set-pw.n_clicks", {**selected, "admin-pw.value": TYPED[1], "admin-pw2.value": TYPED[4]})
    assert "two passwords differ" in _text(out["admin-msg"])
    assert out["admin-pw"]["value"] == out["admin-pw2"]["value"] == ""
    out = admin.call("admin-set-pw.n_clicks", {**selected, "admin-pw.value": TYPED[1], "admin-pw2.value": TYPED[1]})
    assert "otto has a new password" in _text(out["admin-msg"])
    assert login(server.url, "otto", TYPED[0])[1].status_code == 401
    otto, r = login(server.url, "otto", TYPED[1])
    assert r.status_code == 303
    # remove: a confirm step (cancel keeps the account), then the account and its session are gone
    out = admin.call("admin-remove.n_clicks", selected)
    assert out["admin-confirm"]["is_open"] is True and out["admin-pending"]["data"] == "otto"
    assert "Remove the account otto?" in _text(out["admin-confirm-text"])
    out = admin.call("admin-remove-cancel.n_clicks", {"admin-pending.data": "otto"})
    assert out["admin-confirm"]["is_open"] is False and users.get_user("otto", store=server.store) is not None
    out = admin.call("admin-remove-confirm.n_clicks", {"admin-pending.data": "otto"})
    assert "Removed otto" in _text(out["admin-msg"]) and out["admin-confirm"]["is_open"] is False
    assert "otto" not in {r["name"] for r in out["admin-users"]["rowData"]}
    assert users.get_user("otto", store=server.store) is None
    assert otto.get(server.url + "/_dash-layout").status_code == 401
    # every change is in the audit log, done by root, without a password
    changes = [(e.user, e.action, e.detail) for e in reversed(_since(server.store, first_id))
               if e.action.startswith("user.")]
    assert changes == [("root", "user.add", {"name": "otto", "role": "viewer"}),
                       ("root", "user.role", {"name": "otto", "role": "analyst"}),
                       ("root", "user.sessions_ended", {"name": "otto"}),
                       ("root", "user.password", {"name": "otto"}),
                       ("root", "user.remove", {"name": "otto"})]
    _no_password_in_audit_log(server.store)


def test_bad_names_and_passwords_are_refused_with_the_users_rules(server):
    admin = Client(server.url, "root")
    before, first_id = _accounts(server.store), _last_id(server.store)
    cases = [({"admin-new-name.value": "otto", "admin-new-pw.value": TYPED[0], "admin-new-pw2.value": TYPED[4]},
              "The two passwords differ."),
             ({"admin-new-name.value": "otto", "admin-new-pw.value": "short", "admin-new-pw2.value": "short"},
              "The password is too short: use at least 8 characters."),
             ({"admin-new-name.value": "a b", "admin-new-pw.value": TYPED[0], "admin-new-pw2.value": TYPED[0]},
              "Invalid user name 'a b'"),
             ({"admin-new-name.value": "vera", "admin-new-pw.value": TYPED[0], "admin-new-pw2.value": TYPED[0]},
              "User 'vera' already exists."),
             ({"admin-new-name.value": "otto", "admin-new-pw.value": None, "admin-new-pw2.value": None},
              "Type the password twice.")]
    for values, message in cases:
        out = admin.call("admin-add.n_clicks", {"admin-new-role.value": "viewer", **values})
        assert message in _text(out["admin-add-msg"])
        assert out["admin-new-pw"]["value"] == out["admin-new-pw2"]["value"] == ""  # cleared, never echoed
        assert "admin-new-name" not in out  # the name stays to be corrected
    out = admin.call("admin-set-role.n_clicks", {"admin-users.selectedRows": [], "admin-role.value": "viewer"})
    assert "Select an account in the table first." in _text(out["admin-msg"])
    out = admin.call("admin-set-role.n_clicks", {"admin-users.selectedRows": [{"name": "ghost"}],
                                                 "admin-role.value": "viewer"})
    assert "No user 'ghost'." in _text(out["admin-msg"])
    assert _accounts(server.store) == before
    assert not [e for e in _since(server.store, first_id) if e.action.startswith("user.")]


def test_an_admin_cannot_remove_or_demote_themselves(server):
    admin = Client(server.url, "root")
    me = {"admin-users.selectedRows": [{"name": "root", "role": "admin"}]}
    before, first_id = _accounts(server.store), _last_id(server.store)
    for role in ("viewer", "analyst"):
        out = admin.call("admin-set-role.n_clicks", {**me, "admin-role.value": role})
        assert "You cannot change your own role: another administrator can." in _text(out["admin-msg"])
        assert "admin-users" not in out
    out = admin.call("admin-remove.n_clicks", me)
    assert "You cannot remove your own account" in _text(out["admin-msg"])
    assert out["admin-confirm"]["is_open"] is False and out["admin-pending"]["data"] is None
    out = admin.call("admin-remove-confirm.n_clicks", {"admin-pending.data": "root"})  # a crafted confirm
    assert "You cannot remove your own account" in _text(out["admin-msg"])
    assert _accounts(server.store) == before and users.get_user("root", store=server.store).role == "admin"
    assert not [e for e in _since(server.store, first_id) if e.action.startswith("user.")]
    assert admin.http.get(server.url + "/_dash-layout").status_code == 200  # still signed in, still admin


def test_the_audit_log_filters_by_user_and_action_newest_first(server):
    admin = Client(server.url, "root")
    admin.call("admin-add.n_clicks", {"admin-new-name.value": "audit-me", "admin-new-role.value": "viewer",
                                      "admin-new-pw.value": TYPED[2], "admin-new-pw2.value": TYPED[2]})
    assert login(server.url, "vera", "not her password")[1].status_code == 401  # a failed sign-in is logged too
    out = admin.call("admin-audit-refresh.n_clicks", {"admin-audit-limit.value": 100})
    rows = out["admin-audit"]["rowData"]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert rows[0]["action"] == "login.failed" and rows[0]["detail"] == '{"address":"127.0.0.1","name":"vera"}'
    assert {"root", "anonymous"} <= set(out["admin-audit-user"]["options"])
    assert {"user.add", "login", "login.failed"} <= set(out["admin-audit-action"]["options"])
    out = admin.call("admin-audit-user.value", {"admin-audit-user.value": "root", "admin-audit-action.value":
                                                "user.add", "admin-audit-limit.value": 500})
    rows = out["admin-audit"]["rowData"]
    assert rows and all(r["user"] == "root" and r["action"] == "user.add" for r in rows)
    assert rows[0]["detail"] == '{"name":"audit-me","role":"viewer"}'
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[0]["at"])
    assert "(filtered)" in _text(out["admin-audit-count"])
    out = admin.call("admin-audit-limit.value", {"admin-audit-limit.value": 1})
    assert len(out["admin-audit"]["rowData"]) == 1 and "the newest 1 entry" in _text(out["admin-audit-count"])
    users.remove_user("audit-me", store=server.store)
    _no_password_in_audit_log(server.store)


# ---------------------------------------------------------------------------------------------- local use
def test_the_first_admin_in_local_use_makes_sign_in_required(tmp_path, monkeypatch, cheap_hashes, tiny):
    monkeypatch.setenv("RISKMODEL_HOME", str(tmp_path))
    for name in ("DATABASE_URL", "RISKMODEL_SECRET_KEY", "RISKMODEL_SECURE_COOKIES", "RISKMODEL_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    srv = _server(tmp_path, tiny, {})  # no account: local use, loopback only
    try:
        local = Client(srv.url)
        assert local.http.get(srv.url + "/admin", allow_redirects=False).status_code == 200
        page = local.page("/admin")
        assert "Create the first administrator" in page and "From then on sign-in is required" in page
        assert "admin-users" not in page
        navbar = local.call("url.pathname", {"url.pathname": "/"}, NAVBAR)["auth-user"]
        assert navbar["children"][0]["props"]["href"] == "/admin"
        out = local.call("admin-first-create.n_clicks", {"admin-first-name.value": "boss",
                                                         "admin-first-pw.value": TYPED[3],
                                                         "admin-first-pw2.value": TYPED[4]})
        assert "The two passwords differ." in _text(out["admin-first-msg"])
        assert users.list_users(store=srv.store) == []
        assert local.http.get(srv.url + "/", allow_redirects=False).status_code == 200  # still local use
        out = local.call("admin-first-create.n_clicks", {"admin-first-name.value": "Boss",
                                                         "admin-first-pw.value": TYPED[3],
                                                         "admin-first-pw2.value": TYPED[3]})
        message = _text(out["admin-first-msg"])
        assert "The administrator account 'boss' exists. Sign-in is now required" in message
        assert "your next click goes to the sign-in page" in message and "/login?next=%2Fadmin" in message
        assert out["admin-first-pw"]["value"] == out["admin-first-pw2"]["value"] == ""
        assert out["admin-first-create"]["disabled"] is True
        # the very next request (no waiting for a cache) needs a session
        r = local.http.get(srv.url + "/admin", allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == "/login?next=%2Fadmin"
        assert local.http.get(srv.url + "/_dash-layout").status_code == 401
        assert local.post("admin-first-create.n_clicks", {"admin-first-name.value": "other",
                                                          "admin-first-pw.value": TYPED[2],
                                                          "admin-first-pw2.value": TYPED[2]}).status_code == 401
        assert _accounts(srv.store) == [("boss", "admin", None)]
        entry = srv.store.audit_log(action="user.add", limit=1)[0]
        assert (entry.user, entry.detail) == ("local", {"name": "boss", "role": "admin"})
        # the new administrator signs in and manages accounts on the same page
        PASSWORDS["boss"] = TYPED[3]
        boss = Client(srv.url, "boss")
        page = boss.page("/admin")
        assert "admin-users" in page and "Create the first administrator" not in page
        out = boss.call("admin-first-create.n_clicks", {"admin-first-name.value": "other",
                                                        "admin-first-pw.value": TYPED[2],
                                                        "admin-first-pw2.value": TYPED[2]})
        assert "Accounts exist already" in _text(out["admin-first-msg"])
        assert [u.name for u in users.list_users(store=srv.store)] == ["boss"]
        _no_password_in_audit_log(srv.store)
    finally:
        PASSWORDS.pop("boss", None)
        srv.stop()
        srv.store.close()
