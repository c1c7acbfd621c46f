# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``compose_release`` action: the module runs on the host; long waits are shown while it runs.

The module (``plugins/modules/compose_release.py``, also its documentation) writes what it waits for into the
release's lock; meanwhile this action reads that lock through the task's connection every few seconds and
shows each wait (``_progress.Watcher``), so that a 60-second health wait is not 60 seconds of silence. Check
mode waits for nothing and is not watched; an ``async`` task runs as Ansible runs it.
"""

from __future__ import annotations

import copy
import os
import posixpath

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.aegee.deploy.plugins.plugin_utils._payload_cache import (
    FileWriteError, PayloadCache, fingerprint,
)
from ansible_collections.aegee.deploy.plugins.plugin_utils._progress import Watcher

display = Display()
PLUGINS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_FQN = "ansible_collections.aegee.deploy.plugins.modules.compose_release"


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        wrap_async = self._task.async_val and not self._connection.has_native_async
        watcher = None
        if not self._task.check_mode and not self._task.async_val:
            watcher = self._watcher(task_vars or {})
        cache = _payload_cache()
        if watcher is not None:
            watcher.start()
        try:
            result.update(self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        finally:
            if watcher is not None:
                watcher.stop()
        _keep(cache)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _watcher(self, task_vars):
        args = self._task.args
        root = args.get("root")
        if not isinstance(root, str) or not root.startswith("/"):
            return None  # the module refuses it; nothing to watch
        state_dir = args.get("state_dir") or ".aegee"
        lock = posixpath.join(root, state_dir, "lock")
        host = task_vars.get("inventory_hostname") or self._play_context.remote_addr

        # its own copy of the connection (per-command state is not shared with the module's run), without
        # become (a become prompt has no place on a second channel): when the release runs as another user
        # through become, its lock (mode 0600) cannot be read and the run shows no waits
        conn = copy.copy(self._connection)

        def read(command):
            _rc, out, _err = conn.exec_command(command, sudoable=False)
            return out.decode("utf-8", "replace") if isinstance(out, bytes) else out or ""

        return Watcher(str(host), lock, read, display.display)


def _payload_cache():
    """The module's payload kept from an earlier run, put where Ansible looks (``_payload_cache``); None when off."""
    try:
        cache = PayloadCache(MODULE_FQN, fingerprint(os.path.join(PLUGINS, "modules", "compose_release.py"),
                                                     os.path.join(PLUGINS, "module_utils")), C.DEFAULT_LOCAL_TMP)
        if cache.restore():
            display.vvv("compose_release: its payload from %s (not built again)" % cache.kept)
        return cache
    except (OSError, ValueError, FileWriteError) as exc:
        display.vvv("compose_release: no kept payload (%s)" % exc)
        return None


def _keep(cache):
    if cache is None:
        return
    try:
        if cache.keep():
            display.vvv("compose_release: its payload kept in %s for the next runs" % cache.kept)
    except (OSError, FileWriteError) as exc:
        display.vvv("compose_release: its payload not kept (%s)" % exc)
