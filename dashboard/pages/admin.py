"""Admin page (``/admin``): user accounts and the audit log, for administrators.

* **Accounts** (needs ``manage_users``): every account with its role, when it was made and when it was last signed
  out everywhere. Add an account (name, role, an initial password typed twice; the rules are those of
  :mod:`riskmodel.users`); for the account selected in the table: change its role, sign it out everywhere, set a new
  password (which signs it out too), or remove it (after a confirm step). An administrator can neither remove nor
  demote themselves (another administrator can), so an installation always keeps an administrator.
* **Audit log** (needs ``audit``): the newest entries first, filtered by user and action, up to a chosen number, with
  each entry's detail as compact JSON. Passwords never reach it (:mod:`riskmodel.users` records none).
* **Local use** (no accounts, :data:`dashboard.auth.LOCAL_USER`): the page makes the first administrator account.
  From then on sign-in is required: the next request goes to the login page.

Every change goes through :mod:`riskmodel.users` with ``by=`` the signed-in user, so it is in the audit log, and is
followed by :func:`dashboard.auth.accounts_changed` (this process sees it at the next request). Every callback calls
:func:`dashboard.auth.require` first and its inputs are in :data:`dashboard.auth.CALLBACK_ACTIONS`, so a crafted
request from a viewer or an analyst is refused with ``403`` at the endpoint and again in the callback. Another user
sees a short note and no data. Passwords are only ever read from the form's fields (as a callback's state), never
shown, logged or kept in a ``dcc.Store``; the fields are cleared after every attempt.
"""

from __future__ import annotations

import json
import logging
import time

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import auth, state
from dashboard.components import card, grid
from riskmodel import users
from riskmodel.users import MIN_PASSWORD_LENGTH, ROLES, UserError

dash.register_page(__name__, path="/admin", name="Admin", title="Admin · Supply-chain risk", order=9)
log = logging.getLogger(__name__)

#: how many audit entries the page may show at once (the choices of its menu)
AUDIT_LIMITS = (100, 500, 2000)
#: entries per page of the audit table
AUDIT_PAGE = 20
#: at most this many characters of an entry's detail are shown
DETAIL_CHARS = 400
FORBIDDEN = "This page is for administrators: your role ({role}) may not manage accounts or read the audit log."
FIRST_ADMIN_DONE = ("The administrator account '{name}' exists. Sign-in is now required on this dashboard, for you "
                    "too: your next click goes to the sign-in page; sign in as {name} with the password you chose.")
FAILED = "That failed (the error is in the server log): nothing was changed."

USER_COLUMNS = [
    {"field": "name", "headerName": "Name", "flex": 1, "minWidth": 140},
    {"field": "role", "headerName": "Role", "width": 110},
    {"field": "created", "headerName": "Created (UTC)", "width": 175},
    {"field": "sessions", "headerName": "Sessions", "flex": 1, "minWidth": 260, "tooltipField": "sessions"},
]
AUDIT_COLUMNS = [
    {"field": "at", "headerName": "When (UTC)", "width": 170, "sort": "desc"},
    {"field": "user", "headerName": "User", "width": 130},
    {"field": "action", "headerName": "Action", "width": 170},
    {"field": "detail", "headerName": "Detail", "flex": 1, "minWidth": 300, "tooltipField": "detail"},
]


# ---------------------------------------------------------------------------------------------- reading
def _store():
    return state.versions().store


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def user_rows() -> list[dict]:
    """The accounts table: name, role, created and "signed out everywhere at ..." (empty when never)."""
    return [{"name": u.name, "role": u.role, "created": _time(u.created_at),
             "sessions": f"signed out everywhere at {_time(u.sessions_after)} UTC" if u.sessions_after else ""}
            for u in users.list_users(store=_store())]


def detail_text(detail) -> str:
    """An audit entry's detail as compact JSON text (keys sorted, at most :data:`DETAIL_CHARS` characters).

    Examples
    --------
    >>> detail_text({"name": "alice", "role": "viewer"}), detail_text(None)
    ('{"name":"alice","role":"viewer"}', '')
    """
    if detail is None:
        return ""
    text = json.dumps(detail, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 1] + "…"


def _limit(value) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        return AUDIT_LIMITS[1]
    return min(max(value, 1), AUDIT_LIMITS[-1])


def _filter(value) -> str | None:
    return value[:64] if isinstance(value, str) and value else None


def audit_view(user=None, action=None, limit=AUDIT_LIMITS[1]) -> tuple[list[dict], str, list[str], list[str]]:
    """The audit table: its rows, a line saying how many, and the choices of its two filters.

    Parameters
    ----------
    user, action : str, optional
        Only the entries of this user name / of this action (exact; anything but a non-empty text: all).
    limit : int
        At most this many entries (1 to the largest of :data:`AUDIT_LIMITS`; anything else: the default).

    Returns
    -------
    tuple
        The rows (newest first: id, at, user, action, detail as :func:`detail_text`), the line ("the newest 500
        entries", "12 entries (filtered)"), every user name and every action of the log (sorted).
    """
    limit = _limit(limit)
    entries = _store().audit_log(limit=limit, user=_filter(user), action=_filter(action))
    rows = [{"id": e.id, "at": _time(e.at), "user": e.user, "action": e.action, "detail": detail_text(e.detail)}
            for e in entries]
    names, actions = _store().audit_names()
    count = f"{len(rows):,} {'entry' if len(rows) == 1 else 'entries'}"
    shown = f"the newest {count}" if len(rows) >= limit else count
    return rows, shown + (" (filtered)" if _filter(user) or _filter(action) else ""), names, actions


# ---------------------------------------------------------------------------------------------- layout
def _password(id: str, placeholder: str, className: str = "mb-2") -> dbc.Input:
    return dbc.Input(id=id, type="password", placeholder=placeholder, autocomplete="new-password",
                     maxLength=users.MAX_PASSWORD_LENGTH, size="sm", className=className)


def _name_field(id: str) -> dbc.Input:
    return dbc.Input(id=id, placeholder="user name", maxLength=64, size="sm", className="mb-2",
                     autocomplete="off")


def _rules() -> html.Div:
    return html.Div(f"Names: 2-64 of a-z 0-9 . _ @ - (stored in lower case). Passwords: at least "
                    f"{MIN_PASSWORD_LENGTH} characters, typed twice; only their argon2id hash is kept.",
                    className="hint")


def _accounts_card() -> dbc.Card:
    return card("Accounts", *[
        grid("admin-users", user_rows(), USER_COLUMNS, height="auto", selectable="single", row_id="name",
             defaultColDef={"floatingFilter": False}, dashGridOptions={"domLayout": "autoHeight"}),
        html.Div("Select an account for the actions below.", id="admin-selected", className="hint mt-2"),
        html.Div([
            dcc.Dropdown(id="admin-role", options=list(ROLES), placeholder="role", clearable=False,
                         searchable=False, style={"minWidth": "9rem"}),
            dbc.Button("Change role", id="admin-set-role", size="sm", color="primary", outline=True),
            dbc.Button("Sign out everywhere", id="admin-signout", size="sm", color="secondary", outline=True,
                       title="end every session of this account (other browsers, copied cookies)"),
            dbc.Button("Remove…", id="admin-remove", size="sm", color="danger", outline=True),
        ], className="d-flex flex-wrap align-items-center gap-2 mt-2"),
        dbc.InputGroup([
            _password("admin-pw", "new password", className=""),
            _password("admin-pw2", "the new password again", className=""),
            dbc.Button("Set a new password", id="admin-set-pw", size="sm", color="primary", outline=True,
                       title="the account's sessions end: it signs in again"),
        ], size="sm", className="mt-2"),
        dbc.Alert([html.Span(id="admin-confirm-text"),
                   html.Div([dbc.Button("Yes, remove it", id="admin-remove-confirm", size="sm", color="danger"),
                             dbc.Button("Cancel", id="admin-remove-cancel", size="sm", color="secondary",
                                        outline=True)], className="d-flex gap-2 mt-2")],
                  id="admin-confirm", is_open=False, color="warning", className="py-2 mt-2"),
        html.Div(id="admin-msg", className="mt-1", role="status"),
        html.Div("Changes count at once on this server (within two seconds on other worker processes). An "
                 "administrator cannot remove or demote themselves: another administrator can.",
                 className="hint mt-1"),
    ])


def _add_card() -> dbc.Card:
    return card("Add an account", *[
        _name_field("admin-new-name"),
        dcc.Dropdown(id="admin-new-role", options=list(ROLES), value="viewer", clearable=False, searchable=False,
                     className="mb-2"),
        _password("admin-new-pw", "initial password"),
        _password("admin-new-pw2", "the initial password again"),
        dbc.Button("Add the account", id="admin-add", size="sm", color="primary"),
        html.Div(id="admin-add-msg", className="mt-2", role="status"),
        _rules(),
        html.Div("Tell the person their password another way; they cannot change it themselves yet (an "
                 "administrator sets a new one here).", className="hint"),
    ])


def _first_admin_card() -> dbc.Card:
    return card("Create the first administrator", *[
        dbc.Alert(["No user accounts exist: this dashboard is a local, single-user tool that answers only on this "
                   "computer. To share it, create the first administrator account here. ",
                   html.B("From then on sign-in is required for everyone, you too: "),
                   "the next request after creating it goes to the sign-in page."],
                  color="info", className="py-2"),
        _name_field("admin-first-name"),
        _password("admin-first-pw", "password"),
        _password("admin-first-pw2", "the password again"),
        dbc.Button("Create the administrator account", id="admin-first-create", size="sm", color="primary"),
        html.Div(id="admin-first-msg", className="mt-2", role="status"),
        _rules(),
    ])


def _audit_card() -> dbc.Card:
    rows, shown, names, actions = audit_view()
    return card("Audit log", *[
        html.Div([
            dcc.Dropdown(id="admin-audit-user", options=names, placeholder="every user", style={"minWidth": "12rem"}),
            dcc.Dropdown(id="admin-audit-action", options=actions, placeholder="every action",
                         style={"minWidth": "14rem"}),
            dcc.Dropdown(id="admin-audit-limit", options=[{"label": f"newest {n:,}", "value": n}
                                                          for n in AUDIT_LIMITS],
                         value=AUDIT_LIMITS[1], clearable=False, searchable=False, style={"minWidth": "9rem"}),
            dbc.Button("Refresh", id="admin-audit-refresh", size="sm", color="secondary", outline=True),
            html.Span(shown, id="admin-audit-count", className="hint"),
        ], className="d-flex flex-wrap align-items-center gap-2 mb-2"),
        grid("admin-audit", rows, AUDIT_COLUMNS, height="auto", row_id="id",
             defaultColDef={"floatingFilter": False},
             dashGridOptions={"domLayout": "autoHeight", "pagination": True, "paginationPageSize": AUDIT_PAGE,
                              "paginationPageSizeSelector": False}),
        html.Div("Who did what, newest first: sign-ins (and failed ones, with the name tried), account changes, "
                 "uploads, version switches, saved scenarios, refused actions. Details never hold a password.",
                 className="hint mt-1"),
    ])


def _title(lead: str) -> html.Div:
    return html.Div([html.H4("Admin"), html.Span(lead, className="lead-text")], className="page-title")


def layout(**_):
    """The page as the current user may see it.

    Accounts (``manage_users``) and the audit log (``audit``) for an administrator; in local use without accounts,
    the first-administrator form and the audit log; for everyone else a short note and no data.
    """
    user = auth.current_user()
    manage, read_log = auth.may("manage_users"), auth.may("audit")
    if not (manage or read_log):
        return html.Div([_title("accounts and the audit log"),
                         dbc.Alert(FORBIDDEN.format(role=user.role if user is not None else "none"),
                                   color="secondary", id="admin-forbidden", className="py-2")])
    first = manage and user is auth.LOCAL_USER and not users.list_users(store=_store())
    parts = [dcc.Store(id="admin-changed", data=0), dcc.Store(id="admin-pending", data=None)]
    if first:
        parts.append(dbc.Row([dbc.Col(_first_admin_card(), lg=6)], className="g-3"))
    elif manage:
        parts.append(dbc.Row([dbc.Col(_accounts_card(), lg=7), dbc.Col(_add_card(), lg=5)], className="g-3"))
    if read_log:
        parts.append(_audit_card())
    return html.Div([_title("user accounts and who did what"), *parts])


# ---------------------------------------------------------------------------------------------- helpers
def _ok(text: str) -> html.Span:
    return html.Span(text, className="text-success")


def _bad(text: str) -> html.Span:
    return html.Span(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."), className="text-danger")


def _me() -> str:
    user = auth.current_user()
    return user.name if user is not None else ""


def _selected(rows) -> str | None:
    """The name of the selected account (the grid's ``selectedRows``), or None."""
    if isinstance(rows, list) and rows and isinstance(rows[0], dict) and isinstance(rows[0].get("name"), str):
        return rows[0]["name"]
    return None


def _two_passwords(first, second) -> str:
    """The password typed twice, or :class:`UserError` (the rules themselves are :mod:`riskmodel.users`'s)."""
    if not first or not second:
        raise UserError("type the password twice")
    if not isinstance(first, str) or first != second:
        raise UserError("the two passwords differ")
    return first


def _attempt(what: str, change):
    """Carry out an account change: ``(its result, None)``, or ``(None, a message for the page)`` when the rules of
    :mod:`riskmodel.users` refuse it (:class:`UserError`) or anything else fails (logged on the server, without any
    password; the page gets :data:`FAILED`, never a traceback)."""
    try:
        return change(), None
    except UserError as exc:
        return None, _bad(str(exc))
    except Exception:
        log.exception("%s failed", what)
        return None, _bad(FAILED)


def _changed(name: str | None = None) -> float:
    auth.accounts_changed(name)
    return time.time()


# ---------------------------------------------------------------------------------------------- callbacks
@callback(Output("admin-add-msg", "children"), Output("admin-new-name", "value"),
          Output("admin-new-pw", "value"), Output("admin-new-pw2", "value"),
          Output("admin-users", "rowData", allow_duplicate=True), Output("admin-changed", "data", allow_duplicate=True),
          Input("admin-add", "n_clicks"), State("admin-new-name", "value"), State("admin-new-role", "value"),
          State("admin-new-pw", "value"), State("admin-new-pw2", "value"), prevent_initial_call=True)
def add_account(n, name, role, password, password2):
    """Add an account (``manage_users``); the password fields are cleared whatever happens, the name on success.

    Returns
    -------
    tuple
        The message, the name field, the two password fields, the accounts table and the change marker.
    """
    auth.require("manage_users")
    if not n:
        raise PreventUpdate
    user, error = _attempt("adding an account", lambda: users.add_user(
        name or "", role or "", _two_passwords(password, password2), store=_store(), by=auth.current_user()))
    if error is not None:
        return error, no_update, "", "", no_update, no_update
    changed = _changed(user.name)
    return _ok(f"Added {user.name} ({user.role})."), "", "", "", user_rows(), changed


@callback(Output("admin-selected", "children"), Output("admin-role", "value"),
          Output("admin-confirm", "is_open", allow_duplicate=True), Input("admin-users", "selectedRows"),
          prevent_initial_call=True)
def select_account(rows):
    """Name the selected account and preset its role; a pending removal is cancelled."""
    auth.require("manage_users")
    name = _selected(rows)
    if name is None:
        return "Select an account for the actions below.", None, False
    role = next((r.get("role") for r in rows if r.get("name") == name), None)
    return [html.Span("Selected: "), html.B(name), f" ({role})" if role in ROLES else ""], \
        role if role in ROLES else None, False


@callback(Output("admin-msg", "children", allow_duplicate=True), Output("admin-users", "rowData", allow_duplicate=True),
          Output("admin-changed", "data", allow_duplicate=True),
          Input("admin-set-role", "n_clicks"), State("admin-users", "selectedRows"), State("admin-role", "value"),
          prevent_initial_call=True)
def change_role(n, rows, role):
    """Give the selected account another role (``manage_users``); an administrator cannot demote themselves."""
    auth.require("manage_users")
    if not n:
        raise PreventUpdate
    name = _selected(rows)
    if name is None:
        return _bad("select an account in the table first"), no_update, no_update
    role = str(role or "").strip().lower()

    def target_account():
        target = users.get_user(name, store=_store())
        if target is None:
            raise UserError(f"no user {name!r}")
        if role not in ROLES:
            raise UserError(f"choose a role: {', '.join(ROLES)}")
        return target

    target, error = _attempt("changing a role", target_account)
    if error is not None:
        return error, no_update, no_update
    if target.name == _me() and role != target.role:
        return _bad("you cannot change your own role: another administrator can"), no_update, no_update
    if role == target.role:
        return f"{target.name} is already {role}: nothing changed.", no_update, no_update
    _, error = _attempt("changing a role", lambda: users.set_role(target.name, role, store=_store(),
                                                                   by=auth.current_user()))
    if error is not None:
        return error, no_update, no_update
    changed = _changed(target.name)
    return _ok(f"{target.name} is now {role} (from the next request on)."), user_rows(), changed


@callback(Output("admin-msg", "children", allow_duplicate=True), Output("admin-users", "rowData", allow_duplicate=True),
          Output("admin-changed", "data", allow_duplicate=True),
          Input("admin-signout", "n_clicks"), State("admin-users", "selectedRows"), prevent_initial_call=True)
def sign_out_everywhere(n, rows):
    """End every session of the selected account (``manage_users``): it has to sign in again."""
    auth.require("manage_users")
    if not n:
        raise PreventUpdate
    name = _selected(rows)
    if name is None:
        return _bad("select an account in the table first"), no_update, no_update
    _, error = _attempt("ending the sessions of an account",
                        lambda: users.end_sessions(name, store=_store(), by=auth.current_user()))
    if error is not None:
        return error, no_update, no_update
    changed = _changed(name)
    own = " This session too: you will be asked to sign in again." if name == _me() else ""
    return _ok(f"{name} is signed out everywhere.{own}"), user_rows(), changed


@callback(Output("admin-msg", "children", allow_duplicate=True), Output("admin-users", "rowData", allow_duplicate=True),
          Output("admin-changed", "data", allow_duplicate=True), Output("admin-pw", "value"),
          Output("admin-pw2", "value"),
          Input("admin-set-pw", "n_clicks"), State("admin-users", "selectedRows"), State("admin-pw", "value"),
          State("admin-pw2", "value"), prevent_initial_call=True)
def new_password(n, rows, password, password2):
    """Set a new password for the selected account (``manage_users``); its sessions end. The fields are cleared."""
    auth.require("manage_users")
    if not n:
        raise PreventUpdate
    name = _selected(rows)
    if name is None:
        return _bad("select an account in the table first"), no_update, no_update, "", ""
    _, error = _attempt("setting a password", lambda: users.set_password(
        name, _two_passwords(password, password2), store=_store(), by=auth.current_user()))
    if error is not None:
        return error, no_update, no_update, "", ""
    changed = _changed(name)
    own = " This session too: sign in again with the new password." if name == _me() else ""
    return (_ok(f"{name} has a new password and is signed out everywhere.{own}"), user_rows(), changed, "", "")


@callback(Output("admin-confirm", "is_open", allow_duplicate=True), Output("admin-confirm-text", "children"),
          Output("admin-pending", "data", allow_duplicate=True), Output("admin-msg", "children", allow_duplicate=True),
          Input("admin-remove", "n_clicks"), State("admin-users", "selectedRows"), prevent_initial_call=True)
def ask_remove(n, rows):
    """The confirm step of removing the selected account (``manage_users``); refused for one's own account."""
    auth.require("manage_users")
    if not n:
        raise PreventUpdate
    name = _selected(rows)
    if name is None:
        return False, no_update, None, _bad("select an account in the table first")
    if name == _me():
        return False, no_update, None, _bad("you cannot remove your own account: another administrator can")
    return True, [f"Remove the account {name}? It can no longer sign in, its sessions end at once. What it did stays "
                  "in the audit log and on its dataset versions."], name, ""


@callback(Output("admin-confirm", "is_open", allow_duplicate=True),
          Output("admin-pending", "data", allow_duplicate=True), Output("admin-msg", "children", allow_duplicate=True),
          Output("admin-users", "rowData", allow_duplicate=True), Output("admin-changed", "data", allow_duplicate=True),
          Input("admin-remove-confirm", "n_clicks"), Input("admin-remove-cancel", "n_clicks"),
          State("admin-pending", "data"), prevent_initial_call=True)
def remove_account(_confirm, _cancel, name):
    """Remove the account asked about (``manage_users``) once confirmed; never one's own."""
    auth.require("manage_users")
    if not ctx.triggered_id or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate
    if ctx.triggered_id != "admin-remove-confirm" or not isinstance(name, str) or not name:
        return False, None, "", no_update, no_update
    if name == _me():
        return False, None, _bad("you cannot remove your own account: another administrator can"), no_update, \
            no_update
    _, error = _attempt("removing an account", lambda: users.remove_user(name, store=_store(),
                                                                          by=auth.current_user()))
    if error is not None:
        return False, None, error, no_update, no_update
    changed = _changed(name)
    return False, None, _ok(f"Removed {name}."), user_rows(), changed


@callback(Output("admin-first-msg", "children"), Output("admin-first-name", "value"),
          Output("admin-first-pw", "value"), Output("admin-first-pw2", "value"),
          Output("admin-first-create", "disabled"), Input("admin-first-create", "n_clicks"),
          State("admin-first-name", "value"),
          State("admin-first-pw", "value"), State("admin-first-pw2", "value"), prevent_initial_call=True)
def first_admin(n, name, password, password2):
    """Local use without accounts: make the first administrator account; sign-in is required from the next request.

    Only while no account exists, and only for the local user (an installation with accounts manages them with the
    accounts table).
    """
    auth.require("manage_users")
    if not n:
        raise PreventUpdate
    if auth.current_user() is not auth.LOCAL_USER or users.list_users(store=_store()):
        return _bad("accounts exist already: reload the page to manage them"), no_update, "", "", no_update
    user, error = _attempt("adding the first account", lambda: users.add_user(
        name or "", "admin", _two_passwords(password, password2), store=_store(), by=auth.current_user()))
    if error is not None:
        return error, no_update, "", "", no_update
    _changed()  # this process asks the database again: the next request needs a session
    return (dbc.Alert([FIRST_ADMIN_DONE.format(name=user.name), " ",
                       html.A("Sign in now", href="/login?next=%2Fadmin", className="alert-link")],
                      color="success", className="py-2 mb-0", id="admin-first-done"), "", "", "", True)


@callback(Output("admin-audit", "rowData"), Output("admin-audit-count", "children"),
          Output("admin-audit-user", "options"), Output("admin-audit-action", "options"),
          Input("admin-audit-refresh", "n_clicks"), Input("admin-audit-user", "value"),
          Input("admin-audit-action", "value"), Input("admin-audit-limit", "value"), Input("admin-changed", "data"),
          prevent_initial_call=True)
def audit_table(_refresh, user, action, limit, _changed_at):
    """The audit log with the chosen filters (``audit``), newest first."""
    auth.require("audit")
    try:
        return audit_view(user, action, limit)
    except Exception:
        log.exception("reading the audit log failed")
        return no_update, _bad("reading the audit log failed (the error is in the server log)"), no_update, no_update
