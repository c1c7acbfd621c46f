# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drive service_version's main()."""

from __future__ import annotations

import json

import pytest

from ansible_collections.aegee.deploy.plugins.modules import service_version
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import run_main

PACKAGE = '{\n  "name": "core",\n  "version": "1.38.1",\n  "private": true\n}\n'
LOCK = (
    '{\n  "name": "core",\n  "version": "1.38.1",\n'
    '  "packages": {\n    "": {\n      "version": "1.38.1"\n    }\n  }\n}\n'
)


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "package.json").write_text(PACKAGE)
    (tmp_path / "package-lock.json").write_text(LOCK)
    return tmp_path


def run(args, expect="exit"):
    return run_main(service_version.main, args, expect)


def test_read(checkout):
    result = run({"path": str(checkout)})
    assert result == dict(
        changed=False,
        version="1.38.1",
        previous_version="1.38.1",
        file=str(checkout / "package.json"),
        kind="package.json",
        files_changed=[],
    )


def test_bump_updates_package_and_lock(checkout):
    result = run({"path": str(checkout), "bump": "minor", "_ansible_diff": True})
    assert result["changed"] is True
    assert (result["previous_version"], result["version"]) == ("1.38.1", "1.39.0")
    assert result["files_changed"] == [str(checkout / "package.json"), str(checkout / "package-lock.json")]
    assert isinstance(result["diff"], list) and len(result["diff"]) == 2
    assert (checkout / "package.json").read_text() == PACKAGE.replace("1.38.1", "1.39.0")
    lock = json.loads((checkout / "package-lock.json").read_text())
    assert lock["version"] == lock["packages"][""]["version"] == "1.39.0"


def test_check_mode(checkout):
    result = run({"path": str(checkout), "bump": "prerelease", "_ansible_check_mode": True})
    assert result["changed"] is True and result["version"] == "1.38.2-rc.1"
    assert (checkout / "package.json").read_text() == PACKAGE


def test_set_is_idempotent(tmp_path):
    (tmp_path / "VERSION").write_text("1.0.0\n")
    assert run({"path": str(tmp_path), "set": "1.1.0"})["changed"] is True
    assert (tmp_path / "VERSION").read_text() == "1.1.0\n"
    assert run({"path": str(tmp_path), "set": "1.1.0"})["changed"] is False


def test_prerelease_token(tmp_path):
    (tmp_path / "VERSION").write_text("1.0.0")
    result = run({"path": str(tmp_path), "bump": "prerelease", "prerelease_token": "beta"})
    assert result["version"] == "1.0.1-beta.1"
    assert (tmp_path / "VERSION").read_text() == "1.0.1-beta.1"


@pytest.mark.parametrize(
    "args,pattern",
    [
        ({"bump": "patch", "set": "1.0.0"}, r"mutually exclusive: bump\|set"),
        ({"bump": "huge"}, r"value of bump must be one of: major, minor, patch, prerelease"),
        ({"set": "v2.0.0"}, r"has a 'v' prefix"),
        ({"file": "nope.txt"}, r"version file .*nope.txt does not exist"),
    ],
)
def test_errors(checkout, args, pattern):
    import re

    result = run(dict(args, path=str(checkout)), expect="fail")
    assert re.search(pattern, result["msg"]), result["msg"]
    assert (checkout / "package.json").read_text() == PACKAGE


def test_non_semver_current(tmp_path):
    (tmp_path / "VERSION").write_text("v1.0\n")
    result = run({"path": str(tmp_path), "bump": "patch"}, expect="fail")
    assert "is not a semantic version" in result["msg"] and "VERSION" in result["msg"]
