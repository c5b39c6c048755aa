"""Signing in and out in a real headless Chromium (offline): the login form, the navigation bar, an expired session.

Its own server, RISKMODEL_HOME and SQLite store with a viewer account (cheap argon2 parameters). Screenshots:
artifacts/screenshots/login.png and signed-in.png.
"""

from __future__ import annotations

import re

import pytest
from browser import (  # noqa: F401 - fixtures
    WAIT_MS,
    accounts_server,
    browser,
    external_requests,
    page,
    screenshot,
    wait_for_map,
    wait_idle,
)
from conftest import SAMPLE
from playwright.sync_api import expect

from dashboard import auth

pytestmark = pytest.mark.browser
PASSWORD = "viewer-password-1"


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    from riskmodel.validate import validate_dataset

    with accounts_server(tmp_path_factory.mktemp("auth-browser-home"), {"vera": ("viewer", PASSWORD)},
                         validate_dataset(SAMPLE), "sample", user_cache_seconds=0.0) as srv:
        yield srv


def _sign_in(pg, password: str = PASSWORD) -> None:
    pg.locator("#name").fill("vera")
    pg.locator("#password").fill(password)
    pg.get_by_role("button", name="Sign in").click()


def test_sign_in_show_who_and_sign_out(signed_server, page):  # noqa: F811
    page.goto(signed_server.url + "/spof")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fspof$"))
    _sign_in(page, "not the password")
    expect(page.locator("#login-message")).to_have_text(auth.WRONG_LOGIN)
    screenshot(page, "login")
    _sign_in(page)
    expect(page).to_have_url(signed_server.url + "/spof", timeout=WAIT_MS)
    expect(page.locator("#auth-user")).to_have_text("vera (viewer) · Sign out", timeout=WAIT_MS)
    expect(page.locator("#auth-user")).to_have_attribute("title", "signed in as vera (viewer)")
    expect(page.locator(".page-title h4")).to_have_text("Single points of failure", timeout=WAIT_MS)
    screenshot(page, "signed-in")
    page.locator("#auth-user").get_by_role("link", name="Sign out").click()
    expect(page.locator("#login-message")).to_have_text(auth.SIGNED_OUT)
    page.goto(signed_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert external_requests(page, signed_server.url) == []
    assert all("401" in e or "status of 40" in e for e in page.console_errors), page.console_errors


def test_an_ended_session_sends_an_open_page_to_the_login_form(signed_server, page):  # noqa: F811
    page.goto(signed_server.url + "/login")
    _sign_in(page)
    expect(page.locator("#auth-user")).to_contain_text("vera (viewer)", timeout=WAIT_MS)
    wait_for_map(page, "ov-map")  # the overview has loaded and no Dash request is in flight
    wait_idle(page)
    page.context.clear_cookies()  # the session ends (as after 12 hours) while the page stays open
    page.locator("nav").get_by_role("link", name="Data", exact=True).click()  # a client-side move: Dash requests
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fdata$"), timeout=WAIT_MS)
    expect(page.locator("#password")).to_be_visible()
