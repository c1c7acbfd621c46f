# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check filters: smoke_problems (the verdict of the aegee.deploy.smoke role).

Documentation is in ``smoke_problems.yml`` next to this file; the logic is
``smoke_problems`` in ``plugins/module_utils/_checks.py``, next to the other
kinds of check.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean


def smoke_problems(info, services, require_pinned_version=True):
    """The problems the smoke role reports of a host's release_info result, one per service; [] when all is well."""
    if not isinstance(info, Mapping):
        raise AnsibleFilterError("smoke_problems expects the registered result of aegee.deploy.release_info")
    if isinstance(services, str) or not isinstance(services, (list, tuple)):
        raise AnsibleFilterError("smoke_problems: services must be a list of service names, got %r" % (services,))
    try:
        require = boolean(require_pinned_version, strict=True)
    except TypeError:
        raise AnsibleFilterError("smoke_problems: require_pinned_version must be a boolean, got %r"
                                 % (require_pinned_version,)) from None
    # imported here: Ansible loads every filter file of a collection for any of its filters, in each task's own
    # process, and _checks (with the browser and scenario code) costs ~15 ms that only this filter needs
    from ansible_collections.aegee.deploy.plugins.module_utils import (  # noqa: PLC0415 pylint: disable=import-outside-toplevel
        _checks,
    )

    return _checks.smoke_problems(info, list(services), require)


class FilterModule:
    def filters(self):
        return {"smoke_problems": smoke_problems}
