# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The notify action, run by ansible-playbook (the real community.general and builtin modules) against real
webhook receivers on 127.0.0.1: each event's payload, a receiver that fails or is gone, no secret at -vvv."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.aegee.deploy.plugins.action import notify
from ansible_collections.aegee.deploy.plugins.module_utils import _policy
from ansible_collections.aegee.deploy.plugins.plugin_utils import _summary
from ansible_collections.aegee.deploy.tests.support.receiver import Receiver, dead_address

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SECRETS = {"hook": "s3cr3t-hook-path-81f2", "bearer": "s3cr3t-bearer-44a1", "mm": "s3cr3tmattermostkey9c",
           "mx": "s3cr3t-matrix-token-77", "slack": "T000/B000/s3cr3tslack"}
DIGEST = "sha256:" + "c" * 64


def release(action="deploy", result="success", to="1.5.0", warnings=()):
    raw = {"changed": True, "warnings": list(warnings),
           "services": {"core": {"from": "1.4.2", "to": to, "digest": DIGEST, "changed": True,
                                 "switch": {"mode": "start-first", "healthy_after": 1.0}, "smoke": "ok"},
                        "events": {"from": "1.2.0", "to": "1.2.0", "digest": DIGEST, "changed": False}},
           "release": {"id": "r1", "result": result}}
    if result != "success":
        raw.update(failed=True, result=result, msg="deploy of core 1.4.2 -> %s failed: boom" % to)
    return [_summary.record(raw, host, action=action, environment="production", actor="alice", root="/srv")
            for host in ("production-1", "production-2")]


HOLD = _policy.release_holds({"1.4.9": {}}, "core", "1.5.0")
CASES = {  # event -> the records of a run that has it
    "success": release(),
    "failure": release(result="failed-restored", to="1.6.0"),
    "rollback": release(action="rollback", to="1.4.1"),
    "hold_released": release(warnings=HOLD),
}


def run_play(tmp_path, records, targets, verbosity="-v"):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"records": records, "targets": targets}))
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "Notify", "aegee.deploy.notify": {"targets": "{{ targets }}", "records": "{{ records }}",
                                                  "status_url": "https://status.example.org/", "timeout": 3},
        "no_log": True, "register": "out"}, {"ansible.builtin.debug": {"var": "out.sent"}}]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO_ROOT, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"),
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % vars_file, str(play), verbosity]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180, check=False)
    return proc


@pytest.fixture
def receivers():
    with Receiver() as ok, Receiver(status=500) as failing:
        yield ok, failing


def targets_for(ok, failing, events=None):
    every = {"events": events} if events else {}
    return [
        dict({"type": "webhook", "name": "ci", "url": "%s/hook/%s" % (ok.url, SECRETS["hook"]),
              "token": SECRETS["bearer"]}, **every),
        dict({"type": "mattermost", "url": ok.url, "token": SECRETS["mm"]}, **every),
        dict({"type": "matrix", "url": ok.url, "token": SECRETS["mx"], "room": "!ops:example.org"}, **every),
        dict({"type": "webhook", "name": "failing", "url": "%s/hook/%s" % (failing.url, SECRETS["hook"])}, **every),
        dict({"type": "webhook", "name": "gone", "url": dead_address() + "/hook/" + SECRETS["hook"]}, **every),
    ]


@pytest.mark.parametrize("event", sorted(CASES))
def test_each_event_reaches_every_target_and_a_failing_one_only_warns(tmp_path, receivers, event):
    ok, failing = receivers
    targets = targets_for(ok, failing, events=[event])
    proc = run_play(tmp_path, CASES[event], targets)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "could not notify webhook target failing (HTTP 500): the release is not affected" in out, out[-3000:]
    assert "could not notify webhook target gone (unreachable): the release is not affected" in out
    assert "webhook target ci" in out and "mattermost target #1" in out and "matrix target #2" in out  # sent
    (hook,) = [r for r in ok.requests if r["path"] == "/hook/" + SECRETS["hook"]]
    assert hook["headers"]["Authorization"] == "Bearer " + SECRETS["bearer"]
    body = hook["body"]
    assert event in body["events"]
    assert (body["environment"], body["hosts"], body["actor"], body["status_url"]) == (
        "production", ["production-1", "production-2"], "alice", "https://status.example.org/")
    core = [s for s in body["services"] if s["service"] == "core"]
    assert [(s["host"], s["from"], s["to"]) for s in core] == [
        ("production-1", "1.4.2", CASES[event][0]["services"][0]["to"]),
        ("production-2", "1.4.2", CASES[event][0]["services"][0]["to"])]
    assert body["result"] == ("failed" if event == "failure" else "success")
    assert "production-1: core 1.4.2 -> " in body["text"] and "status: https://status.example.org/" in body["text"]
    (mm,) = [r for r in ok.requests if r["path"] == "/hooks/" + SECRETS["mm"]]
    assert mm["body"]["text"] == body["text"]
    (mx,) = [r for r in ok.requests if r["path"].startswith("/_matrix/client/v3/rooms/%21ops%3Aexample.org/send/")]
    assert mx["method"] == "PUT" and mx["headers"]["Authorization"] == "Bearer " + SECRETS["mx"]
    assert mx["body"] == {"msgtype": "m.text", "body": body["text"]}
    assert len(failing.requests) == 1


def test_a_target_hears_only_its_events(tmp_path, receivers):
    ok, failing = receivers
    proc = run_play(tmp_path, CASES["success"], targets_for(ok, failing, events=["failure", "rollback"]))
    assert proc.returncode == 0 and ok.requests == [] and failing.requests == []


def test_no_url_or_token_appears_at_vvv(tmp_path, receivers):
    ok, failing = receivers
    targets = targets_for(ok, failing) + [{"type": "slack", "token": SECRETS["slack"], "events": ["rollback"]}]
    proc = run_play(tmp_path, CASES["failure"], targets, verbosity="-vvv")
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = proc.stdout + proc.stderr
    assert "could not notify webhook target failing" in out and len(ok.requests) == 3  # it did run
    leaked = [name for name, secret in SECRETS.items() if secret in out]
    assert leaked == [], leaked


def test_a_wrong_target_list_warns_and_sends_nothing(tmp_path, receivers):
    ok, _failing = receivers
    proc = run_play(tmp_path, CASES["success"], [{"type": "pager", "url": ok.url}])
    assert proc.returncode == 0
    assert "notifications not sent: aegee_notify[0]: type must be one of slack, mattermost, matrix, webhook" in \
        proc.stdout + proc.stderr
    assert ok.requests == []


def test_slack_goes_through_the_community_module_with_the_token():
    name, args = notify.module_call({"type": "slack", "token": "T/B/x", "channel": "#ops"}, "text", {}, 5)
    assert (name, args) == ("community.general.slack", {"token": "T/B/x", "msg": "text", "username": "aegee.deploy",
                                                        "channel": "#ops"})
