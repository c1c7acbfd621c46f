# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: release_summary
type: aggregate
short_description: The summary of a deploy, promote or rollback, after the recap
version_added: 0.2.0
description:
  - After the play recap, prints one line per service per host of the release the run made (also in check mode), with
    from and to (version and short digest), the switch mode, the seconds until the new container was healthy,
    the checks that passed and the result.
  - On a failure it adds the failure, the check that failed, what was restored and whether it is healthy again,
    where the evidence is, and the exact next command (a rollback, a rerun with C(break_lock), a rerun).
  - Names the hosts the rollout never reached, and a run stopped before its release (the plan's refusal).
  - The data comes from the hosts' records, which the roles C(aegee.deploy.deploy) and C(aegee.deploy.rollback)
    hand to C(ansible.builtin.set_stats) as C(aegee_release) (per host), so the play's stats carry them too.
  - With C(-e summary_file=PATH) (or O(summary_file)), the same data is written to PATH as JSON, for CI.
  - Prints nothing for a run that is no release (status, smoke, publish). After a JSON stdout callback
    (C(ansible.builtin.json), C(ansible.posix.json)) it prints to stderr, so that stdout stays valid JSON.
  - Enable it with C(callbacks_enabled = aegee.deploy.release_summary) in the C([defaults]) section of
    C(ansible.cfg) (or C(ANSIBLE_CALLBACKS_ENABLED)).
requirements:
  - enabled in the configuration (C(callbacks_enabled))
options:
  summary_file:
    description:
      - Where to write the summary as JSON; C(-e summary_file=PATH) on the command line wins.
    type: path
    env:
      - name: AEGEE_SUMMARY_FILE
    ini:
      - section: aegee_release_summary
        key: summary_file
"""

import json
import os
import sys

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

from ansible_collections.aegee.deploy.plugins.plugin_utils import _summary

RELEASE_ACTIONS = ("compose_release", "release_plan")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aegee.deploy.release_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.release = False  # the run planned or ran a release
        self.play_hosts = []
        self.stopped = []
        self.unreachable = {}
        self.extra_vars = {}

    def v2_playbook_on_play_start(self, play):
        manager = play.get_variable_manager()
        self.extra_vars = dict(getattr(manager, "extra_vars", None) or {})
        try:
            found = manager._inventory.get_hosts(play.hosts)  # the play's hosts after -l
        except Exception:  # pylint: disable=broad-except
            found = []
        for host in found:
            if host.name not in self.play_hosts:
                self.play_hosts.append(host.name)

    def v2_playbook_on_task_start(self, task, is_conditional):
        if str(task.action).rsplit(".", 1)[-1] in RELEASE_ACTIONS or "aegee.deploy._release" in str(task.get_path()):
            self.release = True

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors or str(result._task.action).rsplit(".", 1)[-1] == "compose_release":
            return  # the release's own failure is in the host's record
        self.stopped.append({"host": result._host.get_name(), "task": result._task.get_name(),
                             "msg": str(result._result.get("msg") or "failed")})

    def v2_runner_on_unreachable(self, result):
        self.unreachable[result._host.get_name()] = str(result._result.get("msg") or "unreachable")

    def v2_playbook_on_stats(self, stats):
        custom = getattr(stats, "custom", None) or {}
        records = [custom[h]["aegee_release"] for h in sorted(custom)
                   if h != "_run" and isinstance(custom[h], dict) and "aegee_release" in custom[h]]
        if not (self.release or records):
            return
        done = {r["host"] for r in records} | {s["host"] for s in self.stopped}
        stopped = list(self.stopped) + [{"host": h, "task": "connect", "msg": m}
                                        for h, m in sorted(self.unreachable.items()) if h not in done]
        done |= set(self.unreachable)
        untouched = [h for h in self.play_hosts if h not in done] if (records or stopped) else []
        if stopped and not records:
            untouched = []  # stopped before any host: the lines say so once
        argv = sys.argv[1:]
        text = _summary.lines(records, argv, untouched=untouched, stopped=stopped)
        if not text:
            return
        # after a machine-readable stdout (the json callbacks) the summary goes to stderr: stdout stays valid JSON
        stderr = str(C.config.get_config_value("DEFAULT_STDOUT_CALLBACK")).endswith("json")
        self._display.display("", stderr=stderr)
        for line in text:
            color = "red" if ("FAILED" in line or "STOPPED" in line or "LOCKED" in line) else None
            self._display.display(line, color=color, stderr=stderr)
        self._write(records, untouched, stopped, argv)

    def _write(self, records, untouched, stopped, argv):
        path = self.extra_vars.get("summary_file") or self.get_option("summary_file")
        if not path:
            return
        data = {"result": _summary.overall(records, stopped), "hosts": records, "untouched": untouched,
                "stopped": stopped, "command": _summary.command(argv, keep_all=True)}
        try:
            with open(os.path.expanduser(str(path)), "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True, default=str)
                handle.write("\n")
        except OSError as exc:
            self._display.warning("release_summary: cannot write %s: %s" % (path, exc))
