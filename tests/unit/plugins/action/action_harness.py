# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Driving an action plugin's ``run()`` in-process, with a fake task and connection (no host, no executor)."""

from __future__ import annotations


class FakeTask:
    def __init__(self, action, args, check_mode=False):
        self.action = action
        self.args = dict(args)
        self.check_mode = check_mode
        self.async_val = 0
        self.diff = False


class FakeShell:
    tmpdir = None


class FakeConnection:
    """A connection the action must not use: any command or file transfer fails the test."""

    _shell = FakeShell()

    def exec_command(self, *args, **kwargs):
        raise AssertionError("the action ran a command on the host: %r" % (args,))

    def put_file(self, *args, **kwargs):
        raise AssertionError("the action sent a file to the host: %r" % (args,))


def run_action(action_class, name, args, check_mode=False, task_vars=None):
    """``action_class(...).run()`` for a task ``name`` with ``args``; the result dict."""
    action = action_class(FakeTask(name, args, check_mode), FakeConnection(), None, None, None, None)
    action._load_name = name
    return action.run(task_vars=task_vars or {})
