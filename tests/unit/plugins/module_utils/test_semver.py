# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit and property tests of the shared semver helpers (tag handling and ordering)."""

from __future__ import annotations

import functools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.aegee.deploy.plugins.module_utils import _semver


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.4.2", True),
        ("0.0.0", True),
        ("1.38.1", True),
        ("2.0.0-rc.1", True),
        ("1.0.0+build.5", True),
        ("1.0.0-alpha.beta+exp.sha.5114f85", True),
        ("v1.4.2", False),
        ("V1.4.2", False),
        ("1.4", False),
        ("1", False),
        ("latest", False),
        ("stable", False),
        ("dev", False),
        ("01.4.2", False),
        ("1.4.2 ", False),
        (" 1.4.2", False),
        ("", False),
        (None, False),
        (142, False),
    ],
)
def test_is_version(text, expected):
    assert _semver.is_version(text) is expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("v1.4.2", "has a 'v' prefix"),
        ("1.4", "not a semantic version"),
        ("latest", "not a semantic version"),
        (" 1.4.2", "not a semantic version"),
        (None, "must be a string"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(_semver.VersionError) as exc:
        _semver.parse(text)
    assert fragment in str(exc.value)


def test_tags_in_the_real_shape():
    tags = ["latest", "1.5.0", "dev", "1.4.2", "v1.4.2", "1.4", "1.4.1", "stable", "1.6.0-rc.1", "1.10.0"]
    assert _semver.versions_from_tags(tags) == ["1.4.1", "1.4.2", "1.5.0", "1.10.0"]
    assert _semver.versions_from_tags(tags, include_prerelease=True) == [
        "1.4.1",
        "1.4.2",
        "1.5.0",
        "1.6.0-rc.1",
        "1.10.0",
    ]
    assert _semver.newest(tags) == "1.10.0"
    assert _semver.newest(["latest", "dev"]) is None
    assert _semver.newest(["1.6.0-rc.1"]) is None
    assert _semver.newest(["1.6.0-rc.1"], include_prerelease=True) == "1.6.0-rc.1"


@pytest.mark.parametrize(
    ("ordered"),
    [
        # the SemVer 2.0.0 spec's own example of precedence
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ],
        ["1.0.0", "2.0.0", "2.1.0", "2.1.1"],
        ["1.9.0", "1.10.0", "1.11.0"],
        ["0.9.9", "1.0.0-0", "1.0.0"],
    ],
)
def test_spec_precedence(ordered):
    shuffled = list(ordered)
    random.Random(4).shuffle(shuffled)
    assert _semver.versions_from_tags(shuffled, include_prerelease=True) == ordered
    for lower, higher in zip(ordered, ordered[1:]):
        assert _semver.compare(lower, higher) == -1
        assert _semver.compare(higher, lower) == 1


def test_build_metadata_does_not_change_precedence_but_order_is_total():
    assert _semver.compare("1.0.0+a", "1.0.0+b") == 0
    assert _semver.versions_from_tags(["1.0.0+b", "1.0.0", "1.0.0+a"]) == ["1.0.0", "1.0.0+a", "1.0.0+b"]


@pytest.mark.parametrize(
    ("target", "versions", "expected"),
    [
        ("1.4.3", ["1.4.1", "1.4.2", "1.5.0", "latest"], ["1.4.1", "1.4.2", "1.5.0"]),
        ("1.4.3", ["1.3.0", "1.4.1", "1.4.2", "1.5.0", "1.6.0"], ["1.4.2", "1.5.0", "1.6.0"]),
        ("9.0.0", ["1.4.1", "1.4.2", "1.5.0"], ["1.4.1", "1.4.2", "1.5.0"]),
        ("0.1.0", ["1.4.1", "1.4.2", "1.5.0", "1.6.0"], ["1.4.1", "1.4.2", "1.5.0"]),
        ("latest", ["1.4.1", "1.4.2", "1.5.0", "1.6.0"], ["1.4.2", "1.5.0", "1.6.0"]),
        ("v1.4.2", ["1.4.1", "1.4.2"], ["1.4.1", "1.4.2"]),
        ("1.0.0", ["latest", "dev"], []),
    ],
)
def test_nearest(target, versions, expected):
    assert _semver.nearest(target, versions) == expected


@pytest.mark.parametrize(
    ("version", "part", "expected"),
    [
        ("1.4.2", "patch", "1.4.3"),
        ("1.4.2", "minor", "1.5.0"),
        ("1.4.2", "major", "2.0.0"),
        ("1.4.2", "prerelease", "1.4.2-rc.1"),
        ("1.5.0-rc.1", "prerelease", "1.5.0-rc.2"),
    ],
)
def test_bump(version, part, expected):
    assert _semver.bump(version, part) == expected


def test_bump_unknown_part():
    with pytest.raises(_semver.VersionError) as exc:
        _semver.bump("1.0.0", "micro")
    assert "major, minor, patch, prerelease" in str(exc.value)


# ------------------------------------------------------------ property tests
#
# An independent, deliberately plain implementation of SemVer 2.0.0 precedence
# (section 11 of the spec) to check the library-backed ordering against.

_numeric = st.integers(min_value=0, max_value=30).map(str)
_alnum_id = st.text(alphabet="abcrx-", min_size=1, max_size=4).filter(lambda s: not s.isdigit())
_pre_id = st.one_of(_numeric, _alnum_id)
_versions = st.builds(
    lambda core, pre, build: "%d.%d.%d" % core + ("-" + ".".join(pre) if pre else "") + ("+" + build if build else ""),
    st.tuples(*(st.integers(min_value=0, max_value=12),) * 3),
    st.lists(_pre_id, max_size=3),
    st.one_of(st.none(), st.sampled_from(["b1", "exp.sha.5114f85", "001"])),
)
_noise = st.sampled_from(["latest", "dev", "stable", "1.4", "v1.4.2", "V2.0.0", "1", "main", "1.4.2.1", "01.2.3"])
_tags = st.lists(st.one_of(_versions, _noise), max_size=25)


def _reference_cmp(a, b):
    def split(v):
        v = v.split("+", 1)[0]
        core, _sep, pre = v.partition("-")
        return [int(x) for x in core.split(".")], pre.split(".") if pre else []

    ca, pa = split(a)
    cb, pb = split(b)
    if ca != cb:
        return -1 if ca < cb else 1
    if not pa or not pb:
        return (len(pb) > 0) - (len(pa) > 0)  # a version without prerelease is higher
    for x, y in zip(pa, pb):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1  # numeric identifiers are lower
        return -1 if x < y else 1
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


@settings(max_examples=300, deadline=None)
@given(_versions, _versions)
def test_compare_matches_the_spec(a, b):
    assert _semver.compare(a, b) == _reference_cmp(a, b)


@settings(max_examples=300, deadline=None)
@given(_tags, st.booleans())
def test_versions_from_tags_properties(tags, include_prerelease):
    out = _semver.versions_from_tags(tags, include_prerelease=include_prerelease)
    # only real versions, each once, all taken from the input
    assert len(out) == len(set(out))
    assert set(out) <= set(tags)
    assert all(_semver.is_version(v) for v in out)
    assert not any(n in out for n in ("latest", "dev", "stable", "1.4", "v1.4.2"))
    # nothing lost: every version tag (minus prereleases unless asked) is there
    expected = {t for t in tags if _semver.is_version(t) and (include_prerelease or "-" not in t.split("+")[0])}
    assert set(out) == expected
    # sorted oldest -> newest by precedence, ties broken by the string
    for a, b in zip(out, out[1:]):
        c = _reference_cmp(a, b)
        assert c < 0 or (c == 0 and a < b)
    # independent of the registry's order, and idempotent
    assert _semver.versions_from_tags(list(reversed(tags)), include_prerelease=include_prerelease) == out
    assert _semver.versions_from_tags(out, include_prerelease=include_prerelease) == out
    # newest is the last one
    assert _semver.newest(tags, include_prerelease=include_prerelease) == (out[-1] if out else None)


@settings(max_examples=200, deadline=None)
@given(_tags)
def test_sorting_agrees_with_reference(tags):
    versions = [t for t in set(tags) if _semver.is_version(t)]
    by_reference = sorted(versions, key=functools.cmp_to_key(lambda a, b: _reference_cmp(a, b) or (a > b) - (a < b)))
    assert sorted(versions, key=_semver.sort_key) == by_reference


@settings(max_examples=200, deadline=None)
@given(_versions, st.lists(_versions, max_size=12))
def test_nearest_properties(target, versions):
    near = _semver.nearest(target, versions, count=3)
    ordered = _semver.versions_from_tags(versions, include_prerelease=True)
    others = [v for v in ordered if _semver.compare(v, target) != 0]
    assert len(near) == min(3, len(others))
    assert set(near) <= set(others)  # never the target itself (nor an equal-precedence twin)
    assert near == sorted(near, key=_semver.sort_key)
    # closest first: below the target, the newest ones; above it, the oldest ones
    below = [v for v in others if _semver.compare(v, target) < 0]
    above = [v for v in others if _semver.compare(v, target) > 0]
    near_below = [v for v in near if v in below]
    near_above = [v for v in near if v in above]
    assert near_below == below[len(below) - len(near_below) :]
    assert near_above == above[: len(near_above)]
