"""The Admin page in a real headless Chromium (offline): an administrator adds an account and sees it audited.

Its own server, RISKMODEL_HOME and SQLite store with one administrator account (cheap argon2 parameters).
Screenshot: artifacts/screenshots/admin.png.
"""

from __future__ import annotations

import pytest
from browser import (  # noqa: F401 - fixtures
    WAIT_MS,
    accounts_server,
    browser,
    external_requests,
    page,
    screenshot,
    wait_idle,
)
from conftest import write_dataset
from playwright.sync_api import expect

from riskmodel import users

pytestmark = pytest.mark.browser
PASSWORD = "admin-password-1"
NEW_PASSWORD = "new-viewer-pass-7"


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    from riskmodel.validate import validate_dataset

    home = tmp_path_factory.mktemp("admin-browser-home")
    with accounts_server(home, {"root": ("admin", PASSWORD)}, validate_dataset(write_dataset(home / "data")),
                         "tiny") as srv:
        yield srv


def test_an_admin_adds_a_viewer_and_sees_it_in_the_table_and_the_audit_log(admin_server, page):  # noqa: F811
    page.goto(admin_server.url + "/login?next=%2Fdata")
    page.locator("#name").fill("root")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#auth-user")).to_have_text("root (admin) · Admin · Sign out", timeout=WAIT_MS)
    page.locator("#auth-user").get_by_role("link", name="Admin", exact=True).click()  # client-side, as a user does
    expect(page.locator(".page-title h4")).to_have_text("Admin", timeout=WAIT_MS)
    expect(page.locator("#admin-users")).to_contain_text("root", timeout=WAIT_MS)
    wait_idle(page)

    page.locator("#admin-new-name").fill("nina")
    page.locator("#admin-new-pw").fill(NEW_PASSWORD)
    page.locator("#admin-new-pw2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Add the account").click()
    expect(page.locator("#admin-add-msg")).to_have_text("Added nina (viewer).", timeout=WAIT_MS)
    for field in ("#admin-new-name", "#admin-new-pw", "#admin-new-pw2"):  # cleared: the password is not kept
        expect(page.locator(field)).to_have_value("")
    nina = page.locator("#admin-users .ag-row", has_text="nina")
    expect(nina).to_contain_text("viewer", timeout=WAIT_MS)
    newest = page.locator("#admin-audit .ag-row[row-index='0']")
    expect(newest).to_contain_text("user.add", timeout=WAIT_MS)
    expect(newest).to_contain_text('{"name":"nina","role":"viewer"}')
    expect(newest).to_contain_text("root")
    nina.click()  # selecting the account presets its role for the actions below
    expect(page.locator("#admin-selected")).to_have_text("Selected: nina (viewer)", timeout=WAIT_MS)
    wait_idle(page)
    screenshot(page, "admin")

    assert users.get_user("nina", store=admin_server.store).role == "viewer"
    assert NEW_PASSWORD not in page.content()
    assert external_requests(page, admin_server.url) == []
    assert page.console_errors == []
