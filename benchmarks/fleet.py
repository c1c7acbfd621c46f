"""The fleet rows of ``make bench HOSTS=10`` (issue 14): many hosts at once, and serial rollouts.

``make testbed-up HOSTS=N`` gives staging N hosts (staging-1 and staging-2 …
staging-N, listed in ``$TESTBED_ROOT/fleet/inventory.yml`` beside the testbed
inventory). Every row deploys core at a new version and is followed by an
untimed reset to the old version:

* ``fleet-1``: ``deploy.yml -l staging-1``: one host;
* ``fleet-N``: ``deploy.yml -l staging -e serial=100%``: every staging host at once;
* ``serial-b``: ``deploy.yml -l staging -e serial=b``: the N hosts in batches of b,
  the way a production rollout goes (the same play and ``serial`` keyword;
  measured on the staging fleet so production's promotion rules stay out of
  the figure). Two batch sizes: a rollout that grows with the number of
  batches, not with hosts × a fixed overhead, takes about the same seconds per
  batch with batches of 2 and of N/2.

and two rows of Ansible's own floor on the same hosts: ``ping-1`` and
``ping-N`` (benchmarks/ping.yml on one host, on all of them).

The rows run in the stop-first rounds' shape (every service publishes a host
port, the checks poll it; the same extra vars, see deploy_speed.py), and the
extra hosts run core only (their ``ENABLED_SERVICES``, in an inventory the
rows add on top of the fleet's; staging-1 runs every service, as in the other
rows): a fleet of 10 hosts running every service behind its gateway is 50
containers whose healthchecks probe every second (each probe a ``docker
exec``; the gateway's spawns the Traefik binary), and on the 2-core machines
this was written on that alone kept the load average above 40 with nothing
deployed (a deploy of one service then took ~40 s). Core and its gateway on
each host were still 1.3 cores busy with nothing deployed; core alone is 9
probing containers more than the other rows have. What the rows measure is
the tool's own cost per host and whether hosts go in parallel, which one
service shows as well as four. After the rows the extra hosts' containers
are removed (untimed).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time

import yaml
from _testbed import TESTBED, timed

FLEET_INVENTORY = os.path.join(TESTBED, "fleet", "inventory.yml")
INVENTORY = ["-i", os.path.join("inventories", "testbed", "hosts.yml"), "-i", FLEET_INVENTORY]
PING = os.path.join("benchmarks", "ping.yml")


def size():
    """How many staging hosts the running testbed has (1 without HOSTS=N)."""
    try:
        with open(os.path.join(TESTBED, "fleet", "size")) as handle:
            return int(handle.read().strip() or 1)
    except (OSError, ValueError):
        return 1


def _playbook(limit, *extra, playbook="playbooks/deploy.yml"):
    return timed(["ansible-playbook", playbook, *INVENTORY, "-l", limit, *extra])[0]


def _fleet_inventory():
    """The fleet's inventory (testbed/up.sh writes it) and its extra hosts' variables (name -> vars)."""
    with open(FLEET_INVENTORY) as handle:
        inventory = yaml.safe_load(handle)
    return inventory, inventory["staging"]["hosts"] or {}


def core_only(path):
    """Write to ``path`` the fleet's inventory with ``ENABLED_SERVICES=core`` in each extra host's .env values;
    return the ``-i`` arguments that add it."""
    inventory, extra_hosts = _fleet_inventory()
    for values in extra_hosts.values():
        values["aegee_deploy_env"]["ENABLED_SERVICES"] = "core"
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle)
    return ["-i", path]


def _deploy(limit, version, *extra):
    """Seconds of a deploy of core at ``version`` to ``limit``."""
    return _playbook(limit, "-e", "service=core", "-e", "version=%s" % version, *extra)


def batch_sizes(hosts):
    """Two batch sizes for the serial rows: 2 and half the fleet (distinct, each at least 1)."""
    return sorted({max(1, min(2, hosts)), max(1, hosts // 2)})


def rows(hosts):
    """The row names, in the order they run."""
    return (["ping-1", "ping-%d" % hosts, "fleet-1", "fleet-%d" % hosts]
            + ["serial-%d" % b for b in batch_sizes(hosts)])


def _cpu_seconds():
    """CPU seconds the whole machine has spent busy (every process, every core) since it started."""
    with open("/proc/stat") as handle:
        ticks = [int(x) for x in handle.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def _busy(busy, name, run):
    """``run()``'s result; appends to ``busy[name]`` how many cores the machine kept busy meanwhile."""
    cpu, start = _cpu_seconds(), time.monotonic()
    result = run()
    busy.setdefault(name, []).append((_cpu_seconds() - cpu) / (time.monotonic() - start))
    return result


def rounds(count, times, old, new, extra, busy):
    """``count`` interleaved rounds of the fleet rows into ``times`` (row -> [seconds]), every deploy with the
    extra vars ``extra``, and into ``busy`` (row -> [cores]) how many cores the machine kept busy during the
    deploys of one host and of all; then the extra hosts' containers are removed."""
    hosts = size()
    for name in rows(hosts):
        times.setdefault(name, [])
    with tempfile.TemporaryDirectory() as tmp:
        extra = [*core_only(os.path.join(tmp, "core-only.yml")), *extra]
        # core at ``old`` on every host (the first deploy clones the repo on the new hosts; 2 at a time: 2 cores)
        _deploy("staging", old, *extra, "-e", "force=true", "-e", "serial=2", "-e", "lock_wait=180")
        try:
            for i in range(count):
                times["ping-1"].append(_playbook("staging-1", playbook=PING))
                times["ping-%d" % hosts].append(_playbook("staging", playbook=PING))
                times["fleet-1"].append(_busy(busy, "fleet-1", lambda: _deploy("staging-1", new, *extra)))
                _deploy("staging-1", old, *extra, "-e", "force=true")
                times["fleet-%d" % hosts].append(_busy(busy, "fleet-%d" % hosts, lambda: _deploy(
                    "staging", new, *extra, "-e", "serial=100%")))
                _deploy("staging", old, *extra, "-e", "force=true", "-e", "serial=100%")
                for b in batch_sizes(hosts):
                    times["serial-%d" % b].append(_deploy("staging", new, *extra, "-e", "serial=%d" % b))
                    _deploy("staging", old, *extra, "-e", "force=true", "-e", "serial=100%")
                print("round %d/%d (fleet of %d hosts) done" % (i + 1, count, hosts), flush=True)
        finally:
            for values in _fleet_inventory()[1].values():  # the extra hosts; staging-1 stays: the other rows use it
                _remove_project(values["aegee_deploy_env"]["COMPOSE_PROJECT_NAME"])
    return hosts


def _remove_project(project):
    """Remove the containers of compose project ``project`` (the extra hosts' own: their probes would load the
    machine for the rows after these)."""
    found = subprocess.run(["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=%s" % project],
                           capture_output=True, text=True, check=False).stdout.split()
    if found:
        subprocess.run(["docker", "rm", "-f", *found], capture_output=True, check=False)


def verdicts(med, hosts):
    """(what, measured, target, met) rows of the fleet."""
    out = []
    many, one = med["fleet-%d" % hosts], med["fleet-1"]
    out.append(("fleet: %d hosts at once / one host" % hosts, "%.2fx" % (many / one), "<= 2.0x", many / one <= 2.0))
    per = {b: med["serial-%d" % b] / -(-hosts // b) for b in batch_sizes(hosts)}
    if len(per) == 2:
        small, large = sorted(per)
        ratio = per[large] / per[small]
        out.append(("serial: s/batch of %d hosts / s/batch of %d" % (large, small), "%.2fx" % ratio,
                    "<= 1.5x", ratio <= 1.5))
    return out


def lines(med, hosts, busy):
    """The fleet's paragraph of docs/performance.md: Ansible's own floor on the same hosts beside the deploy's,
    each host's cost beyond the first, the cores kept busy, and seconds per batch of each serial row."""
    many, one = med["fleet-%d" % hosts], med["fleet-1"]
    cores = {name: statistics.median(values) for name, values in busy.items()}
    ping_many, ping_one = med["ping-%d" % hosts], med["ping-1"]
    text = ["", "## Fleet (%d staging hosts)" % hosts, "",
            "The extra hosts run core only (with its gateway, each host's probes would saturate 2 cores: see "
            "benchmarks/fleet.py); every row deploys core, stop-first, with the other rows' extra vars.", "",
            "- %d hosts at once: %.2fx one host (%.2f s against %.2f s); Ansible's own floor on the same hosts, "
            "one `ping` task: %.2fx (%.2f s against %.2f s)." % (
                hosts, many / one, many, one, ping_many / ping_one, ping_many, ping_one),
            "- each host beyond the first adds %.2f s to the deploy, %.2f s to the `ping` playbook." % (
                (many - one) / (hosts - 1), (ping_many - ping_one) / (hosts - 1)),
            "- the machine's cores kept busy (every process: Ansible, sshd, the module, Docker, the containers' "
            "probes): %.2f of %d while one host deploys, %.2f while %d do. The testbed's hosts share this "
            "machine's cores; real hosts each bring their own." % (
                cores["fleet-1"], os.cpu_count(), cores["fleet-%d" % hosts], hosts),
            "- one host after another would take %d x %.2f = %.2f s." % (hosts, one, hosts * one)]
    for b in batch_sizes(hosts):
        batches = -(-hosts // b)
        text.append("- `serial=%d`: %d batches, %.2f s in all, %.2f s per batch." % (
            b, batches, med["serial-%d" % b], med["serial-%d" % b] / batches))
    return text
