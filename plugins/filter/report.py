# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Report filters: release_record (a host's record of its release), run_data and hook_env (what hooks get).

Documentation of each filter is in the ``<name>.yml`` file next to this one;
the logic is in ``plugins/plugin_utils/_summary.py`` and ``_notify.py`` (controller only).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.plugin_utils._plain import plain
from ansible_collections.aegee.deploy.plugins.plugin_utils import _notify, _summary


def release_record(result, host, action="deploy", environment="", actor="", check=False, root="",
                   state_dir=".aegee"):
    """The plain record of one host's release, from its registered compose_release result (failed or not)."""
    if result is not None and not isinstance(result, Mapping):
        raise AnsibleFilterError("release_record expects the registered result of aegee.deploy.compose_release")
    return _summary.record(plain(result or {}), str(host), action=str(action), environment=str(environment or ""),
                           actor=str(actor or ""), check=bool(check), root=str(root or ""),
                           state_dir=str(state_dir or ".aegee"))


def run_data(records, hook="post", action=None, environment=None, hosts=None, services=None, actor=None,
             status_url=None):
    """The run's data a hook gets (``records``: the hosts' records, [] before the release)."""
    if not isinstance(records, (list, tuple)) or not all(isinstance(r, Mapping) for r in records):
        raise AnsibleFilterError("run_data expects the list of the hosts' release_record records ([] before)")
    if services is not None and not isinstance(services, Mapping):
        raise AnsibleFilterError("run_data: services must map each service to its version")
    return _notify.run_data(plain(records), hook=str(hook), action=action, environment=environment,
                            hosts=plain(hosts) if hosts is not None else None,
                            services=plain(services) if services is not None else None, actor=actor,
                            status_url=status_url)


def hook_env(data):
    """The AEGEE_* environment variables of a hook, from run_data's result."""
    if not isinstance(data, Mapping) or "hook" not in data:
        raise AnsibleFilterError("hook_env expects the result of aegee.deploy.run_data")
    return _notify.hook_env(plain(data))


class FilterModule:
    def filters(self):
        return {"release_record": release_record, "run_data": run_data, "hook_env": hook_env}
