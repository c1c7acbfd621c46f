# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``.env`` parsing and in-place edits: every byte the tool does not own is kept."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.aegee.deploy.plugins.module_utils import _dotenv
from ansible_collections.aegee.deploy.plugins.module_utils._dotenv import DotenvError, apply, parse

SAMPLE = (
    "# AEGEE platform settings\n"
    "\n"
    "ENABLED_SERVICES=core:events\n"
    "export MYAEGEE_ENV=staging   # the environment\n"
    "  BASE_URL = 'my.aegee.eu'\n"
    'SUBDOMAIN_FRONTEND="app."\n'
    "# CORE_VERSION=0.0.1 (commented out)\n"
    "some unknown syntax line\n"
    "PORT_PREFIX=80\n"
)


# ---------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("A=b", "A", "b"),
        ("A=", "A", ""),
        ("A=''", "A", ""),
        ('A=""', "A", ""),
        ("A='a b # not a comment'", "A", "a b # not a comment"),
        ('A="a b # not a comment"', "A", "a b # not a comment"),
        ("A=a b", "A", "a b"),
        ("A=value # comment", "A", "value"),
        ("A=value#no-space-is-not-a-comment", "A", "value#no-space-is-not-a-comment"),
        ("A='quoted' # comment", "A", "quoted"),
        ('A="quoted" # comment', "A", "quoted"),
        ("export A=b", "A", "b"),
        ("  export   A  =  b  ", "A", "b"),
        ("_A1=x", "_A1", "x"),
        ("A=x=y", "A", "x=y"),
        ("A='$NOT_EXPANDED'", "A", "$NOT_EXPANDED"),
        ('A="it\'s"', "A", "it's"),
        ("A=b\r", "A", "b"),
    ],
)
def test_parse_one_line(line, key, value):
    assert parse(line + "\n") == {key: value}


@pytest.mark.parametrize(
    "line",
    ["# A=b", "   # A=b", "1A=b", "A-B=c", "just words", "", "=value", "export=", "A"],
)
def test_parse_ignores_what_is_not_a_setting(line):
    assert parse(line + "\n") == ({"export": ""} if line == "export=" else {})


def test_parse_sample_and_last_one_wins():
    values = parse(SAMPLE + "PORT_PREFIX=81\n")
    assert values == {
        "ENABLED_SERVICES": "core:events",
        "MYAEGEE_ENV": "staging",
        "BASE_URL": "my.aegee.eu",
        "SUBDOMAIN_FRONTEND": "app.",
        "PORT_PREFIX": "81",
    }


def test_parse_without_final_newline_and_crlf():
    assert parse("A=1\r\nB=2") == {"A": "1", "B": "2"}


# ---------------------------------------------------------------------- apply


def test_apply_rewrites_in_place_and_keeps_every_other_byte():
    out = apply(SAMPLE, {"PORT_PREFIX": "90", "ENABLED_SERVICES": "core"})
    assert out == SAMPLE.replace("ENABLED_SERVICES=core:events", "ENABLED_SERVICES=core").replace(
        "PORT_PREFIX=80", "PORT_PREFIX=90"
    )


def test_apply_leaves_a_line_that_already_has_the_value_byte_for_byte():
    assert apply(SAMPLE, {"MYAEGEE_ENV": "staging", "BASE_URL": "my.aegee.eu"}) == SAMPLE


def test_apply_rewrites_an_export_line_as_a_plain_setting():
    out = apply(SAMPLE, {"MYAEGEE_ENV": "production"})
    assert "MYAEGEE_ENV=production\n" in out
    assert "staging" not in out
    assert parse(out)["MYAEGEE_ENV"] == "production"


def test_apply_appends_missing_keys_in_order():
    out = apply(SAMPLE, {"CORE_VERSION": "1.5.0", "EVENTS_VERSION": "1.4.2"})
    assert out == SAMPLE + "CORE_VERSION=1.5.0\nEVENTS_VERSION=1.4.2\n"
    # the commented-out CORE_VERSION is left alone
    assert "# CORE_VERSION=0.0.1 (commented out)\n" in out


def test_apply_appends_after_a_file_without_final_newline():
    assert apply("A=1", {"B": "2"}) == "A=1\nB=2\n"
    assert apply("", {"B": "2"}) == "B=2\n"


def test_apply_rewrite_keeps_a_missing_final_newline():
    assert apply("A=1\nB=2", {"B": "3"}) == "A=1\nB=3"


def test_apply_removes_later_duplicates():
    text = "A=1\nB=x\nA=2\nC=y\nA=3\n"
    out = apply(text, {"A": "9"})
    assert out == "A=9\nB=x\nC=y\n"
    assert parse(out)["A"] == "9"


def test_apply_removes_later_duplicates_even_when_first_has_the_value():
    out = apply("A=9\nA=2\n", {"A": "9"})
    assert out == "A=9\n"
    assert parse(out) == {"A": "9"}


def test_apply_with_nothing_to_set_returns_the_text():
    assert apply(SAMPLE, {}) == SAMPLE


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("plain", "plain"),
        ("1.5.0@sha256:" + "a" * 64, "1.5.0@sha256:" + "a" * 64),
        ("", "''"),
        ("a b", "'a b'"),
        ("a#b", "'a#b'"),
        ("$HOME", "'$HOME'"),
        ("back`tick`", "'back`tick`'"),
        ('say "hi"', "'say \"hi\"'"),
        ("it's", '"it\'s"'),
        (" lead", "' lead'"),
        ("tab\there", "'tab\there'"),
    ],
)
def test_apply_quotes_values_that_need_it(value, rendered):
    out = apply("", {"K": value})
    assert out == "K=%s\n" % rendered
    assert parse(out) == {"K": value}


@pytest.mark.parametrize(
    "value",
    [
        "it's \"quoted\"",
        "it's a back\\slash",
    ],
)
def test_values_with_both_quote_kinds_round_trip(value):
    out = apply("", {"K": value})
    assert parse(out) == {"K": value}
    assert apply(out, {"K": value}) == out


@pytest.mark.parametrize("key", ["1A", "A-B", "A B", "", "A=B", "Ä", "A.B", "export A", None, "A\n", "A\r"])
def test_apply_refuses_keys_that_are_not_identifiers(key):
    with pytest.raises(DotenvError, match="not a valid .env key"):
        apply("A=1\n", {key: "x"})


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\0b", "\n"])
def test_apply_refuses_line_breaks_and_nul(value):
    with pytest.raises(DotenvError, match="line break or NUL"):
        apply("A=1\n", {"A": value})


@pytest.mark.parametrize("value", [1, None, 1.5, ["x"]])
def test_apply_refuses_non_strings(value):
    with pytest.raises(DotenvError, match="must be a string"):
        apply("A=1\n", {"A": value})


def test_apply_checks_everything_before_changing_anything():
    with pytest.raises(DotenvError):
        apply("A=1\n", {"A": "2", "B": "bad\nvalue"})


def test_apply_twice_is_apply_once():
    settings_ = {"PORT_PREFIX": "90", "NEW": "a b", "ENABLED_SERVICES": "core:events:mailer"}
    once = apply(SAMPLE, settings_)
    assert apply(once, settings_) == once


# ------------------------------------------------------------------ property
#
# A plain port of how Docker Compose v2 reads a .env file (compose-go's
# dotenv parser and the "$$" escape of its template package), independent of
# _dotenv, to check that Compose reads back exactly what apply() wrote.

_GO_SPACE = "\t\v\f\r \x85\xa0"  # compose-go's isSpace (no line breaks)


class Interpolated(AssertionError):
    """Compose would replace part of the value with a variable's value."""


def _go_expand_variables(value):
    def one(m):
        if m.group(1):
            return "$"
        raise Interpolated("Compose would interpolate %r in %r" % (m.group(0), value))

    return re.sub(r"\$(?:(\$)|[_a-zA-Z]|\{)", one, value)


def _go_expand_escapes(value):
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}

    def one(m):
        match = m.group(0)
        if match == "\\$":
            return "$$"
        if match.startswith("\\0"):
            digits = match[2:]
            ok = len(digits) == 3 and set(digits) <= set("01234567") and int(digits, 8) < 256
            return chr(int(digits, 8)) if ok else match
        return simple.get(match[1], match)

    return re.sub(r'\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})', one, value)


def compose_reads(text):
    """KEY -> value as Compose v2 reads the .env ``text``; ValueError where Compose reports an error."""
    out = {}
    src = text
    while True:
        src = src.lstrip()  # unicode.IsSpace, line breaks included
        if src.startswith("#"):
            src = src[src.index("\n"):] if "\n" in src else ""
            continue
        if not src:
            return out
        if re.match(r"export[ \t\n\f\r]+", src):
            src = src[len("export"):].lstrip(_GO_SPACE)
        end = next((i for i, c in enumerate(src) if c in "=:\n"), None)
        if end is None or src[end] == "\n":
            raise ValueError("not a KEY=value line: %r" % src.split("\n")[0])
        key = src[:end].rstrip()
        if not re.fullmatch(r"[\w.\-\[\]]+", key):
            raise ValueError("unexpected character in variable name %r" % key)
        src = src[end + 1:].lstrip(_GO_SPACE)
        if src[:1] not in ("'", '"'):
            value, _sep, src = src.partition("\n")
            out[key] = _go_expand_variables(value.split(" #", 1)[0].rstrip())
            continue
        quote, chars, escaped = src[0], [], False
        for i in range(1, len(src)):
            char = src[i]
            if char != quote:
                if not escaped and char == "\\":
                    escaped = True
                    continue
                if escaped:
                    escaped = False
                    chars.append("\\")
                chars.append(char)
                continue
            if escaped:
                escaped = False
                chars.append(char)
                continue
            value = "".join(chars)
            out[key] = _go_expand_variables(_go_expand_escapes(value)) if quote == '"' else value
            src = src[i + 1:]
            break
        else:
            raise ValueError("unterminated quoted value %r" % src.split("\n")[0])


def test_compose_reads_like_compose():
    """The port against cases from compose-go's own parser tests."""
    assert compose_reads("A=1\nexport B = 'x y'  # c\nC=\"a\\\"b\\\\c\\$d$$e\\nf\"\n# D=1\nE=x #y\nF=a#b\n") == {
        "A": "1", "B": "x y", "C": 'a"b\\c$d$e\nf', "E": "x", "F": "a#b"}
    assert compose_reads("A='a\\'b'\nB='a\\b'\n") == {"A": "a'b", "B": "a\\b"}
    with pytest.raises(ValueError, match="unterminated"):
        compose_reads("A='C:\\'\n")
    with pytest.raises(Interpolated):
        compose_reads('A="$HOME"\n')


KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
VALUES = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n\r\0", blacklist_categories=("Cs",)), max_size=20),
    st.text(alphabet="'\"$\\` #{}a\t", max_size=12),  # the characters that need quoting, densely
    st.builds(lambda a, b: a + b, st.sampled_from(["it's ", "$HOME ", "C:\\", "'", "\\'", "$$", "${A}", " #"]),
              st.sampled_from(["", "$", "\\", "'", "\"", "x", " ", "$(id)", "`id`"])),
)
SETTINGS_LINES = st.builds(lambda k, v: "%s=%s" % (k, v), KEYS, st.from_regex(r"[A-Za-z0-9_.:/@-]{0,12}",
                                                                              fullmatch=True))
OTHER_LINES = st.one_of(
    SETTINGS_LINES,
    st.builds(lambda c: "# " + c, st.from_regex(r"[ -~]{0,20}", fullmatch=True)),
    st.just(""),
    st.sampled_from(["export OLD='x y'", 'OLD2="it\'s"', "OLD3=a # comment"]),
)


def _other_lines(text, keys):
    """The lines of ``text`` that do not set one of ``keys``."""
    out = []
    for line in _dotenv._lines(text):  # on "\n" only, as Compose splits (str.splitlines also breaks on \x1e...)
        m = _dotenv._LINE_RE.match(line)
        if not m or m.group(1) not in keys:
            out.append(line)
    return out


@pytest.mark.reliability("input", "P4", ".env values: what apply writes, parse and Compose read back unchanged")
def test_apply_then_parse_property(reliability):
    seen = {"values": 0}

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(lines=st.lists(OTHER_LINES, max_size=8), wanted=st.dictionaries(KEYS, VALUES, max_size=4))
    def property_(lines, wanted):
        text = "\n".join(lines) + ("\n" if lines else "")
        before = parse(text)
        out = apply(text, wanted)
        after = parse(out)
        composed = compose_reads(out)
        for key, value in wanted.items():
            assert after[key] == value  # our reader
            assert composed[key] == value  # and Compose's
        for key, value in before.items():
            if key not in wanted:
                assert after[key] == value
                assert composed[key] == compose_reads(text)[key]
        assert set(after) == set(before) | set(wanted)
        assert apply(out, wanted) == out  # applying twice is applying once
        # every other line is kept, byte for byte and in order
        assert _other_lines(out, wanted) == _other_lines(text, wanted)
        seen["values"] += len(wanted)

    property_()
    for value in ("it's $HOME", "C:\\", 'both \' and " and \\ and $(id)'):
        line = apply("", {"K": value}).rstrip("\n")
        reliability.did("apply(K=%r) wrote %s; parse and Compose read %r" % (value, line, compose_reads(line)["K"]))
    reliability.checked("%d generated values (any printable text but a line break or NUL: quotes, $, backslashes, "
                        "#, unicode and control characters): parse(apply(text, {K: v}))[K] == v, and a port of "
                        "Compose v2's .env reader reads v too, never an interpolation or an error" % seen["values"])
    reliability.checked("other keys read the same before and after; applying twice gives the text of applying once")


def test_key_regex_is_the_one_parse_uses():
    assert _dotenv.KEY_RE.match("A_1")
    assert not _dotenv.KEY_RE.match("1A")
