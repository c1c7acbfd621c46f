# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``compose_release`` action: the module's result unchanged, the release's waits shown while it runs."""

from __future__ import annotations

import json
import threading

import pytest

from ansible_collections.aegee.deploy.plugins.action import compose_release
from ansible_collections.aegee.deploy.plugins.plugin_utils import _progress
from ansible_collections.aegee.deploy.tests.unit.plugins.action.action_harness import FakeConnection, FakeTask

LOCK = json.dumps({"id": "r1", "waiting": "core: waiting up to 90s for the new container 3f2a to turn healthy "
                                          "(since 2026-12-04T20:00:00Z)"})


class Host(FakeConnection):
    """A connection whose only command is the watcher's ``cat`` of the lock."""

    has_native_async = False
    become = None

    def __init__(self):
        self.commands = []

    def exec_command(self, cmd, in_data=None, sudoable=True):
        assert sudoable is False, "the watcher must not use become"
        self.commands.append(cmd)
        return 0, LOCK.encode(), b""


def action(check_mode=False, root="/srv/myaegee", **args):
    act = compose_release.ActionModule(FakeTask("aegee.deploy.compose_release", dict(root=root, **args), check_mode),
                                       Host(), None, None, None, None)
    act._remove_tmp_path = lambda path: None
    return act


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(_progress, "FIRST", 0.0)
    monkeypatch.setattr(_progress, "EVERY", 0.01)
    said = []
    monkeypatch.setattr(compose_release.display, "display", said.append)
    return said


def test_while_the_module_runs_its_wait_is_shown_and_the_result_is_the_modules(quick):
    act = action(state_dir=".state")
    shown = threading.Event()

    def module(task_vars=None, wrap_async=False):
        assert shown.wait(5), "nothing was shown while the module ran"
        return {"changed": True, "services": {"core": {"to": "1.5.0"}}}

    act._execute_module = module
    compose_release.display.display = lambda line: (quick.append(line), shown.set())
    result = act.run(task_vars={"inventory_hostname": "staging-1"})
    assert result["changed"] is True and result["services"] == {"core": {"to": "1.5.0"}}
    assert quick == ["staging-1: core: waiting up to 90s for the new container 3f2a to turn healthy"]  # said once


def test_the_watcher_reads_the_lock_of_the_state_dir(quick):
    act = action(state_dir=".state")
    seen = threading.Event()
    conn = act._connection

    def module(task_vars=None, wrap_async=False):
        seen.wait(5)
        return {"changed": False}

    act._execute_module = module
    compose_release.display.display = lambda line: seen.set()
    act.run(task_vars={"inventory_hostname": "staging-1"})
    # the watcher works on its own copy of the connection: its commands are recorded on the shared list
    assert conn.commands and conn.commands[0] == "cat -- /srv/myaegee/.state/lock 2>/dev/null || true"


@pytest.mark.parametrize(("check_mode", "root"), [(True, "/srv/myaegee"), (False, "relative/root")])
def test_check_mode_and_a_root_the_module_refuses_are_not_watched(quick, check_mode, root):
    act = action(check_mode=check_mode, root=root)

    def module(task_vars=None, wrap_async=False):
        return {"changed": False, "failed": not check_mode}

    act._execute_module = module
    result = act.run(task_vars={"inventory_hostname": "staging-1"})
    assert result["changed"] is False and act._connection.commands == [] and quick == []


def test_a_module_that_raises_still_stops_the_watcher(quick):
    act = action()

    def module(task_vars=None, wrap_async=False):
        raise RuntimeError("connection lost")

    act._execute_module = module
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(RuntimeError, match="connection lost"):
        act.run(task_vars={"inventory_hostname": "staging-1"})
    assert not [t for t in threading.enumerate() if t.name.startswith("aegee-progress-") and t.name not in before]
