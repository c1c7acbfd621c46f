# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The callback aegee.deploy.release_summary: what it prints after the recap, and the JSON file for CI."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest

from ansible_collections.aegee.deploy.plugins.callback import release_summary
from ansible_collections.aegee.deploy.plugins.plugin_utils import _summary

ARGV = ["ansible-playbook", "playbooks/deploy.yml", "-l", "production", "-e", "service=core"]


def record(host, result="success"):
    info = {"from": "1.4.2", "to": "1.5.0", "digest": "sha256:" + "b" * 64, "changed": True,
            "switch": {"mode": "start-first", "healthy_after": 1.5}, "smoke": "ok"}
    raw = {"changed": True, "services": {"core": info}, "release": {"id": "r", "result": result}}
    if result != "success":
        raw.update(failed=True, msg="deploy of core failed: boom", result=result)
    return _summary.record(raw, host, environment="production", actor="alice", root="/srv")


class Display:
    def __init__(self):
        self.lines, self.warnings = [], []

    def display(self, msg, color=None, **_kw):
        self.lines.append(msg)

    def warning(self, msg, **_kw):
        self.warnings.append(msg)


class Task:
    def __init__(self, action, name="t", path="x.yml:1"):
        self.action, self.name, self.path = action, name, path

    def get_name(self):
        return self.name

    def get_path(self):
        return self.path


class Host:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


def play(hosts, extra_vars=None):
    inventory = SimpleNamespace(get_hosts=lambda _pattern: [Host(h) for h in hosts])
    manager = SimpleNamespace(extra_vars=extra_vars or {}, _inventory=inventory)
    return SimpleNamespace(hosts="all", get_variable_manager=lambda: manager)


@pytest.fixture
def callback(monkeypatch):
    cb = release_summary.CallbackModule()
    cb._display = Display()
    cb.get_option = lambda _name: None
    monkeypatch.setattr(sys, "argv", ARGV)
    return cb


def run(cb, records, hosts, extra_vars=None, failures=()):
    cb.v2_playbook_on_play_start(play(hosts, extra_vars))
    cb.v2_playbook_on_task_start(Task("aegee.deploy.release_plan"), False)
    for host, task, msg in failures:
        cb.v2_runner_on_failed(SimpleNamespace(_host=Host(host), _task=Task("ansible.builtin.assert", task),
                                               _result={"msg": msg}))
    cb.v2_playbook_on_stats(SimpleNamespace(custom={r["host"]: {"aegee_release": r} for r in records}))
    return cb._display.lines


def test_prints_the_summary_after_the_recap_and_names_untouched_hosts(callback):
    out = run(callback, [record("production-1", "failed-restored")], ["production-1", "production-2"])
    assert out[0] == "" and out[1] == "RELEASE SUMMARY: deploy of production by alice"
    assert "not touched (the rollout stopped first): production-2" in out
    assert out[-1] == "result: FAILED"


def test_writes_the_same_data_as_json(callback, tmp_path):
    path = tmp_path / "summary.json"
    run(callback, [record("production-1"), record("production-2")], ["production-1", "production-2"],
        extra_vars={"summary_file": str(path)})
    data = json.loads(path.read_text())
    assert data["result"] == "success" and [h["host"] for h in data["hosts"]] == ["production-1", "production-2"]
    assert data["command"] == "ansible-playbook playbooks/deploy.yml -l production -e service=core"
    assert data["hosts"][0]["services"][0]["healthy_after"] == 1.5


def test_a_refused_plan_is_one_stopped_line_with_the_next_command(callback):
    out = run(callback, [], ["production-1", "production-2"],
              failures=[("production-1", "Plan", "refused\nRoll back with: ansible-playbook playbooks/rollback.yml")])
    assert out[1:] == ["RELEASE SUMMARY: nothing was released", "production-1  STOPPED at 'Plan': refused",
                       "  next: ansible-playbook playbooks/rollback.yml",
                       "result: FAILED"]


def test_silent_for_a_run_without_a_release(callback):
    callback.v2_playbook_on_play_start(play(["staging-1"]))
    callback.v2_playbook_on_task_start(Task("aegee.deploy.release_info"), False)
    callback.v2_playbook_on_stats(SimpleNamespace(custom={}))
    assert callback._display.lines == []


def test_an_unwritable_summary_file_warns(callback, tmp_path):
    run(callback, [record("production-1")], ["production-1"],
        extra_vars={"summary_file": str(tmp_path / "missing" / "s.json")})
    assert callback._display.warnings and "cannot write" in callback._display.warnings[0]
