"""Deploy speed, side by side in one run, as ratios (make bench [ROUNDS=3] [HOSTS=10]).

Against the running testbed (make testbed-up), on the staging host, in
interleaved rounds (each round runs every row once, so the machine's load
hits them alike):

* ``hand``: what an operator would type: one ssh command that pins core with
  sed, ``docker compose pull core`` and ``up -d core`` in a one-service
  compose project of its own, then a poll of /healthcheck until it answers the
  new version;
* ``naive``: the playbook a user would write with community.docker
  (benchmarks/naive.yml: ``replace`` pin, ``docker_compose_v2``, ``uri`` until
  the version answers), against its own one-service compose project;
* ``deploy``: ``deploy.yml -l staging -e service=core -e version=V`` with every
  safety step (plan, lock, repo update, pin with digest, pull, switch on
  Docker health, /healthcheck and the version check, history), in the shape
  the naive playbook knows: a commit to the origin (reverted after these
  rounds) makes every service publish a host port, the checks poll it as the
  hand and naive rows poll theirs (so no browser check: the frontend's page
  goes through the gateway, which nothing then waits for), and every service
  is marked ``switch: stop-first`` in the catalogue (the switch the naive
  playbook makes);
* ``noop``: the same deploy again (nothing to do);
* ``ping``: ``ansible-playbook`` running one ``ping`` task (the floor of any
  playbook run);
* ``all``: a routine deploy of all four services at new versions (after an
  untimed reset of each to 1.4.2);
* ``sf-deploy`` / ``sf-all``: the same two deploys as the testbed makes them
  (the real shape: every service exposes its port only): start-first
  switches;
* the registry requests (and token requests) of one plan of every service;
* with ``HOSTS=N`` (a testbed of N staging hosts), the fleet rows of
  benchmarks/fleet.py: N hosts at once against one, and serial rollouts.

The two own compose projects are created before the rounds and removed after
them. Prints the medians, each ratio next to its target (issue 14) and
whether it is met, and writes docs/performance.md with the figures and the
machine they were measured on. The machine is shared and noisy: compare
ratios, not seconds.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import fleet
from _testbed import (
    ADDR, ENV, HOST_ROOT, PORT_SUFFIX, REPO, TESTBED, machine, ports_origin, revert_origin, sh, ssh, timed,
    wait_version,
)

SERVICES = ("core", "events", "mailer", "frontend")
OLD, NEW = "1.4.2", "1.5.0"  # NEW is latest in the testbed's registry
SSH = ssh("bench")
REPORT = os.path.join(REPO, "docs", "performance.md")


class Project:
    """A one-service compose project of core on the staging host, outside the tool (the hand and naive rows)."""

    def __init__(self, name, port):
        self.name, self.port = name, port
        self.root = os.path.join(TESTBED, "hosts", "staging-1", "srv", name)
        self.url = "http://%s:%d/healthcheck" % (ADDR, port)

    def up(self):
        compose = ("services:\n    core:\n        image: localhost:5000/aegee/core:%s\n        init: true\n"
                   "        ports:\n            - \"%s:%d:80\"\n" % (NEW, ADDR, self.port))
        os.makedirs(self.root, exist_ok=True)
        with open(os.path.join(self.root, "docker-compose.yml"), "w") as handle:
            handle.write(compose)
        login = "docker login -u deployer --password-stdin localhost:5000 < %s/registry/password" % TESTBED
        sh([*SSH, "%s >/dev/null && cd %s && docker compose -p %s up -d" % (login, self.root, self.name)])

    def down(self):
        subprocess.run([*SSH, "cd %s && docker compose -p %s down" % (self.root, self.name)], capture_output=True,
                       check=False)


HAND = Project("aegee-test-bench", 18984)
NAIVE = Project("aegee-test-naive", 18985)


def deploy(*args):
    return ["ansible-playbook", "playbooks/deploy.yml", "-l", "staging", *args]


def hand(version):
    start = time.monotonic()
    sh([*SSH, "cd %s && sed -i 's#aegee/core:[^\"]*#aegee/core:%s#' docker-compose.yml && "
              "docker compose -p %s pull -q core && docker compose -p %s up -d core"
              % (HAND.root, version, HAND.name, HAND.name)])
    wait_version(HAND.url, version)
    return time.monotonic() - start


def naive(version):
    """Seconds of the naive playbook, or None when it failed (what it printed is shown; the row is left out)."""
    cmd = ["ansible-playbook", os.path.join("benchmarks", "naive.yml"), "-l", "staging", "-e",
           "naive_root=%s" % NAIVE.root, "-e", "naive_version=%s" % version, "-e", "naive_url=%s" % NAIVE.url]
    start = time.monotonic()
    proc = sh(cmd, check=False)
    if proc.returncode != 0:
        print("the naive playbook failed (its row is left out):\n%s" % (proc.stdout + proc.stderr)[-3000:])
        return None
    return time.monotonic() - start


def reset(extra, services=SERVICES):
    """Every service of ``services`` back to OLD (untimed), so the next routine deploy changes them all."""
    for svc in services:
        timed(deploy(*extra, "-e", "service=%s" % svc, "-e", "version=%s" % OLD, "-e", "force=true"))


SWITCH_LINE = re.compile(r"core: start-first \([^)]*\), healthy after ([0-9.]+) s, ([0-9.]+) s in all"
                         r"(?:, drained in ([0-9.]+) s)?")


def switch_seconds(out):
    """(healthy after, drain, total) of core's start-first switch, from the run's output."""
    found = SWITCH_LINE.search(" ".join(out.split()))  # -v output wraps long messages
    if found is None:
        raise RuntimeError("no start-first switch line for core in the output:\n" + out[-2000:])
    healthy, total, drain = (float(x) if x else 0.0 for x in found.groups())
    return healthy, drain, total


def plan_requests():
    """``{"requests": N, "tokens": N, "repositories": N}`` of one plan of every service."""
    _s, out = timed(["ansible-playbook", os.path.join("benchmarks", "plan.yml"), "-l", "staging"])
    found = re.search(r"REGISTRY (\{.*\})", out)
    return json.loads(found.group(1).replace('\\"', '"')) if found else {}


def where_time_goes(extra, version):
    """One more stop-first deploy of core (not in the rows), with Ansible's JSON output: ``(seconds, tasks,
    commands, switch)``: the run in all, ``[(seconds, task)]`` of its tasks from 0.05 s up, ``[(seconds, what)]``
    of the commands compose_release ran on the host (its ``timings``), from 0.05 s up, and the seconds of core's
    switch in all (``up``, then the wait for Docker's ``healthy``), or None."""
    env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    cmd = deploy(*extra, "-e", "service=core", "-e", "version=%s" % version, "-e", "force=true")  # a test marks it bad
    start = time.monotonic()
    proc = sh(cmd, check=False, env=env)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("%s exited %d:\n%s" % (" ".join(cmd), proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
    tasks, commands, switch = [], [], None
    run = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{"):])[0]  # the summary follows it
    for play in run["plays"]:
        for task in play["tasks"]:
            took = (datetime.datetime.fromisoformat(task["task"]["duration"]["end"].replace("Z", "+00:00"))
                    - datetime.datetime.fromisoformat(task["task"]["duration"]["start"].replace("Z", "+00:00")))
            if took.total_seconds() >= 0.05:
                tasks.append((took.total_seconds(), task["task"]["name"]))
            for result in task["hosts"].values():
                if "timings" in result:  # compose_release's result
                    switch = result["services"].get("core", {}).get("switch", {}).get("total", switch)
                for line in result.get("timings") or []:
                    took_s, what = line.split("s ", 1)
                    if float(took_s) >= 0.05:
                        commands.append((float(took_s), what[:90]))
    return seconds, tasks, commands, switch


def stop_first_rounds(rounds, times, extra):
    HAND.up()
    NAIVE.up()
    try:
        sh(deploy(*extra, "-e", "lock_wait=180"))  # everything at latest
        for i in range(rounds):
            version = (OLD, NEW)[i % 2]
            reset(extra, SERVICES if i == 0 else SERVICES[1:])  # core is at OLD after each round's deploy row
            times["all"].append(timed(deploy(*extra))[0])
            times["deploy"].append(timed(deploy(*extra, "-e", "service=core", "-e", "version=%s" % OLD))[0])
            times["noop"].append(timed(deploy(*extra, "-e", "service=core", "-e", "version=%s" % OLD))[0])
            times["hand"].append(hand(version))
            if "naive" in times:
                seconds = naive(version)
                if seconds is None:
                    del times["naive"]
                else:
                    times["naive"].append(seconds)
            times["ping"].append(timed(["ansible-playbook", os.path.join("benchmarks", "ping.yml"), "-l",
                                        "staging"])[0])
            print("round %d/%d (stop-first) done" % (i + 1, rounds), flush=True)
        times["profile"] = where_time_goes(extra, NEW)  # core is at OLD after the last round
    finally:
        HAND.down()
        NAIVE.down()


def start_first_rounds(rounds, times, switches):
    for i in range(rounds):
        reset([], SERVICES if i == 0 else SERVICES[1:])
        times["sf-all"].append(timed(deploy())[0])
        seconds, out = timed(deploy("-e", "service=core", "-e", "version=%s" % OLD))
        times["sf-deploy"].append(seconds)
        switches.append(switch_seconds(out))
        print("round %d/%d (start-first) done" % (i + 1, rounds), flush=True)
    sh(deploy("-e", "lock_wait=180"))  # everything at latest again


def stop_first_vars(tmp):
    """Extra vars marking every service ``switch: stop-first`` (the switch the naive playbook makes), its checks on
    the host port it publishes in the stop-first rounds (as the hand and naive rows poll theirs), not the gateway."""
    path = os.path.join(tmp, "stop-first.json")
    with open(path, "w") as handle:
        json.dump({"aegee_services": {svc: {"image": "localhost:5000/aegee/%s" % svc, "switch": "stop-first"}
                                      for svc in SERVICES},
                   # each host's own address and port prefix (its .env values): the fleet rows' hosts too
                   "aegee_smoke_urls": {svc: "http://{{ aegee_deploy_env.BIND_IP }}:"
                                             "{{ aegee_deploy_env.PORT_PREFIX }}%s/healthcheck" % PORT_SUFFIX[svc]
                                        for svc in SERVICES},
                   # the frontend's page loads through the gateway and calls the APIs through it: with the checks
                   # on the published ports nothing waits for the gateway to route to the new containers (Traefik
                   # reloads up to 2 s after they turn healthy), and the page, loaded once, races that reload.
                   # `make bench-browser` measures what the browser checks add, in the real shape.
                   "aegee_browser_checks": {}}, handle)
    return ["-e", "@" + path]


def verdicts(med, switch, registry):
    """(what, ratio or figure, target, met) rows."""
    rows = [
        ("deploy / naive (stop-first)", med["deploy"] / med["naive"], 1.0),
    ] if "naive" in med else []
    rows += [
        ("deploy / hand (stop-first)", med["deploy"] / med["hand"], 2.5),
        ("noop / ping", med["noop"] / med["ping"], 1.5),
        ("all / deploy (stop-first)", med["all"] / med["deploy"], 1.5),
        ("sf-all / sf-deploy (start-first)", med["sf-all"] / med["sf-deploy"], 1.5),
    ]
    out = [("%s" % what, "%.2fx" % ratio, "<= %.1fx" % target, ratio <= target) for what, ratio, target in rows]
    healthy, drain, total = switch
    out.append(("start-first switch: total - (healthy + drain)", "%.1f s" % (total - healthy - drain), "<= 1.5 s",
                total - healthy - drain <= 1.5))
    if registry:
        out.append(("token requests per repository (one plan)",
                    "%d / %d" % (registry.get("tokens", 0), registry.get("repositories", 0)), "<= 1 each",
                    registry.get("tokens", 0) <= registry.get("repositories", 0)))
    return out


def render(rounds, times, med, switch, registry, rows, host, load, fleet_run, profile):
    """docs/performance.md; ``fleet_run``: (the number of staging hosts, fleet.rounds' ``busy``)."""
    hosts, busy = fleet_run
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Performance", "",
             "Generated by `make bench ROUNDS=%d` (benchmarks/deploy_speed.py) on %s; do not edit by hand." % (
                 rounds, when), "",
             "Measured on: %s cores, %s memory, %s, Docker %s; load average %s at the start, %s at the end (the "
             "machine is shared with other sessions: compare the ratios, not the seconds)." % (
                 host["cores"], host["memory"], host["os"], host["docker"], load[0], load[1]), "",
             "## Rows (medians of %d interleaved rounds, seconds)" % rounds, "",
             "hand, naive, deploy, noop, ping and all run in the shape the naive playbook knows: every service "
             "publishes a host port and the checks poll it (a stop-first switch, no browser check); sf-deploy and "
             "sf-all in the testbed's real shape (start-first behind the gateway, with the frontend's browser check).",
             "", "| row | median | rounds |", "| --- | --- | --- |"]
    for key, values in times.items():
        lines.append("| %s | %.2f | %s |" % (key, med[key], " ".join("%.2f" % v for v in values)))
    healthy, drain, total = switch
    lines += ["", "Core's start-first switch (medians): healthy after %.1f s, drained in %.1f s, %.1f s in all."
              % (healthy, drain, total)]
    if registry:
        lines += ["", "One plan of every service: %d HTTP requests to the registry, %d token requests for %d "
                  "repositories." % (registry.get("requests", 0), registry.get("tokens", 0),
                                     registry.get("repositories", 0))]
    seconds, tasks, commands, switch_total = profile
    lines += ["", "## Where a stop-first deploy of core spends its time", "",
              "One more deploy after the rounds (not in the rows), %.2f s in all, with Ansible's JSON output. Its "
              "tasks from 0.05 s up (the rest is Ansible starting, loading the playbook, and tasks under 0.05 s):"
              % seconds, "", "| seconds | task |", "| --- | --- |"]
    lines += ["| %.2f | %s |" % (took, name.replace("|", "\\|")) for took, name in tasks]
    lines += ["", "The commands compose_release ran on the host, from 0.05 s up (its `timings`; the rest of the "
              "module's time is Python starting and loading it, files, git, the checks):", "",
              "| seconds | command |", "| --- | --- |"]
    lines += ["| %.2f | %s |" % (took, what.replace("|", "\\|")) for took, what in commands]
    up = next((took for took, what in commands if what.endswith(" up")), None)
    if switch_total is not None and up is not None:
        lines += ["", "Core's stop-first switch took %.1f s: `up` %.2f s (the old container stops, the new one "
                  "starts), then %.1f s listing it and waiting until Docker called it healthy, its first probe "
                  "coming one `interval` after the start (1 s in the testbed's compose files; a shorter first probe, "
                  "`start_interval`, needs Docker 25, this machine has %s). The hand and naive rows poll /healthcheck "
                  "without waiting for Docker's health." % (switch_total, up, switch_total - up, host["docker"])]
    lines += ["", "## Targets (issue 14)", "", "| what | measured | target | met |", "| --- | --- | --- | --- |"]
    lines += ["| %s | %s | %s | %s |" % (what, got, target, "yes" if met else "no") for what, got, target, met in rows]
    if "naive" not in times:
        lines += ["", "The naive community.docker playbook failed in this run (the bench printed why): no naive row."]
    if hosts > 1:
        lines += fleet.lines(med, hosts, busy)
    else:
        lines += ["", "Not measured in this run: the fleet rows (a testbed of 10 staging hosts: `make testbed-down "
                  "testbed-up HOSTS=10`, then `make bench`): 10 staging hosts at once, serial rollouts; see "
                  "benchmarks/fleet.py."]
    lines.append("")
    return "\n".join(lines)


def holds():
    """The bad marks on the staging host (``{svc: [versions]}``): a routine deploy keeps a held service where it is,
    so the ``all`` rows would deploy fewer services than they say."""
    try:
        with open(os.path.join(HOST_ROOT, ".aegee", "state.json")) as handle:
            bad = json.load(handle).get("bad") or {}
    except FileNotFoundError:
        return {}
    return {svc: sorted(marks) for svc, marks in bad.items() if svc in SERVICES and marks}


def main(rounds):
    held = holds()
    if held:
        sys.exit("staging holds bad versions (%s; the integration tests mark some): the `all` rows would not deploy "
                 "every service. Start from a fresh testbed: make testbed-down testbed-up, then make bench"
                 % "; ".join("%s %s" % (svc, ", ".join(v)) for svc, v in sorted(held.items())))
    load_start = "%.2f" % os.getloadavg()[0]
    times = {k: [] for k in ("hand", "naive", "deploy", "noop", "ping", "all", "sf-deploy", "sf-all")}
    switches, busy = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        # the stop-first rounds in the shape the naive playbook knows: every service publishes a host port
        work = os.path.join(tmp, "origin")
        ports_origin(work)
        hosts = fleet.size()
        try:
            stop_first_rounds(rounds, times, stop_first_vars(tmp))
            if hosts > 1:
                fleet.rounds(rounds, times, OLD, NEW, stop_first_vars(tmp), busy)
        finally:
            revert_origin(work)  # the start-first rounds' first reset deploys every service back into the real shape
    start_first_rounds(rounds, times, switches)
    registry = plan_requests()
    profile = times.pop("profile")
    med = {k: statistics.median(v) for k, v in times.items()}
    switch = tuple(statistics.median(s[i] for s in switches) for i in range(3))
    rows = verdicts(med, switch, registry) + (fleet.verdicts(med, hosts) if hosts > 1 else [])
    print("rounds: %d (medians, seconds)" % rounds)
    for k, v in med.items():
        print("  %-9s %6.2f   (%s)" % (k, v, " ".join("%.2f" % x for x in times[k])))
    print("core's start-first switch: healthy after %.1f s, drained in %.1f s, %.1f s in all" % switch)
    if registry:
        print("one plan of every service: %(requests)d HTTP requests, %(tokens)d token requests, "
              "%(repositories)d repositories" % registry)
    for what, got, target, met in rows:
        print("  %-46s %8s   target %-10s %s" % (what, got, target, "met" if met else "NOT met"))
    load = (load_start, "%.2f" % os.getloadavg()[0])
    with open(REPORT, "w") as handle:
        handle.write(render(rounds, times, med, switch, registry, rows, machine(), load, (hosts, busy), profile))
    print("wrote %s" % os.path.relpath(REPORT, REPO))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
