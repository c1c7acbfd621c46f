"""A member logs in (core) and registers for an event (events): the page's main action.

It writes (a registration), so it is not ``readonly``: it runs on staging only.
"""

from playwright.sync_api import expect


def test_a_member_logs_in_and_registers_for_an_event(page, account):
    page.goto("/")
    page.fill("#username", account["username"])
    page.fill("#password", account["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#who")).to_have_text("Logged in as Test Member")
    page.get_by_role("button", name="Register for the Summer University").click()
    expect(page.locator("#registered")).to_contain_text("Registered (")
