# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""Browser smoke checks: a page, loaded in a real headless Chromium.

The check runs on the host, inside the release transaction, with a Python
that has Playwright (``browser_python``) and the system's Chromium
(``executable``, Debian's ``/usr/bin/chromium``; a browser is never
downloaded). The script below is written to the release state folder and run
there; it prints one JSON line and exits non-zero when the page fails: an
HTTP error, a JavaScript error on the page, or the expected text missing from
the selected element.
"""

from __future__ import annotations

import json
import os

SCRIPT = r'''
import json
import sys

from playwright.sync_api import sync_playwright

spec = json.loads(sys.argv[1])
result = {"url": spec["url"], "errors": [], "status": None, "text": None}
args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]
ok = False
try:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=spec["executable"], args=args, headless=True)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: result["errors"].append(str(exc)))
            response = page.goto(spec["url"], timeout=spec["timeout_ms"], wait_until="load")
            result["status"] = response.status if response else None
            page.wait_for_selector(spec["selector"], timeout=spec["timeout_ms"])
            result["text"] = page.inner_text(spec["selector"]).strip()
            ok = (result["status"] or 0) < 400 and not result["errors"] and spec["expect"] in result["text"]
        finally:
            browser.close()
except Exception as exc:
    result["errors"].append("%s: %s" % (type(exc).__name__, exc))
print(json.dumps(result))
sys.exit(0 if ok else 1)
'''


def run_check(run, state_dir, python, spec):
    """Run one browser check; None when it passes, else the reason."""
    path = os.path.join(state_dir, "browser_check.py")
    current = None
    if os.path.exists(path):
        with open(path) as handle:
            current = handle.read()
    if current != SCRIPT:
        with open(path, "w") as handle:
            handle.write(SCRIPT)
        os.chmod(path, 0o600)
    rc, out, err = run([python, path, json.dumps(spec)])
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "the browser check did not run (%s): %s" % (python, (err or out).strip()[-500:])
    if rc == 0:
        return None
    problems = list(result.get("errors") or [])
    if result.get("status") and result["status"] >= 400:
        problems.append("HTTP %s" % result["status"])
    if spec["expect"] not in (result.get("text") or ""):
        problems.append("%r not found in %s (it shows %r)" % (spec["expect"], spec["selector"], result.get("text")))
    return "browser check of %s failed: %s" % (spec["url"], "; ".join(problems) or "exit %s" % rc)
