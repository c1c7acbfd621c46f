"""The traffic path on the real testbed: each host's Traefik gateway routes its own services, by path prefix.

Every host runs the deploy repo's ``gateways`` service (Traefik v3, Docker
provider) beside its services, the way an operator's ``make start`` leaves a
real host; a deploy never touches it. All hosts share one Docker engine, so
each gateway must route its own compose project only.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error

import pytest
from conftest import GATEWAY_SERVICE, HOSTS, gateway_url, http_json, playbook
from hostview import SERVICES, containers, pinned, reset_hosts, start_gateway, versions


def answered(url):
    """(HTTP status, version named in the body or None); status 0 when nothing answers."""
    try:
        body = http_json(url, timeout=3)
        return 200, (body.get("data") or {}).get("version")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


def wait_answer(url, want, seconds=20):
    """Poll ``url`` until it answers ``want`` ((status, version)); return what it answered last."""
    end = time.time() + seconds
    got = answered(url)
    while got != want and time.time() < end:
        time.sleep(0.2)
        got = answered(url)
    return got


@pytest.fixture(scope="module", autouse=True)
def deployed(testbed):
    """Every host deployed from nothing, with its gateway running; staging's core at 1.4.2, production's at 1.5.0."""
    reset_hosts()
    playbook("deploy.yml", "-l", "staging")
    playbook("deploy.yml", "-l", "production")
    for host in HOSTS:
        start_gateway(host)
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    yield
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0")


def test_every_service_answers_through_its_hosts_gateway_with_the_deployed_version():
    for host in HOSTS:
        direct = versions(host)
        assert direct["core"] == ("1.4.2" if host == "staging-1" else "1.5.0"), (host, direct)
        for svc in SERVICES:
            version = pinned(host, svc).split("@")[0].rsplit(":", 1)[1]
            url = gateway_url(host, svc)
            assert wait_answer(url, (200, version)) == (200, version), (host, svc, url)
            assert direct[svc] == version
        # the path prefix is stripped: the frontend's page is at /, core's API below /api/core
        addr, _project, _prefix = HOSTS[host]
        assert answered(gateway_url(host, "core", "/nothing-here"))[0] == 404
        # one gateway per host, healthy, on the host's own address only
        gateway = containers(HOSTS[host][1])[GATEWAY_SERVICE]
        assert gateway["Status"].endswith("(healthy)"), gateway["Status"]
        assert gateway["Ports"].startswith("%s:" % addr), gateway["Ports"]


def test_a_new_version_is_routed_after_a_deploy():
    gateway = containers(HOSTS["staging-1"][1])[GATEWAY_SERVICE]["ID"]
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0")
    assert wait_answer(gateway_url("staging-1", "core"), (200, "1.5.0")) == (200, "1.5.0")
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    assert wait_answer(gateway_url("staging-1", "core"), (200, "1.4.2")) == (200, "1.4.2")
    # the gateway itself was left alone by both deploys
    after = containers(HOSTS["staging-1"][1])[GATEWAY_SERVICE]
    assert after["ID"] == gateway and after["State"] == "running", after


def test_stagings_gateway_never_routes_to_productions_containers():
    # production's core (1.5.0) is up and answers through production's own gateways
    for host in ("production-1", "production-2"):
        assert answered(gateway_url(host, "core")) == (200, "1.5.0")
    # without staging's core, staging's gateway has no route for it: it answers 404, never production's 1.5.0
    core = containers(HOSTS["staging-1"][1])["core"]
    subprocess.run(["docker", "rm", "-f", core["ID"]], capture_output=True, check=True)
    try:
        assert wait_answer(gateway_url("staging-1", "core"), (404, None)) == (404, None)
        seen = {answered(gateway_url("staging-1", "core")) for _attempt in range(20)}
        assert seen == {(404, None)}, seen
        # the other services of staging still answer through it
        assert answered(gateway_url("staging-1", "events")) == (200, "1.5.0")
    finally:
        playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    assert wait_answer(gateway_url("staging-1", "core"), (200, "1.4.2")) == (200, "1.4.2")
