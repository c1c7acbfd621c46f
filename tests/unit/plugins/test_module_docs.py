# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module's documentation, as ansible-doc renders it (doc fragments merged), says what its argument spec does.

Also: each action group of meta/runtime.yml only holds modules that take the options it is for, so module_defaults
for the group cannot hand a module an option it refuses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.aegee.deploy.plugins.action import release_plan
from ansible_collections.aegee.deploy.plugins.module_utils import _args
from ansible_collections.aegee.deploy.plugins.modules import (
    browser_scenarios,
    compose_pin,
    compose_release,
    image_version_info,
    release_info,
    service_version,
)
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_args import documented
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import argument_spec_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = {m.__name__.rsplit(".", 1)[1]: m
           for m in (browser_scenarios, compose_pin, compose_release, image_version_info, release_info,
                     service_version)}
NAMES = sorted([*MODULES, "release_plan"])


@pytest.fixture(scope="module")
def docs():
    """ansible-doc's JSON of every module, from this checkout."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    proc = subprocess.run([ansible_doc, "-t", "module", "--json", *("aegee.deploy." + n for n in NAMES)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return {name.rsplit(".", 1)[1]: doc["doc"] for name, doc in json.loads(proc.stdout).items()}


def spec_of(name, monkeypatch):
    if name == "release_plan":
        return release_plan.argument_spec()  # an action plugin: the module file is its documentation
    return argument_spec_of(MODULES[name], monkeypatch)


@pytest.mark.parametrize("name", NAMES)
def test_the_docs_are_the_argument_spec(docs, monkeypatch, name):
    assert documented(docs[name]["options"]) == documented(spec_of(name, monkeypatch))


def test_release_plan_is_an_action_with_a_documentation_stub():
    path = os.path.join(REPO, "plugins", "modules", "release_plan.py")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert "def main" not in text and "import" not in text.replace("from __future__ import annotations", "")


@pytest.mark.parametrize(
    ("group", "spec"),
    [("registry", _args.registry_login_spec()), ("deploy_root", _args.deploy_root_spec())],
)
def test_every_module_of_an_action_group_takes_its_options(monkeypatch, group, spec):
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
        members = yaml.safe_load(handle)["action_groups"][group]
    assert members
    for name in members:
        module_spec = spec_of(name, monkeypatch)
        assert {option: module_spec.get(option) for option in spec} == spec, name


def test_the_modules_that_take_the_shared_options_are_in_their_group(monkeypatch):
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
        groups = yaml.safe_load(handle)["action_groups"]
    for group, spec in (("registry", _args.registry_login_spec()), ("deploy_root", _args.deploy_root_spec())):
        takers = sorted(n for n in NAMES if set(spec) <= set(spec_of(n, monkeypatch)))
        assert sorted(groups[group]) == takers, group
