# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Status filters: status_rows, status_table (used by the aegee.deploy.status role).

Documentation of each filter is in the ``<name>.yml`` file next to this one;
the logic is in ``plugins/plugin_utils/_status_table.py`` (controller only);
the ``release_info`` results these filters read come from
``plugins/module_utils/_status.py`` on the hosts.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.plugin_utils._plain import plain


def status_rows(hosts, registry=None):
    """One row per environment, host and service, from release_info results and image_version_info results."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("status_rows expects a list of {host, environment, promote_from, info}")
    hosts = plain(hosts)
    for h in hosts:
        if not isinstance(h, dict) or "host" not in h:
            raise AnsibleFilterError("status_rows: every entry needs at least 'host' and 'info', got %r" % (h,))
    if registry is not None and not isinstance(registry, Mapping):
        raise AnsibleFilterError("status_rows: registry must be a mapping of service to image_version_info result")
    return _table().rows(hosts, plain(registry) if registry else {})


def status_table(rows):
    """The rows as aligned text lines, followed by one line per drift and lock."""
    if not isinstance(rows, (list, tuple)):
        raise AnsibleFilterError("status_table expects the list that status_rows returns")
    return _table().table(plain(rows))


def _table():
    """plugin_utils._status_table, imported on first use: it brings the compose parser (ruamel.yaml) and the
    runtimes (~50 ms), and Ansible loads every filter file of a collection for any of its filters in each task."""
    from ansible_collections.aegee.deploy.plugins.plugin_utils import (  # noqa: PLC0415 pylint: disable=import-outside-toplevel
        _status_table,
    )

    return _status_table


class FilterModule:
    def filters(self):
        return {
            "status_rows": status_rows,
            "status_table": status_table,
        }
