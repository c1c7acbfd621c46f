"""Zero-downtime (start-first) releases through the real traffic path: no request fails, counted.

The testbed's deploy repo is in the real shape (each service exposes its port
on the project network, none publishes a host port) and the checks reach the
services through staging's gateway, which the first deploy starts. During a
start-first deploy, a rollback and a failed (restored) deploy, a bounded
loopback load (``benchmarks/downtime.Load``: 50 requests/s, at most 120 s)
goes through the gateway, and every request must succeed. The requests are
counted, not timed. After each release: one container per service, of the
version its compose file pins, and a plain ``up -d`` on the host (what
``make start`` runs) recreates nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from conftest import REPO_ROOT, gateway_url, http_json, playbook, run
from hostview import containers, pinned, publish, root

sys.path.insert(0, os.path.join(REPO_ROOT, "benchmarks"))
from downtime import Load  # noqa: E402 - the benchmark's load generator

HOST, PROJECT = "staging-1", "myaegee-staging"
pytestmark = pytest.mark.usefixtures("staging")


@pytest.fixture(scope="module")
def staging(testbed):
    """Staging deployed, core at 1.4.2; the playbooks' arguments of the tests."""
    playbook("deploy.yml", "-l", "staging")
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    return ["-l", "staging"]


def under_load(cmd_args, playbook_name="deploy.yml", expect_failure=False):
    """Run one release while the load goes through the gateway to core; (requests, failed, the playbook's output)."""
    with Load([gateway_url(HOST, "core")]) as load:
        proc = playbook(playbook_name, *cmd_args, check=False)
    assert (proc.returncode != 0) == expect_failure, proc.stdout[-3000:] + proc.stderr[-2000:]
    requests, failed, _gap = load.summary()
    return requests, failed, proc.stdout


def assert_one_container_pinned(version):
    found = [c for c in containers_all() if c.get("Service") == "core"]
    assert len(found) == 1, found
    assert pinned(HOST, "core").split("@")[0].endswith(":" + version)
    assert http_json(gateway_url(HOST, "core"))["data"]["version"] == version
    before = {c["ID"] for c in containers_all()}
    run([os.path.join(root(HOST), "helper.sh"), "up", "--detach", "--wait"])
    assert {c["ID"] for c in containers_all()} == before, "make start recreated a container"


def containers_all():
    out = run(["docker", "ps", "--all", "--no-trunc", "--filter", "label=com.docker.compose.project=%s" % PROJECT,
               "--format", "{{json .}}"]).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [{"ID": r["ID"], "Service": dict(label.split("=", 1) for label in r["Labels"].split(",") if "=" in label)
             .get("com.docker.compose.service"), "State": r["State"]} for r in rows]


def test_a_start_first_deploy_drops_no_request(staging):
    requests, failed, out = under_load([*staging, "-e", "service=core", "-e", "version=1.5.0"])
    assert requests > 50 and failed == 0, (requests, failed)
    assert "core: start-first (the new container starts beside the old one), healthy after" in out
    assert_one_container_pinned("1.5.0")
    assert containers(PROJECT)["core"]["State"] == "running"


def test_a_start_first_rollback_drops_no_request(staging):
    requests, failed, _out = under_load([*staging, "-e", "service=core", "-e", "version=1.4.2",
                                         "-e", "reason=zero-downtime test"], "rollback.yml")
    assert requests > 50 and failed == 0, (requests, failed)
    assert_one_container_pinned("1.4.2")


def test_a_failed_start_first_deploy_drops_no_request_and_leaves_the_old_container(staging):
    never = "1.6.0-never.%d" % (int(time.time()) % 100000)
    publish("core", never, latest="no", broken="health")
    old = containers(PROJECT)["core"]["ID"]
    requests, failed, out = under_load([*staging, "-e", "service=core", "-e", "version=%s" % never],
                                       expect_failure=True)
    assert requests > 50 and failed == 0, (requests, failed)
    assert "did not become healthy" in out
    assert containers(PROJECT)["core"]["ID"] == old, "the old container was replaced"
    assert_one_container_pinned("1.4.2")


def test_several_start_first_services_boot_together_and_drop_no_request(staging):
    others = ("events", "mailer", "frontend")
    for svc in others:
        playbook("deploy.yml", *staging, "-e", "service=%s" % svc, "-e", "version=1.4.2", "-e", "force=true")
    old = {svc: containers(PROJECT)[svc]["ID"] for svc in others}
    with Load([gateway_url(HOST, svc) for svc in others]) as load:
        proc = playbook("deploy.yml", *staging, "-e", "services=%s" % ",".join(others), check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    requests, failed, _gap = load.summary()
    assert requests > 50 and failed == 0, (requests, failed)
    # latest of each (a service whose latest is marked bad on this host is held: other tests publish versions)
    switched = [svc for svc in others
                if "%s: start-first (the new container starts beside the old one), healthy after" % svc in proc.stdout]
    assert len(switched) >= 2, [line for line in proc.stdout.splitlines() if "first" in line or "held" in line]
    for svc in switched:
        assert http_json(gateway_url(HOST, svc))["data"]["version"] != "1.4.2"
        assert containers(PROJECT)[svc]["ID"] != old[svc]
    # That they booted together (one `up --scale` for all, their health waited for together, the old ones
    # drained together) is shown by the unit tests of _compose_switch (the commands the switch runs); an
    # ordering proof from `docker events` did not see the new containers' start events on this engine.
