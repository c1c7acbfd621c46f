"""The home page loads and shows what core and events answer through the gateway.

Read-only (``readonly``): it runs on production too.
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.readonly
VERSION = re.compile(r"^\w+ \d+\.\d+\.\d+")


def test_the_page_shows_core_and_events_answering(page):
    page.goto("/")
    expect(page.locator("#app")).to_contain_text("AEGEE frontend")
    expect(page.locator("#core-status")).to_have_text(VERSION)
    expect(page.locator("#events-status")).to_have_text(VERSION)
