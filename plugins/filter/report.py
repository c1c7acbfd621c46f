# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Report filters: release_record (a host's record of its release, for the summary, the hooks and notifications).

Documentation of each filter is in the ``<name>.yml`` file next to this one;
the logic is in ``plugins/plugin_utils/_summary.py`` (controller only).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.plugin_utils._plain import plain
from ansible_collections.aegee.deploy.plugins.plugin_utils import _summary


def release_record(result, host, action="deploy", environment="", actor="", check=False, root="",
                   state_dir=".aegee"):
    """The plain record of one host's release, from its registered compose_release result (failed or not)."""
    if result is not None and not isinstance(result, Mapping):
        raise AnsibleFilterError("release_record expects the registered result of aegee.deploy.compose_release")
    return _summary.record(plain(result or {}), str(host), action=str(action), environment=str(environment or ""),
                           actor=str(actor or ""), check=bool(check), root=str(root or ""),
                           state_dir=str(state_dir or ".aegee"))


class FilterModule:
    def filters(self):
        return {"release_record": release_record}
