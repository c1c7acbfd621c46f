# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""compose_release's options as main() hands them to the release (the release itself is faked: no host here)."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.aegee.deploy.plugins.doc_fragments.registry import ModuleDocFragment
from ansible_collections.aegee.deploy.plugins.modules import compose_release
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import run_main

PASSWORD = "Release-Secret-9f8e"
BASE = {"root": "/srv/myaegee", "repo_url": "https://git.example.org/aegee/myaegee.git", "branch": "stable",
        "services": {"core": {"version": "1.5.1"}}}


class FakeRelease:
    """Records the parameters compose_release gives the release, and releases nothing."""

    params = None

    def __init__(self, params, run, http_get, check_mode=False):
        FakeRelease.params = params
        self.result = {"warnings": []}

    def execute(self):
        return {"changed": False, "services": {}, "recreate": [], "timings": [], "warnings": [], "diff": []}


@pytest.fixture
def release(monkeypatch):
    monkeypatch.setattr(compose_release, "Release", FakeRelease)
    monkeypatch.setattr(compose_release.signal, "signal", lambda *args: None)
    FakeRelease.params = None
    return FakeRelease


def run(args, expect="exit"):
    return run_main(compose_release.main, dict(BASE, **args), expect)


@pytest.mark.parametrize(
    "args",
    [
        {"registry": "registry.example.org"},  # refused before: registry, username and password were required together
        {"registry": "registry.example.org", "username": ""},
        {"registry": "registry.example.org", "registry_username": "", "registry_password": ""},
        {"registry": "registry.example.org", "password": PASSWORD},
        {},
    ],
)
def test_no_login_when_the_username_is_empty(release, args):
    run(args)
    assert "registry_login" not in release.params


@pytest.mark.parametrize(
    "names",
    [("username", "password"), ("registry_username", "registry_password")],  # the older names are aliases
)
def test_login_with_a_username(release, names):
    user, password = names
    run({"registry": "registry.example.org", user: "deployer", password: PASSWORD})
    assert release.params["registry_login"] == {"registry": "registry.example.org", "username": "deployer",
                                                "password": PASSWORD}


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        ({"username": "deployer", "password": PASSWORD}, "registry is empty"),
        ({"registry": "registry.example.org", "username": "deployer"}, "password is empty"),
        ({"registry_username": "deployer"}, "registry and password are empty"),
    ],
)
def test_a_username_needs_a_registry_and_a_password(release, args, missing):
    result = run(args, expect="fail")
    assert missing in result["msg"] and "leave username empty for no login" in result["msg"]
    assert release.params is None  # nothing was released
    assert PASSWORD not in result["msg"]


def test_the_docs_say_what_the_spec_does():
    """The doc fragment compose_release uses describes the same rule: an empty username means no login."""
    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    text = " ".join(options["username"]["description"])
    assert "Empty or omitted, nothing logs in" in text
    assert "O(registry) and O(password) are needed too" in text
    assert options["username"]["aliases"] == ["registry_username"]
    assert options["password"]["aliases"] == ["registry_password"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"root": "srv/myaegee"}, "root must be an absolute path without '..'"),
        ({"root": "/srv/../etc"}, "root must be an absolute path without '..'"),
        ({"state_dir": "/var/lib/aegee"}, "state_dir must be a folder name inside root"),
        ({"state_dir": "../state"}, "state_dir must be a folder name inside root"),
        ({"state_dir": "."}, "state_dir must be a folder name inside root"),
    ],
)
def test_root_and_state_dir_are_checked(release, args, message):
    assert message in run(args, expect="fail")["msg"]
    assert release.params is None


def test_the_state_dir_is_passed_on(release):
    run({"state_dir": "release-state"})
    assert release.params["state_dir"] == "release-state" and release.params["root"] == "/srv/myaegee"


# ------------------------------------------------------------ follow_branches


@pytest.mark.parametrize(
    ("follow", "passed"),
    [
        ({}, {}),
        ({"core": "master"}, {"core": "master"}),
        ({"core": "release/1.x", "events": "develop"}, {"core": "release/1.x", "events": "develop"}),
    ],
)
def test_follow_branches_are_passed_on(release, follow, passed):
    run({"follow_branches": follow})
    assert release.params["follow_branches"] == passed


@pytest.mark.parametrize(
    ("follow", "message"),
    [
        ({"core": "-x"}, "follow_branches.core: '-x' is not a git branch name"),
        ({"core": "a..b"}, "follow_branches.core: 'a..b' is not a git branch name"),
        ({"core": "with space"}, "follow_branches.core: 'with space' is not a git branch name"),
        ({"core": ""}, "follow_branches.core: '' is not a git branch name"),
        ({"../core": "master"}, "follow_branches: '../core' is not a service folder"),
        ({"/srv/core": "master"}, "follow_branches: '/srv/core' is not a service folder"),
    ],
)
def test_follow_branches_are_checked(release, follow, message):
    assert message in run({"follow_branches": follow}, expect="fail")["msg"]
    assert release.params is None
