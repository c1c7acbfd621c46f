# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The browser scenarios and the browser they run in, for the modules that run them on the host.

Documents ``scenario_spec()`` in ``plugins/module_utils/_args.py``; a change to an option changes both.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  scenarios:
    description:
      - The browser scenarios, relative file path to text; the C(aegee.deploy.scenario_files) filter reads them from
        a folder on the controller (pytest files using Playwright, C(test_*.py), with their C(conftest.py) and
        helpers). Empty runs none.
      - They run on the host with O(browser_python) (it needs C(pytest) and C(playwright)) and O(browser_executable),
        with the collection's pytest plugin, which gives them the fixtures C(page), C(context), C(browser),
        C(base_url) and C(account). A failing scenario is run once more (O(scenario_retries)); a pass on the retry
        is reported as flaky.
      - The evidence (the failing step, a screenshot, the browser console's errors and a Playwright trace) is kept
        in C(<state_dir>/evidence/<run id>/), the newest 20 runs.
    type: dict
    default: {}
  scenario_markers:
    description: Which scenarios run, a pytest C(-m) expression such as V(readonly); empty runs them all.
    type: str
    default: ""
  scenario_base_url:
    description: Where the scenarios reach the services from the host (the gateway), their C(base_url).
    type: str
  scenario_account:
    description:
      - The test account the scenarios log in with (C(username), C(password)); passed in the environment of the
        scenarios only, never shown.
    type: dict
  scenario_timeout:
    description: Seconds one scenario may take (each Playwright action too); a scenario that takes longer fails.
    type: int
    default: 30
  scenario_suite_timeout:
    description: Seconds the whole suite may take, its retry included; then it is stopped and fails.
    type: int
    default: 300
  scenario_retries:
    description: How often a failing scenario is run again (V(0) or V(1)).
    type: int
    default: 1
    choices: [0, 1]
  browser_python:
    description:
      - A Python on the host that has Playwright (C(pip install playwright); no browser download needed), and
        C(pytest) for the scenarios.
    type: str
    default: python3
  browser_executable:
    description: The Chromium the browser checks and scenarios launch (Debian's C(chromium) package).
    type: path
    default: /usr/bin/chromium
"""
