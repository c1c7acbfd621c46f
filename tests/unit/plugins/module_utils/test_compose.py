# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Round-trip compose pinning: only the image value changes, on awkward files too."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ansible_collections.aegee.deploy.plugins.module_utils import _compose
from ansible_collections.aegee.deploy.plugins.module_utils._compose import ComposeError, ImageRef, pin_text

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "compose", "core-docker-compose.yml")
DIGEST = "sha256:" + "0123456789abcdef" * 4


def changed_lines(before, after):
    a, b = before.splitlines(True), after.splitlines(True)
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b) if x != y]


def safe_load(text):
    return YAML(typ="safe", pure=True).load(text)


def fixture_text():
    with open(FIXTURE, encoding="utf-8") as handle:
        return handle.read()


# --------------------------------------------------------------------------- the real-shaped fixture


def test_fixture_pin_is_one_line():
    text = fixture_text()
    result = pin_text(text, service="core", tag="1.4.2")
    assert result.changed
    assert changed_lines(text, result.after_text) == [
        (
            "        image: localhost:5000/aegee/core:latest\n",
            "        image: localhost:5000/aegee/core:1.4.2\n",
        )
    ]
    diff = [
        line
        for line in difflib.unified_diff(text.splitlines(), result.after_text.splitlines(), lineterm="")
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert len(diff) == 2
    old, new = safe_load(text), safe_load(result.after_text)
    old["services"]["core"]["image"] = "localhost:5000/aegee/core:1.4.2"
    assert old == new
    assert result.pins == [
        {
            "service": "core",
            "before": "localhost:5000/aegee/core:latest",
            "after": "localhost:5000/aegee/core:1.4.2",
            "changed": True,
            "line": 14,
        }
    ]


def test_fixture_pin_is_idempotent_and_reversible():
    text = fixture_text()
    pinned = pin_text(text, service="core", tag="1.4.2", digest=DIGEST).after_text
    again = pin_text(pinned, service="core", tag="1.4.2", digest=DIGEST)
    assert not again.changed and again.after_text == pinned
    back = pin_text(pinned, service="core", tag="latest")
    assert back.after_text == text  # the old digest goes away with a new tag


def test_fixture_pin_by_image():
    text = fixture_text()
    result = pin_text(text, image="localhost:5000/aegee/core", tag="1.4.2")
    assert result.services == ["core"]
    result = pin_text(text, image="docker.io/library/postgres", tag="10.22")
    assert result.services == ["postgres-core"]
    # the comment after the value stays
    assert "image: postgres:10.22   # third-party images stay pinned by hand\n" in result.after_text


# --------------------------------------------------------------------------- awkward files

AWKWARD = {
    "double_quoted": ('services:\n  core:\n    image: "aegee/core:1.0.0"  # pinned\n', '"aegee/core:2.0.0"'),
    "single_quoted": ("services:\n  core:\n    image: 'aegee/core:1.0.0'\n", "'aegee/core:2.0.0'"),
    "flow_mapping": ("services: {core: {image: aegee/core:1.0.0, init: true}}\n", "{image: aegee/core:2.0.0,"),
    "flow_mapping_quoted": ('services: {core: {image: "aegee/core", init: true}}\n', '"aegee/core:2.0.0"'),
    "crlf": ("services:\r\n    core:\r\n        image: aegee/core\r\n        init: true\r\n", "aegee/core:2.0.0\r\n"),
    "bom": ("\ufeffservices:\n    core:\n        image: aegee/core:1.0.0\n", "image: aegee/core:2.0.0\n"),
    "no_trailing_newline": ("services:\n  core:\n    image: aegee/core:1.0.0", "image: aegee/core:2.0.0"),
    "trailing_spaces": ("services:\n  core:\n    image: aegee/core:1.0.0   \n", "image: aegee/core:2.0.0   \n"),
    "anchored_unused": ("services:\n  core:\n    image: &img aegee/core:1.0.0\n", "&img aegee/core:2.0.0"),
    "explicit_tag": ("services:\n  core:\n    image: !!str aegee/core:1.0.0\n", "!!str aegee/core:2.0.0"),
    "digest_only_before": ("services:\n  core:\n    image: aegee/core@" + DIGEST + "\n", "image: aegee/core:2.0.0\n"),
    "registry_port": (
        "services:\n  core:\n    image: localhost:5000/aegee/core:1.0.0@" + DIGEST + "\n",
        "image: localhost:5000/aegee/core:2.0.0\n",
    ),
    "registry_variable": (
        "services:\n  core:\n    image: ${REGISTRY:-localhost:5000}/aegee/core:1.0.0\n",
        "image: ${REGISTRY:-localhost:5000}/aegee/core:2.0.0\n",
    ),
    "two_space_dash_unindented": (
        "services:\n  core:\n    image: aegee/core\n    ports:\n    - 80:80\n",
        "image: aegee/core:2.0.0\n",
    ),
    "document_markers": ("---\nservices:\n  core:\n    image: aegee/core:1\n...\n", "image: aegee/core:2.0.0\n"),
    "key_quoted": ('"services":\n  "core":\n    "image": aegee/core:1\n', '"image": aegee/core:2.0.0\n'),
}


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_awkward_files_change_only_the_image(name):
    text, expected_fragment = AWKWARD[name]
    result = pin_text(text, service="core", tag="2.0.0")
    assert result.changed
    assert expected_fragment in result.after_text
    lines = changed_lines(text, result.after_text)
    assert len(lines) == 1
    # outside the value, every character is the same
    sm = difflib.SequenceMatcher(None, text, result.after_text, autojunk=False)
    ops = [op for op in sm.get_opcodes() if op[0] != "equal"]
    assert all("image" not in text[i1:i2] for _op, i1, i2, _j1, _j2 in ops)
    assert pin_text(result.after_text, service="core", tag="2.0.0").changed is False


def test_quoting_style_is_kept():
    text = "services:\n  a:\n    image: \"x/a:1\"\n  b:\n    image: 'x/a:1'\n  c:\n    image: x/a:1\n"
    result = pin_text(text, image="x/a", tag="2")
    assert result.services == ["a", "b", "c"]
    assert (
        result.after_text == "services:\n  a:\n    image: \"x/a:2\"\n  b:\n    image: 'x/a:2'\n  c:\n    image: x/a:2\n"
    )


def test_anchors_aliases_merge_and_interpolation_survive():
    text = textwrap.dedent(
        """\
        version: "3.4"
        x-env: &env
            A: "${A}"   # comment
            B: ${B:-default}
        x-base: &base
            restart: always
            environment: *env
        services:
            core:
                <<: *base
                image: aegee/core:latest
                command: ["sh", "-c", "echo $$HOME ${X}"]
                healthcheck: {test: ["CMD", "true"], interval: 30s}
            other:
                <<: *base
                image: aegee/other
        """
    )
    result = pin_text(text, service="core", tag="1.2.3")
    assert len(changed_lines(text, result.after_text)) == 1
    old, new = safe_load(text), safe_load(result.after_text)
    old["services"]["core"]["image"] = "aegee/core:1.2.3"
    assert old == new


# --------------------------------------------------------------------------- errors


ERRORS = [
    (
        "services:\n  core:\n    image: a/b\n",
        dict(service="nope", tag="1"),
        r"service 'nope' is not defined.*known services: core",
    ),
    (
        "services:\n  core:\n    build: .\n",
        dict(service="core", tag="1"),
        r"no 'image:': it is built from 'build:' \(line 3\)",
    ),
    ("services:\n  core:\n    init: true\n", dict(service="core", tag="1"), r"has no 'image:' key"),
    (
        "services:\n  core:\n    image: ${CORE_IMAGE}\n",
        dict(service="core", tag="1"),
        r"is the variable \$\{CORE_IMAGE\}: its value is set in \.env or the environment",
    ),
    (
        "services:\n  core:\n    image: $CORE_IMAGE\n",
        dict(service="core", tag="1"),
        r"is the variable \$\{CORE_IMAGE\}",
    ),
    (
        "services:\n  core:\n    image: aegee/core:${CORE_VERSION:-latest}\n",
        dict(service="core", tag="1"),
        r"its tag comes from \$\{CORE_VERSION\}, set in \.env",
    ),
    (
        "services:\n  core:\n    image: aegee/core@${CORE_DIGEST}\n",
        dict(service="core", tag="1"),
        r"its digest comes from \$\{CORE_DIGEST\}",
    ),
    ("services:\n  core:\n    image: a/b\n", dict(service="core", tag="1.0/x"), r"not a valid Docker tag"),
    ("services:\n  core:\n    image: a/b\n", dict(service="core", tag="x" * 129), r"not a valid Docker tag"),
    ("services:\n  core:\n    image: a/b\n", dict(service="core", digest="sha256:abc"), r"not a valid image digest"),
    (
        "services:\n  core:\n    image: a/b\n",
        dict(service="core", digest="sha512:" + "a" * 64),
        r"not a valid image digest",
    ),
    ("services:\n  core:\n    image: a/b\n", dict(service="core", digest=DIGEST.upper()), r"not a valid image digest"),
    (
        "services:\n  core:\n   image: a/b\n  x: [\n",
        dict(service="core", tag="1"),
        r"is not valid YAML: line \d+, column \d+",
    ),
    ("services:\n  core: {image: a/b\n", dict(service="core", tag="1"), r"is not valid YAML: line"),
    (
        "version: '3.4'\nnetworks: {}\n",
        dict(service="core", tag="1"),
        r"is not a compose file: it has no top-level 'services:'",
    ),
    ("- a\n- b\n", dict(service="core", tag="1"), r"is not a compose file: its top level is not a mapping"),
    ("services:\n", dict(service="core", tag="1"), r"defines no services"),
    (
        "services:\n  a:\n    image: x/a\n",
        dict(image="x/b", tag="1"),
        r"no service in .* uses the image repository 'x/b'",
    ),
    (
        "services:\n  a:\n    image: ${R}/x/b:1\n",
        dict(image="x/b", tag="1"),
        r"not compared because their repository is a variable: a \(\$\{R\}/x/b:1\)",
    ),
    ("services:\n  a:\n    image: x/a\n", dict(image="x/a:1", tag="1"), r"must be a repository without tag"),
    (
        "x: &img a/b:1\nservices:\n  core:\n    image: *img\n",
        dict(service="core", tag="2"),
        r"is a YAML alias of &img defined on line 1",
    ),
    (
        "services:\n  core:\n    image: &img a/b:1\n  other:\n    image: *img\n",
        dict(service="core", tag="2"),
        r"anchored as &img and reused through aliases",
    ),
    (
        "x-base: &base\n  image: a/b:1\nservices:\n  core:\n    <<: *base\n",
        dict(service="core", tag="2"),
        r"gets its image through the merge key '<<' \(anchor &base, line 1\)",
    ),
    (
        "services:\n  core: &c\n    image: a/b:1\n  copy: *c\n",
        dict(service="core", tag="2"),
        r"service 'core' in .* is anchored as &c and reused through aliases",
    ),
    ("services:\n  core:\n    image: >-\n      a/b:1\n", dict(service="core", tag="2"), r"spans several lines"),
    ("services:\n  core:\n    image: [a]\n", dict(service="core", tag="2"), r"is not a string"),
    ("services:\n  core:\n    image:\n", dict(service="core", tag="2"), r"is empty or not a string"),
    ("a: 1\n---\nb: 2\n", dict(service="core", tag="2"), r"not valid YAML"),
    ("services:\n  core:\n    image: a/b\n", dict(service="core"), r"give a tag, a digest, or both"),
]


@pytest.mark.parametrize("text,kwargs,pattern", ERRORS)
def test_errors_are_actionable(text, kwargs, pattern):
    with pytest.raises(ComposeError, match=pattern):
        pin_text(text, **kwargs)


def test_read_compose_errors(tmp_path):
    with pytest.raises(ComposeError, match=r"does not exist"):
        _compose.pin_file(str(tmp_path / "missing.yml"), service="core", tag="1")
    with pytest.raises(ComposeError, match=r"is a directory"):
        _compose.pin_file(str(tmp_path), service="core", tag="1")
    bad = tmp_path / "latin1.yml"
    bad.write_bytes(b"services:\n  core:\n    image: a/b # \xe9\n")
    with pytest.raises(ComposeError, match=r"not UTF-8"):
        _compose.pin_file(str(bad), service="core", tag="1")


def test_pin_digest_only_and_both():
    text = "services:\n  core:\n    image: a/b:1\n"
    assert pin_text(text, service="core", digest=DIGEST).pins[0]["after"] == "a/b@" + DIGEST
    assert pin_text(text, service="core", tag="2", digest=DIGEST).pins[0]["after"] == "a/b:2@" + DIGEST


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    "text,repository,tag,digest",
    [
        ("aegee/core", "aegee/core", None, None),
        ("aegee/core:1.4.2", "aegee/core", "1.4.2", None),
        ("aegee/core@" + DIGEST, "aegee/core", None, DIGEST),
        ("aegee/core:1.4.2@" + DIGEST, "aegee/core", "1.4.2", DIGEST),
        ("localhost:5000/aegee/core:1.4.2", "localhost:5000/aegee/core", "1.4.2", None),
        ("localhost:5000/aegee/core", "localhost:5000/aegee/core", None, None),
        ("registry.example.org:5000/team/app@" + DIGEST, "registry.example.org:5000/team/app", None, DIGEST),
        ("${REG:-localhost:5000}/a/b", "${REG:-localhost:5000}/a/b", None, None),
        ("a/b:${TAG:-1.0}", "a/b", "${TAG:-1.0}", None),
        ("a/b:${T:-${U}}", "a/b", "${T:-${U}}", None),
    ],
)
def test_image_ref(text, repository, tag, digest):
    ref = ImageRef(text)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)


def test_image_ref_variables():
    assert ImageRef("${A}").whole_variable
    assert ImageRef("${A}").variables == {"repository": ["A"]}
    assert ImageRef("x/y:${T:-${U}}").variables == {"tag": ["T"]}
    assert ImageRef("$$x/y:1").variables == {}
    assert not ImageRef("${R}/x").whole_variable


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("nginx", "docker.io/library/nginx", True),
        ("aegee/core", "index.docker.io/aegee/core", True),
        ("aegee/core", "docker.io/aegee/core", True),
        ("localhost:5000/aegee/core", "aegee/core", False),
        ("LOCALHOST:5000/aegee/core", "localhost:5000/aegee/core", True),
        ("localhost/aegee/core", "localhost/aegee/core", True),
    ],
)
def test_normalize_repository(a, b, same):
    assert (_compose.normalize_repository(a) == _compose.normalize_repository(b)) is same


# --------------------------------------------------------------------------- validators (properties)

TAG_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
valid_tags = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(TAG_ALPHABET[:-2]),
    st.text(alphabet=TAG_ALPHABET, max_size=127),
)


@given(valid_tags)
def test_valid_tags_accepted(tag):
    assert _compose.validate_tag(tag) == tag


@given(st.text(max_size=140))
def test_tag_validator_matches_docker_grammar(tag):
    expected = re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag) is not None and "\n" not in tag
    try:
        _compose.validate_tag(tag)
        accepted = True
    except ComposeError:
        accepted = False
    assert accepted is expected


@given(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_valid_digests_accepted(hexpart):
    assert _compose.validate_digest("sha256:" + hexpart)


@given(st.text(max_size=80))
def test_digest_validator_rejects_the_rest(text):
    ok = re.fullmatch(r"sha256:[0-9a-f]{64}", text) is not None and not text.endswith("\n")
    try:
        _compose.validate_digest(text)
        accepted = True
    except ComposeError:
        accepted = False
    assert accepted is ok


# --------------------------------------------------------------------------- P3: round-trip property
#
# Generated compose documents in the shapes people write: block or flow
# style, 2 or 4 spaces, LF or CRLF, a BOM, comments with any printable text,
# anchors, aliases and merge keys, quoted and plain service names, images in
# plain, single or double quotes (with an unused anchor or an explicit !!str),
# ${VAR} interpolation, block scalars, a nested "image" key that is not a
# service's. The expected output is computed independently: the original
# text with only the image scalar's characters replaced.

NON_STRINGS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,12}", fullmatch=True).filter(lambda n: n.lower() not in NON_STRINGS)
repos = st.from_regex(r"(localhost:5000/|registry\.example\.org/)?[a-z][a-z0-9]{0,6}(/[a-z][a-z0-9._-]{0,6}[a-z0-9])?",
                      fullmatch=True)
digests = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)
comment_text = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "P", "S", "Zs")), max_size=24)
comments = st.one_of(st.just(""), comment_text.map(lambda c: "  # " + c))
styles = st.sampled_from(["plain", "double", "single"])
PLACEHOLDER = "IMAGE%dPLACEHOLDER"


def quote(value, style):
    return {"plain": value, "double": '"%s"' % value, "single": "'%s'" % value}[style]


@st.composite
def compose_docs(draw):
    """(text, services) where services maps each name to (image value, style, (start, end) of its scalar)."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    pad = " " * draw(st.sampled_from([2, 4]))
    flow = draw(st.sampled_from(["block", "flow-services", "flow-all"]))
    svc_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    images = {}
    lines = []
    if draw(st.booleans()):
        lines.append('version: "3.4"' + draw(comments))
    lines += ["# " + draw(comment_text), "x-logging: &logging", pad + 'driver: "json-file"',
              "x-base: &base", pad + "restart: always", pad + "environment:",
              pad * 2 + 'A: "${A}"' + draw(comments), pad * 2 + "B: ${B:-x} # $$HOME",
              "x-meta: {image: 'other/thing:1', note: \"not a service\"}"]
    entries = []
    for i, name in enumerate(svc_names):
        key = quote(name, draw(styles))
        value = draw(repos) + draw(st.one_of(st.just(""), valid_tags.map(lambda t: ":" + t)))
        value += draw(st.one_of(st.just(""), digests.map(lambda d: "@" + d)))
        style = draw(styles)
        props = draw(st.sampled_from(["", "&img%d " % i, "!!str "]))
        images[name] = (value, style)
        image = "image: " + props + PLACEHOLDER % i
        if flow == "flow-all":
            extra = draw(st.permutations([image, "init: true", 'ports: ["80:80", "443"]', "labels: {image: x/y}"]))
            entries.append("%s: {%s}" % (key, ", ".join(extra)))
            continue
        if flow == "flow-services":
            entries.append(pad + "%s: {%s, restart: always}" % (key, image) + draw(comments))
            continue
        keys = [image + draw(comments)]
        if draw(st.booleans()):
            keys.append("<<: *base")
        if draw(st.booleans()):
            keys.append("healthcheck:" + eol + pad * 3 + 'test: ["CMD", "curl", "-f", "http://localhost/healthcheck"]'
                        + eol + pad * 3 + "interval: 30s")
        if draw(st.booleans()):
            keys.append("logging: *logging")
        if draw(st.booleans()):
            keys.append("command: |" + eol + pad * 3 + "echo '${X}' \"image: no\"" + eol + pad * 3 + "exit 0")
        if draw(st.booleans()):
            keys.append("labels:" + eol + pad * 2 + draw(st.sampled_from(["", pad])) + '- "traefik.port=80"'
                        + draw(comments))
        entries.append(pad + key + ":" + draw(comments) + eol
                       + eol.join(pad * 2 + k for k in draw(st.permutations(keys))))
    if flow == "flow-all":
        lines.append("services: {%s}" % ", ".join(entries) + draw(comments))
    else:
        lines.append("services:" + draw(comments))
        lines += entries
    lines += ["networks:", pad + "default:", pad * 2 + "external: true"]
    text = draw(st.sampled_from(["", "\ufeff"])) + eol.join(lines) + draw(st.sampled_from([eol, ""]))
    services = {}
    for i, name in sorted(enumerate(svc_names), key=lambda item: text.index(PLACEHOLDER % item[0])):
        value, style = images[name]
        start = text.index(PLACEHOLDER % i)
        token = quote(value, style)
        text = text[:start] + token + text[start + len(PLACEHOLDER % i):]
        services[name] = (value, style, (start, start + len(token)))
    return text, services


def split_image(value):
    ref = ImageRef(value)
    return ref.repository, ref.tag, ref.digest


@pytest.mark.reliability("input", "P3", "Compose pins on generated documents: only the image value changes")
def test_pin_round_trip_property(reliability):
    seen = {"docs": 0, "refused": 0}

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(compose_docs(), st.data())
    def round_trip(doc, data):
        text, services = doc
        service = data.draw(st.sampled_from(sorted(services)))
        old_value, style, (start, end) = services[service]
        repository, old_tag, old_digest = split_image(old_value)
        tag = data.draw(valid_tags)
        digest = data.draw(st.one_of(st.none(), digests))
        result = pin_text(text, service=service, tag=tag, digest=digest)
        new_value = repository + ":" + tag + ("@" + digest if digest else "")
        # every byte outside the image scalar is the same; the scalar keeps its quoting
        assert result.after_text == text[:start] + quote(new_value, style) + text[end:]
        assert result.pins[0]["after"] == new_value and result.changed is (new_value != old_value)
        # it parses again, to the same document but for that one value
        old, new = safe_load(text), safe_load(result.after_text)
        old["services"][service]["image"] = new_value
        assert old == new
        # pinning twice is pinning once; pinning back gives the original text
        assert pin_text(result.after_text, service=service, tag=tag, digest=digest).after_text == result.after_text
        if old_tag or old_digest:
            back = pin_text(result.after_text, service=service, tag=old_tag, digest=old_digest)
            assert back.after_text == text
        seen["docs"] += 1

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(compose_docs(), st.data())
    def damaged(doc, data):
        text, services = doc
        service = data.draw(st.sampled_from(sorted(services)))
        pos = data.draw(st.integers(0, len(text)))
        junk = data.draw(st.one_of(st.text(max_size=6), st.sampled_from(
            [": ", "- ", "{", "[", "&a ", "*a", "!!python/object/apply:os.system ['id'] ", "\t", "\x00", "'", '"',
             "<<: *logging\n", "\nimage: x/y:1\n"])))
        text = text[:pos] + junk + text[pos:]
        try:
            result = pin_text(text, service=service, tag="1.2.3")
        except ComposeError as exc:  # a clear refusal, nothing else
            assert str(exc)
            seen["refused"] += 1
            return
        before, after = text.splitlines(True), result.after_text.splitlines(True)
        assert len(before) == len(after) and sum(a != b for a, b in zip(before, after)) <= 1

    round_trip()
    damaged()
    for sample in ("services:\n  core:\n    image: a/b:1\n    command: !!python/object/apply:os.system ['id']\n",
                   "services:\n  core:\n    image: a/b:1\n  core2: [" + "[" * 500):
        try:
            pin_text(sample, service="core", tag="2")
        except ComposeError as exc:
            reliability.did("pin_text(...) raised ComposeError: %s" % exc)
    reliability.checked("%d generated documents (block/flow style, CRLF, BOM, any comment text, anchors, aliases, "
                        "merge keys, quoted names, images plain/quoted/anchored/!!str): output = input with only the "
                        "image scalar replaced in its own quoting; parses to the same document" % seen["docs"])
    reliability.checked("pinning twice gives the same text as pinning once; pinning back to the old tag and digest "
                        "gives the original text byte for byte")
    reliability.checked("the same documents damaged at a random place: %d refused with a ComposeError, the rest "
                        "changed at most one line; no other exception" % seen["refused"])


# --------------------------------------------------------------------------- Debian's ruamel.yaml 0.17.21

SYSTEM_PYTHON = "/usr/bin/python3"
SYSTEM_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import ruamel.yaml
from ansible_collections.aegee.deploy.plugins.module_utils import _compose
text = open(sys.argv[2], encoding="utf-8").read()
out = {"ruamel": ruamel.yaml.__version__, "results": {}, "errors": {}}
for name, kwargs in json.loads(sys.argv[3]).items():
    try:
        out["results"][name] = _compose.pin_text(text, **kwargs).after_text
    except _compose.ComposeError as exc:
        out["errors"][name] = str(exc)
print(json.dumps(out))
"""


def _system_ruamel():
    if not os.path.exists(SYSTEM_PYTHON):
        return None
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import ruamel.yaml; print(ruamel.yaml.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


@pytest.mark.skipif(
    _system_ruamel() is None, reason="no /usr/bin/python3 with ruamel.yaml (Debian python3-ruamel.yaml)"
)
def test_same_result_under_system_python_ruamel(tmp_path):
    import json

    cases = {
        "tag": {"service": "core", "tag": "1.4.2"},
        "digest": {"service": "core", "tag": "1.4.2", "digest": DIGEST},
        "image": {"image": "postgres", "tag": "10.22"},
        "unknown": {"service": "nope", "tag": "1"},
        "badtag": {"service": "core", "tag": "-1"},
    }
    collections = os.path.join(REPO, ".collections")
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", SYSTEM_SCRIPT, collections, FIXTURE, json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["ruamel"] == _system_ruamel()
    text = fixture_text()
    for name, kwargs in cases.items():
        try:
            expected = pin_text(text, **kwargs).after_text
        except ComposeError as exc:
            assert out["errors"][name] == str(exc)
        else:
            assert out["results"][name] == expected
    assert sys.version_info  # the venv side ran too


# ------------------------------------------------------------ image_sources

CORE_A = "services:\n  core:\n    image: aegee/core:1.0.0\n"
CORE_B = "services:\n  core:\n    image: aegee/core:2.0.0\n"
CORE_ENV_ONLY = "services:\n  core:\n    environment:\n      A: '1'\n"
BASE = "networks:\n  default:\n    name: aegee\n"


@pytest.mark.parametrize(
    ("documents", "sources", "problems"),
    [
        # Compose merges the files: the last image wins
        ([("a.yml", CORE_A), ("b.yml", CORE_B)], {"core": {"file": "b.yml", "image": "aegee/core:2.0.0"}}, 0),
        # an override without image: the image stays where it is
        ([("a.yml", CORE_A), ("b.yml", CORE_ENV_ONLY)], {"core": {"file": "a.yml", "image": "aegee/core:1.0.0"}}, 0),
        ([("b.yml", CORE_ENV_ONLY), ("a.yml", CORE_A)], {"core": {"file": "a.yml", "image": "aegee/core:1.0.0"}}, 0),
        # no file sets an image: the first file that defines the service
        ([("a.yml", CORE_ENV_ONLY), ("b.yml", CORE_ENV_ONLY)], {"core": {"file": "a.yml", "image": None}}, 0),
        # a base file without services, a file that could not be read: skipped without a word
        ([("base.yml", BASE), ("gone.yml", None), ("a.yml", CORE_A)],
         {"core": {"file": "a.yml", "image": "aegee/core:1.0.0"}}, 0),
        # a file that is not a compose file: skipped with a warning, the others still count
        ([("a.yml", CORE_A), ("bad.yml", "services: [core"), ("list.yml", "- a\n")],
         {"core": {"file": "a.yml", "image": "aegee/core:1.0.0"}}, 2),
        # merge keys and services that are not mappings are not services
        ([("a.yml", "x: &x {image: a/b:1}\nservices:\n  <<: {}\n  odd: text\n  core:\n    <<: *x\n")],
         {"core": {"file": "a.yml", "image": None}}, 0),
        ([], {}, 0),
    ],
)
def test_image_sources(documents, sources, problems):
    found, warnings = _compose.image_sources(documents)
    assert found == sources
    assert len(warnings) == problems
