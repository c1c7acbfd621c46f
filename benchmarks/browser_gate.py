"""What the browser scenarios add to a release, on the testbed (make bench-browser).

Against the running testbed (make testbed-up): staging runs the single-page app (frontend, core, events at
versions this script publishes) behind its gateway; then interleaved rounds deploy core back and forth between
two versions, once without the gate and once with the deploy repo's three scenarios
(``-e aegee_browser_scenarios=testbed/deploy-repo/tests/browser``). Prints the medians and the difference, the
figure the target is stated in: three scenarios add at most 10 s to a release. At the end staging is deployed back
to the testbed's latest. The machine is shared and noisy: one run is one row, not a timed assertion.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from _testbed import HOST_ROOT, playbook, publish, sh

TARGET = 10.0
SCENARIOS = "testbed/deploy-repo/tests/browser"
TAG = "%d" % (int(time.time()) % 100000)
APP = {svc: "1.7.0-bench.%s" % TAG for svc in ("core", "events", "frontend")}
OTHER = "1.7.1-bench.%s" % TAG


def deploy(version, *extra):
    start = time.time()
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=" + version, *extra)
    return time.time() - start


def last_scenarios():
    with open(os.path.join(HOST_ROOT, ".aegee", "history.jsonl")) as handle:
        return json.loads(handle.read().splitlines()[-1]).get("scenarios") or {}


def main(rounds):
    for svc, version in APP.items():
        publish(svc, version)
    publish("core", OTHER)
    playbook("deploy.yml", "-l", "staging")
    sh([os.path.join(HOST_ROOT, "helper.sh"), "up", "--detach", "--wait", "traefik"])
    for svc, version in APP.items():
        playbook("deploy.yml", "-l", "staging", "-e", "service=" + svc, "-e", "version=" + version)
    times = {"without": [], "with": []}
    ran = set()
    try:
        for _round in range(rounds):
            times["without"].append(deploy(OTHER))
            times["without"].append(deploy(APP["core"]))
            times["with"].append(deploy(OTHER, "-e", "aegee_browser_scenarios=" + SCENARIOS))
            ran.update(last_scenarios().get("ran") or [])
            times["with"].append(deploy(APP["core"], "-e", "aegee_browser_scenarios=" + SCENARIOS))
    finally:
        playbook("deploy.yml", "-l", "staging")
    med = {k: statistics.median(v) for k, v in times.items()}
    print("rounds: %d, two deploys of core each (medians, seconds)" % rounds)
    for key in ("without", "with"):
        print("  %-8s %.2f   (%s)" % (key, med[key], " ".join("%.2f" % x for x in times[key])))
    print("scenarios that ran: %d (%s)" % (len(ran), ", ".join(sorted(ran))))
    added = med["with"] - med["without"]
    print("| %d browser scenarios added to a release | %.2f s | target <= %.0f s | %s |"
          % (len(ran), added, TARGET, "met" if added <= TARGET else "MISSED"))
    return 0 if len(ran) == 3 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
