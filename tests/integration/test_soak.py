"""The soak: deploy and rollback cycles across the testbed with real faults injected at random.

``make soak`` runs 40 cycles (``CYCLES=``, ``SEED=`` to repeat a run); the
integration suite (so CI) runs a short one of AEGEE_SOAK_CYCLES (default 6).
After every cycle every host must be consistent with its history
(hostview.assert_consistent); the run stops by itself after the last cycle.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess

import faults
import pytest
from conftest import HOSTS, REPO_ROOT, ansible_env, playbook, run
from hostview import assert_consistent, containers, deploy_fresh, state_dir, versions

CYCLES = int(os.environ.get("AEGEE_SOAK_CYCLES", "6"))
SEED = int(os.environ.get("AEGEE_SOAK_SEED") or random.SystemRandom().randrange(1 << 30))
FAULT_RATE = 0.2
SERVICES = ("core", "events", "mailer")
CHOICES = ("1.4.1", "1.4.2", "1.5.0")


def _lock(host):
    return os.path.exists(os.path.join(state_dir(host), "lock"))


def _new_container(host, svc, version):
    c = containers(HOSTS[host][1]).get(svc)
    return bool(c) and c["Image"].split("@")[0].endswith(":" + version)


def _interrupted(args, host, svc, version, how):
    """Start a deploy, and when its new container appears, kill the controller or the host's sshd."""
    proc = subprocess.Popen(["ansible-playbook", "playbooks/deploy.yml", *args], cwd=REPO_ROOT, env=ansible_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        try:
            faults.wait_until(lambda: _new_container(host, svc, version), "the new container", 120)
        except AssertionError:
            pass  # the deploy failed before recreating anything: nothing to interrupt
        else:
            if how == "controller":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                faults.kill_sshd(host)
        proc.wait(timeout=300)
    finally:
        if how == "sshd":
            faults.start_sshd(host)
    faults.wait_until(lambda: not _lock(host), "the release on the host to finish", 180)


@pytest.fixture(scope="module")
def deployed(testbed):
    deploy_fresh()
    yield
    run(["testbed/retag.sh", "core", "1.5.0"])


@pytest.mark.reliability("soak", "%d cycles" % CYCLES, "Deploy/rollback cycles, a random fault in a fifth of them")
def test_soak(testbed, deployed, reliability):
    rng = random.Random(SEED)
    counts = {}
    outputs = []
    for cycle in range(1, CYCLES + 1):
        svc = rng.choice(SERVICES)
        current = versions("staging-1")[svc]
        version = rng.choice([v for v in CHOICES if v != current])
        # force: a version an earlier cycle rolled back from is marked bad, and the soak may pick it again
        args = ("-l", "staging", "-e", "service=" + svc, "-e", "version=" + version, "-e", "force=true")
        fault = rng.choice(("registry-down", "registry-503", "sshd", "controller", "broken")) \
            if rng.random() < FAULT_RATE else None
        action = rng.choice(("deploy", "deploy", "rollback", "promote")) if fault is None else "deploy"
        label = fault or action
        counts[label] = counts.get(label, 0) + 1
        if fault == "registry-down":
            with faults.registry_down():
                proc = playbook("deploy.yml", *args, check=False)
            assert proc.returncode != 0, "cycle %d (seed %d): a deploy without registry succeeded" % (cycle, SEED)
        elif fault == "registry-503":
            with faults.registry_flaky(failures=2, status=503):
                proc = playbook("deploy.yml", *args, check=False)
            assert proc.returncode == 0, "cycle %d (seed %d): 2 answers 503 were not retried" % (cycle, SEED)
        elif fault in ("sshd", "controller"):
            _interrupted(args, "staging-1", svc, version, fault)
            proc = playbook("deploy.yml", *args, "-e", "lock_wait=120", check=False)
            if proc.returncode != 0 and "stale lock" in proc.stdout:
                proc = playbook("deploy.yml", *args, "-e", "break_lock=true", check=False)
            assert proc.returncode == 0, "cycle %d (seed %d): the rerun after %s did not converge:\n%s" % (
                cycle, SEED, fault, proc.stdout[-3000:])
        elif fault == "broken":
            proc = playbook("deploy.yml", "-l", "staging", "-e", "service=events", "-e", "version=1.6.0",
                            check=False)
            assert proc.returncode != 0 and "previous version was restored" in proc.stdout
        elif action == "rollback":
            proc = playbook("rollback.yml", "-l", "staging", "-e", "service=" + svc, check=False)
            # nothing to roll back to is a clear refusal, not a fault
            assert proc.returncode == 0 or "no earlier good release" in proc.stdout, proc.stdout[-3000:]
        elif action == "promote":
            proc = playbook("deploy.yml", "-l", "production", check=False)
            assert proc.returncode == 0, proc.stdout[-3000:]
        else:
            proc = playbook("deploy.yml", *args, check=False)
            assert proc.returncode == 0, proc.stdout[-3000:]
        outputs.append(proc.stdout + proc.stderr)
        for host in HOSTS:
            assert_consistent(host, None, secrets=[testbed["password"]], outputs=outputs[-1:])
    reliability.did("seed %d: %s" % (SEED, ", ".join("%s x%d" % kv for kv in sorted(counts.items()))))
    reliability.checked("after each of the %d cycles every host ran its pinned, recorded version, healthy, "
                        "unlocked, with whole pins only, and no secret in the output" % CYCLES)
