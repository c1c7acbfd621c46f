"""Fixtures for tests against the real testbed (make testbed-up).

Nothing here is mocked: Ansible runs over SSH to the testbed's sshd hosts,
images come from its registry, containers run in its Docker engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTBED_ROOT = os.environ.get("TESTBED_ROOT", "/var/lib/aegee-testbed")
VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
REGISTRY = "localhost:5000"
REGISTRY_USER = "deployer"
HOSTS = {
    # name: (address, compose project, port prefix)
    "staging-1": ("127.0.0.2", "myaegee-staging", "180"),
    "production-1": ("127.0.0.3", "myaegee-production-1", "280"),
    "production-2": ("127.0.0.4", "myaegee-production-2", "380"),
}
# the port suffix each service used to publish (PORT_PREFIX + this); only tests that build a shape with ports use it
SERVICE_PORT_SUFFIX = {"core": "84", "events": "85", "mailer": "86", "frontend": "80"}
# the deploy repo's gateways service: Traefik, on <host address>:<port prefix>88
GATEWAY_SERVICE = "traefik"
GATEWAY_PORT_SUFFIX = "88"
GATEWAY_PATH = {"core": "/api/core", "events": "/api/events", "mailer": "/api/mailer", "frontend": ""}


def ansible_env(**extra):
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_CONFIG"] = os.path.join(REPO_ROOT, "ansible.cfg")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("DOCKER_CONFIG", None)
    env.update(extra)
    return env


def run(cmd, check=True, env=None, timeout=600, input=None):
    """Run a command from the repo root; return the CompletedProcess."""
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env or ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            "command failed (%s): %s\n--- stdout\n%s\n--- stderr\n%s"
            % (proc.returncode, " ".join(cmd), proc.stdout[-6000:], proc.stderr[-4000:])
        )
    return proc


def ansible(pattern, module, args="", check=True, extra=()):
    return run(["ansible", pattern, "-m", module, "-a", args, *extra], check=check)


def playbook(name, *args, check=True, env=None):
    path = name if "/" in name else os.path.join("playbooks", name)
    return run(["ansible-playbook", path, *args], check=check, env=env)


def http_json(url, timeout=5, routed_within=10):
    """GET ``url`` (loopback) as JSON.

    Through the gateway, a container that just turned healthy is routed only after Traefik's next reload (it
    applies changes at most every 2 s): until then, or while no healthy container of the service is routed,
    the gateway answers 404 or 503. Those answers are retried for ``routed_within`` seconds; any other
    failure is raised at once.
    """
    deadline = time.monotonic() + routed_within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback test URL
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code not in (404, 502, 503) or time.monotonic() >= deadline:
                raise
        time.sleep(0.2)


def gateway_url(host, service, path="/healthcheck"):
    """Where users reach ``service`` of ``host``: through the host's gateway, by its path prefix."""
    addr, _project, prefix = HOSTS[host]
    return "http://%s:%s%s%s%s" % (addr, prefix, GATEWAY_PORT_SUFFIX, GATEWAY_PATH[service], path)


# the testbed's services publish no host port (the real shape): users and the tests reach them through the gateway
service_url = gateway_url


@pytest.fixture(scope="session")
def testbed():
    """The running testbed; fails (does not skip) when it is not up."""
    pw_file = os.path.join(TESTBED_ROOT, "registry", "password")
    if not os.path.exists(pw_file):
        pytest.fail("the testbed is not up: run 'make testbed-up' (make test does it for you)")
    with open(pw_file) as f:
        password = f.read().strip()
    return {
        "root": TESTBED_ROOT,
        "registry": REGISTRY,
        "username": REGISTRY_USER,
        "password": password,
        "origin": os.path.join(TESTBED_ROOT, "git", "myaegee.git"),
    }


@pytest.fixture(scope="session")
def registry_password(testbed):
    return testbed["password"]
