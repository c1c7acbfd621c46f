# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The browser scenarios on the host (``_scenarios``): the files, the pytest command, the retry, the verdict and
the evidence, with a fake ``run`` that plays pytest (it writes the plugin's ``results.json``); and the
``scenarios`` check kind in the release gate."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _policy, _scenarios

PASSED = {"outcome": "passed", "markers": ["readonly"], "seconds": 0.5, "console": []}
FAILED = {"outcome": "failed", "phase": "call", "markers": [], "seconds": 5.1, "step": "test_a.py:7: page.click('#go')",
          "error": "AssertionError: Locator expected to have text 'x'\nActual value: y",
          "console": ["console error: 500"],
          "screenshots": ["test_a.py_test_one/screenshot.png"], "trace": "test_a.py_test_one/trace.zip"}
FILES = {"test_a.py": "def test_one(page):\n    pass\n", "conftest.py": "", "data/users.json": "{}"}


class Pytest:
    """A fake ``run``: each call plays one pytest attempt from ``attempts`` (rc, {test id: entry} or None)."""

    def __init__(self, *attempts):
        self.attempts = list(attempts)
        self.calls = []

    def __call__(self, argv, cwd=None, data=None, env=None):
        self.calls.append({"argv": argv, "cwd": cwd, "env": env})
        rc, tests = self.attempts.pop(0)
        if tests is not None:
            folder = env["AEGEE_SCENARIO_EVIDENCE"]
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "results.json"), "w") as handle:
                json.dump({"tests": [dict(entry, id=test) for test, entry in tests.items()]}, handle)
        return rc, "output with the password s3cret in it" if rc else "", ""


def spec(**kw):
    base = {"files": FILES, "python": "/opt/pw/bin/python", "executable": "/usr/bin/chromium", "markers": "",
            "base_url": "http://127.0.0.1:8088", "account": {"username": "tester", "password": "s3cret"},
            "timeout": 20, "suite_timeout": 100, "retries": 1}
    return dict(base, **kw)


# ------------------------------------------------------------------ files


@pytest.mark.parametrize(("files", "problems"), [
    (FILES, []),
    ({}, ["has no files: name a folder with test_*.py files (aegee_browser_scenarios)"]),
    ({"helpers.py": ""}, ["has no scenario: no test_*.py file"]),
    ({"../test_x.py": ""}, ["file '../test_x.py' is not a relative path inside the scenario folder"]),
    ({"/etc/test_x.py": ""}, ["file '/etc/test_x.py' is not a relative path inside the scenario folder"]),
    ({"test_x.py": 3}, ["file test_x.py is not a text"]),
    ({"test_x.py": "x" * (_scenarios.MAX_BYTES + 1)},
     ["the files are %d bytes, more than %d: keep data out of the scenario folder"
      % (_scenarios.MAX_BYTES + 1, _scenarios.MAX_BYTES)]),
])
def test_file_problems(files, problems):
    assert _scenarios.file_problems(files) == problems


def test_the_suite_is_written_afresh_with_the_plugin(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "test_old.py").write_text("stale")
    suite, plugin = _scenarios.write_suite(str(tmp_path), FILES)
    found = sorted(os.path.relpath(os.path.join(d, f), suite) for d, _s, fs in os.walk(suite) for f in fs)
    assert found == ["conftest.py", "data/users.json", "test_a.py"]
    assert (tmp_path / "scenario-plugin" / "aegee_scenarios.py").read_text() == _scenarios.PLUGIN
    assert plugin == str(tmp_path / "scenario-plugin")


# ------------------------------------------------------------------ the run


def test_a_passing_suite(tmp_path):
    run = Pytest((0, {"test_a.py::test_one": PASSED, "test_b.py::test_two": PASSED}))
    report, problem = _scenarios.run_suite(run, str(tmp_path), "r1", spec(markers="readonly"))
    assert problem is None
    assert report["result"] == "passed" and report["ran"] == ["test_a.py::test_one", "test_b.py::test_two"]
    assert report["evidence"] == str(tmp_path / "evidence" / "r1")
    argv, env = run.calls[0]["argv"], run.calls[0]["env"]
    assert argv[:4] == ["timeout", "-k", "5", "100"] and argv[4:7] == ["/opt/pw/bin/python", "-m", "pytest"]
    assert argv[argv.index("-m", 7) + 1] == "readonly" and argv[-1] == str(tmp_path / "scenarios")
    assert ["-p", "aegee_scenarios"] == argv[argv.index("aegee_scenarios") - 1:argv.index("aegee_scenarios") + 1]
    assert env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1" and env["PYTHONPATH"] == str(tmp_path / "scenario-plugin")
    assert env["AEGEE_BASE_URL"] == "http://127.0.0.1:8088" and env["AEGEE_SCENARIO_TIMEOUT"] == "20"
    assert env["AEGEE_TEST_USERNAME"] == "tester" and env["AEGEE_TEST_PASSWORD"] == "s3cret"
    assert env["AEGEE_SCENARIO_EVIDENCE"] == str(tmp_path / "evidence" / "r1" / "attempt-1")
    with open(str(tmp_path / "evidence" / "r1" / "report.json")) as handle:
        assert json.load(handle)["result"] == "passed"


def test_a_failure_is_retried_once_and_fails_with_its_step_console_and_evidence(tmp_path):
    run = Pytest((1, {"test_a.py::test_one": FAILED, "test_b.py::test_two": PASSED}),
                 (1, {"test_a.py::test_one": FAILED}))
    report, problem = _scenarios.run_suite(run, str(tmp_path), "r2", spec())
    assert run.calls[1]["argv"][-1] == "test_a.py::test_one"  # only the failed one runs again
    assert run.calls[1]["env"]["AEGEE_SCENARIO_EVIDENCE"].endswith("/r2/attempt-2")
    assert problem == (
        "browser scenario test_a.py::test_one failed at test_a.py:7: page.click('#go'): AssertionError: Locator "
        "expected to have text 'x'; the console said: console error: 500 (1 of 2 failed; evidence: %s)"
        % (tmp_path / "evidence" / "r2"))
    assert report["result"] == "failed" and report["failed"] == ["test_a.py::test_one"]
    one = report["tests"][0]
    assert one["attempts"] == 2 and one["screenshots"] == ["attempt-2/test_a.py_test_one/screenshot.png"]
    assert one["first_attempt"]["trace"] == "attempt-1/test_a.py_test_one/trace.zip"


def test_a_pass_on_the_retry_is_flaky_and_passes(tmp_path):
    run = Pytest((1, {"test_a.py::test_one": FAILED}), (0, {"test_a.py::test_one": PASSED}))
    report, problem = _scenarios.run_suite(run, str(tmp_path), "r3", spec())
    assert problem is None and report["result"] == "flaky" and report["flaky"] == ["test_a.py::test_one"]
    assert report["tests"][0]["first_attempt"]["step"] == "test_a.py:7: page.click('#go')"


def test_no_retry_when_told(tmp_path):
    run = Pytest((1, {"test_a.py::test_one": FAILED}))
    _report, problem = _scenarios.run_suite(run, str(tmp_path), "r4", spec(retries=0))
    assert len(run.calls) == 1 and problem.startswith("browser scenario test_a.py::test_one failed")


def test_the_retry_gets_what_is_left_of_the_suite_timeout(tmp_path):
    times = iter([100.0, 160.0, 170.0, 171.0])
    run = Pytest((1, {"test_a.py::test_one": FAILED}), (0, {"test_a.py::test_one": PASSED}))
    _scenarios.run_suite(run, str(tmp_path), "r5", spec(), clock=lambda: next(times))
    assert run.calls[1]["argv"][3] == "40"


@pytest.mark.parametrize(("rc", "tests", "problem"), [
    (124, {"test_a.py::test_one": PASSED},
     "the browser scenarios ran longer than their suite timeout (100s) and were stopped (evidence: {evidence})"),
    (5, {}, "no browser scenario was selected by -m 'readonly': tag some, or change aegee_browser_markers"),
    (1, None, "the browser scenarios did not run (/opt/pw/bin/python, pytest failed): output with the password "
              "******** in it"),
    (4, None, "the browser scenarios did not run (/opt/pw/bin/python, pytest usage error): output with the password "
              "******** in it"),
])
def test_a_suite_that_does_not_finish(tmp_path, rc, tests, problem):
    report, found = _scenarios.run_suite(Pytest((rc, tests)), str(tmp_path), "r6", spec(markers="readonly"))
    assert found == problem.format(evidence=tmp_path / "evidence" / "r6")
    assert report["result"] == "failed"


def test_old_evidence_is_pruned(tmp_path):
    root = tmp_path / "evidence"
    for number in range(5):
        (root / ("run%d" % number)).mkdir(parents=True)
        os.utime(str(root / ("run%d" % number)), (1000 + number, 1000 + number))
    _scenarios.prune(str(root), keep=2)
    assert sorted(os.listdir(str(root))) == ["run3", "run4"]


# ------------------------------------------------------------------ the check kind and the history


def test_the_release_runs_the_scenarios_last_and_reports_them(tmp_path):
    params = {"smoke_urls": {"core": "http://h/healthcheck"}, "targets": {"core": {"version": "1.5.0"}},
              "scenarios": FILES, "scenario_markers": "readonly", "scenario_base_url": "http://h:8088",
              "scenario_account": {"username": "u", "password": "p"}, "run_id": "r7", "browser_python": "/opt/py"}
    kinds = [c["kind"] for c in _checks.release_checks(params, ["core"])]
    assert kinds == ["healthcheck", "scenarios"]
    run = Pytest((1, {"test_a.py::test_one": FAILED}), (1, {"test_a.py::test_one": FAILED}))
    result = {"services": {"core": {}}}
    body = json.dumps({"success": True, "data": {"version": "1.5.0"}})
    failure = _checks.run_release(params, ["core"], result, lambda url, timeout: (200, body), run, str(tmp_path))
    assert failure.startswith("browser scenario test_a.py::test_one failed at test_a.py:7")
    assert run.calls[0]["argv"][4] == "/opt/py"
    assert result["scenarios"]["result"] == "failed" and result["scenarios"]["evidence"].endswith("/evidence/r7")
    entry = _policy.history_entry(params, {}, "failed-restored", run_id="r7", started=None, now="t", recreated=[],
                                  scenarios=result["scenarios"])
    assert entry["scenarios"] == {"result": "failed", "markers": "readonly",
                                  "evidence": str(tmp_path / "evidence" / "r7"), "ran": ["test_a.py::test_one"],
                                  "failed": ["test_a.py::test_one"], "flaky": [],
                                  "seconds": result["scenarios"]["seconds"]}


@pytest.mark.parametrize(("check", "problems"), [
    ({"files": FILES}, []),
    ({"files": FILES, "timeout": "4", "suite_timeout": "60", "retries": "0"}, []),  # -e gives texts
    ({"files": FILES, "timeout": True, "retries": "yes"},
     ["timeout True is not a whole number of seconds from 1 to 3600", "retries 'yes' is not 0 or 1"]),
    ({"files": FILES, "markers": "readonly and not slow", "timeout": 5, "suite_timeout": 60, "retries": 0,
      "base_url": "https://example.org", "account": {"username": "u", "password": "p"}}, []),
    ({"files": {}}, ["scenarios has no files: name a folder with test_*.py files (aegee_browser_scenarios)"]),
    ({"files": FILES, "markers": 3, "timeout": 0, "suite_timeout": "x", "retries": 2, "base_url": "ftp://x",
      "account": "u:p"},
     ["markers 3 is not a text", "timeout 0 is not a whole number of seconds from 1 to 3600",
      "suite_timeout 'x' is not a whole number of seconds from 1 to 86400",
      "base_url: url 'ftp://x' is not an http:// or https:// URL", "retries 2 is not 0 or 1",
      "account is a str, not a mapping with username and password"]),
])
def test_the_scenarios_kind_validates(check, problems):
    assert _checks.KINDS["scenarios"].validate(check) == problems


def test_a_malformed_scenarios_check_fails_without_running(tmp_path):
    params = {"scenarios": {"helpers.py": ""}, "run_id": "r8"}
    result = {"services": {}}
    run = Pytest()
    failure = _checks.run_release(params, [], result, None, run, str(tmp_path))
    assert failure == "scenarios has no scenario: no test_*.py file" and run.calls == []
    assert result["scenarios"]["result"] == "failed"
