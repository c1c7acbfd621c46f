# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Input filters: input_problems, inventory_problems (the first task of the playbooks and roles), service_names.

Documentation of each filter is in the ``<name>.yml`` file next to this one;
the checks themselves are ``check_inputs`` and ``check_inventory`` in
``plugins/plugin_utils/_inputs.py``, which the ``release_plan`` action uses too.
Filters run on the controller, so a bad value is refused before any host is
contacted.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleError, AnsibleFilterError
from jinja2 import Undefined
from jinja2.exceptions import UndefinedError

from ansible_collections.aegee.deploy.plugins.plugin_utils import _inputs

# what inventory_problems reads of each host; of the password only whether it is set
READ = ("aegee_services", "aegee_deploy_root", "aegee_deploy_repo_url", "aegee_deploy_repo_branch",
        "aegee_environment", "aegee_promote_from", "aegee_registry", "aegee_registry_username", "group_names",
        "aegee_service_ports", "aegee_smoke_urls", "aegee_deploy_env", "aegee_state_dir", "aegee_follow_branches",
        "aegee_extra_checks", "aegee_browser_checks", "aegee_browser_python", "aegee_browser_scenarios",
        "aegee_browser_markers", "aegee_browser_base_url", "aegee_browser_timeout", "aegee_browser_suite_timeout",
        "aegee_browser_retries")


def input_problems(values, catalogue=None, prefix="", empty_is_default=False):
    """The problems with the inputs in ``values`` (name -> value, None when not given); [] when all is well."""
    if not isinstance(values, Mapping):
        raise AnsibleFilterError("input_problems expects a mapping of input name to value")
    try:
        return _inputs.check_inputs(dict(values), catalogue=catalogue, prefix=prefix,
                                    empty_is_default=bool(empty_is_default))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def service_names(value, name="services"):
    """The names in ``value`` (a list, or names separated by commas; empty: []), parsed as input_problems does."""
    try:
        return _inputs.parse_services(value, name)
    except _inputs.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _first_line(exc):
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _account_shape(hv, host, problems, reported):
    """The test account of the browser scenarios with its values replaced by whether they are set (read only when
    the scenarios are on: its password comes from vault or a lookup)."""
    try:
        account = hv["aegee_browser_account"]
        if not isinstance(account, Mapping):
            return account if isinstance(account, (str, list, int)) else str(type(account).__name__)
        return {str(k): ("********" if account[k] else "") if isinstance(account[k], str) else account[k]
                for k in account}
    except (AnsibleError, UndefinedError) as exc:
        problems.append("aegee_browser_account of %s cannot be used: %s" % (host, _first_line(exc.__cause__ or exc)))
        reported.add((host, "aegee_browser_account"))
        return None


def _read(hostvars, host, problems, reported):
    found = {}
    try:
        hv = hostvars[host]
        for name in READ:
            if name not in hv:
                continue
            value = hv[name]
            if isinstance(value, Undefined):  # a template that failed (undefined variable, no vault secret, ...)
                try:
                    str(value)
                except UndefinedError as exc:
                    problems.append("%s of %s cannot be used: %s" % (name, host, _first_line(exc.__cause__ or exc)))
                reported.add((host, name))
                continue
            found[name] = value
        # whether they are set, without keeping (or, for the password, decrypting) their values
        found["aegee_registry_username"] = bool(found.get("aegee_registry_username"))
        found["aegee_registry_password"] = "aegee_registry_password" in hv
        if found.get("aegee_browser_scenarios") and "aegee_browser_account" in hv:
            found["aegee_browser_account"] = _account_shape(hv, host, problems, reported)
    except (AnsibleError, KeyError) as exc:
        problems.append("the variables of %s cannot be read: %s" % (host, _first_line(exc)))
    return found


def inventory_problems(hosts, hostvars, groups=None, need=None, one_environment=False):
    """The problems with the inventory settings of ``hosts`` (read from ``hostvars``); [] when all is well."""
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("inventory_problems expects a list of host names, such as ansible_play_hosts_all")
    need = list(_inputs.INVENTORY) if need is None else list(need)
    unknown = [n for n in need if n not in _inputs.INVENTORY]
    if unknown:
        raise AnsibleFilterError("inventory_problems: need names unknown settings %s (known: %s)"
                                 % (", ".join(unknown), ", ".join(_inputs.INVENTORY)))
    groups = dict(groups or {})
    problems = []
    reported = set()
    seen = {host: _read(hostvars, host, problems, reported) for host in hosts}
    for source in {seen[h].get("aegee_promote_from") for h in hosts}:
        if isinstance(source, str) and groups.get(source) and groups[source][0] not in seen:
            seen[groups[source][0]] = _read(hostvars, groups[source][0], problems, reported)
    return problems + _inputs.check_inventory(seen, list(hosts), groups, need, bool(one_environment), reported)


class FilterModule:
    def filters(self):
        return {"input_problems": input_problems, "inventory_problems": inventory_problems,
                "service_names": service_names}
