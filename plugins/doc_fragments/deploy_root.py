# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The deploy root and its release state folder, for the modules that work in a deploy repo checkout on the host.

Documents ``deploy_root_spec()`` in ``plugins/module_utils/_args.py``; a change to an option changes both.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  root:
    description:
      - The deploy repo checkout on the host, an absolute path without V(..) (for example V(/srv/myaegee)).
    type: path
    required: true
  state_dir:
    description:
      - The folder inside O(root) that holds the release state (C(state.json), C(history.jsonl), C(lock)); kept
        out of git.
      - Every module and role of the collection must use the same folder for a host (the roles take it from the
        inventory variable C(aegee_state_dir)).
    type: str
    default: .aegee
"""
