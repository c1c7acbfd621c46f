"""Shared testinfra helpers of the molecule scenarios.

The scenarios' tests are plain pytest files run by molecule/shared/verify.yml
with ``--hosts=ansible://<group>`` and molecule's inventory: the ``host``
fixture is a testbed host reached over SSH, and ``node`` reads what the
deploy left there (containers, compose pins, release history, lock).
"""

from __future__ import annotations

import json
import os
import shlex
import sys

import pytest
import testinfra

# the docker ps reading shared with tests/integration (tests/support/docker_ps.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "support"))
from docker_ps import by_service, ps_argv  # noqa: E402 pylint: disable=wrong-import-position

SERVICES = ("core", "events", "frontend", "mailer")
# the deploy repo's gateway (Traefik, not in the catalogue): the first deploy starts it, no release touches it
GATEWAY = "traefik"
IMAGE = "localhost:5000/aegee-mol/%s"
INVENTORY = os.environ.get(
    "MOLECULE_AEGEE_INVENTORY", os.path.join(os.path.dirname(os.path.abspath(__file__)), "inventory")
)


class Node:
    """What a deploy left on one testbed host, read over SSH."""

    def __init__(self, host):
        self.host = host
        self.name = host.backend.get_hostname()
        self.root = "/var/lib/aegee-testbed/hosts/%s/srv/molecule" % self.name
        self.project = "aegee-test-mol-%s" % self.name

    def containers(self):
        """Running and stopped containers of the host's released services, by compose service (not the gateway)."""
        return {svc: c for svc, c in self.all_containers().items() if svc != GATEWAY}

    def all_containers(self):
        """Running and stopped containers of the host's project, by compose service."""
        argv = ps_argv(self.project, no_trunc=True)
        return by_service(self.host.check_output(" ".join(shlex.quote(arg) for arg in argv)))

    def image_lines(self, service):
        text = self.host.file("%s/%s/docker/docker-compose.yml" % (self.root, service)).content_string
        return [line.split("image:", 1)[1].strip() for line in text.splitlines() if "image:" in line]

    def pinned(self, service):
        """The image a compose file pins: repository:version@sha256:digest."""
        (value,) = self.image_lines(service)
        return value

    def history(self):
        text = self.host.file("%s/.aegee/history.jsonl" % self.root).content_string
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def state(self):
        return json.loads(self.host.file("%s/.aegee/state.json" % self.root).content_string)

    def healthcheck(self, service):
        """GET /healthcheck from the host itself, as the smoke checks do."""
        env = dict(line.split("=", 1) for line in self.host.file(self.root + "/.env").content_string.splitlines()
                   if "=" in line and not line.startswith("#"))
        # through the host's gateway (Traefik on PORT_PREFIX 88), by the service's path prefix
        path = {"core": "/api/core", "events": "/api/events", "mailer": "/api/mailer", "frontend": ""}[service]
        url = "http://%s:%s88%s/healthcheck" % (env["BIND_IP"], env["PORT_PREFIX"], path)
        fetch = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
        out = self.host.check_output("python3 -c %s %s", fetch, url)
        return json.loads(out)

    def running_version(self, service):
        return self.healthcheck(service)["data"]["version"]


@pytest.fixture
def node(host):
    return Node(host)


@pytest.fixture(scope="session")
def other():
    """Another host of the inventory (for example staging-1 from a production test)."""

    def get(name):
        return Node(testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY))

    return get


def assert_runs(node, versions):
    """Every service runs its version: container image, compose pin, /healthcheck; all healthy; no lock."""
    containers = node.containers()
    assert sorted(containers) == sorted(versions), containers
    for service, version in versions.items():
        c = containers[service]
        assert c["State"] == "running" and c["Status"].endswith("(healthy)"), c["Status"]
        pin = node.pinned(service)
        assert pin.startswith("%s:%s@sha256:" % (IMAGE % service, version)), pin
        # the container runs exactly what the compose file pins
        assert c["Image"] == pin, (c["Image"], pin)
        assert node.running_version(service) == version
    assert not node.host.file(node.root + "/.aegee/lock").exists, "a lock was left behind"
    gateway = node.all_containers()[GATEWAY]  # the checks went through it
    assert gateway["State"] == "running" and gateway["Status"].endswith("(healthy)"), gateway["Status"]
