"""playbooks/publish.yml on the real testbed: version from the checkout, build, push version and latest.

The image goes to a repository of its own (localhost:5000/aegee/molecule-publish-test), so the
services other tests deploy never change.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import urllib.request

import pytest

from conftest import playbook

IMAGE = "localhost:5000/aegee/molecule-publish-test"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def digest(testbed, tag):
    """The manifest digest of IMAGE:tag in the registry (None when absent)."""
    url = "http://127.0.0.1:5000/v2/aegee/molecule-publish-test/manifests/%s" % tag
    token = base64.b64encode(("%s:%s" % (testbed["username"], testbed["password"])).encode()).decode()
    req = urllib.request.Request(url, method="HEAD", headers={"Accept": MANIFEST, "Authorization": "Basic " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback registry
            return resp.headers["Docker-Content-Digest"]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def checkout(path, version):
    """A tiny service checkout: package.json with the version, a FROM scratch Dockerfile over busybox."""
    os.makedirs(os.path.join(path, "rootfs", "bin"), exist_ok=True)
    os.makedirs(os.path.join(path, "www"), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(path, "rootfs", "bin", "busybox"))
    with open(os.path.join(path, "package.json"), "w") as handle:
        json.dump({"name": "molecule-publish-test", "version": version, "private": True}, handle, indent=2)
        handle.write("\n")
    with open(os.path.join(path, "www", "healthcheck"), "w") as handle:
        json.dump({"success": True, "data": {"name": "molecule-publish-test", "version": version}}, handle)
    with open(os.path.join(path, "Dockerfile"), "w") as handle:
        handle.write('FROM scratch\nCOPY rootfs/ /\nCOPY www/ /www/\nARG VERSION\n'
                     'CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]\n')
    return path


@pytest.fixture
def docker_config(tmp_path):
    """A Docker client config of the test's own (the login never lands in ~/.docker)."""
    path = tmp_path / "docker-config"
    path.mkdir()
    return str(path)


def test_publish_pushes_the_checkouts_version_and_latest(testbed, tmp_path, docker_config):
    src = checkout(str(tmp_path / "molecule-publish-test"), "0.3.1")
    out = playbook("publish.yml", "-e", "src=%s" % src, "-e", "image=%s" % IMAGE,
                   "-e", "docker_config=%s" % docker_config).stdout
    assert "published %s:0.3.1 and latest" % IMAGE in out
    assert "package.json" in out
    assert "-e service=molecule-publish-test" in out and "-e version=0.3.1" in out
    assert digest(testbed, "0.3.1") is not None
    assert digest(testbed, "latest") == digest(testbed, "0.3.1")
    # the login went to the test's own Docker config
    with open(os.path.join(docker_config, "config.json")) as handle:
        assert "localhost:5000" in json.load(handle)["auths"]


def test_publish_without_latest_leaves_latest_alone(testbed, tmp_path, docker_config):
    src = checkout(str(tmp_path / "molecule-publish-test"), "0.3.1")
    playbook("publish.yml", "-e", "src=%s" % src, "-e", "image=%s" % IMAGE, "-e", "docker_config=%s" % docker_config)
    src = checkout(src, "0.3.2-rc.1")
    out = playbook("publish.yml", "-e", "src=%s" % src, "-e", "image=%s" % IMAGE, "-e", "latest=false",
                   "-e", "docker_config=%s" % docker_config).stdout
    assert "published %s:0.3.2-rc.1 (version" % IMAGE in out
    assert digest(testbed, "0.3.2-rc.1") not in (None, digest(testbed, "0.3.1"))
    assert digest(testbed, "latest") == digest(testbed, "0.3.1")


def test_publish_refuses_a_checkout_without_a_version(testbed, tmp_path, docker_config):
    src = tmp_path / "no-version"
    src.mkdir()
    proc = playbook("publish.yml", "-e", "src=%s" % src, "-e", "image=%s" % IMAGE,
                    "-e", "docker_config=%s" % docker_config, check=False)
    assert proc.returncode != 0
    assert "version" in proc.stdout.lower()


def test_publish_needs_a_checkout_and_an_image(testbed):
    proc = playbook("publish.yml", "-e", "image=%s" % IMAGE, check=False)
    assert proc.returncode != 0 and "-e src=PATH" in proc.stdout
