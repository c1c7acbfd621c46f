# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The semver filters and test, called directly and through Jinja2 templating."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.filter import semver as f
from ansible_collections.aegee.deploy.plugins.test import semver as t

TAGS = ["latest", "1.10.0", "1.9.3", "1.10.0-rc.1", "v1.2.0", "1.4", "dev", "1.9.3", "0.1.0+build.7"]


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({}, ["0.1.0+build.7", "1.9.3", "1.10.0"]),
        ({"include_prerelease": True}, ["0.1.0+build.7", "1.9.3", "1.10.0-rc.1", "1.10.0"]),
        ({"reverse": True}, ["1.10.0", "1.9.3", "0.1.0+build.7"]),
    ],
)
def test_semver_sort(kwargs, expected):
    assert f.semver_sort(TAGS, **kwargs) == expected


@pytest.mark.parametrize(
    "a,b,expected",
    [("1.10.0", "1.9.3", 1), ("1.0.0", "1.0.0+b", 0), ("1.0.0-rc.1", "1.0.0", -1), ("1.0.0-rc.2", "1.0.0-rc.10", -1)],
)
def test_semver_compare(a, b, expected):
    assert f.semver_compare(a, b) == expected


@pytest.mark.parametrize("a,b", [("latest", "1.0.0"), ("1.0.0", "v1.0.0")])
def test_semver_compare_errors(a, b):
    with pytest.raises(AnsibleFilterError, match=r"semver_compare: .*not a semantic version|'v' prefix"):
        f.semver_compare(a, b)


def test_semver_newest():
    assert f.semver_newest(TAGS) == "1.10.0"
    assert f.semver_newest(["1.0.0", "1.1.0-rc.1"], include_prerelease=True) == "1.1.0-rc.1"
    assert f.semver_newest(["latest"]) is None


@pytest.mark.parametrize(
    "value,expected",
    [
        ("1.2.3", True),
        ("1.2.3-rc.1", True),
        ("v1.2.3", False),
        ("1.2", False),
        (None, False),
        (123, False),
        ("", False),
    ],
)
def test_is_version(value, expected):
    assert f.semver_is_version(value) is expected
    assert t.semver_version(value) is expected


def test_test_plugin_prerelease_option():
    assert t.semver_version("1.0.0-rc.1", include_prerelease=False) is False
    assert t.semver_version("1.0.0", include_prerelease=False) is True


@pytest.mark.parametrize(
    "version,part,token,expected",
    [
        ("1.38.1", "patch", "rc", "1.38.2"),
        ("1.38.1", "minor", "rc", "1.39.0"),
        ("1.38.1", "major", "rc", "2.0.0"),
        ("1.38.1", "prerelease", "beta", "1.38.2-beta.1"),
        ("1.38.2-rc.1", "patch", "rc", "1.38.2"),
    ],
)
def test_semver_bump(version, part, token, expected):
    assert f.semver_bump(version, part, token) == expected


@pytest.mark.parametrize("version,part", [("1.0", "patch"), ("1.0.0", "huge")])
def test_semver_bump_errors(version, part):
    with pytest.raises(AnsibleFilterError, match=r"semver_bump: "):
        f.semver_bump(version, part)


@pytest.mark.parametrize("bad", ["1.0.0", 5, None])
def test_list_filters_want_lists(bad):
    with pytest.raises(AnsibleFilterError, match=r"expects a list of tags"):
        f.semver_sort(bad)


def test_registered_names():
    assert sorted(f.FilterModule().filters()) == [
        "semver_bump",
        "semver_compare",
        "semver_is_version",
        "semver_newest",
        "semver_sort",
    ]
    assert list(t.TestModule().tests()) == ["semver_version"]
