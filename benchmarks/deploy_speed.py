"""Deploy speed, side by side in one run, as ratios (make bench).

Against the running testbed (make testbed-up), interleaved rounds of:

* ``hand``: what an operator would type: one ssh command that pins core with
  sed, ``docker compose pull core`` and ``up -d core`` in a one-service
  compose project of its own, then a poll of /healthcheck until it answers the
  new version;
* ``deploy``: ``ansible-playbook playbooks/deploy.yml -l staging -e service=core
  -e version=V`` with every safety step (plan, lock, repo update, pin with
  digest, pull, up --wait on Docker health, /healthcheck, history);
* ``noop``: the same deploy again (nothing to do);
* ``ping``: ``ansible-playbook`` running one ``ping`` task (the floor of any
  playbook run).

Prints the medians and the ratios deploy/hand and noop/ping, the numbers the
speed targets are stated in. The machine is shared and noisy: compare ratios,
not seconds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from _testbed import ADDR, REPO, TESTBED, sh, ssh, wait_version

BENCH_ROOT = os.path.join(TESTBED, "hosts", "staging-1", "srv", "bench")
BENCH_PORT = 18984
SSH = ssh("bench")


def setup_hand_project():
    compose = (
        "services:\n    core:\n        image: localhost:5000/aegee/core:1.5.0\n        init: true\n"
        "        ports:\n            - \"%s:%d:80\"\n" % (ADDR, BENCH_PORT)
    )
    os.makedirs(BENCH_ROOT, exist_ok=True)
    with open(os.path.join(BENCH_ROOT, "docker-compose.yml"), "w") as handle:
        handle.write(compose)
    login = "docker login -u deployer --password-stdin localhost:5000 < %s/registry/password" % TESTBED
    sh([*SSH, "%s >/dev/null && cd %s && docker compose -p aegee-test-bench up -d" % (login, BENCH_ROOT)])


def hand(version):
    start = time.time()
    sh([*SSH, "cd %s && sed -i 's#aegee/core:[^\"]*#aegee/core:%s#' docker-compose.yml && "
              "docker compose -p aegee-test-bench pull -q core && docker compose -p aegee-test-bench up -d core"
              % (BENCH_ROOT, version)])
    wait_version("http://%s:%d/healthcheck" % (ADDR, BENCH_PORT), version)
    return time.time() - start


def timed(cmd):
    start = time.time()
    sh(cmd)
    return time.time() - start


def main(rounds):
    setup_hand_project()
    sh(["ansible-playbook", "playbooks/deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0"])
    ping = os.path.join(REPO, "benchmarks", "ping.yml")
    times = {"hand": [], "deploy": [], "noop": [], "ping": []}
    for i in range(rounds):
        version = ("1.4.2", "1.5.0")[i % 2]
        times["hand"].append(hand(version))
        times["deploy"].append(timed(["ansible-playbook", "playbooks/deploy.yml", "-l", "staging",
                                      "-e", "service=core", "-e", "version=%s" % version]))
        times["noop"].append(timed(["ansible-playbook", "playbooks/deploy.yml", "-l", "staging",
                                    "-e", "service=core", "-e", "version=%s" % version]))
        times["ping"].append(timed(["ansible-playbook", ping, "-l", "staging"]))
    med = {k: statistics.median(v) for k, v in times.items()}
    print("rounds: %d (medians, seconds)" % rounds)
    for k, v in med.items():
        print("  %-7s %.2f   (%s)" % (k, v, " ".join("%.2f" % x for x in times[k])))
    print("deploy / hand = %.2fx   (target <= 2x)" % (med["deploy"] / med["hand"]))
    print("noop / ping   = %.2fx   (target <= 1.5x)" % (med["noop"] / med["ping"]))
    subprocess.run([*SSH, "cd %s && docker compose -p aegee-test-bench down" % BENCH_ROOT], capture_output=True,
                   check=False)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
