# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the registry client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import datetime
import email.utils
import re
import socket
import ssl
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.aegee.deploy.plugins.module_utils import _compose
from ansible_collections.aegee.deploy.plugins.module_utils import _registry as r
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    FakeRegistry,
    digest_of,
)

PASSWORD = "s3cret-Passw0rd"


class Sleeps:
    """Records waits instead of sleeping."""

    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


@pytest.fixture
def registry():
    reg = FakeRegistry().start()
    yield reg
    reg.stop()


def make_registry(**kwargs):
    return FakeRegistry(**kwargs).start()


def client_for(reg, **kwargs):
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("sleep", Sleeps())
    return r.RegistryClient(reg.url, **kwargs)


# ----------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("image", "default", "registry", "repository", "tag", "digest"),
    [
        ("aegee/core", None, "registry-1.docker.io", "aegee/core", None, None),
        ("core", None, "registry-1.docker.io", "library/core", None, None),
        ("docker.io/aegee/core", None, "registry-1.docker.io", "aegee/core", None, None),
        ("index.docker.io/library/postgres", None, "registry-1.docker.io", "library/postgres", None, None),
        ("docker.io/postgres", None, "registry-1.docker.io", "library/postgres", None, None),
        ("localhost:5000/aegee/core", None, "localhost:5000", "aegee/core", None, None),
        ("localhost/aegee/core", None, "localhost", "aegee/core", None, None),
        ("registry.example.org:5000/team/app", None, "registry.example.org:5000", "team/app", None, None),
        ("registry.example.org/team/sub/app", None, "registry.example.org", "team/sub/app", None, None),
        ("aegee/core", "localhost:5000", "localhost:5000", "aegee/core", None, None),
        ("core", "localhost:5000", "localhost:5000", "core", None, None),
        ("aegee/core", "http://127.0.0.1:5000/", "127.0.0.1:5000", "aegee/core", None, None),
        ("aegee/core", "https://Registry.Example.org/v2/", "registry.example.org", "aegee/core", None, None),
        # the registry named in the image wins over the default
        ("localhost:5000/aegee/core", "registry.example.org", "localhost:5000", "aegee/core", None, None),
        ("aegee/core:1.4.2", None, "registry-1.docker.io", "aegee/core", "1.4.2", None),
        ("localhost:5000/aegee/core:latest", None, "localhost:5000", "aegee/core", "latest", None),
        ("aegee/core@sha256:" + "a" * 64, None, "registry-1.docker.io", "aegee/core", None, "sha256:" + "a" * 64),
        (
            "aegee/core:1.4.2@sha256:" + "b" * 64,
            None,
            "registry-1.docker.io",
            "aegee/core",
            "1.4.2",
            "sha256:" + "b" * 64,
        ),
        ("aegee/my_app.v2-x", None, "registry-1.docker.io", "aegee/my_app.v2-x", None, None),
    ],
)
def test_parse_reference(image, default, registry, repository, tag, digest):  # noqa: PLR0917
    ref = r.parse_reference(image, default)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


@pytest.mark.parametrize(
    ("image", "default", "fragment"),
    [
        ("", None, "must be a repository"),
        ("   ", None, "must be a repository"),
        ("Aegee/Core", None, "not a valid repository name"),
        ("aegee//core", None, "not a valid repository name"),
        ("aegee/core:", None, "not a valid tag"),
        ("aegee/core:-bad", None, "not a valid tag"),
        ("aegee/core@md5", None, "not a digest"),
        ("aegee/core", "ftp://registry.example.org", "only http:// and https://"),
        ("aegee/core", "not a host", "not a registry address"),
        ("aegee/core", "host/with/path", "not a registry address"),
    ],
)
def test_parse_reference_errors(image, default, fragment):
    with pytest.raises(r.RegistryError) as exc:
        r.parse_reference(image, default)
    assert fragment in str(exc.value)
    assert exc.value.kind == "reference"


@pytest.mark.parametrize(
    ("image", "hint"),
    [
        ("aegee/core:1.4.2", "'aegee/core'"),
        ("localhost:5000/aegee/core:latest", "'localhost:5000/aegee/core'"),
        ("aegee/core@sha256:" + "c" * 64, "'aegee/core'"),
    ],
)
def test_require_repository_only(image, hint):
    with pytest.raises(r.RegistryError) as exc:
        r.parse_reference(image).require_repository_only()
    assert "names a tag or digest" in str(exc.value)
    assert hint in str(exc.value)


def test_reference_keeps_explicit_scheme():
    ref = r.parse_reference("aegee/core", "https://localhost:5000")
    assert ref.registry_address == "https://localhost:5000"
    assert r.parse_reference("localhost:5000/aegee/core").registry_address == "localhost:5000"
    assert ref.name == "localhost:5000/aegee/core"
    assert ref == r.parse_reference("aegee/core", "localhost:5000")
    assert len({ref, r.parse_reference("aegee/core", "localhost:5000")}) == 1
    assert "aegee/core" in repr(ref)


@pytest.mark.parametrize(
    ("registry", "url"),
    [
        (None, "https://registry-1.docker.io"),
        ("docker.io", "https://registry-1.docker.io"),
        ("localhost:5000", "http://localhost:5000"),
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("[::1]:5000", "http://[::1]:5000"),
        ("registry.example.org:5000", "https://registry.example.org:5000"),
        ("https://localhost:5000", "https://localhost:5000"),
        ("http://registry.example.org", "http://registry.example.org"),
    ],
)
def test_registry_base_url(registry, url):
    assert r.registry_base_url(registry) == url


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("1.4.2", True),
        ("latest", True),
        ("v1.4.2", True),
        ("_x", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("-x", False),
        (".x", False),
        ("a/b", False),
        ("", False),
        (None, False),
    ],
)
def test_is_valid_tag(tag, valid):
    assert r.is_valid_tag(tag) is valid


# ------------------------------------------ P2: image references, round trips and any text at all
#
# Docker's reference grammar, generated; the same parts written out again
# parse to the same reference. Anything else (unicode, whitespace, shell
# metacharacters, path traversal, very long text, other types) is a
# RegistryError of kind "reference" that names the input, never a crash.

_COMPONENT_RE = r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}"
_components = st.from_regex(_COMPONENT_RE, fullmatch=True)
_labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_registries = st.one_of(
    st.sampled_from(["localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:5000", "Registry.Example.ORG:443",
                     "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]),
    st.builds(lambda labels, port: ".".join(labels) + port,
              st.lists(_labels, min_size=2, max_size=3), st.sampled_from(["", ":5000", ":1", ":65535"])),
)
_tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fullmatch=True)
_digests = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)
_hostile_refs = st.one_of(
    st.text(max_size=80),
    st.builds(lambda a, meta, b: a + meta + b, st.sampled_from(["aegee/core", "aegee/core:1.4.2", "localhost:5000/a"]),
              st.sampled_from(["; touch /tmp/pwned", "$(id)", "`id`", "\n", "\x00", " ", "../../etc/passwd", "é",
                               "\u202e", "'", '"', "|", ":", "@", "//", "/.."]), st.sampled_from(["", "x", ":1"])),
    st.builds(lambda c, n: c * n, st.sampled_from(["a/", "a", ":", "a.", "@"]), st.integers(100, 3000)),
)
_other_types = st.one_of(st.none(), st.integers(), st.binary(max_size=8), st.lists(st.text(max_size=3), max_size=2))


@st.composite
def _references(draw):
    registry = draw(st.one_of(st.none(), _registries))
    parts = draw(st.lists(_components, min_size=1, max_size=3))
    if registry is None and len(parts) > 1 and ("." in parts[0] or parts[0] == "localhost"):
        parts[0] = parts[0].replace(".", "_").replace("localhost", "lhost")  # else Docker reads it as a registry
    tag = draw(st.one_of(st.none(), _tags))
    digest = draw(st.one_of(st.none(), _digests))
    text = (registry + "/" if registry else "") + "/".join(parts)
    text += (":" + tag if tag else "") + ("@" + digest if digest else "")
    return text, registry, "/".join(parts), tag, digest


@pytest.mark.reliability("input", "P2", "Image references and tags: round trips, and any text at all")
def test_references_round_trip_and_any_text(reliability):
    seen = {"valid": 0, "refused": 0}

    @settings(max_examples=200, deadline=None)
    @given(_references())
    def round_trip(case):
        text, registry, repository, tag, digest = case
        ref = r.parse_reference(text)
        hub = registry is None or registry.lower() in r.DOCKER_HUB_ALIASES
        assert ref.registry == (r.DOCKER_HUB if hub else registry.lower())
        assert ref.repository == ("library/" + repository if hub and "/" not in repository else repository)
        assert (ref.tag, ref.digest) == (tag, digest)
        # written out again (canonical form), it is the same reference
        again = ref.name + (":" + tag if tag else "") + ("@" + digest if digest else "")
        assert r.parse_reference(again) == ref
        assert r.normalize_registry(registry)[1] == ref.registry
        # the compose side keeps the text as written and splits it the same way
        image = _compose.ImageRef(text)
        assert (image.tag, image.digest) == (tag, digest)
        assert image.repository == (registry + "/" if registry else "") + repository
        assert image.with_pin(tag=tag, digest=digest) == text
        if tag:
            assert r.is_valid_tag(tag)
            assert _compose.validate_tag(tag) == tag
        seen["valid"] += 1

    @settings(max_examples=200, deadline=None)
    @given(st.one_of(_hostile_refs, _other_types))
    def any_input(value):
        text = value if isinstance(value, str) else None
        # a tag is exactly Docker's grammar; nothing else, whatever the type
        assert r.is_valid_tag(value) is (text is not None and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", text)
                                         is not None)
        try:
            ref = r.parse_reference(value)
        except r.RegistryError as exc:
            assert exc.kind == "reference"
            assert str(exc).startswith(("image %r" % (value,), "image must be a repository such as aegee/core, got"))
            seen["refused"] += 1
        else:  # accepted: only ever well-formed parts
            assert re.fullmatch(r._COMPONENT + r"(?:/" + r._COMPONENT + r")*", ref.repository)
            assert ref.tag is None or r.is_valid_tag(ref.tag)
            assert ref.digest is None or "\n" not in ref.digest
            assert "\n" not in ref.registry and " " not in ref.registry
        try:
            scheme, host = r.normalize_registry(value)
        except r.RegistryError as exc:
            assert exc.kind == "reference" and str(exc).startswith("registry ")
        else:
            assert scheme in (None, "http", "https") and host == host.lower() and r._HOST_RE.match(host)
        if text is not None:  # the compose side never refuses to split, and loses nothing
            image = _compose.ImageRef(text)
            assert image.with_pin(tag=image.tag, digest=image.digest) == text

    round_trip()
    any_input()
    for hostile in ("aegee/core:1.4.2; touch /tmp/pwned", "../../etc/passwd", "aegee/core\n:1", "$(id)"):
        try:
            r.parse_reference(hostile)
        except r.RegistryError as exc:
            reliability.did("parse_reference(%r) raised RegistryError: %s" % (hostile, exc))
    reliability.checked("%d generated references (registry host and port, Docker Hub aliases, nested repositories, "
                        "tag, digest) parse to their parts and parse again to the same reference; ImageRef splits "
                        "them the same way and writes them back byte for byte" % seen["valid"])
    reliability.checked("%d hostile inputs (unicode, control characters, shell metacharacters, path traversal, "
                        "3000-character strings, other types) refused with a RegistryError naming the input; "
                        "is_valid_tag is exactly Docker's tag grammar; no other exception" % seen["refused"])


# -------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.example.org/token",service="registry.example.org",'
            'scope="repository:aegee/core:pull,push"',
            "bearer",
            {
                "realm": "https://auth.example.org/token",
                "service": "registry.example.org",
                "scope": "repository:aegee/core:pull,push",
            },
        ),
        ('Basic realm="basic-realm"', "basic", {"realm": "basic-realm"}),
        ("Bearer realm=https://a/token, service=reg", "bearer", {"realm": "https://a/token", "service": "reg"}),
        ('Bearer realm="x",error="insufficient_scope"', "bearer", {"realm": "x", "error": "insufficient_scope"}),
        ('Bearer realm="with \\"quote\\""', "bearer", {"realm": 'with "quote"'}),
        ("", None, {}),
        (None, None, {}),
    ],
)
def test_parse_challenge(header, scheme, params):
    assert r.parse_challenge(header) == (scheme, params)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('</v2/a/tags/list?n=2&last=b>; rel="next"', "http://reg:5000/v2/a/tags/list?n=2&last=b"),
        ('<http://other:1/v2/a/tags/list?last=b>; rel="next"', "http://other:1/v2/a/tags/list?last=b"),
        ("</v2/a/tags/list?last=b>; rel=next", "http://reg:5000/v2/a/tags/list?last=b"),
        ('</x>; type="application/json"; rel="next"', "http://reg:5000/x"),
        ('</prev>; rel="prev", </next>; rel="next"', "http://reg:5000/next"),
        ('</x>; rel="prev"', None),
        ("", None),
        (None, None),
    ],
)
def test_parse_next_link(header, expected):
    assert r.parse_next_link(header, "http://reg:5000/v2/a/tags/list?n=2") == expected


def test_parse_retry_after():
    assert r.parse_retry_after("7") == 7.0
    assert r.parse_retry_after(None) is None
    assert r.parse_retry_after("") is None
    assert r.parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.format_datetime(datetime.datetime.fromtimestamp(now + 30, tz=datetime.timezone.utc), usegmt=True)
    assert 28 <= r.parse_retry_after(date, now=now) <= 31
    past = email.utils.format_datetime(datetime.datetime.fromtimestamp(now - 30, tz=datetime.timezone.utc), usegmt=True)
    assert r.parse_retry_after(past, now=now) == 0.0


# ------------------------------------------------------------- tags and pages


@pytest.mark.parametrize("link_style", ["relative", "absolute", "quoted-params"])
@pytest.mark.parametrize("page_size", [1, 2, 3, 100])
def test_tag_pagination(link_style, page_size):
    reg = make_registry(link_style=link_style)
    try:
        for tag in ("1.4.1", "1.4.2", "1.5.0", "latest", "dev"):
            reg.add("aegee/core", tag)
        client = client_for(reg, page_size=page_size)
        tags = client.list_tags("aegee/core")
        assert tags == ["1.4.1", "1.4.2", "1.5.0", "dev", "latest"]
        pages = reg.requests("GET", "/v2/aegee/core/tags/list")
        assert len(pages) == (-(-5 // page_size) if page_size < 5 else 1)
        assert "n=%d" % page_size in pages[0][1]
    finally:
        reg.stop()


def test_tag_list_null_tags(registry):
    registry.repos["aegee/empty"] = {}
    assert client_for(registry).list_tags("aegee/empty") == []


def test_pagination_loop_is_detected(registry):
    registry.add("aegee/core", "1.0.0")
    registry.add("aegee/core", "1.0.1")
    client = client_for(registry, page_size=1)

    # a registry that always points at the same page
    original = r.parse_next_link
    try:
        r.parse_next_link = lambda header, base: registry.url + "/v2/aegee/core/tags/list?n=1"
        with pytest.raises(r.RegistryError) as exc:
            client.list_tags("aegee/core")
    finally:
        r.parse_next_link = original
    assert "pagination loop" in str(exc.value)


def test_unknown_repository_is_not_found(registry):
    registry.add("aegee/core", "1.0.0")
    with pytest.raises(r.RegistryError) as exc:
        client_for(registry).list_tags("aegee/nope")
    assert exc.value.kind == "not_found"
    assert exc.value.status == 404
    assert "repository aegee/nope not found" in str(exc.value)
    assert "NAME_UNKNOWN" in str(exc.value)


def test_registry_without_v2_api():
    reg = make_registry()
    try:
        client = r.RegistryClient(reg.url + "/", timeout=5)
        client.base_url = reg.url + "/nothing-here"
        with pytest.raises(r.RegistryError) as exc:
            client.list_tags("aegee/core")
        assert "does not speak the registry v2 API" in str(exc.value)
    finally:
        reg.stop()


# ------------------------------------------------------------------ manifests


@pytest.mark.parametrize("media_type", [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX])
def test_manifest_digest_accept_negotiation(registry, media_type):
    expected = registry.add("aegee/core", "1.5.0", media_type=media_type)
    client = client_for(registry)
    assert client.manifest_digest("aegee/core", "1.5.0") == expected
    head = registry.requests("HEAD", "/v2/aegee/core/manifests/1.5.0")
    assert len(head) == 1
    accept = head[0][2]["Accept"]
    for mt in (DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX):
        assert mt in accept
    assert not registry.requests("GET", "/v2/aegee/core/manifests/")


@pytest.mark.parametrize("media_type", [DOCKER_MANIFEST, OCI_INDEX])
def test_manifest_digest_without_header_hashes_body(media_type):
    reg = make_registry(send_digest=False)
    try:
        expected = reg.add("aegee/core", "1.5.0", media_type=media_type)
        client = client_for(reg)
        assert client.manifest_digest("aegee/core", "1.5.0") == expected
        assert len(reg.requests("GET", "/v2/aegee/core/manifests/1.5.0")) == 1
    finally:
        reg.stop()


def test_manifest_head_not_allowed_falls_back_to_get():
    reg = make_registry(allow_head=False)
    try:
        expected = reg.add("aegee/core", "1.5.0")
        assert client_for(reg).manifest_digest("aegee/core", "1.5.0") == expected
        assert len(reg.requests("GET", "/v2/aegee/core/manifests/1.5.0")) == 1
    finally:
        reg.stop()


def test_manifest_by_digest(registry):
    expected = registry.add("aegee/core", "1.5.0")
    assert client_for(registry).manifest_digest("aegee/core", expected) == expected


def test_missing_manifest(registry):
    registry.add("aegee/core", "1.5.0")
    client = client_for(registry)
    assert client.manifest_digest("aegee/core", "9.9.9", missing_ok=True) is None
    with pytest.raises(r.RegistryError) as exc:
        client.manifest_digest("aegee/core", "9.9.9")
    assert exc.value.kind == "not_found"
    assert "aegee/core:9.9.9" in str(exc.value)


def test_same_image_same_digest(registry):
    d = registry.add("aegee/core", "1.5.0")
    assert registry.alias("aegee/core", "latest", "1.5.0") == d
    client = client_for(registry)
    assert client.manifest_digest("aegee/core", "latest") == client.manifest_digest("aegee/core", "1.5.0")


# ----------------------------------------------------------------- basic auth


def test_basic_auth():
    reg = make_registry(auth="basic", users={"deployer": PASSWORD})
    try:
        reg.add("aegee/core", "1.0.0")
        client = client_for(reg, username="deployer", password=PASSWORD)
        assert client.list_tags("aegee/core") == ["1.0.0"]
        assert client.manifest_digest("aegee/core", "1.0.0").startswith("sha256:")
        authed = [h for m, p, h in reg.log if p != "/v2/"]
        assert all(h.get("Authorization", "").startswith("Basic ") for h in authed)
        assert not reg.token_requests
    finally:
        reg.stop()


def test_basic_auth_wrong_password():
    reg = make_registry(auth="basic", users={"deployer": PASSWORD})
    try:
        reg.add("aegee/core", "1.0.0")
        client = client_for(reg, username="deployer", password="wrong-" + PASSWORD)
        with pytest.raises(r.RegistryError) as exc:
            client.list_tags("aegee/core")
        message = str(exc.value)
        assert exc.value.kind == "auth"
        assert exc.value.status == 401
        assert "refused the credentials of user 'deployer'" in message
        assert PASSWORD not in message
        assert PASSWORD not in repr(client)
        assert PASSWORD not in repr(client._creds)
        assert PASSWORD not in repr(exc.value.__dict__)
    finally:
        reg.stop()


def test_basic_auth_without_credentials():
    reg = make_registry(auth="basic", users={"deployer": PASSWORD})
    try:
        reg.add("aegee/core", "1.0.0")
        with pytest.raises(r.RegistryError) as exc:
            client_for(reg).list_tags("aegee/core")
        assert exc.value.kind == "auth"
        assert "give username and password" in str(exc.value)
    finally:
        reg.stop()


def test_password_without_username():
    with pytest.raises(r.RegistryError) as exc:
        r.RegistryClient("localhost:5000", password=PASSWORD)
    assert PASSWORD not in str(exc.value)


# ---------------------------------------------------------------- bearer auth


@pytest.mark.parametrize("answer_key", ["token", "access_token"])
def test_bearer_anonymous(answer_key):
    reg = make_registry(auth="bearer", answer_key=answer_key)
    try:
        reg.add("aegee/core", "1.0.0")
        reg.add("aegee/core", "1.1.0")
        client = client_for(reg, page_size=1)
        assert client.list_tags("aegee/core") == ["1.0.0", "1.1.0"]
        assert client.manifest_digest("aegee/core", "1.1.0").startswith("sha256:")
        # one token for the repository scope, reused for every page and manifest
        assert len(reg.token_requests) == 1
        query, user = reg.token_requests[0]
        assert query == {"service": "fake-registry", "scope": "repository:aegee/core:pull"}
        assert user is None
    finally:
        reg.stop()


def test_bearer_with_credentials():
    reg = make_registry(auth="bearer", users={"deployer": PASSWORD}, anonymous_pull=False)
    try:
        reg.add("aegee/core", "1.0.0")
        client = client_for(reg, username="deployer", password=PASSWORD)
        assert client.list_tags("aegee/core") == ["1.0.0"]
        query, user = reg.token_requests[0]
        assert user == "deployer"
        assert query["account"] == "deployer"
        # the token, not the password, goes to the registry
        to_registry = [h.get("Authorization", "") for m, p, h in reg.log if p.startswith("/v2/aegee")]
        assert to_registry and all(a.startswith("Bearer ") for a in to_registry)
    finally:
        reg.stop()


def test_bearer_wrong_credentials():
    reg = make_registry(auth="bearer", users={"deployer": PASSWORD})
    try:
        reg.add("aegee/core", "1.0.0")
        client = client_for(reg, username="deployer", password="nope-" + PASSWORD)
        with pytest.raises(r.RegistryError) as exc:
            client.list_tags("aegee/core")
        assert exc.value.kind == "auth"
        assert "token service 127.0.0.1" in str(exc.value)
        assert "refused the credentials of user 'deployer'" in str(exc.value)
        assert PASSWORD not in str(exc.value)
    finally:
        reg.stop()


def test_bearer_anonymous_refused():
    reg = make_registry(auth="bearer", users={"deployer": PASSWORD}, anonymous_pull=False)
    try:
        reg.add("aegee/core", "1.0.0")
        with pytest.raises(r.RegistryError) as exc:
            client_for(reg).list_tags("aegee/core")
        assert exc.value.kind == "auth"
        assert "requires credentials for repository:aegee/core:pull" in str(exc.value)
    finally:
        reg.stop()


@pytest.mark.parametrize(("username", "kind"), [(None, "auth"), ("deployer", "denied")])
def test_bearer_unknown_repository(username, kind):
    # Docker Hub answers an unknown (or private) repository with a token that opens nothing
    reg = make_registry(auth="bearer", users={"deployer": PASSWORD})
    try:
        reg.add("aegee/core", "1.0.0")
        client = client_for(reg, username=username, password=PASSWORD if username else None)
        with pytest.raises(r.RegistryError) as exc:
            client.list_tags("aegee/typo")
        assert exc.value.kind == kind
        assert "repository aegee/typo does not exist or" in str(exc.value)
        assert PASSWORD not in str(exc.value)
    finally:
        reg.stop()


def test_bearer_token_expired_is_renewed():
    reg = make_registry(auth="bearer")
    try:
        reg.add("aegee/core", "1.0.0")
        client = client_for(reg)
        client.list_tags("aegee/core")
        reg.tokens.clear()  # the registry forgets every token: they "expired"
        assert client.manifest_digest("aegee/core", "1.0.0").startswith("sha256:")
        assert len(reg.token_requests) == 2
    finally:
        reg.stop()


def test_bearer_challenge_without_ping():
    # a registry whose /v2/ is open but repositories want a token
    reg = make_registry(auth="bearer")
    try:
        reg.add("aegee/core", "1.0.0")
        client = client_for(reg)
        client._challenge = (None, {})  # as if GET /v2/ had answered 200
        assert client.list_tags("aegee/core") == ["1.0.0"]
        assert len(reg.token_requests) == 1
    finally:
        reg.stop()


# ---------------------------------------------------------------- retry paths


def test_429_honours_retry_after(registry):
    registry.add("aegee/core", "1.0.0")
    registry.fail("/v2/aegee/core/tags/list", (429, {"Retry-After": "3"}), (429, {"Retry-After": "0"}))
    sleeps = Sleeps()
    client = client_for(registry, sleep=sleeps, backoff=0.5)
    assert client.list_tags("aegee/core") == ["1.0.0"]
    # Retry-After 3 beats the 0.5 s backoff; Retry-After 0 loses to the 1 s second backoff
    assert sleeps.calls == [3.0, 1.0]
    assert len(registry.requests("GET", "/v2/aegee/core/tags/list")) == 3


def test_429_retry_after_is_capped(registry):
    registry.add("aegee/core", "1.0.0")
    registry.fail("/v2/aegee/core/tags/list", (429, {"Retry-After": "86400"}))
    sleeps = Sleeps()
    client = client_for(registry, sleep=sleeps, max_wait=7)
    assert client.list_tags("aegee/core") == ["1.0.0"]
    assert sleeps.calls == [7]


def test_429_forever_is_rate_limited_error(registry):
    registry.add("aegee/core", "1.0.0")
    registry.fail_forever["/v2/aegee/core/tags/list"] = 429
    sleeps = Sleeps()
    with pytest.raises(r.RegistryError) as exc:
        client_for(registry, sleep=sleeps, retries=2).list_tags("aegee/core")
    assert exc.value.kind == "rate_limited"
    assert "HTTP 429" in str(exc.value)
    assert len(sleeps.calls) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(registry, status):
    registry.add("aegee/core", "1.0.0")
    registry.fail("/v2/aegee/core/manifests/", status, status)
    sleeps = Sleeps()
    client = client_for(registry, sleep=sleeps, backoff=1)
    assert client.manifest_digest("aegee/core", "1.0.0").startswith("sha256:")
    assert sleeps.calls == [1, 2]  # exponential backoff


def test_5xx_forever(registry):
    registry.add("aegee/core", "1.0.0")
    registry.fail_forever["/v2/"] = 503
    sleeps = Sleeps()
    with pytest.raises(r.RegistryError) as exc:
        client_for(registry, sleep=sleeps, retries=3, backoff=1, max_wait=3).list_tags("aegee/core")
    assert exc.value.kind == "server"
    assert exc.value.status == 503
    assert "still after 3 retries" in str(exc.value)
    assert sleeps.calls == [1, 2, 3]  # 4 would exceed max_wait
    assert len(registry.log) == 4


def test_no_retry_on_404(registry):
    sleeps = Sleeps()
    with pytest.raises(r.RegistryError):
        client_for(registry, sleep=sleeps).list_tags("aegee/none")
    assert sleeps.calls == []


def test_retries_zero(registry):
    registry.add("aegee/core", "1.0.0")
    registry.fail("/v2/aegee/core/tags/list", 503)
    with pytest.raises(r.RegistryError) as exc:
        client_for(registry, retries=0).list_tags("aegee/core")
    assert exc.value.kind == "server"


def test_real_sleep_is_used_by_default(registry):
    registry.add("aegee/core", "1.0.0")
    registry.fail("/v2/aegee/core/tags/list", (429, {"Retry-After": "0"}))
    client = r.RegistryClient(registry.url, timeout=5, backoff=0.05)
    start = time.monotonic()
    assert client.list_tags("aegee/core") == ["1.0.0"]
    assert time.monotonic() - start >= 0.05


# ------------------------------------------------------- network-level errors


def test_timeout(registry):
    registry.add("aegee/core", "1.0.0")
    registry.delay = 1.5
    client = client_for(registry, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(r.RegistryError) as exc:
        client.list_tags("aegee/core")
    assert exc.value.kind == "timeout"
    assert "did not answer within 0.3 seconds" in str(exc.value)
    assert time.monotonic() - started < 1.4


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable():
    client = r.RegistryClient("127.0.0.1:%d" % _closed_port(), timeout=2, username="u", password=PASSWORD)
    with pytest.raises(r.RegistryError) as exc:
        client.list_tags("aegee/core")
    assert exc.value.kind == "unreachable"
    assert "is unreachable" in str(exc.value)
    assert PASSWORD not in str(exc.value)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(d / "cert.pem"), str(d / "key.pem")


@pytest.fixture
def tls_registry(tls_files):
    reg = FakeRegistry()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*tls_files)
    reg.server.socket = ctx.wrap_socket(reg.server.socket, server_side=True)
    reg.url = "https://127.0.0.1:%d" % reg.port
    reg.start()
    yield reg
    reg.stop()


def test_tls_self_signed_is_refused_by_default(tls_registry):
    tls_registry.add("aegee/core", "1.0.0")
    client = r.RegistryClient(tls_registry.url, timeout=5)
    with pytest.raises(r.RegistryError) as exc:
        client.list_tags("aegee/core")
    assert exc.value.kind == "tls"
    assert "validate_certs=false" in str(exc.value)


def test_tls_validate_certs_false(tls_registry):
    tls_registry.add("aegee/core", "1.0.0")
    client = r.RegistryClient(tls_registry.url, timeout=5, validate_certs=False)
    assert client.list_tags("aegee/core") == ["1.0.0"]


def test_plain_http_registry_spoken_to_with_tls():
    reg = make_registry()
    try:
        reg.add("aegee/core", "1.0.0")
        client = r.RegistryClient("https://" + reg.address, timeout=5)
        with pytest.raises(r.RegistryError) as exc:
            client.list_tags("aegee/core")
        assert exc.value.kind in ("tls", "unreachable")
        if exc.value.kind == "tls":
            assert "http://" + reg.address in str(exc.value)
    finally:
        reg.stop()


# ------------------------------------------------------------------- secrecy


def test_scrub_removes_every_secret():
    client = r.RegistryClient("localhost:5000", username="deployer", password=PASSWORD)
    client._tokens["scope"] = "tok-abcdef"
    basic = client._creds.basic_header().split(" ", 1)[1]
    text = "x %s y %s z tok-abcdef" % (PASSWORD, basic)
    scrubbed = client._scrub(text)
    assert PASSWORD not in scrubbed
    assert basic not in scrubbed
    assert "tok-abcdef" not in scrubbed
    err = client._error("oops " + PASSWORD, kind="protocol", url="http://x/?p=" + PASSWORD)
    assert PASSWORD not in str(err) and PASSWORD not in err.url
    assert PASSWORD not in repr(client) and PASSWORD not in str(client._creds)


def test_concurrent_clients_do_not_share_tokens():
    reg = make_registry(auth="bearer")
    try:
        reg.add("aegee/core", "1.0.0")
        results = []

        def work():
            results.append(client_for(reg).list_tags("aegee/core"))

        threads = [threading.Thread(target=work) for _i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [["1.0.0"]] * 4
        assert len(reg.token_requests) == 4
    finally:
        reg.stop()


def test_one_client_shared_by_threads_pings_once_and_asks_one_token_per_scope():
    reg = make_registry(auth="bearer")
    try:
        reg.delay = 0.05
        for repo in ("aegee/core", "aegee/events"):
            reg.add(repo, "1.0.0")
        client = client_for(reg)
        results = []

        def work(repo):
            results.append(client.list_tags(repo))

        threads = [threading.Thread(target=work, args=("aegee/%s" % ("core", "events")[i % 2],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [["1.0.0"]] * 6
        assert sorted(q["scope"] for q, _user in reg.token_requests) == ["repository:aegee/core:pull",
                                                                         "repository:aegee/events:pull"]
        assert client.token_requests == 2 and client.requests == len(reg.log) == 1 + 2 + 6
    finally:
        reg.stop()


def test_digest_helper_matches_fake_registry():
    body = b"{}"
    assert digest_of(body) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
