#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: browser_scenarios
short_description: Run the browser scenarios on a host, on demand, and record the result in its release state
version_added: 0.1.0
description:
  - Runs the browser scenarios (pytest files using Playwright) on the host against what runs there now, the way
    M(aegee.deploy.compose_release) runs them as the last gate of a release, but changes no container and takes no
    lock. The C(aegee.deploy.smoke) role runs it when the inventory names C(aegee_browser_scenarios).
  - The scenarios are written to C(<state_dir>/scenarios/) and run by O(browser_python) (it needs C(pytest) and
    C(playwright)) in O(browser_executable) with the collection's pytest plugin, which gives them the fixtures
    C(page), C(context), C(browser), C(base_url) and C(account). A failing scenario is run once more
    (O(scenario_retries)); a pass on the retry is reported as flaky.
  - The evidence (the failing step, a screenshot, the browser console's errors and a Playwright trace) is kept in
    C(<state_dir>/evidence/<run id>/); the result is appended to C(<state_dir>/scenarios.jsonl) (who, when, what
    ran, the verdict, the evidence folder).
  - Fails when a scenario fails (twice), or the suite does not finish within O(scenario_suite_timeout); needs
    O(scenarios) and O(scenario_base_url).
author:
  - aegee.deploy contributors (@aegee)
requirements:
  - A Python on the target with C(pytest) and C(playwright) (no browser download), and Chromium (Debian's C(chromium))
extends_documentation_fragment:
  - aegee.deploy.deploy_root
  - aegee.deploy.scenarios
  - aegee.deploy.attributes
attributes:
  check_mode:
    support: partial
    details:
      - Scenarios act on the running services (some log in or write); in check mode nothing runs and the module
        says so.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Every run runs the scenarios and records one more result.
options:
  actor:
    description: Who runs them, recorded with the result.
    type: str
  environment:
    description: Environment name of the host, recorded with the result.
    type: str
seealso:
  - module: aegee.deploy.compose_release
  - module: aegee.deploy.release_info
"""

EXAMPLES = r"""
- name: Run the read-only scenarios against production-1
  aegee.deploy.browser_scenarios:
    root: /srv/myaegee
    scenarios: "{{ (playbook_dir ~ '/../tests/browser') | aegee.deploy.scenario_files }}"
    scenario_markers: readonly
    scenario_base_url: http://127.0.0.1:8088
    scenario_account: "{{ vault_browser_account }}"
    browser_python: /opt/playwright/bin/python
"""

RETURN = r"""
scenarios:
  description:
    - How the scenarios went; C(result) is V(passed), V(flaky) (a scenario passed on its retry) or V(failed), C(ran)
      the scenarios that ran, C(evidence) the folder on the host with C(report.json) and, per failing attempt, the
      screenshot, trace and console errors; C(tests) has one entry per scenario (C(id), C(outcome), C(markers),
      C(seconds), and when it failed C(step), C(error), C(console), C(screenshots), C(trace)).
  returned: when the scenarios ran
  type: dict
  sample:
    result: passed
    markers: readonly
    evidence: /srv/myaegee/.aegee/evidence/smoke-20260101T120000-3f2a9c
    ran: ["test_home.py::test_the_page_shows_core_and_events_answering"]
    failed: []
    flaky: []
    seconds: 3.2
record:
  description: The line appended to C(<state_dir>/scenarios.jsonl).
  returned: when the scenarios ran
  type: dict
"""

import json
import os
import time
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _policy, _scenarios
from ansible_collections.aegee.deploy.plugins.module_utils._args import (
    deploy_root_problem,
    deploy_root_spec,
    scenario_spec,
)
from ansible_collections.aegee.deploy.plugins.module_utils._command import runner
from ansible_collections.aegee.deploy.plugins.module_utils._state import now_iso

RECORD = "scenarios.jsonl"


def main():
    argument_spec = deploy_root_spec()
    argument_spec.update(scenario_spec())
    argument_spec.update(actor=dict(type="str"), environment=dict(type="str"))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    problem = deploy_root_problem(p)
    check = _checks.scenario_check(p)
    problems = ([problem] if problem else []) + _checks.KINDS["scenarios"].validate(check)
    if not p["scenario_base_url"]:
        problems.append("scenario_base_url is required: where the scenarios reach the services (the gateway)")
    if problems:
        module.fail_json(msg="; ".join(problems))
    if module.check_mode:
        module.exit_json(changed=False, msg="check mode: the browser scenarios were not run")
    state_dir = os.path.join(p["root"].rstrip("/") or "/", p["state_dir"] or ".aegee")
    if not os.path.isdir(state_dir):
        module.fail_json(msg="%s does not exist: deploy to this host first (the scenarios run against a release)"
                         % state_dir)

    run = runner(module)
    run_id = "smoke-%s-%s" % (time.strftime("%Y%m%dT%H%M%S", time.gmtime()), uuid.uuid4().hex[:6])
    spec = dict(check, python=p["browser_python"], executable=p["browser_executable"])
    report, failure = _scenarios.run_suite(run, state_dir, run_id, spec)
    record = dict(_policy.scenario_summary(report), id=run_id, time=now_iso(), actor=p["actor"] or "unknown",
                  environment=p["environment"] or "", **({"failure": failure} if failure else {}))
    try:
        with open(os.path.join(state_dir, RECORD), "a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    except OSError as exc:
        module.warn("the result could not be recorded in %s: %s" % (os.path.join(state_dir, RECORD), exc))
    if failure:
        module.fail_json(msg=failure, scenarios=report, record=record)
    module.exit_json(changed=False, scenarios=report, record=record)


if __name__ == "__main__":
    main()
