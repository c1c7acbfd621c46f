# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit and property tests of the shared semver helpers (tag handling and ordering)."""

from __future__ import annotations

import functools
import random
import re

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


# ------------------------------------------------- P1: the whole grammar, and any text at all
#
# Versions drawn from the full SemVer 2.0.0 grammar (numeric identifiers
# without leading zeros, alphanumeric ones with hyphens, build metadata that
# may have leading zeros), and inputs that are anything at all: unicode,
# whitespace, shell metacharacters, very long strings, other types.

_full_numeric = st.integers(min_value=0, max_value=10**12).map(str)
_full_alnum = st.from_regex(r"[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*", fullmatch=True).filter(lambda s: len(s) <= 12)


def _version_text(core, pre, build):
    return "%d.%d.%d" % core + ("-" + ".".join(pre) if pre else "") + ("+" + ".".join(build) if build else "")


_full_versions = st.builds(
    _version_text,
    st.tuples(*(st.integers(min_value=0, max_value=10**9),) * 3),
    st.lists(st.one_of(_full_numeric, _full_alnum), max_size=4),
    st.lists(st.from_regex(r"[0-9A-Za-z-]{1,8}", fullmatch=True), max_size=3),
)
# the regular expression semver.org gives, with ASCII digits ("\d" would take any Unicode digit)
SEMVER_RE = (
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
SHELL = ["; touch /tmp/pwned", "$(id)", "`id`", "&&", "|", ">", "'", '"', "\\", "\n", "\x00", "${IFS}"]
_hostile = st.one_of(
    st.text(max_size=60),
    st.builds(lambda v, meta, at: v[:at] + meta + v[at:], _full_versions, st.sampled_from(SHELL), st.integers(0, 12)),
    st.builds(lambda v, pad: pad + v + pad, _full_versions,
              st.sampled_from([" ", "\t", "\n", "\u00a0", "\u2028", "\ufeff"])),
    st.builds(lambda v, p: p + v, _full_versions, st.sampled_from(["v", "V", "=", "^", "~"])),
    st.builds(lambda c, n: c * n, st.sampled_from(["1.", "9", "1.2.3-", "a.", "é"]), st.integers(100, 5000)),
    st.text(alphabet=st.characters(whitelist_categories=("Nd", "No", "Zs", "Cc")), max_size=20),
)
_not_strings = st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=10),
                         st.lists(st.integers(), max_size=2))


@pytest.mark.reliability("input", "P1", "Version strings: any text; round trips; SemVer precedence as a total order")
def test_versions_any_text_round_trip_and_total_order(reliability):
    seen = {"valid": 0, "refused": 0}

    @settings(max_examples=200, deadline=None)
    @given(_full_versions)
    def round_trip(text):
        v = _semver.parse(text)
        assert _semver.is_version(text)
        assert str(v) == text  # parse -> format gives the same string back
        assert "%d.%d.%d" % (v.major, v.minor, v.patch) == text.split("-")[0].split("+")[0]
        assert _semver.compare(text, text.split("+")[0]) == 0  # build metadata has no precedence
        seen["valid"] += 1

    @settings(max_examples=200, deadline=None)
    @given(_full_versions, _full_versions, _full_versions)
    def total_order(v1, v2, v3):
        k1, k2, k3 = (_semver.sort_key(v) for v in (v1, v2, v3))
        assert [k1 < k2, k2 < k1, v1 == v2].count(True) == 1  # total: exactly one holds
        assert _semver.compare(v1, v2) == -_semver.compare(v2, v1) == _reference_cmp(v1, v2)
        if _semver.compare(v1, v2):
            assert (k1 < k2) == (_semver.compare(v1, v2) < 0)  # the sort key follows precedence
        if k1 < k2 < k3:
            assert k1 < k3  # transitive
        assert sorted([v3, v2, v1], key=_semver.sort_key) == sorted([v1, v2, v3], key=_semver.sort_key)

    @settings(max_examples=200, deadline=None)
    @given(st.one_of(_hostile, _not_strings))
    def any_input(value):
        ok = _semver.is_version(value)
        assert ok is (isinstance(value, str) and re.fullmatch(SEMVER_RE, value) is not None)
        try:
            _semver.parse(value)
        except _semver.VersionError as exc:  # the only exception, and it says what is wrong
            assert not ok
            message = str(exc)
            if isinstance(value, str):
                assert repr(value) in message
                assert "not a semantic version (expected MAJOR.MINOR.PATCH" in message or "'v' prefix" in message
            else:
                assert message.startswith("a version must be a string like 1.4.2, got ")
            for call in (lambda: _semver.compare(value, "1.0.0"), lambda: _semver.sort_key(value),
                         lambda: _semver.next_version(value, "patch")):
                with pytest.raises(_semver.VersionError):
                    call()
            seen["refused"] += 1
        else:
            assert ok

    round_trip()
    total_order()
    any_input()
    for hostile in ("1.4.2; touch /tmp/pwned", "v1.4.2", "1.4.2\n", "１.４.２", 142):
        try:
            _semver.parse(hostile)
        except _semver.VersionError as exc:
            reliability.did("parse(%r) raised VersionError: %s" % (hostile, exc))
    reliability.checked("%d generated versions: parse then format gives the same string; build metadata does not "
                        "change precedence" % seen["valid"])
    reliability.checked("sort order is total, antisymmetric and transitive, and agrees with an independent "
                        "implementation of SemVer 2.0.0 section 11")
    reliability.checked("%d generated hostile inputs (unicode, whitespace, shell metacharacters, 5000-character "
                        "strings, other types) refused with VersionError naming the input; is_version said False; "
                        "never another exception" % seen["refused"])
