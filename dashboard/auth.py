"""Who is asking: sign-in, sessions and roles for the dashboard's HTTP server.

This module owns everything between an HTTP request and the dashboard's code about identity:

* the **session**: Flask's signed cookie on ``app.server`` (HttpOnly, SameSite=Lax, Secure when
  ``RISKMODEL_SECURE_COOKIES=1``, 12 hours from sign-in, not extended by use). It holds only the user name, the
  sign-in time and a CSRF token. Its key comes from ``RISKMODEL_SECRET_KEY`` or the file ``$RISKMODEL_HOME/secret_key``
  (created once, owner-only, so every worker process of one installation shares it; :func:`secret_key`).
* the **guard** (a ``before_request`` hook): without a valid session only ``/login``, ``/logout`` and the static
  ``/assets/`` files answer. A page request is redirected to ``/login?next=...`` (same-site paths only); every other
  request - all Dash endpoints (``/_dash-layout``, ``/_dash-dependencies``, ``/_dash-update-component``,
  ``/_dash-component-suites/...``, ...) - gets ``401`` with a small JSON body. The user is read again from the
  database on each request (cached for :data:`USER_CACHE_SECONDS`), so removing a user or changing a role takes
  effect at once. **Signing out ends every session of the account** (``users.sessions_after``: sessions started
  earlier are refused), so a copied cookie, another browser or another worker's session stops too; a new password
  (:func:`riskmodel.users.set_password`) and ``riskmodel user signout NAME`` do the same.
* **roles at the callback endpoint**: :data:`CALLBACK_ACTIONS` maps the components whose callbacks write (upload,
  switch the active version, save a scenario, the Admin page's accounts) or read what only administrators may (the
  audit log) to the action they need; a ``POST /_dash-update-component`` for such a
  callback is refused with ``403`` unless the user's role allows it. The callbacks also call :func:`require`
  themselves; a :class:`PermissionError` from any callback ends in a clean ``403`` JSON answer, never a traceback.
* the **login page** (plain server-rendered HTML, no Dash, no CDN) with a CSRF token, one neutral message for every
  failed sign-in, and a throttle (:data:`MAX_FAILURES` failures per user name or client address within
  :data:`FAILURE_WINDOW_SECONDS` block further attempts, counted in the audit log so that all worker processes
  share the count); sign-in and sign-out are written to the audit log.
  Behind reverse proxies, ``RISKMODEL_TRUSTED_PROXIES=N`` takes the client address from their ``X-Forwarded-For``.

When sign-in is required (:func:`install`'s ``required``): ``True`` always; ``None`` (the default) as soon as any user
account exists in the store (checked per request, cached for :data:`USER_CACHE_SECONDS`); ``False`` never (tests).
**Decision:** while sign-in is not required the dashboard is a local single-user tool: every request is
:data:`LOCAL_USER` (may do everything), and, with ``required=None``, only clients on the loopback address are
answered. ``riskmodel serve`` refuses any other address while no account exists and then passes ``required=True``.

Functions the pages use:

* :func:`current_user` - the signed-in :class:`riskmodel.users.User`, or, while sign-in is not required,
  :data:`LOCAL_USER`; ``None`` outside a request or when not signed in.
* :func:`may` ``(action)`` - whether the current user may do ``action`` (``"upload"``, ``"activate"``,
  ``"scenario"``, ``"manage_users"``, ``"audit"``; see :data:`riskmodel.users.ACTIONS`).
* :func:`require` ``(action)`` - raise :class:`PermissionError` unless :func:`may` ``(action)``. Callbacks that write
  call it first, so a crafted POST to ``/_dash-update-component`` cannot bypass a hidden button.
* :func:`accounts_changed` - after an account was added, removed or changed (the Admin page,
  ``dashboard/pages/admin.py``): this process reads it again on the next request.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import flask
from markupsafe import escape

from riskmodel.users import User

__all__ = [
    "CALLBACK_ACTIONS",
    "LOCAL_USER",
    "AuthError",
    "accounts_changed",
    "current_user",
    "install",
    "may",
    "navbar_item",
    "proxy_hops",
    "require",
    "safe_next",
    "secret_key",
]

log = logging.getLogger(__name__)

#: the user of a local, single-user session (loopback, no accounts): may do everything
LOCAL_USER = User(name="local", role="admin", created_at=datetime(2026, 1, 1, tzinfo=UTC))

#: components whose callbacks write, and the action (:data:`riskmodel.users.ACTIONS`) each needs. A callback that
#: declares one of them as an Input, or a request that names one as input or trigger, needs that action.
CALLBACK_ACTIONS: dict[str, str] = {
    "data-upload": "upload",
    "data-switch": "activate",
    "wi-save": "scenario",
    # the Admin page (dashboard/pages/admin.py): accounts ...
    "admin-users": "manage_users",
    "admin-add": "manage_users",
    "admin-set-role": "manage_users",
    "admin-signout": "manage_users",
    "admin-set-pw": "manage_users",
    "admin-remove": "manage_users",
    "admin-remove-confirm": "manage_users",
    "admin-remove-cancel": "manage_users",
    "admin-first-create": "manage_users",
    # ... and the audit log
    "admin-audit-refresh": "audit",
    "admin-audit-user": "audit",
    "admin-audit-action": "audit",
    "admin-audit-limit": "audit",
    "admin-changed": "audit",
}
#: a session ends this long after sign-in (use does not extend it)
SESSION_LIFETIME = timedelta(hours=12)
#: how long a user read from the database (or "do any users exist") is trusted before reading it again
USER_CACHE_SECONDS = 2.0
#: failed sign-ins per user name or per client address ...
MAX_FAILURES = 5
#: ... within this many seconds, after which every attempt from that address or for that name is refused
FAILURE_WINDOW_SECONDS = 15 * 60
#: shortest accepted ``RISKMODEL_SECRET_KEY`` (characters)
MIN_SECRET_LENGTH = 32

WRONG_LOGIN = "Wrong user name or password."
TOO_MANY = "Too many attempts, try again in a few minutes."
FORM_EXPIRED = "The sign-in form has expired. Please try again."
SIGNED_OUT = "You are signed out."

_EXT = "riskmodel_auth"
_PUBLIC = ("/login", "/logout")
_NO_STORE = {"Cache-Control": "no-store"}


class AuthError(RuntimeError):
    """Sign-in cannot be set up (an unusable secret key): the server must not start."""


# ---------------------------------------------------------------------------------------------- secret key
def secret_key(home: Path | None = None) -> bytes:
    """The key that signs session cookies: ``RISKMODEL_SECRET_KEY``, else the file ``secret_key`` in the data directory.

    The file is created on first use, atomically and owner-only (mode 0600): 32 random bytes, hex-encoded, written to
    a private temporary file and published with a hard link, which fails if another process was first (then that
    process's key is read). Every worker of one installation therefore signs with the same key, and the key survives
    restarts (sessions stay valid). Delete the file to sign everybody out.

    Parameters
    ----------
    home : Path, optional
        The data directory; default :func:`riskmodel.store.riskmodel_home` (``$RISKMODEL_HOME``).

    Raises
    ------
    AuthError
        ``RISKMODEL_SECRET_KEY`` shorter than :data:`MIN_SECRET_LENGTH`, or an unreadable or too short key file.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> secret_key(d) == secret_key(d), oct((d / "secret_key").stat().st_mode & 0o777)  # doctest: +SKIP
    (True, '0o600')
    """
    env = os.environ.get("RISKMODEL_SECRET_KEY", "")
    if env:
        if len(env) < MIN_SECRET_LENGTH:
            raise AuthError(f"RISKMODEL_SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} random characters, "
                            "e.g. the output of `python3 -c 'import secrets; print(secrets.token_hex(32))'`")
        return env.encode("utf-8")
    if home is None:
        from riskmodel.store import riskmodel_home

        home = riskmodel_home()
    path = Path(home) / "secret_key"
    if not path.exists():
        _create_key_file(path)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise AuthError(f"cannot read the session key {path}: {exc.strerror or exc}") from None
    if len(key) < MIN_SECRET_LENGTH:
        raise AuthError(f"the session key {path} is too short or empty: delete it and start again (a new one is made)")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise AuthError(f"cannot create the session key in {path.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode("ascii") + b"\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic; fails if another process published its key first
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: exclusive create of the final name instead
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                return
            with os.fdopen(fd, "wb") as f:
                f.write(tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)


class _LazyKeySessions(flask.sessions.SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, loading the key only when a cookie is read or written.

    A local session (no sign-in) never touches a session, so it never creates a key file.
    """

    def __init__(self, load_key):
        self._load_key = load_key
        self._lock = threading.Lock()

    def get_signing_serializer(self, app):
        if not app.secret_key:
            with self._lock:
                if not app.secret_key:
                    app.secret_key = self._load_key()
        return super().get_signing_serializer(app)

    def open_session(self, app, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


# ---------------------------------------------------------------------------------------------- throttle
class _Throttle:
    """Failed sign-ins per user name and per client address within a sliding window.

    Counted from the audit log's ``login.failed`` entries (:func:`riskmodel.users.failed_logins_since`), so every
    worker process of an installation sees the same failures: N workers do not give N times the tries.
    """

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW_SECONDS):
        self.limit, self.window = limit, window
        self.not_before = 0.0  # failures before this time (seconds since the epoch) are not counted: see reset()

    @staticmethod
    def key(name: object) -> str:
        """A tried user name as the throttle counts it: spaces collapsed, lower case, at most 64 characters."""
        return " ".join(str(name).split()).lower()[:64]

    def blocked(self, store, name: object, client: str) -> bool:
        """Whether ``name`` or ``client`` has failed :attr:`limit` times within the window."""
        from riskmodel.users import failed_logins_since

        since = max(time.time() - self.window, self.not_before)
        failures = failed_logins_since(datetime.fromtimestamp(since, UTC), store=store)
        key = self.key(name)
        return (sum(self.key(n) == key for n, _ in failures) >= self.limit
                or sum(a == client for _, a in failures) >= self.limit)

    def reset(self) -> None:
        """Forget the failures so far (for this process; tests use it between cases)."""
        self.not_before = time.time()


# ---------------------------------------------------------------------------------------------- state per app
class _Auth:
    """The sign-in set-up of one Flask server (kept in ``server.extensions``)."""

    def __init__(self, dash_app, store, required: bool | None):
        self.dash_app, self._store, self.required = dash_app, store, required
        self._lock = threading.Lock()
        self._users: dict[str, tuple[float, User | None]] = {}
        self._any_user: tuple[float, bool] | None = None
        self.throttle = _Throttle()

    @property
    def store(self):
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from riskmodel.store import Store

                    self._store = Store()
        return self._store

    def sign_in_required(self) -> bool:
        if self.required is not None:
            return bool(self.required)
        now = time.monotonic()
        cached = self._any_user
        if cached is not None and now - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        import sqlalchemy as sa

        from riskmodel.store import USERS

        with self.store.begin() as conn:
            exists = conn.execute(sa.select(USERS.c.id).limit(1)).first() is not None
        self._any_user = (now, exists)
        return exists

    def user(self, name: str) -> User | None:
        now = time.monotonic()
        cached = self._users.get(name)
        if cached is not None and now - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        from riskmodel.users import get_user

        user = get_user(name, store=self.store)
        with self._lock:
            if len(self._users) > 1000:
                self._users.clear()
            self._users[name] = (now, user)
        return user

    def forget(self, name: str) -> None:
        with self._lock:
            self._users.pop(name, None)

    def audit(self, who: str, action: str, detail: dict) -> None:
        try:
            self.store.audit(who, action, detail)
        except Exception:  # the audit log must not turn a sign-in into an error page
            log.exception("could not write %s to the audit log", action)


def _state(server: flask.Flask | None = None) -> _Auth | None:
    server = server if server is not None else flask.current_app
    return server.extensions.get(_EXT)


# ---------------------------------------------------------------------------------------------- public API
def install(app, store, *, required: bool | None = None) -> None:
    """Put sign-in, the session check and the login page on ``app.server``.

    Parameters
    ----------
    app : dash.Dash
        The dashboard (call once, after its layout and callbacks are defined).
    store : riskmodel.store.Store or None
        Where users live and sign-ins are audited; ``None``: ``Store()`` (the installation's database), opened on
        first need.
    required : bool or None
        ``True``: sign-in always required; ``None``: required as soon as any user account exists; ``False``: never
        (tests and local use only).

    Examples
    --------
    >>> install(app, store, required=True)  # doctest: +SKIP
    """
    server = app.server
    if _EXT in server.extensions:
        return
    state = _Auth(app, store, required)
    server.extensions[_EXT] = state
    server.session_interface = _LazyKeySessions(secret_key)
    secure = os.environ.get("RISKMODEL_SECURE_COOKIES", "").strip().lower() in ("1", "true", "yes", "on")
    server.config.update(
        SESSION_COOKIE_NAME="riskmodel_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    hops = proxy_hops()
    if hops:  # behind N reverse proxies: the client address (throttle, audit) and scheme come from their headers
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops)
    server.before_request(_guard)
    server.after_request(_headers)
    server.add_url_rule("/login", "riskmodel_login", _login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "riskmodel_logout", _logout, methods=["GET", "POST"])
    server.register_error_handler(PermissionError, _forbidden_error)
    _register_navbar_callback(app)


def proxy_hops() -> int:
    """``RISKMODEL_TRUSTED_PROXIES``: how many reverse proxies in front add ``X-Forwarded-For`` (default 0)."""
    text = os.environ.get("RISKMODEL_TRUSTED_PROXIES", "").strip() or "0"
    if not text.isdigit() or int(text) > 10:
        raise AuthError(f"RISKMODEL_TRUSTED_PROXIES must be a small whole number (the proxies in front), not {text!r}")
    return int(text)


def current_user() -> User | None:
    """The user of this request: the signed-in user, :data:`LOCAL_USER` while sign-in is not required, else ``None``.

    Outside a request (a background thread, the command line) it is ``None``; in an app without :func:`install`
    (no sign-in set up at all) it is :data:`LOCAL_USER`.
    """
    if not flask.has_request_context():
        return None
    if _state() is None:
        return LOCAL_USER
    return flask.g.get("riskmodel_user")


def may(action: str) -> bool:
    """Whether the current user may do ``action`` (``False`` for no user or an unknown action)."""
    user = current_user()
    return user is not None and user.may(action)


def require(action: str) -> None:
    """Raise :class:`PermissionError` unless the current user may do ``action``.

    Examples
    --------
    >>> require("upload")  # outside a request there is no user  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    PermissionError: you are not signed in
    """
    user = current_user()
    if user is None:
        raise PermissionError("you are not signed in")
    if not user.may(action):
        raise PermissionError(f"your role ({user.role}) may not {action}")


def safe_next(value: object) -> str:
    """Where to go after signing in: ``value`` when it is a path on this site, else ``"/"``.

    Only relative paths starting with a single ``/`` pass (no scheme, no host, no ``//`` or backslash, no control
    characters), so the login page cannot be used to send a user to another site.

    Examples
    --------
    >>> safe_next("/spof?x=1"), safe_next("//evil.example"), safe_next("https://evil.example/"), safe_next("/\\\\evil")
    ('/spof?x=1', '/', '/', '/')
    """
    if not isinstance(value, str) or not value or len(value) > 2000:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in _PUBLIC:
        return "/"
    return value


def accounts_changed(name: str | None = None) -> None:
    """Forget what this process has cached about accounts, so that a change made here counts from the next request.

    Call it after adding, removing or changing an account (the Admin page does). Other worker processes notice within
    :data:`USER_CACHE_SECONDS`.

    Parameters
    ----------
    name : str, optional
        The account that changed; ``None``: every account, and whether any account exists (after the first account
        is made, sign-in is required from the next request on).
    """
    state = _state() if flask.has_app_context() else None
    if state is None:
        return
    with state._lock:
        if name is None:
            state._users.clear()
        else:
            state._users.pop(name, None)
        state._any_user = None


def navbar_item():
    """The navigation bar's "NAME (role) · Sign out" of the signed-in user (a callback fills it), with a link to the
    Admin page for those who may manage users (in local use, without accounts, only that link)."""
    from dash import html

    return html.Span(id="auth-user", className="auth-user small text-white-50 ms-3 text-nowrap")


# ---------------------------------------------------------------------------------------------- the guard
def _json(status: int, error: str, message: str, **extra: Any) -> flask.Response:
    body = json.dumps({"error": error, "message": message, **extra})
    return flask.Response(body, status=status, mimetype="application/json", headers=_NO_STORE)


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _client() -> str:
    return flask.request.remote_addr or "unknown"


def _guard():
    """Before every request: allow public paths, find the user, refuse or redirect the rest."""
    state = _state()
    request = flask.request
    path = request.path
    if path in _PUBLIC or path.startswith("/assets/"):
        return None
    if not state.sign_in_required():
        if state.required is None and not _is_loopback(request.remote_addr):
            return _json(403, "local only", "No user accounts exist: this dashboard answers only on this computer.")
        flask.g.riskmodel_user = LOCAL_USER
        return None
    user = _session_user(state)
    if user is None:
        if request.method in ("GET", "HEAD") and not path.startswith("/_"):
            target = path + ("?" + request.query_string.decode("latin-1") if request.query_string else "")
            query = urlencode({"next": safe_next(target)}) if safe_next(target) != "/" else ""
            return flask.redirect("/login" + ("?" + query if query else ""), code=302)
        return _json(401, "sign-in required", "Sign in first.", login="/login")
    flask.g.riskmodel_user = user
    if path.endswith("/_dash-update-component") and request.method == "POST":
        for action in sorted(_callback_actions(state.dash_app, request.get_json(silent=True))):
            if not user.may(action):
                state.audit(user.name, "permission.denied", {"action": action, "path": path})
                return _json(403, "forbidden", f"Your role ({user.role}) may not {action}.")
    return None


def _session_user(state: _Auth) -> User | None:
    session = flask.session
    name, at = session.get("user"), session.get("at")
    if not isinstance(name, str) or not isinstance(at, int | float):
        return None
    if not 0 <= time.time() - at < SESSION_LIFETIME.total_seconds():
        session.clear()
        return None
    user = state.user(name)
    if user is None or not user.session_valid(at):  # removed, or signed out everywhere, since signing in
        session.clear()
        return None
    return user


def _component_key(component_id: object) -> str | None:
    """The key of a component id in :data:`CALLBACK_ACTIONS`: the id itself, or a pattern-matching id's ``type``."""
    if isinstance(component_id, str):
        if component_id.startswith("{"):
            try:
                component_id = json.loads(component_id)
            except ValueError:
                return component_id
        else:
            return component_id
    if isinstance(component_id, dict):
        kind = component_id.get("type")
        return kind if isinstance(kind, str) else None
    return None


def _callback_actions(dash_app, body: object) -> set[str]:
    """The actions a callback request needs: from the callback's declared inputs, the inputs sent and the trigger.

    Dash finds the callback by the ``output`` it names and does not check the inputs sent against it, so the declared
    inputs (``app.callback_map``) count as well as whatever the request claims.
    """
    if not isinstance(body, dict):
        return set()
    items: list = []
    output = body.get("output")
    spec = getattr(dash_app, "callback_map", {}).get(output) if isinstance(output, str) else None
    if isinstance(spec, dict):
        items += list(spec.get("inputs") or [])
    for item in body.get("inputs") or []:
        items += item if isinstance(item, list) else [item]
    keys = {_component_key(i.get("id")) for i in items if isinstance(i, dict)}
    for prop in body.get("changedPropIds") or []:
        if isinstance(prop, str):
            keys.add(_component_key(prop.rsplit(".", 1)[0]))
    return {CALLBACK_ACTIONS[k] for k in keys if k in CALLBACK_ACTIONS}


def _headers(response: flask.Response) -> flask.Response:
    """Every answer: no framing by other sites, no content sniffing; private answers are not cached."""
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    path = flask.request.path
    if flask.g.get("riskmodel_user") not in (None, LOCAL_USER) and not path.startswith(
            ("/assets/", "/_dash-component-suites/")):
        response.headers["Cache-Control"] = "no-store"
    return response


def _forbidden_error(exc: PermissionError):
    """A callback refused an action (:func:`require`): a clean 403, not a traceback."""
    user = current_user()
    state = _state()
    if state is not None and user is not None and user is not LOCAL_USER:
        state.audit(user.name, "permission.denied", {"path": flask.request.path, "reason": str(exc)[:200]})
    message = str(exc) if str(exc).startswith(("your role", "you are not")) else "You may not do that."
    return _json(403, "forbidden", message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))


# ---------------------------------------------------------------------------------------------- login page
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Supply-chain risk</title>
<link rel="icon" href="data:,">
{css}
</head>
<body class="bg-light">
<main class="container" style="max-width: 24rem; margin-top: 12vh">
<h1 class="h4 mb-3">Pharma supply-chain risk</h1>
{message}
<form method="post" action="/login" class="card card-body shadow-sm">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label class="form-label" for="name">User name</label>
<input class="form-control mb-3" id="name" name="name" value="{name}" autocomplete="username" autocapitalize="none"
 spellcheck="false" maxlength="64" required{focus_name}>
<label class="form-label" for="password">Password</label>
<input class="form-control" id="password" name="password" type="password" autocomplete="current-password"
 maxlength="1024" required{focus_password}>
<button class="btn btn-primary w-100 mt-4" type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"""
_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'"


def _css() -> str:
    from riskmodel.paths import ASSETS_DIR

    if (Path(ASSETS_DIR) / "vendor" / "bootstrap.min.css").is_file():
        return '<link rel="stylesheet" href="/assets/vendor/bootstrap.min.css">'
    return ("<style>body{font-family:system-ui,sans-serif;background:#f8f9fa}main{margin:12vh auto}"
            "input{display:block;width:100%;margin:.25rem 0 1rem;padding:.4rem}</style>")


def _csrf_token() -> str:
    token = flask.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return token


def _page(message: str = "", kind: str = "danger", status: int = 200, name: str = "", next_: str = "/"):
    alert = (f'<div class="alert alert-{kind} py-2" role="alert" id="login-message">{escape(message)}</div>'
             if message else "")
    html = _PAGE.format(css=_css(), message=alert, csrf=escape(_csrf_token()), next=escape(safe_next(next_)),
                        name=escape(name[:64]), focus_name="" if name else " autofocus",
                        focus_password=" autofocus" if name else "")
    headers = {**_NO_STORE, "Content-Security-Policy": _CSP, "X-Frame-Options": "DENY"}
    return flask.Response(html, status=status, mimetype="text/html", headers=headers)


def _login():
    """``GET /login``: the form. ``POST /login``: check the token, the throttle and the password; sign in."""
    state = _state()
    request = flask.request
    if not state.sign_in_required():
        return flask.redirect("/", code=303)
    if request.method == "GET":
        message = SIGNED_OUT if request.args.get("signed_out") == "1" else ""
        return _page(message, kind="info", next_=request.args.get("next", "/"))
    form = request.form
    name = form.get("name", "")
    name = name if isinstance(name, str) else ""
    next_ = form.get("next", "/")
    sent, expected = form.get("csrf_token", ""), flask.session.get("csrf")
    if not (isinstance(expected, str) and sent and hmac.compare_digest(sent.encode(), expected.encode())):
        return _page(FORM_EXPIRED, status=400, name=name, next_=next_)
    if state.throttle.blocked(state.store, name, _client()):
        log.warning("sign-in refused (too many failures) for %r from %s", name[:64], _client())  # not audited:
        # refusing costs nothing, so writing each refusal to the database would let anyone flood the audit log
        return _page(TOO_MANY, status=429, name=name, next_=next_)
    from riskmodel.users import authenticate

    user = authenticate(name, form.get("password", ""), store=state.store, address=_client())
    if user is None:
        return _page(WRONG_LOGIN, status=401, name=name, next_=next_)
    flask.session.clear()  # a new session: nothing from before signing in is carried over
    flask.session["user"] = user.name
    flask.session["at"] = time.time()
    flask.session["csrf"] = secrets.token_urlsafe(32)
    flask.session.permanent = True
    state.forget(user.name)
    state.audit(user.name, "login", {"address": _client()})
    return flask.redirect(safe_next(next_), code=303)


def _logout():
    """``/logout``: end the session (audited) and show the login page."""
    state = _state()
    name = flask.session.get("user")
    signed_in = _session_user(state) is not None if isinstance(name, str) and name else False
    flask.session.clear()
    if signed_in:
        from riskmodel.users import UserError, end_sessions

        try:  # every session of the account ends, also copies of this cookie and other browsers
            end_sessions(name, store=state.store, by=name)
        except UserError:  # removed meanwhile
            pass
        state.forget(name)
        state.audit(name[:64], "logout", {"address": _client()})
    return flask.redirect("/login?signed_out=1" if state.sign_in_required() else "/", code=303)


# ---------------------------------------------------------------------------------------------- navbar
def _register_navbar_callback(app) -> None:
    from dash import Input, Output, dcc, html

    @app.callback(Output("auth-user", "children"), Output("auth-user", "title"), Input("url", "pathname"))
    def _signed_in_as(_path):
        user = current_user()
        if user is None:
            return None, None
        admin = [dcc.Link("Admin", href="/admin", className="link-light", id="auth-admin-link"), " · "] \
            if user.may("manage_users") else []
        if user is LOCAL_USER:  # local use without accounts: no name, no sign-out; the Admin page makes the first one
            return admin[:1] or None, "local use without sign-in" if admin else None
        return ([html.B(user.name, className="text-white"), f" ({user.role}) · ", *admin,
                 html.A("Sign out", href="/logout", className="link-light")], f"signed in as {user.name} ({user.role})")
