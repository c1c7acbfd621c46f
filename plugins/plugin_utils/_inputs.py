# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What a person typed and what the inventory says, checked on the controller before any host is contacted.

The checks of what a person typed (``check_inputs``: services, version,
booleans, numbers, batch size, reason) and of the inventory the roles need
(``check_inventory``) are used by the playbooks (through the
``input_problems`` and ``inventory_problems`` filters) and by the
``release_plan`` action (``parse_services``, ``check_version_input``), so both
refuse the same things with the same words. Controller code only: no module
ships it to a host.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.aegee.deploy.plugins.module_utils import _policy, _semver
from ansible_collections.aegee.deploy.plugins.module_utils._args import is_state_dir
from ansible_collections.aegee.deploy.plugins.module_utils._names import BRANCH_RE, SERVICE_RE, SERVICE_RULE
from ansible_collections.aegee.deploy.plugins.module_utils._registry import RegistryError, parse_reference
from ansible_collections.aegee.deploy.plugins.plugin_utils import _scenario_files

# a version is a Docker tag: at most 128 characters
VERSION_MAX = 128
REASON_MAX = 500
SHOWN_MAX = 60


class PlanError(Exception):
    pass


def shown(value, limit=SHOWN_MAX):
    """``repr`` of a person's value for a message, cut short: a message never echoes a huge input."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = (" (%d characters)" % len(value)) if isinstance(value, str) else (
        " (%d items)" % len(value) if isinstance(value, (list, tuple, Mapping)) else "")
    return text[:limit] + "..." + size


def kind(value):
    """The plain name of a value's type (Ansible's own str, int and dict subclasses are named as such)."""
    for plain in (bool, int, float, str, bytes):
        if isinstance(value, plain):
            return plain.__name__
    if isinstance(value, Mapping):
        return "dict"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def parse_services(value, name="services"):
    """``core``, ``core,events``, a list, or empty (all) -> list of names; PlanError on bad names."""
    if value is None:
        return []
    if isinstance(value, str):
        if value and not value.strip():
            # not "every service": a blank -e service=" " is a mistake, not a request to deploy everything
            raise PlanError("%s=%s is blank: name the services, or leave it out for every service"
                            % (name, shown(value)))
        items = [s.strip() for s in value.split(",")]
        if value.strip() and any(not s for s in items):
            raise PlanError("%s=%s has an empty name: separate service names with single commas"
                            % (name, shown(value)))
        items = [s for s in items if s]
    elif isinstance(value, (list, tuple)):
        items = []
        for s in value:
            if not isinstance(s, str):
                raise PlanError("%s: service names must be strings, got %s" % (name, shown(s)))
            items.append(s.strip())
    else:
        raise PlanError("%s must be a comma separated string or a list, got %s" % (name, kind(value)))
    for s in items:
        if not SERVICE_RE.match(s):
            raise PlanError("%s: %s is not a service name (%s)" % (name, shown(s), SERVICE_RULE))
    seen = []
    for s in items:
        if s not in seen:
            seen.append(s)
    return seen


def check_version_input(version, services, name="version"):
    """The version asked for (None for a routine release); PlanError when it is not one, or is not for one service.

    ``services`` is the parsed list, or None when it could not be parsed (the count is then not checked).
    """
    if version in (None, ""):
        return None
    if not isinstance(version, str):
        raise PlanError("%s must be a string such as 1.5.1 or latest, got %s" % (name, shown(version)))
    if len(version) > VERSION_MAX:
        raise PlanError("%s: %s is not a semantic version: it is longer than a Docker tag can be (%d characters), "
                        "expected MAJOR.MINOR.PATCH such as 1.4.2, or latest" % (name, shown(version), VERSION_MAX))
    if version != "latest" and not _semver.is_version(version):
        try:
            _semver.parse(version)
        except _semver.VersionError as exc:
            raise PlanError("%s: %s, or latest" % (name, exc)) from None
    if services is not None and len(services) != 1:
        raise PlanError(
            "%s=%s needs exactly one service (-e service=NAME): one version for several services at once is "
            "ambiguous" % (name, version)
        )
    return version


def unknown_service(service, catalogue):
    """The message for a service the catalogue does not have (or has without an image)."""
    return "unknown service %s: the catalogue (aegee_services) has %s" % (
        shown(service), ", ".join(sorted(catalogue)) or "no services")


# ------------------------------------------------------------------ inputs
# What a person gives a playbook (-e NAME=VALUE) or a role (its variables), checked on the controller before any
# host is contacted. Each check: (what is accepted, function(value) -> normalized value or raise ValueError(why)).


def _bool(value):
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ValueError("is not a boolean") from None


def _whole(low, high):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("is not a whole number (got %s)" % kind(value))
        if isinstance(value, str) and not re.match(r"^[0-9]{1,9}$", value):
            raise ValueError("is not a whole number")
        if not low <= int(value) <= high:
            raise ValueError("is out of range")
        return int(value)
    return check


def _serial(value):
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("is an empty list")
    for item in items:
        if isinstance(item, str) and re.match(r"^[0-9]{1,3}%$", item):
            if not 1 <= int(item[:-1]) <= 100:
                raise ValueError("is not a percentage from 1% to 100%")
        else:
            _whole(1, 100000)(item)
    return value


def _text(value):
    if not isinstance(value, str):
        raise ValueError("is not text (got %s)" % kind(value))
    if not value.strip():
        raise ValueError("is blank")
    if len(value) > REASON_MAX:
        raise ValueError("is %d characters long" % len(value))
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("has control characters (line breaks, tabs, escapes)")
    return value


def _html_path(value):
    if not isinstance(value, str):
        raise ValueError("is not a path (got %s)" % kind(value))
    if value and (any(unicodedata.category(c) == "Cc" for c in value) or not value.lower().endswith((".html", ".htm"))
                  or len(value) > 4096):
        raise ValueError("is not a file name ending in .html or .htm")
    return value


INPUTS = {
    "force": ("true or false", _bool),
    "break_lock": ("true or false", _bool),
    "require_pinned_version": ("true or false", _bool),
    "registry_lookup": ("true or false", _bool),
    "fail_on_problem": ("true or false", _bool),
    "lock_wait": ("a whole number of seconds from 0 to 86400", _whole(0, 86400)),
    "lock_ttl": ("a whole number of seconds from 60 to 604800", _whole(60, 604800)),
    "smoke_timeout": ("a whole number of seconds from 1 to 3600", _whole(1, 3600)),
    "timeout": ("a whole number of seconds from 1 to 3600", _whole(1, 3600)),
    "history": ("a whole number of entries from 0 to 100000", _whole(0, 100000)),
    "serial": ("a number of hosts per batch (1 or more) or a percentage of them (1% to 100%)", _serial),
    "reason": ("a line of text of at most %d characters saying why" % REASON_MAX, _text),
    "html_path": ("the path of an .html file, or an empty string for no page", _html_path),
    # services and version: parse_services, check_version_input
    "service": ("a service name of the catalogue (aegee_services)", None),
    "services": ("service names of the catalogue (aegee_services), separated by commas", None),
    "version": ("a version such as 1.5.1, or latest", None),
}


def check_inputs(values, catalogue=None, prefix="", empty_is_default=False):
    """The problems with what a person asked for, each naming the variable, what is wrong and what is accepted.

    ``values`` maps input names (the keys of ``INPUTS``) to what was given; ``None`` means not given. The names
    are shown with ``prefix`` (``deploy_`` for the deploy role's variables; none for a playbook's ``-e``). A
    given empty string is refused (``-e version=$UNSET`` must not become a routine deploy of everything) unless
    ``empty_is_default`` (a role's variables, whose defaults are empty). Services are checked against
    ``catalogue`` when it is a mapping. Returns a list of messages, empty when everything is acceptable.
    """
    problems = []
    given = {}
    for key, value in values.items():
        if key not in INPUTS:
            raise ValueError("check_inputs: unknown input %r" % key)
        if value is None or (empty_is_default and value in ("", [])):
            continue
        empty = value in ("", []) and key != "html_path"
        if empty:
            problems.append("%s%s is empty: use %s, or leave it out" % (prefix, key, INPUTS[key][0]))
        given[key] = None if empty else value
    if given.get("service") is not None and given.get("services") is not None:
        problems.append("%sservice and %sservices are both given: use one of them" % (prefix, prefix))
    services = []  # none named: every service
    for key in ("service", "services"):
        if key not in given:
            continue
        if given[key] is None:  # given empty, said above
            services = None
            continue
        try:
            services = parse_services(given[key], prefix + key)
        except PlanError as exc:
            problems.append(str(exc))
            services = None
            continue
        if isinstance(catalogue, Mapping):
            problems += ["%s%s: %s" % (prefix, key, unknown_service(s, catalogue)) for s in services
                         if not isinstance(catalogue.get(s), Mapping)]
    if given.get("version") is not None:
        try:
            check_version_input(given["version"], services, prefix + "version")
        except PlanError as exc:
            problems.append(str(exc))
    for key, value in sorted(given.items()):
        accepted, check = INPUTS[key]
        if check is None or value is None:
            continue
        try:
            check(value)
        except ValueError as exc:
            problems.append("%s%s=%s %s: use %s" % (prefix, key, shown(value), exc, accepted))
    return problems


# ---------------------------------------------------------------- inventory
# What the roles need from the inventory, checked on the controller before any host is contacted.

INVENTORY = {
    "aegee_services": "the service catalogue, service name to {image: REPOSITORY}",
    "aegee_deploy_root": "the deploy repo's checkout on the host, an absolute path such as /srv/myaegee",
    "aegee_deploy_repo_url": "the git URL (or path) of the deploy repo",
    "aegee_deploy_repo_branch": "the deploy repo's branch the hosts follow, such as stable",
}


def _need_text(value, what):
    if not isinstance(value, str) or not value.strip():
        return "must be %s, got %s" % (what, shown(value))
    if any(unicodedata.category(c) == "Cc" for c in value) or value != value.strip():
        return "must be %s without spaces around it or control characters, got %s" % (what, shown(value))
    return None


def _root_problem(value):
    problem = _need_text(value, "an absolute path such as /srv/myaegee")
    if problem is None and (not value.startswith("/") or ".." in value.split("/") or not value.strip("/")):
        problem = "must be an absolute path without '..' (not / itself), such as /srv/myaegee, got %s" % shown(value)
    return problem


def _url_problem(value):
    problem = _need_text(value, "the deploy repo's git URL or path")
    if problem is None and (value.startswith("-") or any(c.isspace() for c in value)):
        problem = "must be a git URL or path (not starting with '-', no spaces), got %s" % shown(value)
    return problem


def _branch_problem(value):
    problem = _need_text(value, "a branch name such as stable")
    if problem is None and not BRANCH_RE.match(value):
        problem = "must be a git branch name such as stable (no spaces, '..', or leading '-'), got %s" % shown(value)
    return problem


def _catalogue_problems(value, registry):
    if not isinstance(value, Mapping):
        return ["must be a mapping of service name to {image: REPOSITORY}, got %s" % kind(value)]
    if not value:
        return ["is empty: list the services, each with the image repository of its versions"]
    problems = []
    for name in sorted(value, key=str):
        if not isinstance(name, str) or not SERVICE_RE.match(name):
            problems.append("has %s, which is not a service name (%s)" % (shown(name), SERVICE_RULE))
            continue
        entry = value[name]
        image = entry.get("image") if isinstance(entry, Mapping) else None
        if not isinstance(image, str) or not image:
            problems.append("%s needs an image (the repository of its versions, such as "
                            "registry.example.org/aegee/%s)" % (name, name))
            continue
        try:
            parse_reference(image, registry if isinstance(registry, str) and registry else None
                            ).require_repository_only()
        except RegistryError as exc:
            problems.append("%s: %s" % (name, exc))
    return problems


def _switch_problems(catalogue, ports):
    """A catalogue ``switch`` that is not a mode, or asks for start-first on a service with a fixed host port."""
    if not isinstance(catalogue, Mapping):
        return []
    ports = ports if isinstance(ports, Mapping) else {}
    problems = []
    for name in sorted(catalogue, key=str):
        entry = catalogue[name]
        asked = entry.get("switch") if isinstance(entry, Mapping) else None
        if asked is None:
            continue
        if asked not in _policy.SWITCH_MODES:
            problems.append("%s: switch %s is neither %s" % (name, shown(asked), " nor ".join(_policy.SWITCH_MODES)))
        elif asked == _policy.START_FIRST and ports.get(name) is not None:
            problems.append(
                "%s asks for switch: start-first, but aegee_service_ports gives it the fixed host port %s, and two "
                "containers cannot publish one port: reach it through the gateway (remove its port) or drop the "
                "switch setting" % (name, shown(ports[name])))
    return problems


def _mapping_problems(value, what, check):
    if not isinstance(value, Mapping):
        return ["must be a mapping of service name to %s, got %s" % (what, kind(value))]
    return ["%s: %s is not %s" % (name, shown(value[name]), what) for name in sorted(value, key=str)
            if not check(value[name])]


def _port(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return False
    if isinstance(value, str) and not re.match(r"^[0-9]{1,5}$", value):
        return False
    return 0 < int(value) < 65536


def _url(value):
    return isinstance(value, str) and re.match(r"^https?://[^\s/]+(/\S*)?$", value) is not None


SETTINGS = {
    "aegee_service_ports": lambda v: _mapping_problems(v, "a port (1 to 65535)", _port),
    "aegee_smoke_urls": lambda v: _mapping_problems(v, "an http:// or https:// URL", _url),
    "aegee_deploy_env": lambda v: [] if isinstance(v, Mapping) else [
        "must be a mapping of .env variable to value, got %s" % kind(v)],
    "aegee_follow_branches": lambda v: _mapping_problems(
        v, "a git branch name of that service's repository, such as master",
        lambda b: isinstance(b, str) and BRANCH_RE.match(b) is not None),
    "aegee_state_dir": lambda v: [] if is_state_dir(v) else [
        "must be a folder inside aegee_deploy_root, such as .aegee (relative, without '..'), got %s" % shown(v)],
}


def check_inventory(hostvars, hosts, groups=None, need=None, one_environment=False, reported=()):
    """The problems with the inventory settings the play's ``hosts`` need, each naming the variable and hosts.

    ``hostvars``: host name -> mapping of that host's variables (only ``aegee_*`` and ``group_names`` are read;
    of ``aegee_registry_password`` only whether it is set). ``need``: the variables (of ``INVENTORY``) every
    host must have, by default all of them;
    ``aegee_services`` is checked whenever it is set. With ``one_environment`` the hosts must all be of one
    environment (``aegee_environment``, default their first group). With ``aegee_promote_from`` set, the group
    it names must have hosts, the first of which must have a valid ``aegee_deploy_root`` (its release state is
    read from there). ``reported``: (host, variable) pairs whose problem the caller has said already.
    """
    groups = groups or {}
    need = INVENTORY if need is None else need
    found = {}  # message -> hosts

    def add(message, host):
        found.setdefault(message, [])
        if host not in found[message]:
            found[message].append(host)

    checks = {"aegee_deploy_root": _root_problem, "aegee_deploy_repo_url": _url_problem,
              "aegee_deploy_repo_branch": _branch_problem}
    environments = {}
    for host in hosts:
        hv = hostvars.get(host) or {}
        for name in need:
            if hv.get(name) is None and (host, name) not in reported:
                add("%s is not set: define it in the inventory (%s)" % (name, INVENTORY[name]), host)
        for name, check in checks.items():
            if hv.get(name) is not None:
                problem = check(hv[name])
                if problem:
                    add("%s %s" % (name, problem), host)
        if hv.get("aegee_services") is not None:
            for problem in (_catalogue_problems(hv["aegee_services"], hv.get("aegee_registry"))
                            + _switch_problems(hv["aegee_services"], hv.get("aegee_service_ports"))):
                add("aegee_services %s" % problem, host)
        for name, check in SETTINGS.items():
            if hv.get(name) is not None:
                for problem in check(hv[name]):
                    add("%s %s" % (name, problem), host)
        # the checks of the release (aegee_extra_checks, aegee_browser_checks, aegee_browser_python): _checks,
        # imported here (~15 ms): the -e check, which loads this module in its own process, never needs it
        from ansible_collections.aegee.deploy.plugins.module_utils import (  # noqa: PLC0415 pylint: disable=import-outside-toplevel
            _checks,
        )

        for problem in _checks.inventory_problems(hv, skip={name for h, name in reported if h == host}):
            add(problem, host)
        for problem in _scenario_files.inventory_problems(hv):  # the browser scenarios: read and compiled here
            add(problem, host)
        if hv.get("aegee_registry_username") and not hv.get("aegee_registry_password"):
            add("aegee_registry_username is set but aegee_registry_password is not: set the password (from vault)",
                host)
        env = hv.get("aegee_environment") or (list(hv.get("group_names") or []) + ["ungrouped"])[0]
        environments.setdefault(str(env), []).append(host)
        source = hv.get("aegee_promote_from")
        if source is None:
            continue
        if not isinstance(source, str) or not groups.get(source):
            add("aegee_promote_from=%s is not an inventory group with hosts: name the environment whose verified "
                "versions these hosts get (groups: %s)"
                % (shown(source), ", ".join(sorted(set(groups) - {"all", "ungrouped"})) or "none"), host)
            continue
        first = groups[source][0]
        state_dir = (hostvars.get(first) or {}).get("aegee_state_dir")
        if first not in hosts and state_dir is not None and (first, "aegee_state_dir") not in reported:
            for problem in SETTINGS["aegee_state_dir"](state_dir):
                add("aegee_state_dir of %s (the first host of aegee_promote_from=%s, whose release state is read) %s"
                    % (first, source, problem), host)
        if (first, "aegee_deploy_root") in reported:
            continue
        problem = _root_problem((hostvars.get(first) or {}).get("aegee_deploy_root"))
        if problem:
            add("aegee_deploy_root of %s (the first host of aegee_promote_from=%s, whose release state is read) %s"
                % (first, source, problem), host)
    problems = ["%s (on %s)" % (message, ", ".join(where)) for message, where in found.items()]
    if one_environment and len(environments) > 1:
        problems.append("the play targets several environments (%s): deploy one environment at a time "
                        "(-l staging or -l production)"
                        % "; ".join("%s: %s" % (env, ", ".join(h)) for env, h in sorted(environments.items())))
    return problems


__all__ = ["INPUTS", "INVENTORY", "SERVICE_RE", "SERVICE_RULE", "PlanError", "check_inputs", "check_inventory",
           "check_version_input", "kind", "parse_services", "shown", "unknown_service"]
