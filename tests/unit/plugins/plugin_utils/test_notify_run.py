# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a run tells the outside: the hooks' data and environment, the events, the message, the target checks."""

from __future__ import annotations

import json

import pytest

from ansible_collections.aegee.deploy.plugins.filter import report
from ansible_collections.aegee.deploy.plugins.plugin_utils import _notify, _summary


def rec(host="p-1", action="deploy", result="success", holds=(), check=False, to="1.5.0"):
    raw = {"changed": True, "warnings": list(holds),
           "services": {"core": {"from": "1.4.2", "to": to, "digest": "sha256:" + "d" * 64, "changed": True}},
           "release": {"result": result}}
    if result not in _summary.GOOD and not check:
        raw.update(failed=True, result=result, msg="deploy failed: x")
    return _summary.record(raw, host, action=action, environment="production", actor="bob", check=check)


@pytest.mark.parametrize(("records", "expected"), [
    ([rec()], ["success"]),
    ([rec(result="unchanged")], ["success"]),
    ([rec(), rec("p-2", result="failed-restored")], ["failure"]),
    ([rec(action="rollback")], ["rollback"]),
    ([rec(action="rollback", result="failed-restore-failed")], ["failure"]),
    ([rec(holds=["core 1.5.0 released the hold on bad version 1.4.9"])], ["success", "hold_released"]),
    ([rec(check=True)], []),
    ([], []),
])
def test_events(records, expected):
    assert _notify.events(records) == expected


def test_the_message_names_environment_hosts_changes_actor_result_and_status_page():
    text, payload = _notify.message([rec(), rec("p-2", result="failed-restored", to="1.6.0")], "https://s/")
    assert text.splitlines() == [
        "deploy production of p-1, p-2 FAILED (by bob)",
        "p-1: core 1.4.2 -> 1.5.0",
        "p-2: core 1.4.2 -> 1.6.0 [failed-restored: deploy failed: x]",
        "status: https://s/"]
    assert payload["events"] == ["failure"] and payload["result"] == "failed" and payload["hosts"] == ["p-1", "p-2"]
    assert payload["services"][1] == {"host": "p-2", "service": "core", "from": "1.4.2", "to": "1.6.0",
                                      "digest": "sha256:dddddddddddd", "result": "FAILED, restored"}
    assert json.loads(json.dumps(payload)) == payload


def test_a_pre_hook_gets_the_plan_and_its_environment_variables():
    data = report.run_data([], hook="pre", action="deploy", environment="production", hosts=["p-1", "p-2"],
                           services={"core": {"version": "1.5.0", "digest": "sha256:1"},
                                     "events": {"version": "1.2.0"}}, actor="bob")
    assert data["result"] == "pending" and data["services"] == {"core": "1.5.0", "events": "1.2.0"}
    env = report.hook_env(data)
    assert env == {"AEGEE_HOOK": "pre", "AEGEE_ACTION": "deploy", "AEGEE_ENVIRONMENT": "production",
                   "AEGEE_HOSTS": "p-1,p-2", "AEGEE_SERVICES": "core,events",
                   "AEGEE_VERSIONS": "core=1.5.0,events=1.2.0", "AEGEE_ACTOR": "bob", "AEGEE_RESULT": "pending",
                   "AEGEE_STATUS_URL": "", "AEGEE_SUMMARY": "[]"}


def test_a_post_hook_gets_the_result_and_the_records():
    data = report.run_data([rec(), rec("p-2")], hook="post")
    env = report.hook_env(data)
    assert (env["AEGEE_RESULT"], env["AEGEE_HOSTS"], env["AEGEE_VERSIONS"]) == ("success", "p-1,p-2", "core=1.5.0")
    assert [r["host"] for r in json.loads(env["AEGEE_SUMMARY"])] == ["p-1", "p-2"]


@pytest.mark.parametrize(("targets", "problem"), [
    ({"type": "slack"}, "aegee_notify must be a list"),
    (["x"], "aegee_notify[0] must be a mapping"),
    ([{"type": "pager"}], "aegee_notify[0]: type must be one of"),
    ([{"type": "slack"}], "aegee_notify[0]: token is required for type slack"),
    ([{"type": "matrix", "url": "u", "token": "t"}], "aegee_notify[0]: room is required for type matrix"),
    ([{"type": "webhook", "url": "u", "events": ["deployed"]}], "aegee_notify[0]: events must be a list of"),
])
def test_target_problems_never_show_a_url_or_token(targets, problem):
    found = _notify.target_problems(targets)
    assert any(p.startswith(problem) for p in found), found
    assert not any("u" == p or "://" in p for p in found)


def test_good_targets_have_no_problem_and_default_events():
    targets = [{"type": "webhook", "url": "https://x"}, {"type": "slack", "token": "T/B/x", "events": ["failure"]}]
    assert _notify.target_problems(targets) == []
    assert _notify.wanted(targets[0], ["rollback"]) and not _notify.wanted(targets[0], ["hold_released"])
    assert not _notify.wanted(targets[1], ["success"])
