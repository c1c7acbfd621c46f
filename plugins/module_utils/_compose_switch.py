# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The start-first (zero-downtime) switch of one service on Docker Compose v2.

1. ``up --detach --no-deps --no-recreate --scale SVC=N+1 SVC``: the old
   container keeps running untouched, a new one with the new configuration
   starts beside it (the new id is the one not running before);
2. wait for the new container's Docker health ``healthy`` (the proxy routes to
   it from then on) and for ``probe(svc, ip)`` on the new container itself;
3. drain the old one: create its drain marker (its healthcheck is
   ``test ! -e /tmp/drain && ...``), wait for ``unhealthy`` (the proxy stops
   sending it requests), wait ``SETTLE`` seconds for the proxy's reload
   throttle, then ``docker stop`` (its own ``stop_grace_period``) and ``rm``.

A failure before step 3 removes the new container: the old one never stopped
serving. The end state is one container of the new configuration, which a
plain ``docker compose up -d`` keeps as it is.
"""

from __future__ import annotations

import json
import time

DRAIN_MARKER = "/tmp/drain"  # noqa: S108 - a path inside the container, named by its healthcheck
SETTLE = 2.0  # seconds: Traefik's provider throttles its reloads (providersThrottleDuration 2s)
POLL = 0.5


class StartFirst:
    """``switch(svc, timeout, probe)`` of one service; ``compose`` runs compose, ``run`` the Docker CLI."""

    def __init__(self, compose, run, clock=time.monotonic, sleep=time.sleep, progress=None):
        self.compose = compose
        self.run = run
        self.progress = progress or (lambda text: None)
        self.clock = clock
        self.sleep = sleep

    def running(self, svc, every=False):
        """The ids of the running containers of ``svc`` (``every``: in any state)."""
        _rc, out, _err = self.compose("ps", *(["--all"] if every else []), "--quiet", "--no-trunc", svc, check=False)
        return [line.strip() for line in (out or "").splitlines() if line.strip()]

    def state(self, cid):
        """The ``State`` and the address on its first network of container ``cid`` (``({}, None)`` if unknown)."""
        rc, out, _err = self.run(["docker", "inspect", "--type", "container", "--format",
                                  "{{json .State}}|{{json .NetworkSettings.Networks}}|{{json .Config.Healthcheck}}",
                                  cid])
        if rc != 0:
            return {}, None, None
        parts = (out.strip().split("|") + ["null", "null"])[:3]
        try:
            state, networks, health = (json.loads(p) for p in parts)
        except ValueError:
            return {}, None, None
        ips = [n.get("IPAddress") for _k, n in sorted((networks or {}).items()) if n.get("IPAddress")]
        return state or {}, (ips[0] if ips else None), health

    def wait_health(self, cid, want, deadline):
        """None once ``cid``'s health is ``want`` (or it runs without a healthcheck), else why not."""
        while True:
            state, _ip, _hc = self.state(cid)
            status = state.get("Status")
            if status in ("exited", "dead"):
                return "the new container exited (code %s)" % state.get("ExitCode")
            health = (state.get("Health") or {}).get("Status")
            if health == want or (health is None and status == "running" and want == "healthy"):
                return None
            if self.clock() >= deadline:
                return "the container %s is %s, not %s" % (cid[:12], health or status or "gone", want)
            self.sleep(POLL)

    def switch(self, svc, timeout, probe=None):
        """``(problem, report)``: None once the new container serves alone, else why (the old one still serves)."""
        start = self.clock()
        deadline = start + timeout
        report = {"mode": "start-first"}
        old = self.running(svc)
        stopped = [cid for cid in self.running(svc, every=True) if cid not in old]
        if stopped:
            # a stopped container serves nothing, and `up --no-recreate` would start it with its old configuration
            self.run(["docker", "rm", "--force"] + stopped)
        rc, out, err = self.compose("up", "--detach", "--no-deps", "--no-recreate", "--scale",
                                    "%s=%d" % (svc, len(old) + 1), svc, check=False)
        new = [cid for cid in self.running(svc) if cid not in old]
        problem = None
        if rc != 0:
            problem = "starting a new %s container beside the old one failed: %s" % (svc, (err or out).strip()[-500:])
        elif len(new) != 1:
            problem = "starting a new %s container beside the old one gave %d new containers" % (svc, len(new))
        if problem is None:
            self.progress("%s: waiting up to %ds for the new container %s to turn healthy"
                          % (svc, timeout, new[0][:12]))
            problem = self.wait_health(new[0], "healthy", deadline)
            report["healthy_after"] = round(self.clock() - start, 1)
        if problem is None and probe is not None:
            self.progress("%s: checking the version of the new container %s" % (svc, new[0][:12]))
            problem = self._probe(svc, new[0], probe, deadline)
        if problem is not None:
            if new:
                problem += self.last_words(new[0])
                self.run(["docker", "rm", "--force"] + new)
            report["total"] = round(self.clock() - start, 1)
            return problem, report
        self.progress("%s: draining the old container(s) %s" % (svc, ", ".join(cid[:12] for cid in old)))
        report["drain"] = self.drain(old, timeout)
        report["total"] = round(self.clock() - start, 1)
        return None, report

    def last_words(self, cid):
        """What the failed new container said last (its last health probe, its last log lines), before it goes."""
        words = ""
        rc, out, _err = self.run(["docker", "inspect", "--type", "container", "--format", "{{json .State.Health}}",
                                  cid])
        try:
            log = (json.loads(out) or {}).get("Log") or [] if rc == 0 else []
        except ValueError:
            log = []
        if log:
            last = log[-1]
            words += "; its last health check (exit %s): %s" % (last.get("ExitCode"),
                                                                (last.get("Output") or "").strip()[-300:])
        rc, out, err = self.run(["docker", "logs", "--tail", "10", cid])
        if rc == 0 and (out or err).strip():
            words += "; its last log lines:\n%s" % ((out or "") + (err or "")).strip()[-1000:]
        return words

    def _probe(self, svc, cid, probe, deadline):
        while True:
            _state, ip, _hc = self.state(cid)
            problem = probe(svc, ip) if ip else "the new container has no address on the project network"
            if problem is None or self.clock() >= deadline:
                return None if problem is None else "the new %s container: %s" % (svc, problem)
            self.sleep(POLL)

    def drain(self, old, timeout):
        """Take the ``old`` containers out of rotation, then stop and remove them; what happened, as text."""
        if not old:
            return "nothing ran before"
        notes = []
        for cid in old:
            rc, out, err = self.run(["docker", "exec", cid, "sh", "-c", "echo > %s" % DRAIN_MARKER])
            if rc != 0:
                notes.append("%s: no drain marker (%s); stopped at once" % (cid[:12], (err or out).strip()[-200:]))
                continue
            _state, _ip, hc = self.state(cid)
            if not hc or hc.get("Test") in (None, ["NONE"]):
                notes.append("%s: no healthcheck to drain it; stopped at once" % cid[:12])
                continue
            retries = int(hc.get("Retries") or 3)
            wait = sum(float(hc.get(k) or 30e9) / 1e9 for k in ("Interval", "Timeout")) * (retries + 1)
            problem = self.wait_health(cid, "unhealthy", self.clock() + min(timeout, wait + 5))
            notes.append("%s: %s" % (cid[:12], "unhealthy (out of rotation)" if problem is None
                                     else problem + ": its healthcheck ignores %s; stopped anyway" % DRAIN_MARKER))
        self.sleep(SETTLE)
        self.run(["docker", "stop"] + old)
        self.run(["docker", "rm", "--force"] + old)
        return "; ".join(notes)
