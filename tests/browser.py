"""Real-browser test support: the Dash app in a thread and Debian's headless Chromium, as an offline user.

The fixtures here (``browser``, ``page``, ``module_page``, ``app_page``, ``dash_server``) are made available to every
test module by ``tests/conftest.py``; test modules import only the helpers (``go_to``, ``wait_idle``, ...).

Chromium starts with the host-resolver guard of PLATFORM.md: every host name except 127.0.0.1/localhost fails to
resolve, so any CDN fetch fails at once and a test proves the app needs no internet. Screenshots go to
``artifacts/screenshots/`` (look at them: they are the user's view).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/lib/chromium/chromium"
OFFLINE_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--disable-domain-reliability",
    "--disable-client-side-phishing-detection", "--metrics-recording-only",
    "--disable-features=NetworkTimeServiceQuerying,AutofillServerCommunication,OptimizationHints,MediaRouter,Translate",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


class LiveServer:
    """A WSGI app served on 127.0.0.1 on a free port, in a daemon thread."""

    def __init__(self, wsgi_app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@contextmanager
def accounts_server(home: Path, accounts: dict[str, tuple[str, str]], report, name: str, *,
                    user_cache_seconds: float | None = None):
    """The app on ``report`` with sign-in, served by a :class:`LiveServer`: its own ``RISKMODEL_HOME`` (``home``) and
    SQLite store holding ``accounts`` (name -> (role, password)), cheap argon2 parameters. Yields the server, with
    ``.store``."""
    from argon2 import PasswordHasher

    from dashboard import auth
    from dashboard.app import create_app
    from riskmodel import users
    from riskmodel.store import Store

    mp = pytest.MonkeyPatch()
    mp.setenv("RISKMODEL_HOME", str(home))
    for var in ("DATABASE_URL", "RISKMODEL_SECRET_KEY", "RISKMODEL_SECURE_COOKIES", "RISKMODEL_TRUSTED_PROXIES"):
        mp.delenv(var, raising=False)
    mp.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    mp.setattr(users, "_dummy_hash", None)
    if user_cache_seconds is not None:
        mp.setattr(auth, "USER_CACHE_SECONDS", user_cache_seconds)
    store = Store(f"sqlite:///{home / 'riskmodel.db'}")
    for account, (role, password) in accounts.items():
        users.add_user(account, role, password, store=store)
    srv = LiveServer(create_app(report, name, store=store).server)
    srv.store = store
    try:
        yield srv
    finally:
        srv.stop()
        store.close()
        mp.undo()


_SESSION: dict = {}


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, offline, started once per test session (kept in this module, so a test module
    that imports this fixture again still shares the one browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    if "browser" not in _SESSION:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        _SESSION["playwright"] = pw
        _SESSION["browser"] = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=OFFLINE_ARGS)
    yield _SESSION["browser"]
    if "browser" in _SESSION:
        _SESSION.pop("browser").close()
        _SESSION.pop("playwright").stop()


def _recording_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.console_errors = []
    pg.failed_requests = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    pg.on("requestfailed", lambda r: pg.failed_requests.append(r.url))
    return context, pg


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and failed requests (``page.console_errors``)."""
    context, pg = _recording_page(browser)
    yield pg
    context.close()


@pytest.fixture(scope="module")
def module_page(browser):
    """One page for a whole test module (plotly.js loads once; tests move between routes with the navigation
    bar, as a user does). Tests clear ``console_errors`` / ``failed_requests`` themselves if they need to."""
    context, pg = _recording_page(browser)
    yield pg
    context.close()


@pytest.fixture
def app_page(module_page):
    """:func:`module_page` with its error lists cleared for this test."""
    module_page.console_errors.clear()
    module_page.failed_requests.clear()
    return module_page


def go_to(pg, label: str, title: str | None = None, timeout: int = 25_000) -> None:
    """Open a page with the navigation bar (client-side, as a user does) and wait for its title."""
    from playwright.sync_api import expect

    pg.locator("nav").get_by_role("link", name=label, exact=True).click()
    expect(pg.locator(".page-title h4")).to_have_text(title or label, timeout=timeout)


def screenshot(pg, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------------------------------------- Dash helpers
#: plotly.js is about 5 MB: its first render in headless Chromium takes several seconds
WAIT_MS = 40_000


def wait_for_map(pg, graph_id: str, timeout: int = WAIT_MS) -> None:
    """Wait until the geo map in ``dcc.Graph`` ``graph_id`` has drawn its country outlines (from local topojson)."""
    from playwright.sync_api import expect

    expect(pg.locator(f"#{graph_id} g.layer.countries path").first).to_be_attached(timeout=timeout)


def wait_idle(pg, timeout: int = WAIT_MS) -> None:
    """Wait until no Dash callback is pending (Dash marks loading components with ``data-dash-is-loading``)."""
    from playwright.sync_api import expect

    expect(pg.locator("[data-dash-is-loading='true']")).to_have_count(0, timeout=timeout)


def pick_option(pg, dropdown_id: str, label: str) -> None:
    """Choose ``label`` in the Dash 4 ``dcc.Dropdown`` ``dropdown_id`` (opens it, clicks the option, closes it)."""
    pg.locator(f"#{dropdown_id}").click()
    pg.get_by_role("option", name=label, exact=True).click()
    pg.keyboard.press("Escape")


def click_site_marker(pg, graph_id: str, nth: int = 0) -> None:
    """Click the ``nth`` site marker of a geo map (a real mouse click at its centre)."""
    point = pg.locator(f"#{graph_id} g.scattergeo path.point").nth(nth)
    box = point.bounding_box()
    pg.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def external_requests(pg, server_url: str) -> list[str]:
    """Failed requests to anything but the app itself (an online resource the app tried to load)."""
    return [u for u in pg.failed_requests if not u.startswith(server_url) and not u.startswith("data:")]


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory):
    """The dashboard on the sample data, served once per test module, with its own empty database (a SQLite file
    in a fresh home). ``dash_server.versions`` is its :class:`dashboard.state.Versions` (``.store``: the database)."""
    from dashboard import state
    from dashboard.app import create_app
    from riskmodel.validate import validate_dataset

    home = tmp_path_factory.mktemp("riskmodel-home")
    app = create_app(validate_dataset(ROOT / "data" / "sample"), "sample", home=home)
    srv = LiveServer(app.server)
    srv.home, srv.app, srv.versions = home, app, state.for_app(app)
    yield srv
    srv.stop()
    srv.versions.store.close()
