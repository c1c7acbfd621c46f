# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The browser scenarios on the controller (``_scenario_files``): read, compiled and refused before any host is
contacted; the ``scenario_files`` filter; the ``aegee_browser_*`` settings."""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.filter.scenarios import scenario_files
from ansible_collections.aegee.deploy.plugins.plugin_utils import _inputs, _scenario_files

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
TESTBED_SCENARIOS = os.path.join(REPO, "testbed", "deploy-repo", "tests", "browser")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "test_home.py").write_text("def test_home(page):\n    page.goto('/')\n")
    (tmp_path / "conftest.py").write_text("import pytest\n")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "login.py").write_text("LOGIN = '#login'\n")
    (tmp_path / "pages" / "logo.png").write_bytes(b"\x89PNG")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.py").write_text("stale")
    (tmp_path / ".hidden.py").write_text("x")
    return tmp_path


def test_a_folder_is_read_with_its_text_files(folder):
    files, problems = _scenario_files.read(str(folder))
    assert problems == []
    assert sorted(files) == ["conftest.py", "pages/login.py", "test_home.py"]
    assert files["pages/login.py"] == "LOGIN = '#login'\n"


def test_one_file_is_read_with_its_conftest(folder):
    files, problems = _scenario_files.read(str(folder / "test_home.py"))
    assert problems == [] and sorted(files) == ["conftest.py", "test_home.py"]


def test_the_testbeds_scenarios_are_read():
    files, problems = _scenario_files.read(TESTBED_SCENARIOS)
    assert problems == [] and sorted(files) == ["test_home.py", "test_lists.py", "test_member.py"]


def test_a_missing_folder_is_refused(tmp_path):
    missing = str(tmp_path / "tests" / "browsr")
    assert _scenario_files.read(missing) == ({}, [
        "aegee_browser_scenarios: %s does not exist on the controller: name the folder of the browser scenarios "
        "(test_*.py files), or one scenario file" % missing])


def test_a_syntax_error_is_refused_with_its_file_and_line(folder):
    (folder / "test_broken.py").write_text("def test_x(page):\n    page.goto('/'\n")
    _files, problems = _scenario_files.read(str(folder))
    assert len(problems) == 1
    assert problems[0].startswith("aegee_browser_scenarios: %s line 2 does not compile: " % (folder / "test_broken.py"))


def test_a_folder_without_a_scenario_is_refused(tmp_path):
    (tmp_path / "helpers.py").write_text("")
    assert _scenario_files.read(str(tmp_path))[1] == [
        "aegee_browser_scenarios: %s has no scenario: no test_*.py file" % tmp_path]


def test_a_file_that_is_not_utf8_is_refused(folder):
    (folder / "data.txt").write_bytes(b"\xff\xfe")
    problems = _scenario_files.read(str(folder))[1]
    assert len(problems) == 1 and "data.txt cannot be read as UTF-8 text" in problems[0]


@pytest.mark.parametrize("value", ["", "  ", 3, None])
def test_a_path_that_is_no_path(value):
    assert _scenario_files.read(value)[1][0].startswith(
        "aegee_browser_scenarios must be the path of a folder of browser scenarios on the controller")


def test_the_filter_returns_the_files_or_says_what_is_wrong(folder, tmp_path):
    assert sorted(scenario_files(str(folder))) == ["conftest.py", "pages/login.py", "test_home.py"]
    with pytest.raises(AnsibleFilterError, match="does not exist on the controller"):
        scenario_files(str(tmp_path / "nothing"))


GOOD = {"aegee_browser_scenarios": TESTBED_SCENARIOS, "aegee_browser_base_url": "http://127.0.0.2:18088",
        "aegee_browser_python": "/opt/pw/bin/python", "aegee_browser_markers": "readonly",
        "aegee_browser_account": {"username": "tester", "password": "secret"}}


@pytest.mark.parametrize(("change", "problems"), [
    ({}, []),
    ({"aegee_browser_scenarios": None, "aegee_browser_base_url": None}, []),
    ({"aegee_browser_scenarios": ""}, []),
    ({"aegee_browser_base_url": None},
     ["aegee_browser_base_url is not set: the browser scenarios need the URL users reach the services at (the "
      "gateway), as the host reaches it, such as http://127.0.0.1:8088"]),
    ({"aegee_browser_base_url": "127.0.0.2:18088"},
     ["aegee_browser_base_url '127.0.0.2:18088' is not an http:// or https:// URL"]),
    ({"aegee_browser_python": None},
     ["aegee_browser_python is not set: the browser scenarios need a Python with pytest and Playwright on the host, "
      "such as /opt/playwright/bin/python"]),
    ({"aegee_browser_account": {"username": "tester"}},
     ["aegee_browser_account has no password: give it as a text (the password from vault)"]),
    ({"aegee_browser_account": "tester:secret"},
     ["aegee_browser_account must be a mapping with username and password (from vault), got a str"]),
    ({"aegee_browser_markers": ["readonly"], "aegee_browser_timeout": 0, "aegee_browser_retries": 3,
      "aegee_browser_suite_timeout": "long"},
     ["aegee_browser_markers ['readonly'] is not a text",
      "aegee_browser_timeout 0 is not a whole number of seconds from 1 to 3600",
      "aegee_browser_suite_timeout 'long' is not a whole number of seconds from 1 to 86400",
      "aegee_browser_retries 3 is not 0 or 1"]),
])
def test_the_settings_of_the_scenarios(change, problems):
    assert _scenario_files.inventory_problems(dict(GOOD, **change)) == problems


def test_the_inventory_check_refuses_a_scenario_that_does_not_compile(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x(:\n")
    hostvars = {"staging-1": dict(GOOD, aegee_browser_scenarios=str(tmp_path))}
    problems = _inputs.check_inventory(hostvars, ["staging-1"], need=[])
    assert len(problems) == 1 and " line 1 does not compile: " in problems[0] and "(on staging-1)" in problems[0]
