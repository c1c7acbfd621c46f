# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared argument specs and their checks (_args), each spec against the doc fragment it is paired with."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.aegee.deploy.plugins.doc_fragments import deploy_root, registry, scenarios
from ansible_collections.aegee.deploy.plugins.module_utils import _args


def fragment_options(text):
    return yaml.safe_load(text)["options"]


def documented(options):
    """What an argument spec, or the documentation of one, says of each option (the parts both have)."""
    return {name: {"type": option.get("type", "str"), "default": option.get("default"),
                   "required": bool(option.get("required")), "aliases": sorted(option.get("aliases", [])),
                   "elements": option.get("elements")}
            for name, option in options.items()}


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (_args.registry_login_spec(), registry.ModuleDocFragment.DOCUMENTATION),
        (_args.registry_api_spec(), registry.ModuleDocFragment.API),
        (_args.deploy_root_spec(), deploy_root.ModuleDocFragment.DOCUMENTATION),
        (_args.scenario_spec(), scenarios.ModuleDocFragment.DOCUMENTATION),
    ],
    ids=["registry", "registry.api", "deploy_root", "scenarios"],
)
def test_each_spec_is_what_its_fragment_documents(spec, fragment):
    assert documented(fragment_options(fragment)) == documented(spec)


def test_the_password_is_no_log_under_every_name():
    spec = _args.registry_login_spec()
    assert spec["password"]["no_log"] is True
    assert spec["password"]["aliases"] == ["registry_password"]
    assert spec["username"]["aliases"] == ["registry_username"]


def test_registry_spec_is_both_halves():
    assert _args.registry_spec() == dict(_args.registry_login_spec(), **_args.registry_api_spec())


@pytest.mark.parametrize(
    ("params", "login"),
    [
        ({"registry": "r.example.org", "username": None, "password": None}, None),
        ({"registry": "r.example.org", "username": "", "password": "x"}, None),
        ({"registry": None, "username": None, "password": None}, None),
        ({"registry": "r.example.org", "username": "u", "password": "p"},
         {"registry": "r.example.org", "username": "u", "password": "p"}),
    ],
)
def test_registry_login(params, login):
    assert _args.registry_login(params) == login


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"registry": None, "username": "u", "password": "p"}, "but registry is empty: set registry too"),
        ({"registry": "r", "username": "u", "password": ""}, "but password is empty: set password too"),
        ({"registry": "", "username": "u", "password": None},
         "but registry and password are empty: set registry and password too"),
    ],
)
def test_a_login_needs_registry_and_password(params, message):
    with pytest.raises(ValueError, match=message):
        _args.registry_login(params)


@pytest.mark.parametrize("value", [".aegee", "state", "var/aegee", ".aegee/", "a..b"])
def test_state_dirs(value):
    assert _args.is_state_dir(value)
    assert _args.deploy_root_problem({"root": "/srv/myaegee", "state_dir": value}) is None


@pytest.mark.parametrize("value", ["", ".", "/", "./", "/var/lib/aegee", "..", "../state", "a/../../b", None, 5])
def test_not_state_dirs(value):
    assert not _args.is_state_dir(value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"root": "srv", "state_dir": ".aegee"}, "root must be an absolute path without '..', got 'srv'"),
        ({"root": "/srv/../etc", "state_dir": ".aegee"},
         "root must be an absolute path without '..', got '/srv/../etc'"),
        ({"root": "/srv/myaegee", "state_dir": "../x"}, "state_dir must be a folder name inside root, got '../x'"),
    ],
)
def test_deploy_root_problems(params, message):
    assert _args.deploy_root_problem(params) == message
