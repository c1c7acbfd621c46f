"""The lists the page renders come from the APIs: the bodies from core, the events from events.

Read-only (``readonly``): it runs on production too.
"""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.readonly


def test_the_bodies_and_events_come_from_the_apis(page):
    page.goto("/")
    expect(page.locator("#bodies li").first).to_have_text("AEGEE-Europe")
    expect(page.locator("#events li").first).to_contain_text("Summer University")
