# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""input_problems, inventory_problems, service_names: the playbooks' first tasks (checks: plugin_utils/_inputs)."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleError, AnsibleFilterError, AnsibleUndefinedVariable
from jinja2 import StrictUndefined

from ansible_collections.aegee.deploy.plugins.filter.inputs import (
    FilterModule,
    input_problems,
    inventory_problems,
    service_names,
)

GOOD = {
    "aegee_services": {"core": {"image": "aegee/core"}},
    "aegee_deploy_root": "/srv/myaegee",
    "aegee_deploy_repo_url": "/srv/git/deploy.git",
    "aegee_deploy_repo_branch": "stable",
}


class HostVars(dict):
    """Like Ansible's hostvars: a variable whose template fails raises when it is read."""

    def __getitem__(self, host):
        return Vars(dict.__getitem__(self, host))


class Vars(dict):
    def __getitem__(self, name):
        value = dict.__getitem__(self, name)
        if isinstance(value, Exception):
            raise value
        return value


def test_registered():
    assert set(FilterModule().filters()) == {"input_problems", "inventory_problems", "service_names"}


def test_input_problems():
    assert input_problems({"service": "core", "version": None}, {"core": {}}) == []
    assert input_problems({"force": "maybe"}) == ["force='maybe' is not a boolean: use true or false"]
    assert input_problems({"services": ""}, prefix="smoke_", empty_is_default=True) == []
    assert input_problems({"services": "x y"}, prefix="smoke_") == [
        "smoke_services: 'x y' is not a service name (lowercase letters, digits, '-', '_', '.', at most 63 "
        "characters; no spaces, slashes or shell characters)"]


@pytest.mark.parametrize(("value", "names"), [
    (None, []), ("", []), ([], []), ("core", ["core"]), ("core, events", ["core", "events"]),
    (["events", " core", "events"], ["events", "core"]), ("core,core", ["core"]),
])
def test_service_names(value, names):
    assert service_names(value) == names


@pytest.mark.parametrize(("value", "name", "message"), [
    ("core,,events", "services", "services='core,,events' has an empty name"),
    ("  ", "rollback_services", "rollback_services='  ' is blank"),
    (5, "smoke_services", "smoke_services must be a comma separated string or a list, got int"),
    ({"core": {}}, "services", "services must be a comma separated string or a list, got dict"),
    ("../etc", "services", "services: '../etc' is not a service name"),
])
def test_service_names_refuses_what_input_problems_refuses(value, name, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        service_names(value, name)
    assert input_problems({"services": value}, prefix=name[:-len("services")])[0].startswith(message)


@pytest.mark.parametrize(("values", "message"), [("force=maybe", "expects a mapping"),
                                                 ({"colour": "red"}, "unknown input 'colour'")])
def test_input_problems_misuse(values, message):
    with pytest.raises(AnsibleFilterError, match=message):
        input_problems(values)


def test_inventory_problems_reads_only_what_it_needs():
    hostvars = HostVars(s1=dict(GOOD, aegee_registry_password=RuntimeError("the password is never read"),
                                unrelated=RuntimeError("never read either")))
    assert inventory_problems(["s1"], hostvars, {"staging": ["s1"]}) == []


def test_inventory_problems_names_missing_settings_and_reads_the_promotion_source():
    hostvars = HostVars(p1=dict(GOOD, aegee_promote_from="staging"), s1={"aegee_deploy_root": "relative"})
    found = inventory_problems(["p1"], hostvars, {"staging": ["s1"]}, need=["aegee_deploy_root"])
    assert len(found) == 1 and found[0].startswith("aegee_deploy_root of s1 (the first host of aegee_promote_from")


def test_inventory_problems_reports_a_setting_that_cannot_be_read():
    hostvars = HostVars(s1=dict(GOOD, aegee_deploy_root=AnsibleUndefinedVariable("'testbed_root' is undefined")))
    found = inventory_problems(["s1"], hostvars)
    assert found[0] == "the variables of s1 cannot be read: 'testbed_root' is undefined"
    hostvars = HostVars(s1=dict(GOOD, aegee_services=AnsibleError("")))
    assert inventory_problems(["s1"], hostvars)[0].startswith("the variables of s1 cannot be read: ")
    assert inventory_problems(["s2"], hostvars)[0].startswith("the variables of s2 cannot be read: ")


def test_a_setting_whose_template_failed_is_said_once():
    # Ansible 2.19 hands a failed template (undefined variable, no vault secret) over as an Undefined marker
    undefined = StrictUndefined(name="nosuchvar")
    hostvars = HostVars(p1=dict(GOOD, aegee_deploy_root=undefined, aegee_promote_from="staging"),
                        s1=dict(GOOD, aegee_deploy_root=undefined, aegee_registry_username=undefined))
    assert inventory_problems(["p1"], hostvars, {"staging": ["s1"]}) == [
        "aegee_deploy_root of p1 cannot be used: 'nosuchvar' is undefined",
        "aegee_deploy_root of s1 cannot be used: 'nosuchvar' is undefined",
        "aegee_registry_username of s1 cannot be used: 'nosuchvar' is undefined",
    ]


def test_inventory_problems_refuses_malformed_checks_naming_them():
    # what a role's first task sees, before any host is contacted
    hostvars = HostVars(s1=dict(GOOD, aegee_extra_checks=[{"name": "database migrations"}],
                                aegee_browser_checks={"core": {"url": "http://127.0.0.1:8084/"}}))
    assert inventory_problems(["s1"], hostvars, need=["aegee_deploy_root"]) == [
        'aegee_extra_checks[0] "database migrations": has neither url nor command: give a url to GET from the host, '
        "or a command to run on it (on s1)",
        "aegee_browser_python is not set: the browser check of core needs a Python with Playwright on the host, "
        "such as /opt/playwright/bin/python (on s1)"]


def test_a_browser_python_whose_template_failed_is_said_once():
    hostvars = HostVars(s1=dict(GOOD, aegee_browser_python=StrictUndefined(name="venv"),
                                aegee_browser_checks={"core": {"url": "http://127.0.0.1:8084/"}}))
    assert inventory_problems(["s1"], hostvars) == ["aegee_browser_python of s1 cannot be used: 'venv' is undefined"]


@pytest.mark.parametrize(("hosts", "kwargs", "message"), [("s1", {}, "expects a list of host names"),
                                                          (["s1"], {"need": ["aegee_colour"]}, "unknown settings")])
def test_inventory_problems_misuse(hosts, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        inventory_problems(hosts, HostVars(s1=GOOD), **kwargs)


def test_inventory_problems_reads_the_state_dir():
    hostvars = HostVars(s1=dict(GOOD, aegee_state_dir="../elsewhere"))
    found = inventory_problems(["s1"], hostvars, {"staging": ["s1"]})
    assert len(found) == 1 and found[0].startswith("aegee_state_dir must be a folder inside aegee_deploy_root")


@pytest.mark.parametrize(
    ("follow", "found"),
    [
        ({"core": "master", "events": "release/2.x"}, []),
        ({"core": "-x"}, ["aegee_follow_branches core: '-x' is not a git branch name of that service's repository, "
                          "such as master (on s1)"]),
        ({"core": 3}, ["aegee_follow_branches core: 3 is not a git branch name of that service's repository, such as "
                       "master (on s1)"]),
        ("master", ["aegee_follow_branches must be a mapping of service name to a git branch name of that service's "
                    "repository, such as master, got str (on s1)"]),
    ],
)
def test_inventory_problems_checks_the_followed_branches(follow, found):
    assert inventory_problems(["s1"], HostVars(s1=dict(GOOD, aegee_follow_branches=follow))) == found


def test_inventory_problems_refuses_a_scenario_that_does_not_compile_before_any_host(tmp_path):
    (tmp_path / "test_home.py").write_text("def test_home(page):\n    page.goto('/'\n")
    scenarios = dict(aegee_browser_scenarios=str(tmp_path), aegee_browser_base_url="http://127.0.0.2:18088",
                     aegee_browser_python="/opt/pw/bin/python")
    hostvars = HostVars(s1=dict(GOOD, **scenarios, aegee_browser_account={"username": "tester", "password": "pw"}))
    found = inventory_problems(["s1"], hostvars, need=["aegee_deploy_root"])
    assert len(found) == 1 and found[0].startswith(
        "aegee_browser_scenarios: %s line 2 does not compile: " % (tmp_path / "test_home.py"))
    # the account is read only for its shape, and only when the scenarios are on
    hostvars = HostVars(s1=dict(GOOD, aegee_browser_account=RuntimeError("never read without scenarios")))
    assert inventory_problems(["s1"], hostvars) == []
    hostvars = HostVars(s1=dict(GOOD, **dict(scenarios, aegee_browser_scenarios=str(tmp_path / "nothing")),
                                aegee_browser_account=AnsibleError("the vault secret is missing")))
    assert inventory_problems(["s1"], hostvars) == [
        "aegee_browser_account of s1 cannot be used: the vault secret is missing",
        "aegee_browser_scenarios: %s does not exist on the controller: name the folder of the browser scenarios "
        "(test_*.py files), or one scenario file (on s1)" % (tmp_path / "nothing")]
