# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a person gives the playbooks and roles, and the inventory they need: _inputs.check_inputs, check_inventory."""

from __future__ import annotations

import pytest

from ansible_collections.aegee.deploy.plugins.plugin_utils import _inputs
from ansible_collections.aegee.deploy.plugins.plugin_utils._inputs import check_inputs, check_inventory, kind, shown

CATALOGUE = {"core": {"image": "aegee/core"}, "events": {"image": "aegee/events"}}
LONG = "x" * 5000


def problems(**values):
    return check_inputs(values, catalogue=CATALOGUE)


def one(**values):
    found = problems(**values)
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------ shown, kind


def test_shown_keeps_short_values_and_cuts_long_ones():
    assert shown("core") == "'core'"
    assert shown(LONG) == "'" + "x" * 59 + "... (5000 characters)"
    assert shown(list(range(100))).endswith("... (100 items)")
    assert shown(10 ** 100).endswith("...")
    assert len(shown(LONG)) < 100


class Tagged(str):
    pass


class Mapping(dict):
    pass


@pytest.mark.parametrize(("value", "name"), [(Tagged("x"), "str"), (True, "bool"), (1, "int"), (1.5, "float"),
                                             (Mapping(), "dict"), ((), "list"), ([], "list"), (None, "NoneType")])
def test_kind_names_plain_types(value, name):
    assert kind(value) == name


# ------------------------------------------------------------------ accepted


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"service": None, "version": None, "force": None},
        {"service": "core", "version": "1.5.0"},
        {"service": "core", "version": "latest"},
        {"services": "core,events"},
        {"services": ["core", "events"]},
        {"force": "yes", "break_lock": False, "require_pinned_version": "true", "registry_lookup": 1,
         "fail_on_problem": "off"},
        {"lock_wait": 0, "lock_ttl": "900", "smoke_timeout": 30, "timeout": "5", "history": 0},
        {"lock_wait": "86400"},
        {"serial": 1}, {"serial": "2"}, {"serial": "50%"}, {"serial": "100%"}, {"serial": [1, "50%"]},
        {"reason": "login broken"}, {"reason": "Login kaputt — Ü; $(id) `id` | tee"}, {"reason": "r" * 500},
        {"html_path": ""}, {"html_path": "status.html"}, {"html_path": "/var/www/aegee/Status.HTM"},
    ],
)
def test_accepted(values):
    assert check_inputs(values, catalogue=CATALOGUE) == []


def test_role_defaults_are_not_given():
    assert check_inputs({"services": "", "version": "", "force": False, "lock_wait": 0}, prefix="deploy_",
                        empty_is_default=True) == []
    assert check_inputs({"services": []}, empty_is_default=True) == []


# ------------------------------------------------------------------ refused, per input


@pytest.mark.parametrize("key", sorted(_inputs.INPUTS))
def test_every_input_refuses_empty_and_names_itself(key):
    if key == "html_path":
        assert problems(html_path="") == []
        return
    message = one(**{key: ""})
    assert message.startswith("%s is empty: use %s" % (key, _inputs.INPUTS[key][0]))
    assert message.endswith(", or leave it out")


@pytest.mark.parametrize("key", ["force", "break_lock", "require_pinned_version", "registry_lookup",
                                 "fail_on_problem"])
@pytest.mark.parametrize("value", ["maybe", "  ", "true; touch /tmp/pwned", "$(id)", "`id`", "ja", "2", [True],
                                   {"a": 1}, 1.5, "ｙｅｓ"])
def test_booleans(key, value):
    assert one(**{key: value}) == "%s=%s is not a boolean: use true or false" % (key, shown(value))


@pytest.mark.parametrize(
    ("key", "low", "high"),
    [("lock_wait", 0, 86400), ("lock_ttl", 60, 604800), ("smoke_timeout", 1, 3600), ("timeout", 1, 3600),
     ("history", 0, 100000)],
)
def test_whole_numbers(key, low, high):
    accepted = _inputs.INPUTS[key][0]
    assert problems(**{key: low}) == [] and problems(**{key: str(high)}) == []
    for value, why in [(low - 1, "is out of range"), (high + 1, "is out of range"),
                       ("abc", "is not a whole number"), ("-5", "is not a whole number"),
                       (" 5", "is not a whole number"), ("5s", "is not a whole number"),
                       ("1" * 20, "is not a whole number"), ("٣", "is not a whole number"),
                       ("5; touch /tmp/pwned", "is not a whole number"), (True, "is not a whole number (got bool)"),
                       (5.0, "is not a whole number (got float)"), ([5], "is not a whole number (got list)")]:
        assert one(**{key: value}) == "%s=%s %s: use %s" % (key, shown(value), why, accepted)


@pytest.mark.parametrize(
    ("value", "why"),
    [(0, "is out of range"), ("0", "is out of range"), ("abc", "is not a whole number"),
     ("-1", "is not a whole number"), ("0%", "is not a percentage from 1% to 100%"),
     ("150%", "is not a percentage from 1% to 100%"), ("50 %", "is not a whole number"),
     ([], "is an empty list"), ([1, "x"], "is not a whole number"), ({"a": 1}, "is not a whole number (got dict)"),
     ("1; touch /tmp/pwned", "is not a whole number")],
)
def test_serial(value, why):
    if value == []:
        assert one(serial=value).startswith("serial is empty")
        return
    assert one(serial=value) == "serial=%s %s: use %s" % (shown(value), why, _inputs.INPUTS["serial"][0])


@pytest.mark.parametrize(
    ("value", "why"),
    [("   ", "is blank"), ("\t", "is blank"), (LONG, "is 5000 characters long"), ("r" * 501, "is 501 characters long"),
     ("oops\nmark_bad: {core: 1.5.0}", "has control characters (line breaks, tabs, escapes)"),
     ("a\tb", "has control characters (line breaks, tabs, escapes)"),
     ("\x1b[31mred", "has control characters (line breaks, tabs, escapes)"),
     (5, "is not text (got int)"), ({"a": 1}, "is not text (got dict)"), (["x"], "is not text (got list)")],
)
def test_reason(value, why):
    message = one(reason=value)
    assert message == "reason=%s %s: use %s" % (shown(value), why, _inputs.INPUTS["reason"][0])
    assert LONG not in message


@pytest.mark.parametrize("value", ["../../etc/passwd", "/etc/passwd", "status", "status.html.sh", "x.html\n",
                                   "a" * 5000 + ".html", 5, ["x.html"]])
def test_html_path(value):
    assert "status_html_path=" in check_inputs({"html_path": value}, prefix="status_")[0]


# ------------------------------------------------------------------ services and version


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"service": "../../etc/passwd"}, "service: '../../etc/passwd' is not a service name"),
        ({"service": "core; touch /tmp/pwned"}, "service: 'core; touch /tmp/pwned' is not a service name"),
        ({"service": "$(id)"}, "service: '$(id)' is not a service name"),
        ({"service": "`id`"}, "service: '`id`' is not a service name"),
        ({"service": "cöre"}, "service: 'cöre' is not a service name"),
        ({"service": "  "}, "service='  ' is blank: name the services, or leave it out for every service"),
        ({"services": "core,,events"}, "services='core,,events' has an empty name"),
        ({"services": "core\nimage: evil"}, "services: 'core\\nimage: evil' is not a service name"),
        ({"services": {"core": {"image": "evil"}}}, "services must be a comma separated string or a list, got dict"),
        ({"services": ["core", {"$ne": 1}]}, "services: service names must be strings, got {'$ne': 1}"),
        ({"service": "nosuch"}, "service: unknown service 'nosuch': the catalogue (aegee_services) has core, events"),
        ({"services": "core,nosuch"}, "services: unknown service 'nosuch'"),
        ({"service": "core", "services": "events"}, "service and services are both given: use one of them"),
        ({"service": "core", "version": "1.4.2; touch /tmp/pwned"},
         "version: '1.4.2; touch /tmp/pwned' is not a semantic version"),
        ({"service": "core", "version": "$(id)"}, "version: '$(id)' is not a semantic version"),
        ({"service": "core", "version": "１.４.２"}, "version: '１.４.２' is not a semantic version"),
        ({"service": "core", "version": "  "}, "version: '  ' is not a semantic version"),
        ({"service": "core", "version": ["1.4.2"]}, "version must be a string such as 1.5.1 or latest, got ['1.4.2']"),
        ({"service": "core", "version": 1.5}, "version must be a string such as 1.5.1 or latest, got 1.5"),
        ({"services": "core,events", "version": "1.5.0"}, "version=1.5.0 needs exactly one service"),
        ({"version": "1.5.0"}, "version=1.5.0 needs exactly one service"),
    ],
)
def test_services_and_version(values, message):
    assert message in one(**values)


def test_a_long_service_or_version_is_not_echoed():
    for values in ({"service": LONG}, {"services": [LONG]}, {"service": "core", "version": "1." + "9" * 5000}):
        message = one(**values)
        assert "x" * 100 not in message and "9" * 100 not in message
        assert "characters)" in message


def test_a_long_version_says_the_docker_limit():
    assert "longer than a Docker tag can be (128 characters)" in one(service="core", version="1." + "9" * 127)
    assert problems(service="core", version="1.0.0-" + "a" * 122) == []


def test_version_count_is_not_checked_when_the_services_are_wrong():
    # one message, about the services: the version itself is fine
    assert one(service="../x", version="1.5.0").startswith("service: '../x' is not a service name")
    assert one(service="", version="1.5.0").startswith("service is empty")


def test_several_problems_are_all_named():
    found = problems(force="maybe", serial="0", service="core", version="v1.5.0", lock_wait="abc")
    assert [m.split("=")[0].split(":")[0] for m in found] == ["version", "force", "lock_wait", "serial"]


def test_prefix_names_the_role_variables():
    found = check_inputs({"services": "../x", "force": "maybe"}, prefix="deploy_", empty_is_default=True)
    assert found == [
        "deploy_services: '../x' is not a service name (%s)" % _inputs.SERVICE_RULE,
        "deploy_force='maybe' is not a boolean: use true or false",
    ]


def test_without_a_catalogue_services_are_not_looked_up():
    assert check_inputs({"service": "nosuch"}) == []
    assert check_inputs({"service": "nosuch"}, catalogue="not a mapping") == []


def test_an_unknown_input_name_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown input 'colour'"):
        check_inputs({"colour": "red"})


# ------------------------------------------------------------------ inventory

GOOD = {
    "aegee_services": {"core": {"image": "localhost:5000/aegee/core"}},
    "aegee_deploy_root": "/srv/myaegee",
    "aegee_deploy_repo_url": "git@git.example.org:aegee/deploy.git",
    "aegee_deploy_repo_branch": "stable",
    "aegee_registry": "localhost:5000",
    "group_names": ["staging"],
}


def host(**changes):
    found = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            found.pop(name, None)
        else:
            found[name] = value
    return found


def inventory(hostvars, hosts=None, groups=None, **kwargs):
    return check_inventory(hostvars, hosts or sorted(hostvars), groups or {"staging": ["s1"]}, **kwargs)


def test_a_good_inventory():
    assert inventory({"s1": host()}, one_environment=True) == []
    assert inventory({"s1": host(aegee_services=None)}, need=["aegee_deploy_root"]) == []


@pytest.mark.parametrize("name", sorted(_inputs.INVENTORY))
def test_missing_settings_are_named_with_their_hosts(name):
    found = inventory({"p1": host(**{name: None}), "p2": host(**{name: None}), "p3": host()})
    assert found == ["%s is not set: define it in the inventory (%s) (on p1, p2)" % (name, _inputs.INVENTORY[name])]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("aegee_deploy_root", "srv/myaegee", "must be an absolute path without '..'"),
        ("aegee_deploy_root", "/srv/../etc", "must be an absolute path without '..'"),
        ("aegee_deploy_root", "/", "must be an absolute path without '..' (not / itself)"),
        ("aegee_deploy_root", "", "must be an absolute path such as /srv/myaegee, got ''"),
        ("aegee_deploy_root", "/srv/x\n", "without spaces around it or control characters"),
        ("aegee_deploy_root", ["/srv"], "must be an absolute path such as /srv/myaegee, got ['/srv']"),
        ("aegee_deploy_repo_url", "--upload-pack=touch /tmp/pwned", "not starting with '-'"),
        ("aegee_deploy_repo_url", "/srv/git/deploy repo.git", "no spaces"),
        ("aegee_deploy_repo_branch", "--force", "must be a git branch name such as stable"),
        ("aegee_deploy_repo_branch", "stable; touch /tmp/pwned", "must be a git branch name"),
        ("aegee_deploy_repo_branch", "../../etc", "must be a git branch name"),
        ("aegee_deploy_repo_branch", "x.lock", "must be a git branch name"),
        ("aegee_deploy_repo_branch", "a" * 300, "must be a git branch name"),
        ("aegee_services", ["core"],
         "aegee_services must be a mapping of service name to {image: REPOSITORY}, got list"),
        ("aegee_services", {}, "aegee_services is empty"),
        ("aegee_services", {"../x": {"image": "x"}}, "aegee_services has '../x', which is not a service name"),
        ("aegee_services", {"core": "aegee/core"}, "aegee_services core needs an image"),
        ("aegee_services", {"core": {"image": ""}}, "aegee_services core needs an image"),
        ("aegee_services", {"core": {"image": "aegee/core:1.5.0"}}, "names a tag or digest (:1.5.0)"),
        ("aegee_services", {"core": {"image": "Aegee/Core; rm"}}, "is not a valid repository name"),
        ("aegee_service_ports", {"core": 0}, "aegee_service_ports core: 0 is not a port (1 to 65535)"),
        ("aegee_service_ports", {"core": "80; id"}, "is not a port"),
        ("aegee_service_ports", {"core": True}, "is not a port"),
        ("aegee_service_ports", [80], "aegee_service_ports must be a mapping of service name to a port"),
        ("aegee_smoke_urls", {"core": "file:///etc/passwd"}, "is not an http:// or https:// URL"),
        ("aegee_smoke_urls", {"core": "http://x/ y"}, "is not an http:// or https:// URL"),
        ("aegee_deploy_env", "A=1", "aegee_deploy_env must be a mapping of .env variable to value, got str"),
        ("aegee_registry_password", None, "aegee_registry_username is set but aegee_registry_password is not"),
        ("aegee_extra_checks", [{"name": "api"}], 'aegee_extra_checks[0] "api": has neither url nor command'),
        ("aegee_extra_checks", [{"url": "http://h/", "status": "gone"}],
         "aegee_extra_checks[0]: status 'gone' is not an HTTP status"),
        ("aegee_extra_checks", "curl http://h/", "aegee_extra_checks must be a list of checks"),
        ("aegee_browser_checks", {"frontend": {"url": "http://h/"}}, "aegee_browser_checks frontend: unknown "
                                                                     "service 'frontend'"),
        ("aegee_browser_checks", {"core": {"selector": "#app"}}, "aegee_browser_checks core: has no url"),
        ("aegee_browser_python", "", "aegee_browser_python must be the path (or command) of a Python"),
    ],
)
def test_wrong_settings(name, value, message):
    changes = {name: value}
    if name == "aegee_registry_password":
        changes["aegee_registry_username"] = "deployer"
    if name == "aegee_browser_checks":
        changes["aegee_browser_python"] = "/opt/playwright/bin/python"
    found = inventory({"s1": host(**changes)})
    assert len(found) == 1 and message in found[0] and found[0].endswith("(on s1)"), found


def test_the_checks_of_the_inventory_are_refused_naming_the_check():
    checks = {"aegee_extra_checks": [{"name": "gateway", "url": "http://h/"}, {"name": "migrations"}],
              "aegee_browser_checks": {"core": {"url": "http://h/", "expect": "MyAEGEE"}}}
    assert inventory({"s1": host(**checks), "s2": host(**checks)}) == [
        'aegee_extra_checks[1] "migrations": has neither url nor command: give a url to GET from the host, or a '
        "command to run on it (on s1, s2)",
        "aegee_browser_python is not set: the browser check of core needs a Python with Playwright on the host, "
        "such as /opt/playwright/bin/python (on s1, s2)"]
    fixed = {"aegee_browser_python": "/opt/pw/bin/python",
             "aegee_browser_checks": checks["aegee_browser_checks"],
             "aegee_extra_checks": [{"name": "gateway", "url": "http://h/", "status": 404},
                                    {"name": "migrations", "command": "true"}]}
    assert inventory({"s1": host(**fixed)}) == []


def test_several_environments_are_refused_when_one_is_wanted():
    hostvars = {"s1": host(), "p1": host(aegee_environment="production"), "p2": host(group_names=["production"])}
    found = inventory(hostvars, one_environment=True)
    assert found == ["the play targets several environments (production: p1, p2; staging: s1): deploy one "
                     "environment at a time (-l staging or -l production)"]
    assert inventory(hostvars) == []


def test_promote_from_needs_a_group_with_a_readable_first_host():
    groups = {"staging": ["s1"], "production": ["p1"], "empty": []}
    assert inventory({"p1": host(aegee_promote_from="staging"), "s1": host()}, hosts=["p1"], groups=groups) == []
    for source in ("stagign", "empty", ["staging"]):
        found = inventory({"p1": host(aegee_promote_from=source)}, hosts=["p1"], groups=groups)
        assert found == ["aegee_promote_from=%s is not an inventory group with hosts: name the environment whose "
                         "verified versions these hosts get (groups: empty, production, staging) (on p1)"
                         % shown(source)]
    found = inventory({"p1": host(aegee_promote_from="staging"), "s1": host(aegee_deploy_root="../x")},
                      hosts=["p1"], groups=groups)
    assert found == ["aegee_deploy_root of s1 (the first host of aegee_promote_from=staging, whose release state is "
                     "read) must be an absolute path without '..' (not / itself), such as /srv/myaegee, got '../x' "
                     "(on p1)"]


def test_a_host_without_variables():
    assert inventory({}, hosts=["ghost"], need=["aegee_deploy_root"]) == [
        "aegee_deploy_root is not set: define it in the inventory (%s) (on ghost)"
        % _inputs.INVENTORY["aegee_deploy_root"]]


@pytest.mark.parametrize("value", ["../state", "/var/lib/aegee", "", ".", 5])
def test_a_state_dir_outside_the_deploy_root_is_refused(value):
    found = inventory({"s1": host(aegee_state_dir=value)})
    assert found == ["aegee_state_dir must be a folder inside aegee_deploy_root, such as .aegee (relative, without "
                     "'..'), got %s (on s1)" % shown(value)]


@pytest.mark.parametrize("value", [".aegee", "release-state", "var/aegee"])
def test_a_state_dir_inside_the_deploy_root(value):
    assert inventory({"s1": host(aegee_state_dir=value)}) == []


def test_the_promotion_sources_state_dir_is_checked():
    """Promotion reads state.json from the source's aegee_state_dir: a wrong one is refused before any host."""
    groups = {"staging": ["s1"], "production": ["p1"]}
    prod = host(aegee_promote_from="staging")
    assert inventory({"p1": prod, "s1": host(aegee_state_dir="release-state")}, hosts=["p1"], groups=groups) == []
    found = inventory({"p1": prod, "s1": host(aegee_state_dir="/var/lib/aegee")}, hosts=["p1"], groups=groups)
    assert found == ["aegee_state_dir of s1 (the first host of aegee_promote_from=staging, whose release state is "
                     "read) must be a folder inside aegee_deploy_root, such as .aegee (relative, without '..'), got "
                     "'/var/lib/aegee' (on p1)"]
    # a source in the play is checked as one of its hosts, once
    found = inventory({"p1": prod, "s1": host(aegee_state_dir="/var/lib/aegee")}, hosts=["p1", "s1"], groups=groups)
    assert found == ["aegee_state_dir must be a folder inside aegee_deploy_root, such as .aegee (relative, without "
                     "'..'), got '/var/lib/aegee' (on s1)"]


def test_start_first_on_a_service_with_a_fixed_host_port_is_refused_naming_service_and_reason():
    catalogue = {"core": {"image": "aegee/core", "switch": "start-first"},
                 "events": {"image": "aegee/events", "switch": "stop-first"}}
    found = inventory({"s1": host(aegee_services=catalogue, aegee_service_ports={"core": 8084, "events": 8085})})
    assert found == ["aegee_services core asks for switch: start-first, but aegee_service_ports gives it the fixed "
                     "host port 8084, and two containers cannot publish one port: reach it through the gateway "
                     "(remove its port) or drop the switch setting (on s1)"]
    assert inventory({"s1": host(aegee_services=catalogue, aegee_service_ports={"events": 8085})}) == []


def test_a_switch_that_is_no_mode_is_refused():
    catalogue = {"core": {"image": "aegee/core", "switch": "blue-green"}}
    assert inventory({"s1": host(aegee_services=catalogue)}) == [
        "aegee_services core: switch 'blue-green' is neither start-first nor stop-first (on s1)"]
