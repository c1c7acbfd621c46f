# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``release_plan`` action: the plan is made in the controller's own process.

Nothing is packaged or sent to a host: the plan only asks the registry (from the controller) and reads the
source environment's state that the role gave it. The documentation is ``plugins/modules/release_plan.py``.
"""

from __future__ import annotations

import sys

from ansible import context
from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.aegee.deploy.plugins.module_utils import _semver
from ansible_collections.aegee.deploy.plugins.module_utils._args import registry_spec
from ansible_collections.aegee.deploy.plugins.plugin_utils import _summary
from ansible_collections.aegee.deploy.plugins.plugin_utils._inputs import check_version_input, parse_services
from ansible_collections.aegee.deploy.plugins.plugin_utils._plan import (
    PlanError,
    Planner,
    RegistryError,
    planned_switch,
)


def argument_spec():
    """The options of ``release_plan`` (documented in ``plugins/modules/release_plan.py``)."""
    spec = dict(
        catalogue=dict(type="dict", required=True),
        services=dict(type="raw"),
        version=dict(type="str"),
        promote_from=dict(type="str"),
        source_state=dict(type="dict"),
        force=dict(type="bool", default=False),
        service_ports=dict(type="dict", default={}),
        target_states=dict(type="dict", default={}),
    )
    spec.update(registry_spec())
    return spec


def plan(p, planner_factory=Planner):
    """The result of ``release_plan`` for the validated options ``p``; PlanError or RegistryError when there is none."""
    services = parse_services(p["services"])
    version = check_version_input(p["version"], services)
    planner = planner_factory(p["catalogue"], registry=p["registry"], username=p["username"],
                              password=p["password"], validate_certs=p["validate_certs"], timeout=p["timeout"],
                              retries=p["retries"])
    running = {host: {svc: (cur or {}).get("version") for svc, cur in ((st or {}).get("current") or {}).items()}
               for host, st in (p.get("target_states") or {}).items()}
    targets = planner.plan(services, version=version, promote_from=p["promote_from"], source_state=p["source_state"],
                           force=p["force"], running=running, rollback_command=rollback_command)
    result = {"changed": False, "targets": targets, "explicit": version not in (None, "", "latest"),
              "services": sorted(targets), "switch": planned_switch(targets, p["catalogue"], p.get("service_ports"))}
    if hasattr(planner, "registry_requests"):
        result["registry_requests"] = planner.registry_requests()
    if planner.messages:
        result["warnings"] = list(planner.messages)
    return result


def rollback_command(svc, version, hosts):
    """The rollback.yml command line for ``hosts``, next to the playbook this run runs, with its inventory."""
    limit = context.CLIARGS.get("subset") or ",".join(hosts)
    return _summary.command(sys.argv[1:], "rollback.yml", limit=limit,
                            extra=["service=%s" % svc, "version=%s" % version])


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True  # it only reads the registry
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # not used
        try:
            _validation, args = self.validate_argument_spec(argument_spec=argument_spec())
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=exc.message)
            return result
        if not _semver.HAS_SEMVER:
            result.update(failed=True, msg=missing_required_lib("semver") + " (on the controller)")
            return result
        try:
            result.update(plan(args))
        except (PlanError, RegistryError) as exc:
            result.update(failed=True, msg=str(exc))
        return result
