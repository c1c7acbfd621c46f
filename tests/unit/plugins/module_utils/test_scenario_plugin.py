# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's pytest plugin for browser scenarios, for real: pytest and Playwright in this venv drive
Debian's Chromium against a page served on loopback (no testbed). One suite shows what each kind of scenario
leaves: a pass, a failing assertion (its step, screenshot, trace, console errors), a page that throws while every
assertion passes, a scenario that hangs (cut off by its timeout) and the account that never shows."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _scenarios

CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<h1 id="app">AEGEE</h1><p id="who"></p>
<script>console.error("the API answered 500"); document.getElementById("who").textContent = "nobody";</script>
</body></html>"""
SCENARIOS = {
    "test_page.py": (
        "import pytest\n"
        "from playwright.sync_api import expect\n\n\n"
        "@pytest.mark.readonly\n"
        "def test_passes(page, base_url):\n"
        "    page.goto('/')\n"
        "    expect(page.locator('#app')).to_have_text('AEGEE')\n"
        "    assert base_url.startswith('http://127.0.0.1:')\n\n\n"
        "def test_fails(page, account):\n"
        "    page.goto('/')\n"
        "    assert account['password'] == 'pw-not-shown'\n"
        "    expect(page.locator('#who')).to_have_text('Logged in as ' + account['password'], timeout=500)\n\n\n"
        "def test_page_throws(page):\n"
        "    page.set_content('<script>setTimeout(function () { nope(); }, 0)</script>')\n"
        "    page.wait_for_timeout(200)\n\n\n"
        "def test_hangs(page):\n"
        "    page.goto('/')\n"
        "    page.wait_for_selector('#never', timeout=0)\n"),
}


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text(PAGE)
    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def run(argv, cwd=None, data=None, env=None):
    proc = subprocess.run(argv, cwd=cwd, env=dict(os.environ, **(env or {})), capture_output=True, text=True,
                          timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_the_plugin_in_chromium(site, tmp_path):
    assert os.path.exists(CHROMIUM), "Debian's chromium is not installed (testbed/install.sh installs it); never " \
        "download a browser for this test"
    spec = {"files": SCENARIOS, "python": sys.executable, "executable": CHROMIUM, "markers": "", "base_url": site,
            "account": {"username": "tester", "password": "pw-not-shown"}, "timeout": 3, "suite_timeout": 100,
            "retries": 0}
    report, problem = _scenarios.run_suite(run, str(tmp_path), "r1", spec)
    tests = {t["name"]: t for t in report["tests"]}
    assert {name: t["outcome"] for name, t in tests.items()} == {
        "test_passes": "passed", "test_fails": "failed", "test_page_throws": "error", "test_hangs": "failed"}
    assert tests["test_passes"]["markers"] == ["readonly"]
    fails = tests["test_fails"]
    assert fails["step"] == ("test_page.py:15: expect(page.locator('#who')).to_have_text('Logged in as ' + "
                             "account['password'], timeout=500)")
    assert "console error: the API answered 500" in fails["console"][0]
    evidence = os.path.join(str(tmp_path), "evidence", "r1")
    for key in ("trace", "console_file"):
        assert os.path.getsize(os.path.join(evidence, fails[key])) > 0
    with open(os.path.join(evidence, fails["screenshots"][0]), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert tests["test_page_throws"]["error"] == "Failed: the page threw an uncaught exception: nope is not defined"
    hangs = tests["test_hangs"]
    assert "the scenario ran longer than its timeout (3.0s)" in hangs["error"] and hangs["seconds"] < 10
    assert hangs["screenshots"] and hangs["trace"]
    assert problem.startswith("browser scenario test_page.py::test_fails failed at test_page.py:15: ")
    assert "(3 of 4 failed; evidence: %s)" % evidence in problem
    # the password reached the scenario (it asserted it) but no report, message or file name holds it
    with open(os.path.join(evidence, "report.json")) as handle:
        written = handle.read()
    assert "pw-not-shown" not in written + problem and "********" in written
    assert json.loads(written)["result"] == "failed"
