# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenario filters: scenario_files (the browser scenarios a release sends to the host).

Documentation is in ``scenario_files.yml`` next to this file; the logic is ``plugins/plugin_utils/_scenario_files.py``.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.plugin_utils import _scenario_files


def scenario_files(path):
    """The browser scenarios at ``path`` on the controller, relative path -> text; an error names what is wrong."""
    files, problems = _scenario_files.read(path)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    return files


class FilterModule:
    def filters(self):
        return {"scenario_files": scenario_files}
