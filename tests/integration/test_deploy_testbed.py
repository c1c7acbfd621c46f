"""The demo's job on the testbed: deploy staging, then production, over SSH."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from conftest import HOSTS, SERVICE_PORT_SUFFIX, TESTBED_ROOT, http_json, playbook, service_url


def wait_json(url, tries=40):
    last = None
    for _attempt in range(tries):
        try:
            return http_json(url)
        except OSError as exc:
            last = exc
            time.sleep(0.25)
    raise AssertionError("%s never answered: %s" % (url, last))


def project_containers(project):
    out = subprocess.run(
        ["docker", "ps", "--filter", "label=com.docker.compose.project=%s" % project, "--format", "{{json .}}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def staging_deployed(testbed):
    # start from hosts that have never been deployed
    for host, (_addr, project, _prefix) in HOSTS.items():
        ids = [c["ID"] for c in project_containers(project)]
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=True)
        subprocess.run(["rm", "-rf", os.path.join(TESTBED_ROOT, "hosts", host, "srv", "myaegee")], check=True)
    playbook("deploy.yml", "-l", "staging")
    return True


def test_staging_serves_every_service_at_latest(staging_deployed):
    for svc in SERVICE_PORT_SUFFIX:
        body = wait_json(service_url("staging-1", svc))
        assert body["success"] is True
        assert body["data"]["name"] == svc
        assert body["data"]["version"] == "1.5.0"


def test_hosts_are_isolated(staging_deployed):
    staging = project_containers("myaegee-staging")
    assert sorted(c["Labels"].split("com.docker.compose.service=")[1].split(",")[0] for c in staging) == sorted(
        SERVICE_PORT_SUFFIX
    )
    # production has not been deployed: nothing of its own runs, its ports are closed
    assert project_containers("myaegee-production-1") == []
    with pytest.raises(OSError):
        http_json(service_url("production-1", "core"), timeout=1)
    assert not os.path.exists(os.path.join(TESTBED_ROOT, "hosts", "production-1", "srv", "myaegee"))
    # staging's ports are bound to staging's own address only
    for c in staging:
        assert "127.0.0.2:180" in c["Ports"], c["Ports"]


def test_production_deploy_leaves_staging_alone(staging_deployed):
    before = {c["ID"] for c in project_containers("myaegee-staging")}
    playbook("deploy.yml", "-l", "production")
    for host in ("production-1", "production-2"):
        project = HOSTS[host][1]
        assert len(project_containers(project)) == len(SERVICE_PORT_SUFFIX)
        assert wait_json(service_url(host, "core"))["data"]["version"] == "1.5.0"
    assert {c["ID"] for c in project_containers("myaegee-staging")} == before
