# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The pytest plugin the browser scenarios run with, on the host (``_scenarios`` writes it there).

``PLUGIN`` is the text of ``aegee_scenarios.py``, loaded with ``-p aegee_scenarios`` into the browser Python
(``aegee_browser_python``: pytest and playwright; third-party pytest plugins are not loaded). It gives the
scenarios the fixtures pytest-playwright users know, ``browser``, ``context``, ``page``, ``base_url``, plus
``account`` (the test account: ``username``, ``password``), all from the environment the runner sets:

* ``AEGEE_BASE_URL``: the gateway the scenarios start from (``page.goto("/")`` goes there);
* ``AEGEE_TEST_USERNAME``, ``AEGEE_TEST_PASSWORD``: the test account (never written anywhere: the report
  replaces the password with ``********``);
* ``AEGEE_BROWSER_EXECUTABLE``: the distribution's Chromium (never downloaded);
* ``AEGEE_SCENARIO_TIMEOUT``: seconds one scenario may take (also each Playwright action's timeout);
* ``AEGEE_SCENARIO_EVIDENCE``: the folder of this attempt's evidence and its ``results.json``.

A scenario fails when a page it opened throws an uncaught exception, unless it is marked
``page_errors_allowed``. Every scenario is traced; a failing one leaves ``<evidence>/<scenario>/`` with
``screenshot.png`` (each page it had open), ``trace.zip`` (``playwright show-trace trace.zip``) and
``console.txt`` (the browser console's errors and the page's uncaught exceptions), and its entry in
``results.json`` names the failing step: the last line of the scenario's own file in the traceback, and the
error.
"""

from __future__ import annotations

PLUGIN = r'''
"""aegee.deploy's pytest plugin for browser scenarios (written by the collection; do not edit)."""
import json
import os
import re
import signal
import time

import pytest
from playwright.sync_api import sync_playwright

ENV = os.environ
EVIDENCE = ENV.get("AEGEE_SCENARIO_EVIDENCE") or os.path.abspath("evidence")
TIMEOUT = float(ENV.get("AEGEE_SCENARIO_TIMEOUT") or 30)
SECRET = ENV.get("AEGEE_TEST_PASSWORD") or None
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]
RESULTS = []


class ScenarioTimeout(Exception):
    """The scenario ran longer than AEGEE_SCENARIO_TIMEOUT seconds."""


def hide(text):
    text = str(text)
    return text.replace(SECRET, "********") if SECRET else text


def folder_of(nodeid):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:120] or "scenario"


def write_results():
    os.makedirs(EVIDENCE, exist_ok=True)
    path = os.path.join(EVIDENCE, "results.json")
    with open(path + ".tmp", "w") as handle:
        json.dump({"tests": RESULTS}, handle, indent=1)
    os.replace(path + ".tmp", path)


def pytest_configure(config):
    config.addinivalue_line("markers", "readonly: reads only, safe against production (the production subset)")
    config.addinivalue_line("markers", "page_errors_allowed: an uncaught exception on the page does not fail it")


@pytest.fixture(scope="session")
def playwright():
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright):
    launched = playwright.chromium.launch(executable_path=ENV.get("AEGEE_BROWSER_EXECUTABLE") or "/usr/bin/chromium",
                                          args=ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def base_url():
    return (ENV.get("AEGEE_BASE_URL") or "").rstrip("/")


@pytest.fixture(scope="session")
def account():
    return {"username": ENV.get("AEGEE_TEST_USERNAME") or "", "password": ENV.get("AEGEE_TEST_PASSWORD") or ""}


@pytest.fixture
def context(browser, base_url, request):
    ctx = browser.new_context(base_url=base_url + "/" if base_url else None)
    ctx.set_default_timeout(TIMEOUT * 1000)
    ctx.tracing.start(screenshots=True, snapshots=True, sources=True)
    seen = request.node.aegee_console = []

    def console(msg):
        if msg.type == "error":
            seen.append(hide("console error: %s (%s)" % (msg.text, (msg.location or {}).get("url", ""))))

    ctx.on("page", lambda page: (page.on("console", console),
                                 page.on("pageerror", lambda exc: seen.append(hide("page error: %s" % exc)))))
    yield ctx
    report = getattr(request.node, "aegee_call", None)
    thrown = [line for line in seen if line.startswith("page error:")]
    if request.node.get_closest_marker("page_errors_allowed"):
        thrown = []
    kept = {}
    if report is not None and (report.failed or thrown):
        where = os.path.join(EVIDENCE, folder_of(request.node.nodeid))
        os.makedirs(where, exist_ok=True)
        for number, page in enumerate(ctx.pages, 1):
            name = "screenshot.png" if number == 1 else "screenshot-%d.png" % number
            try:
                page.screenshot(path=os.path.join(where, name), full_page=True, timeout=5000)
                kept.setdefault("screenshots", []).append(os.path.relpath(os.path.join(where, name), EVIDENCE))
            except Exception as exc:  # noqa: BLE001 - evidence is best effort
                seen.append("no screenshot: %s" % str(exc).splitlines()[0])
        try:
            ctx.tracing.stop(path=os.path.join(where, "trace.zip"))
            kept["trace"] = os.path.relpath(os.path.join(where, "trace.zip"), EVIDENCE)
        except Exception as exc:  # noqa: BLE001
            seen.append("no trace: %s" % str(exc).splitlines()[0])
        with open(os.path.join(where, "console.txt"), "w") as handle:
            handle.write("".join(line + "\n" for line in seen) or "(no console errors)\n")
        kept["console_file"] = os.path.relpath(os.path.join(where, "console.txt"), EVIDENCE)
    else:
        try:
            ctx.tracing.stop()
        except Exception:  # noqa: BLE001
            pass
    request.node.aegee_kept = kept
    try:
        ctx.close()
    except Exception:  # noqa: BLE001
        pass
    if report is not None and report.passed and thrown:
        pytest.fail("the page threw an uncaught exception: %s" % thrown[0][len("page error: "):], pytrace=False)


@pytest.fixture
def page(context):
    return context.new_page()


def _alarm(_signum, _frame):
    raise ScenarioTimeout("the scenario ran longer than its timeout (%ss)" % TIMEOUT)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _step(item, excinfo):
    """The failing step: the last line of the scenario's own file in the traceback."""
    path = str(item.path)
    for entry in reversed(excinfo.traceback):
        if str(entry.path) == path:
            try:
                line = str(entry.statement).strip().splitlines()[0]
            except (IndexError, Exception):  # noqa: BLE001
                line = ""
            return hide("%s:%d: %s" % (os.path.basename(path), entry.lineno + 1, line))
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.aegee_call = report
    entry = getattr(item, "aegee_entry", None)
    if entry is None:
        entry = item.aegee_entry = {"id": item.nodeid, "file": os.path.basename(str(item.path)), "name": item.name,
                                    "markers": sorted({m.name for m in item.iter_markers()}), "outcome": "passed",
                                    "seconds": 0.0}
    if report.failed and entry["outcome"] == "passed":
        entry["outcome"] = "failed" if report.when == "call" else "error"
        entry["phase"] = report.when
        if call.excinfo is not None:
            entry["step"] = _step(item, call.excinfo)
            text = call.excinfo.exconly().strip()
            entry["error"] = hide("\n".join(text.splitlines()[:6]))[:1500]
    elif report.skipped and report.when in ("setup", "call"):
        entry["outcome"] = "skipped"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.time()
    yield
    entry = getattr(item, "aegee_entry", None)
    if entry is None:
        return
    entry["seconds"] = round(time.time() - started, 2)
    entry.update(getattr(item, "aegee_kept", {}))
    entry["console"] = list(getattr(item, "aegee_console", []))[:50]
    RESULTS.append(entry)
    write_results()


def pytest_collectreport(report):
    if report.failed:
        RESULTS.append({"id": report.nodeid or "collection", "file": os.path.basename(report.nodeid or ""),
                        "name": "(collection)", "markers": [], "outcome": "error", "phase": "collect",
                        "step": None, "error": hide(str(report.longrepr))[-1500:], "seconds": 0.0, "console": []})
        write_results()


def pytest_sessionfinish(session, exitstatus):
    write_results()
'''
