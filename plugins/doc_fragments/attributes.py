# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared ``attributes:`` documentation for the modules of aegee.deploy.

Use ``aegee.deploy.attributes`` for the attribute descriptions, plus one of the
support fragments:

* ``aegee.deploy.attributes.info_module`` for read-only ``_info`` modules;
* ``aegee.deploy.attributes.files`` for modules that edit files (adds
  ``safe_file_operations``); state ``check_mode``/``diff_mode`` support in the
  module itself.
"""

from __future__ import annotations


class ModuleDocFragment:
    # Descriptions of every attribute; modules state the support level.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying the target.
  diff_mode:
    description:
      - Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # For read-only modules (``*_info``).
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    # For modules that write files on the target.
    FILES = r"""
options: {}
attributes:
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
"""
