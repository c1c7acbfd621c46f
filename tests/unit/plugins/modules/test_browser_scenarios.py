# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drive browser_scenarios' main(): the scenarios on demand, recorded in the release state (pytest is faked at
``run_command``: it writes what the collection's plugin would)."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils import basic

from ansible_collections.aegee.deploy.plugins.modules import browser_scenarios
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import run_main

FILES = {"test_home.py": "def test_home(page):\n    pass\n"}


@pytest.fixture
def root(tmp_path):
    (tmp_path / ".aegee").mkdir()
    return tmp_path


def pytest_says(monkeypatch, outcome):
    calls = []

    def run_command(self, argv, cwd=None, data=None, environ_update=None, **kw):
        calls.append((argv, environ_update))
        folder = environ_update["AEGEE_SCENARIO_EVIDENCE"]
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "results.json"), "w") as handle:
            json.dump({"tests": [{"id": "test_home.py::test_home", "outcome": outcome, "markers": ["readonly"]}]},
                      handle)
        return (0 if outcome == "passed" else 1), "", ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return calls


def args(root, **kw):
    return dict({"root": str(root), "scenarios": FILES, "scenario_base_url": "http://127.0.0.2:18088",
                 "scenario_markers": "readonly", "scenario_account": {"username": "u", "password": "pw-secret"},
                 "actor": "ci", "environment": "production"}, **kw)


def records(root):
    with open(str(root / ".aegee" / "scenarios.jsonl")) as handle:
        return [json.loads(line) for line in handle]


def test_a_passing_run_is_recorded(root, monkeypatch):
    calls = pytest_says(monkeypatch, "passed")
    result = run_main(browser_scenarios.main, args(root))
    assert result["changed"] is False and result["scenarios"]["result"] == "passed"
    assert result["scenarios"]["ran"] == ["test_home.py::test_home"]
    argv, env = calls[0]
    assert argv[argv.index("-m", 7) + 1] == "readonly" and env["AEGEE_TEST_PASSWORD"] == "pw-secret"
    (record,) = records(root)
    assert record["result"] == "passed" and record["actor"] == "ci" and record["environment"] == "production"
    assert record["evidence"] == result["scenarios"]["evidence"] and record["id"].startswith("smoke-")
    assert "pw-secret" not in json.dumps(record)


def test_a_failing_run_fails_and_is_recorded(root, monkeypatch):
    pytest_says(monkeypatch, "failed")
    failed = run_main(browser_scenarios.main, args(root), expect="fail")
    assert failed["msg"].startswith("browser scenario test_home.py::test_home failed")
    assert records(root)[-1]["result"] == "failed" and records(root)[-1]["failure"] == failed["msg"]


def test_check_mode_runs_nothing(root, monkeypatch):
    calls = pytest_says(monkeypatch, "passed")
    result = run_main(browser_scenarios.main, args(root, _ansible_check_mode=True))
    assert result["msg"] == "check mode: the browser scenarios were not run" and calls == []


@pytest.mark.parametrize(("change", "message"), [
    ({"scenario_base_url": None},
     "scenario_base_url is required: where the scenarios reach the services (the gateway)"),
    ({"scenarios": {}}, "scenarios has no files: name a folder with test_*.py files (aegee_browser_scenarios)"),
    ({"scenario_timeout": 0}, "timeout 0 is not a whole number of seconds from 1 to 3600"),
])
def test_bad_arguments_are_refused(root, monkeypatch, change, message):
    calls = pytest_says(monkeypatch, "passed")
    assert run_main(browser_scenarios.main, args(root, **change), expect="fail")["msg"] == message
    assert calls == []


def test_a_host_never_deployed_is_refused(tmp_path, monkeypatch):
    pytest_says(monkeypatch, "passed")
    failed = run_main(browser_scenarios.main, args(tmp_path), expect="fail")
    assert failed["msg"] == "%s does not exist: deploy to this host first (the scenarios run against a release)" % (
        tmp_path / ".aegee")
