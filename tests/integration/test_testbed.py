"""The testbed is real: SSH hosts, an authenticated registry, Compose v2."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid

from conftest import HOSTS, REPO_ROOT, TESTBED_ROOT, ansible, http_json, run


def test_every_host_answers_over_ssh_with_its_own_address(testbed):
    out = ansible("all", "ansible.builtin.command", "cat /proc/self/environ").stdout
    for name in HOSTS:
        assert "%s | CHANGED" % name in out
    # each sshd hands its sessions the host's own docker client config
    out = ansible("all", "ansible.builtin.shell", "echo $DOCKER_CONFIG $SSH_CONNECTION").stdout
    for name, (addr, _project, _prefix) in HOSTS.items():
        assert "%s/hosts/%s/docker" % (TESTBED_ROOT, name) in out
        assert " %s 2222" % addr in out


def test_host_keys_are_checked(testbed, tmp_path):
    # a wrong known_hosts entry makes the connection fail: checking is on
    bad = tmp_path / "known_hosts"
    other = open(os.path.join(TESTBED_ROOT, "hosts", "production-1", "ssh_host_ed25519_key.pub")).read().split()
    bad.write_text("[127.0.0.2]:2222 %s %s\n" % (other[0], other[1]))
    proc = run(
        [
            "ansible", "staging-1", "-m", "ansible.builtin.ping",
            "-e", "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes'" % bad,
            "-e", "ansible_ssh_args='-o ControlMaster=no'",
        ],
        check=False,
    )
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout


def test_registry_requires_credentials(testbed):
    req = urllib.request.Request("http://127.0.0.1:5000/v2/aegee/core/tags/list")
    try:
        urllib.request.urlopen(req, timeout=5)  # noqa: S310 - loopback
        raise AssertionError("the registry answered without credentials")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401


def test_registry_holds_the_services_in_several_versions(testbed):
    import base64

    auth = base64.b64encode(("%s:%s" % (testbed["username"], testbed["password"])).encode()).decode()
    for svc in ("core", "events", "mailer", "frontend"):
        req = urllib.request.Request(
            "http://127.0.0.1:5000/v2/aegee/%s/tags/list" % svc, headers={"Authorization": "Basic " + auth}
        )
        tags = json.loads(urllib.request.urlopen(req, timeout=5).read())["tags"]  # noqa: S310
        assert {"1.4.1", "1.4.2", "1.5.0", "latest"} <= set(tags), (svc, tags)


def test_pull_and_run_a_version_with_compose_v2_over_ssh(testbed, tmp_path):
    """On a host over SSH: log in, pull core 1.4.2, run it with Compose v2, read its healthcheck."""
    project = "aegee-test-" + uuid.uuid4().hex[:8]
    workdir = "%s/hosts/production-2/%s" % (TESTBED_ROOT, project)
    compose = (
        "services:\n"
        "    core:\n"
        "        image: localhost:5000/aegee/core:1.4.2\n"
        "        init: true\n"
        "        ports:\n"
        "            - \"127.0.0.4:39084:80\"\n"
    )
    host_cfg = "%s/hosts/production-2/docker/config.json" % TESTBED_ROOT
    if os.path.exists(host_cfg):
        os.remove(host_cfg)
    try:
        ansible("production-2", "ansible.builtin.file", "path=%s state=directory mode=0700" % workdir)
        ansible("production-2", "ansible.builtin.copy", "dest=%s/compose.yml content='%s'" % (workdir, compose))
        # without a login on this host, the pull is refused by the registry
        denied = ansible(
            "production-2", "ansible.builtin.command",
            "docker compose -p %s -f %s/compose.yml pull" % (project, workdir), check=False,
        )
        assert denied.returncode != 0
        assert "no basic auth credentials" in denied.stdout or "unauthorized" in denied.stdout.lower()
        run(
            ["ansible", "production-2", "-m", "ansible.builtin.shell", "-a",
             "docker login -u deployer --password-stdin localhost:5000 < %s/registry/password" % TESTBED_ROOT],
        )
        up = ansible(
            "production-2", "ansible.builtin.command",
            "docker compose -p %s -f %s/compose.yml up -d --wait" % (project, workdir),
        )
        assert "production-2 | CHANGED" in up.stdout
        body = None
        for _attempt in range(40):
            try:
                body = http_json("http://127.0.0.4:39084/healthcheck")
                break
            except OSError:
                time.sleep(0.25)
        assert body == {"success": True, "data": {"name": "core", "version": "1.4.2", "environment": "testbed"}}
        ver = ansible(
            "production-2", "ansible.builtin.command",
            "docker compose version --short",
        ).stdout
        assert "2." in ver.split("|")[-1]
    finally:
        subprocess.run(
            ["docker", "compose", "-p", project, "down", "--remove-orphans"],
            capture_output=True, cwd=REPO_ROOT, check=False,
        )
        subprocess.run(["rm", "-rf", workdir], check=False)
        if os.path.exists(host_cfg):
            os.remove(host_cfg)


def test_testbed_up_again_is_harmless(testbed):
    pids = {}
    for name in os.listdir(os.path.join(TESTBED_ROOT, "run")):
        if name.endswith(".pid"):
            pids[name] = open(os.path.join(TESTBED_ROOT, "run", name)).read().strip()
    proc = run(["testbed/up.sh"])
    assert "starting" not in proc.stderr
    assert "building" not in proc.stderr
    for name, pid in pids.items():
        assert open(os.path.join(TESTBED_ROOT, "run", name)).read().strip() == pid, name
    ansible("all", "ansible.builtin.ping")
