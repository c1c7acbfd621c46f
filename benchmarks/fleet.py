"""The fleet rows of ``make bench HOSTS=10`` (issue 14): many hosts at once, and serial rollouts.

``make testbed-up HOSTS=N`` gives staging N hosts (staging-1 and staging-2 …
staging-N, listed in ``$TESTBED_ROOT/fleet/inventory.yml`` beside the testbed
inventory). Every row deploys core at a new version (start-first, through
each host's gateway) and is followed by an untimed reset to the old version:

* ``fleet-1``: ``deploy.yml -l staging-1``: one host;
* ``fleet-N``: ``deploy.yml -l staging -e serial=100%``: every staging host at once;
* ``serial-b``: ``deploy.yml -l staging -e serial=b``: the N hosts in batches of b,
  the way a production rollout goes (the same play and ``serial`` keyword;
  measured on the staging fleet so production's promotion rules stay out of
  the figure). Two batch sizes: a rollout that grows with the number of
  batches, not with hosts × a fixed overhead, takes about the same seconds per
  batch with batches of 2 and of N/2.

On the 2-core machines this was written on, the fleet cannot be measured: a
testbed of 10 hosts runs 50 containers whose healthchecks probe every second
(each probe a ``docker exec``; the gateway's spawns the Traefik binary), and
that alone keeps the load average above 40 with nothing deployed. A deploy of
one service then took ~40 s on one host (11 s on the 3-host testbed) and a
new container missed its 2 s probe timeout. The rows are here for a machine
with the cores for it (about one per host).
"""

from __future__ import annotations

import os

from _testbed import TESTBED, timed

INVENTORY = ["-i", os.path.join("inventories", "testbed", "hosts.yml"),
             "-i", os.path.join(TESTBED, "fleet", "inventory.yml")]


def size():
    """How many staging hosts the running testbed has (1 without HOSTS=N)."""
    try:
        with open(os.path.join(TESTBED, "fleet", "size")) as handle:
            return int(handle.read().strip() or 1)
    except (OSError, ValueError):
        return 1


def _playbook(limit, *extra):
    return timed(["ansible-playbook", "playbooks/deploy.yml", *INVENTORY, "-l", limit, *extra])[0]


def _deploy(limit, version, *extra):
    """Seconds of a deploy of core at ``version`` to ``limit``."""
    return _playbook(limit, "-e", "service=core", "-e", "version=%s" % version, *extra)


def batch_sizes(hosts):
    """Two batch sizes for the serial rows: 2 and half the fleet (distinct, each at least 1)."""
    return sorted({max(1, min(2, hosts)), max(1, hosts // 2)})


def rows(hosts):
    """The row names, in the order they run."""
    return ["fleet-1", "fleet-%d" % hosts] + ["serial-%d" % b for b in batch_sizes(hosts)]


def prepare(old):
    """Every fleet host runs every service (the latest; the first deploy clones the repo on the new
    hosts), core at ``old``."""
    _playbook("staging", "-e", "serial=2", "-e", "lock_wait=180")  # 2 hosts' first boots at a time: 2 cores
    _deploy("staging", old, "-e", "force=true", "-e", "serial=100%")


def rounds(count, times, old, new):
    """``count`` interleaved rounds of the fleet rows into ``times`` (row -> [seconds])."""
    hosts = size()
    for name in rows(hosts):
        times.setdefault(name, [])
    prepare(old)
    for i in range(count):
        times["fleet-1"].append(_deploy("staging-1", new))
        _deploy("staging-1", old, "-e", "force=true")
        times["fleet-%d" % hosts].append(_deploy("staging", new, "-e", "serial=100%"))
        _deploy("staging", old, "-e", "force=true", "-e", "serial=100%")
        for b in batch_sizes(hosts):
            times["serial-%d" % b].append(_deploy("staging", new, "-e", "serial=%d" % b))
            _deploy("staging", old, "-e", "force=true", "-e", "serial=100%")
        print("round %d/%d (fleet of %d hosts) done" % (i + 1, count, hosts), flush=True)
    return hosts


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


def lines(med, hosts):
    """The fleet's paragraph of docs/performance.md: seconds per batch of each serial row."""
    text = ["", "## Fleet (%d staging hosts)" % hosts, ""]
    for b in batch_sizes(hosts):
        batches = -(-hosts // b)
        text.append("- `serial=%d`: %d batches, %.2f s in all, %.2f s per batch." % (
            b, batches, med["serial-%d" % b], med["serial-%d" % b] / batches))
    return text
