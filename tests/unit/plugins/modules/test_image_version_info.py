# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drive image_version_info's main() against a real HTTP registry on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from ansible_collections.aegee.deploy.plugins.modules import image_version_info
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_registry import (
    DOCKER_LIST,
    OCI_INDEX,
    FakeRegistry,
)
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import (
    WARNINGS,
    run_main,
)

PASSWORD = "Mod-Secret-9f8e7d"


def run_module(args, expect="exit"):
    return run_main(image_version_info.main, args, expect)


def warnings_seen():
    return list(WARNINGS)


@pytest.fixture
def registry():
    reg = FakeRegistry().start()
    for tag in ("1.4.1", "1.4.2", "1.5.0", "dev", "v1.4.2", "1.4"):
        reg.add("aegee/core", tag)
    reg.alias("aegee/core", "latest", "1.5.0")
    yield reg
    reg.stop()


def base_args(reg, **extra):
    args = {"image": "aegee/core", "registry": reg.address}
    args.update(extra)
    return args


def test_lists_versions_and_resolves_latest(registry):
    result = run_module(base_args(registry))
    assert result["changed"] is False
    assert result["tags"] == ["1.4", "1.4.1", "1.4.2", "1.5.0", "dev", "latest", "v1.4.2"]
    assert result["versions"] == ["1.4.1", "1.4.2", "1.5.0"]
    assert result["latest_version"] == "1.5.0"
    assert result["latest_points_to"] == "1.5.0"
    assert result["latest_digest"].startswith("sha256:")
    assert result["latest_message"] == "latest is 1.5.0 (the newest version)"
    assert result["image"] == registry.address + "/aegee/core"
    assert result["registry"] == registry.address
    assert result["repository"] == "aegee/core"
    assert "exists" not in result and "digest" not in result
    # newest first, stop at the first match: HEAD latest, HEAD 1.5.0 and nothing else
    heads = [p for m, p, h in registry.log if m == "HEAD"]
    assert heads == ["/v2/aegee/core/manifests/latest", "/v2/aegee/core/manifests/1.5.0"]


def test_latest_behind_an_older_version(registry):
    registry.alias("aegee/core", "latest", "1.4.2")  # a rollback retagged latest
    result = run_module(base_args(registry))
    assert result["latest_points_to"] == "1.4.2"
    assert result["latest_version"] == "1.5.0"
    assert result["latest_message"] == "latest is 1.4.2, older than the newest version 1.5.0"


def test_latest_matches_no_version(registry):
    registry.add("aegee/core", "latest", seed="a local build")
    result = run_module(base_args(registry))
    assert result["latest_points_to"] is None
    assert result["latest_digest"].startswith("sha256:")
    assert result["latest_message"] == "latest (%s) matches no version tag" % result["latest_digest"]


def test_no_latest_tag(registry):
    del registry.repos["aegee/core"]["latest"]
    result = run_module(base_args(registry))
    assert result["latest_points_to"] is None
    assert result["latest_digest"] is None
    assert result["latest_message"] == "no latest tag"


def test_latest_points_to_a_prerelease(registry):
    registry.add("aegee/core", "1.6.0-rc.1")
    registry.alias("aegee/core", "latest", "1.6.0-rc.1")
    result = run_module(base_args(registry))
    assert result["versions"] == ["1.4.1", "1.4.2", "1.5.0"]
    assert result["latest_version"] == "1.5.0"
    assert result["latest_points_to"] == "1.6.0-rc.1"
    assert "newer than the newest listed version 1.5.0" in result["latest_message"]
    result = run_module(base_args(registry, include_prerelease=True))
    assert result["versions"] == ["1.4.1", "1.4.2", "1.5.0", "1.6.0-rc.1"]
    assert result["latest_version"] == "1.6.0-rc.1"
    assert result["latest_message"] == "latest is 1.6.0-rc.1 (the newest version)"


@pytest.mark.parametrize("media_type", [DOCKER_LIST, OCI_INDEX])
def test_multi_arch_latest(registry, media_type):
    digest = registry.add("aegee/core", "1.6.0", media_type=media_type)
    registry.alias("aegee/core", "latest", "1.6.0")
    result = run_module(base_args(registry, version="1.6.0"))
    assert result["latest_points_to"] == "1.6.0"
    assert result["latest_digest"] == digest
    assert result["digest"] == digest
    # the digest of 1.6.0 was known from the latest lookup: no second HEAD for it
    assert len(registry.requests("HEAD", "/v2/aegee/core/manifests/1.6.0")) == 1


def test_version_exists(registry):
    result = run_module(base_args(registry, version="1.4.2"))
    assert result["exists"] is True
    assert result["version"] == "1.4.2"
    assert result["digest"].startswith("sha256:")
    assert result["digest"] != result["latest_digest"]


def test_version_latest_resolves(registry):
    result = run_module(base_args(registry, version="latest"))
    assert result["exists"] is True
    assert result["version"] == "1.5.0"
    assert result["digest"] == result["latest_digest"]


def test_version_latest_unresolvable_fails(registry):
    registry.add("aegee/core", "latest", seed="floating")
    result = run_module(base_args(registry, version="latest"), expect="fail")
    assert "cannot resolve version latest" in result["msg"]
    assert "matches no version tag" in result["msg"]
    result = run_module(base_args(registry, version="latest", fail_on_missing=False))
    assert result["exists"] is False
    assert result["digest"] is None


def test_missing_version_fails_with_nearest(registry):
    result = run_module(base_args(registry, version="1.4.3"), expect="fail")
    assert result["msg"] == (
        "version 1.4.3 of %s/aegee/core does not exist; nearest existing versions: 1.4.1, 1.4.2, 1.5.0"
        % registry.address
    )
    assert result["nearest"] == ["1.4.1", "1.4.2", "1.5.0"]
    assert result["exists"] is False


def test_missing_version_without_failing(registry):
    result = run_module(base_args(registry, version="2.0.0", fail_on_missing=False))
    assert result["exists"] is False
    assert result["digest"] is None
    assert result["nearest"] == ["1.4.1", "1.4.2", "1.5.0"]
    assert result["changed"] is False


def test_v_prefix_hint(registry):
    del registry.repos["aegee/core"]["v1.4.2"]
    result = run_module(base_args(registry, version="v1.4.2"), expect="fail")
    assert "without a 'v' prefix: try 1.4.2" in result["msg"]


def test_non_version_tag_is_a_plain_lookup(registry):
    result = run_module(base_args(registry, version="dev"))
    assert result["exists"] is True
    assert result["version"] == "dev"


def test_repository_without_versions(registry):
    registry.add("aegee/tools", "latest")
    registry.add("aegee/tools", "dev")
    result = run_module(base_args(registry, image="aegee/tools", version="1.0.0"), expect="fail")
    assert "no version tags (tags: dev, latest)" in result["msg"]
    result = run_module(base_args(registry, image="aegee/tools"))
    assert result["versions"] == []
    assert result["latest_version"] is None
    assert result["latest_message"] == "latest (%s) matches no version tag" % result["latest_digest"]


@pytest.mark.parametrize("version", ["-bad", "a/b", "x" * 129, "1.0.0 "])
def test_invalid_version_tag(registry, version):
    result = run_module(base_args(registry, version=version), expect="fail")
    assert "is not a valid image tag" in result["msg"]
    assert registry.log == []  # refused before asking the registry


@pytest.mark.parametrize("image", ["aegee/core:1.4.2", "aegee/core@sha256:" + "d" * 64])
def test_image_with_tag_is_refused(registry, image):
    result = run_module(base_args(registry, image=image), expect="fail")
    assert "names a tag or digest" in result["msg"]
    assert "error_kind" in result


def test_unknown_repository(registry):
    result = run_module(base_args(registry, image="aegee/typo"), expect="fail")
    assert "repository aegee/typo not found" in result["msg"]
    assert result["error_kind"] == "not_found"
    assert result["http_status"] == 404


def test_registry_in_image_wins_with_a_warning(registry):
    result = run_module({"image": registry.address + "/aegee/core", "registry": "registry.example.org"})
    assert result["latest_points_to"] == "1.5.0"
    assert any("registry='registry.example.org' is ignored" in w for w in warnings_seen())


def test_check_mode_is_the_same(registry):
    normal = run_module(base_args(registry, version="1.4.2"))
    checked = run_module(base_args(registry, version="1.4.2", _ansible_check_mode=True))
    assert checked == normal
    assert checked["changed"] is False


def test_idempotent(registry):
    assert run_module(base_args(registry)) == run_module(base_args(registry))


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_credentials(auth):
    reg = FakeRegistry(auth=auth, users={"deployer": PASSWORD}, anonymous_pull=False).start()
    try:
        reg.add("aegee/core", "1.5.0")
        reg.alias("aegee/core", "latest", "1.5.0")
        ok = run_module(base_args(reg, username="deployer", password=PASSWORD, version="latest"))
        assert ok["version"] == "1.5.0"
        assert PASSWORD not in json.dumps(ok)
        bad = run_module(base_args(reg, username="deployer", password=PASSWORD + "x"), expect="fail")
        assert "refused the credentials of user 'deployer'" in bad["msg"]
        assert bad["error_kind"] == "auth"
        assert PASSWORD not in json.dumps(bad)
        anon = run_module(base_args(reg), expect="fail")
        assert "give username and password" in anon["msg"]
    finally:
        reg.stop()


def test_password_is_no_log():
    spec = image_version_info.argument_spec()
    assert spec["password"]["no_log"] is True
    assert set(spec) == {
        "image",
        "registry",
        "username",
        "password",
        "version",
        "include_prerelease",
        "validate_certs",
        "timeout",
        "retries",
        "fail_on_missing",
    }


def test_unreachable_registry():
    reg = FakeRegistry()
    address = reg.address
    reg.server.server_close()  # nothing listens there any more
    result = run_module({"image": "aegee/core", "registry": address, "timeout": 2}, expect="fail")
    assert result["error_kind"] == "unreachable"
    assert "is unreachable" in result["msg"]


def test_rate_limited_then_ok(registry, monkeypatch):
    slept = []
    monkeypatch.setattr("time.sleep", slept.append)
    registry.fail("/v2/aegee/core/tags/list", (429, {"Retry-After": "2"}))
    result = run_module(base_args(registry, retries=2))
    assert result["latest_points_to"] == "1.5.0"
    assert slept == [2.0]
