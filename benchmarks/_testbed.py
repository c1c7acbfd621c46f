"""What the benchmarks share: the running testbed (make testbed-up), its playbooks, SSH and test images.

Not a test helper: the tests have their own (tests/integration/conftest.py).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTBED = os.environ.get("TESTBED_ROOT", "/var/lib/aegee-testbed")
ENV = dict(os.environ, PATH=os.path.join(REPO, ".venv", "bin") + os.pathsep + os.environ["PATH"],
           ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
# the staging host: its address and deploy root
HOST, ADDR = "staging-1", "127.0.0.2"
HOST_ROOT = os.path.join(TESTBED, "hosts", HOST, "srv", "myaegee")


def sh(cmd, check=True, **kw):
    """Run ``cmd`` from the repo root with the venv's tools; output captured."""
    kw.setdefault("env", ENV)
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=check, **kw)


def timed(cmd):
    """``(seconds, stdout)`` of ``cmd``; a failed command ends the benchmark with its output (no row is faked)."""
    start = time.monotonic()
    proc = sh(cmd, check=False)
    if proc.returncode != 0:
        sys.exit("%s exited %d:\n%s" % (" ".join(cmd), proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
    return time.monotonic() - start, proc.stdout


def ssh(name):
    """argv of an SSH command to the staging host as the controller reaches it (own master ``name``)."""
    os.makedirs("/tmp/aegee-ansible-cp", exist_ok=True)
    return ["ssh", "-p", "2222", "-i", os.path.join(TESTBED, "ssh", "id_ed25519"),
            "-o", "UserKnownHostsFile=%s" % os.path.join(TESTBED, "ssh", "known_hosts"),
            "-o", "StrictHostKeyChecking=yes", "-o", "ControlMaster=auto", "-o", "ControlPersist=60s",
            "-o", "ControlPath=/tmp/aegee-ansible-cp/%s-%%h" % name, "root@%s" % ADDR]


def playbook(name, *args, check=True):
    return sh(["ansible-playbook", os.path.join("playbooks", name), *args], check=check)


def publish(service, version, **env):
    """Build and push a test image version (``START_DELAY``, ``NEVER_HEALTHY``...); ``latest`` stays."""
    sh(["testbed/publish.sh", service, version], env=dict(ENV, LATEST="no", **env))


def wait_version(url, version, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
                if json.loads(resp.read())["data"]["version"] == version:
                    return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise RuntimeError("%s never answered %s" % (url, version))


# ------------------------------------ the deploy repo with published host ports
# The testbed's deploy repo is in the real shape: each service exposes its port on the project network and the
# gateway routes to it. For comparison, a commit to the origin can make each one publish a host port instead
# (PORT_PREFIX + this), which makes its switch stop-first; ``revert_origin`` takes that commit back.
PORT_SUFFIX = {"core": "84", "events": "85", "mailer": "86", "frontend": "80"}
GATEWAY_PATH = {"core": "/api/core", "events": "/api/events", "mailer": "/api/mailer", "frontend": ""}
ORIGIN = os.path.join(TESTBED, "git", "myaegee.git")
IDENT = ["-c", "user.name=Operator", "-c", "user.email=operator@example.org"]
EXPOSED = '        expose:\n            - "80"\n'


def published_port(text, svc):
    """``svc``'s compose file with its ``expose`` replaced by a published host port (stop-first)."""
    if EXPOSED not in text:
        raise ValueError("%s's compose file exposes no port 80 to publish" % svc)
    return text.replace(EXPOSED, '        ports:\n            - "${BIND_IP}:${PORT_PREFIX}%s:80"\n' % PORT_SUFFIX[svc])


def ports_origin(work):
    """Clone the testbed's origin into ``work`` and push a commit in which every service publishes a host port."""
    subprocess.run(["git", "clone", "-q", "-b", "stable", ORIGIN, work], check=True, capture_output=True)
    for svc in PORT_SUFFIX:
        path = os.path.join(work, svc, "docker", "docker-compose.yml")
        with open(path) as handle:
            text = published_port(handle.read(), svc)
        with open(path, "w") as handle:
            handle.write(text)
    subprocess.run(["git", "-C", work, *IDENT, "commit", "-q", "-am", "every service publishes a host port"],
                   check=True, capture_output=True)
    subprocess.run(["git", "-C", work, "push", "-q", "origin", "stable"], check=True, capture_output=True)


def revert_origin(work):
    """Revert ``ports_origin``'s commit in the origin (the services expose their port only again)."""
    subprocess.run(["git", "-C", work, *IDENT, "revert", "--no-edit", "HEAD"], check=True, capture_output=True)
    subprocess.run(["git", "-C", work, "push", "-q", "origin", "stable"], check=True, capture_output=True)


def machine():
    """Cores, memory and OS of this machine, for the generated reports."""
    mem = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    pretty = platform.platform()
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as handle:
            fields = dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)
        pretty = "%s, Linux %s" % (fields.get("PRETTY_NAME", "?").strip('"'), platform.release())
    engine = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                            check=False).stdout.strip()
    return {"cores": os.cpu_count(), "memory": "%d MiB" % mem, "os": pretty, "docker": engine or "unknown"}
