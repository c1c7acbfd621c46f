# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""Browser scenarios on the host: pytest + Playwright files, run as the last check of a release.

The controller reads the scenario folder (``aegee_browser_scenarios``), refuses it when a file is missing or does
not compile, and sends its files with the release (``files``: relative path -> text). Here they are written to
``<state_dir>/scenarios/`` and run by the browser Python (``python -m pytest``, with the collection's plugin
``_scenario_plugin`` and no third-party pytest plugins) against the gateway (``base_url``), with the test
account in the environment. ``markers`` selects the scenarios (``-m``; production runs ``readonly``).

Each scenario may take ``timeout`` seconds (each Playwright action too); the whole suite, retry included, takes at
most ``suite_timeout`` seconds (the process group is killed then). A failing scenario is run once more
(``retries``); a pass that needed it is reported as flaky, and passes. The evidence of every attempt (screenshot,
trace, console errors, the failing step) stays in ``<state_dir>/evidence/<release id>/``, with ``report.json``;
the newest ``KEEP`` runs are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import time

from ansible_collections.aegee.deploy.plugins.module_utils._scenario_plugin import PLUGIN

SUITE_DIR = "scenarios"
PLUGIN_DIR = "scenario-plugin"
EVIDENCE_DIR = "evidence"
KEEP = 20
MAX_BYTES = 1024 * 1024
EXIT = {0: "passed", 1: "failed", 2: "interrupted", 3: "internal error", 4: "usage error", 5: "no scenario"}


def file_problems(files):
    """What is wrong with the suite's ``files`` (relative path -> text): [] when they can be written."""
    if not isinstance(files, dict) or not files:
        return ["has no files: name a folder with test_*.py files (aegee_browser_scenarios)"]
    problems, size = [], 0
    for path, text in sorted(files.items(), key=lambda kv: str(kv[0])):
        parts = str(path).split("/")
        if not isinstance(path, str) or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
            problems.append("file %r is not a relative path inside the scenario folder" % (path,))
        elif not isinstance(text, str):
            problems.append("file %s is not a text" % path)
        else:
            size += len(text.encode("utf-8"))
    if size > MAX_BYTES:
        problems.append("the files are %d bytes, more than %d: keep data out of the scenario folder"
                        % (size, MAX_BYTES))
    if not any(os.path.basename(p).startswith("test_") and p.endswith(".py") for p in files if isinstance(p, str)):
        problems.append("has no scenario: no test_*.py file")
    return problems


def _write(path, text):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def write_suite(state_dir, files):
    """Write the suite (afresh) and the plugin under ``state_dir``; (suite folder, plugin folder)."""
    suite = os.path.join(state_dir, SUITE_DIR)
    shutil.rmtree(suite, ignore_errors=True)
    for path, text in files.items():
        _write(os.path.join(suite, path), text)
    plugin = os.path.join(state_dir, PLUGIN_DIR)
    _write(os.path.join(plugin, "aegee_scenarios.py"), PLUGIN)
    return suite, plugin


def prune(evidence_root, keep=KEEP):
    """Keep the ``keep`` newest evidence folders."""
    try:
        found = sorted((os.path.getmtime(os.path.join(evidence_root, n)), n) for n in os.listdir(evidence_root))
    except OSError:
        return
    for _mtime, name in found[:-keep] if keep else found:
        shutil.rmtree(os.path.join(evidence_root, name), ignore_errors=True)


def hide(text, secret):
    text = "" if text is None else str(text)
    return text.replace(secret, "********") if secret else text


def read_results(folder):
    """The tests one attempt reported (its ``results.json``), or None when it wrote none."""
    try:
        with open(os.path.join(folder, "results.json")) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    tests = data.get("tests") if isinstance(data, dict) else None
    return [t for t in tests if isinstance(t, dict) and t.get("id")] if isinstance(tests, list) else None


def _argv(spec, suite, ids, seconds):
    argv = ["timeout", "-k", "5", "%d" % max(1, int(seconds)), spec["python"], "-m", "pytest", "-q", "-rN",
            "--no-header", "-p", "aegee_scenarios", "-p", "no:cacheprovider", "--rootdir", suite,
            "--confcutdir", suite, "-c", os.path.join(suite, "pytest.ini") if "pytest.ini" in spec["files"]
            else os.devnull]
    if spec.get("markers"):
        argv += ["-m", spec["markers"]]
    return argv + (ids or [suite])


def _environment(spec, plugin, folder):
    account = spec.get("account") or {}
    env = {"PYTHONPATH": plugin, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "AEGEE_SCENARIO_EVIDENCE": folder, "AEGEE_SCENARIO_TIMEOUT": str(spec.get("timeout") or 30),
           "AEGEE_BASE_URL": spec.get("base_url") or "", "AEGEE_BROWSER_EXECUTABLE": spec["executable"]}
    env["AEGEE_TEST_USERNAME"] = str(account.get("username") or "")
    env["AEGEE_TEST_PASSWORD"] = str(account.get("password") or "")
    return env


def _attempt(run, spec, suite, plugin, folder, ids, seconds):
    """One pytest run; (rc, its tests or None, the tail of its output)."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    rc, out, err = run(_argv(spec, suite, ids, seconds), cwd=suite, env=_environment(spec, plugin, folder))
    tail = hide(((out or "") + (err or "")).strip()[-1500:], (spec.get("account") or {}).get("password"))
    tests = read_results(folder)
    for test in tests or []:
        for key in ("screenshots", "trace", "console_file"):
            if test.get(key):
                paths = test[key] if isinstance(test[key], list) else [test[key]]
                rel = [os.path.join(os.path.basename(folder), p) for p in paths]
                test[key] = rel if isinstance(test[key], list) else rel[0]
    return rc, tests, tail


def run_suite(run, state_dir, run_id, spec, clock=time.time):
    """Run the scenarios of ``spec`` (``files``, ``python``, ``executable``, ``markers``, ``base_url``, ``account``,
    ``timeout``, ``suite_timeout``, ``retries``); (report, None when they passed else why not)."""
    start = clock()
    evidence_root = os.path.join(state_dir, EVIDENCE_DIR)
    evidence = os.path.join(evidence_root, run_id)
    suite, plugin = write_suite(state_dir, spec["files"])
    budget = float(spec.get("suite_timeout") or 300)
    report = {"evidence": evidence, "markers": spec.get("markers") or "", "tests": [], "flaky": [], "failed": []}
    rc, tests, tail = _attempt(run, spec, suite, plugin, os.path.join(evidence, "attempt-1"), None, budget)
    attempts = [(rc, tests)]
    failed = [t["id"] for t in tests or [] if t["outcome"] in ("failed", "error") and t.get("phase") != "collect"]
    if tests is not None and failed and rc in (0, 1) and int(spec.get("retries", 1)) > 0:
        left = budget - (clock() - start)
        if left >= 1:
            again = _attempt(run, spec, suite, plugin, os.path.join(evidence, "attempt-2"), failed, left)
            attempts.append(again[:2])
            tail = again[2]
    report["tests"] = merge(attempts)
    report["flaky"] = [t["id"] for t in report["tests"] if t["outcome"] == "flaky"]
    report["failed"] = [t["id"] for t in report["tests"] if t["outcome"] in ("failed", "error")]
    report["ran"] = [t["id"] for t in report["tests"] if t["outcome"] != "skipped"]
    report["seconds"] = round(clock() - start, 2)
    problem = verdict(report, attempts, tail, spec, budget)
    report["result"] = "failed" if problem else ("flaky" if report["flaky"] else "passed")
    try:
        _write(os.path.join(evidence, "report.json"), json.dumps(report, indent=1))
    except OSError:
        pass
    prune(evidence_root)
    return report, problem


def merge(attempts):
    """One entry per scenario: its first attempt, ``flaky`` when it failed there and passed on the retry."""
    merged = {}
    for number, (_rc, tests) in enumerate(attempts, 1):
        for test in tests or []:
            if number == 1:
                merged[test["id"]] = dict(test, attempts=1)
            elif test["id"] in merged:
                first = merged[test["id"]]
                outcome = "flaky" if test["outcome"] == "passed" else test["outcome"]
                merged[test["id"]] = dict(test, outcome=outcome, attempts=2, first_attempt={
                    k: first.get(k) for k in ("step", "error", "console", "screenshots", "trace", "console_file")})
    return list(merged.values())


def verdict(report, attempts, tail, spec, budget):
    """None when the suite passed, else the reason (the first failing scenario's step, error and evidence)."""
    rc, tests = attempts[-1]
    where = "evidence: %s" % report["evidence"]
    if report["failed"]:
        first = next(t for t in report["tests"] if t["id"] in report["failed"])
        console = "; ".join(first.get("console") or [])
        return "browser scenario %s failed%s: %s%s (%d of %d failed; %s)" % (
            first["id"], " at " + first["step"] if first.get("step") else "",
            (first.get("error") or "").splitlines()[0] if first.get("error") else "no error text",
            "; the console said: " + console[:600] if console else "", len(report["failed"]), len(report["tests"]),
            where)
    if rc in (124, 137):
        return "the browser scenarios ran longer than their suite timeout (%ss) and were stopped (%s)" % (
            int(budget), where)
    if rc == 5 or (tests is not None and not report["tests"]):
        return "no browser scenario was selected%s: tag some, or change aegee_browser_markers" % (
            " by -m %r" % spec["markers"] if spec.get("markers") else "")
    if rc != 0 or tests is None:
        return "the browser scenarios did not run (%s, pytest %s): %s" % (
            spec["python"], EXIT.get(rc, "exit %s" % rc), tail or "no output")
    return None
