# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The start-first (zero-downtime) switch of services on Docker Compose v2, all of them at once.

1. one ``up --detach --no-deps --no-recreate --scale SVC=N+1 ... SVC ...``:
   the old containers keep running untouched, a new one of each service with
   the new configuration starts beside them (the new id is the one not
   running before);
2. wait for every new container's Docker health ``healthy`` together (the
   proxy routes to it from then on), then for ``probe(svc, ip)`` on each new
   container itself;
3. drain the old ones together: create their drain markers (their
   healthcheck is ``test ! -e /tmp/drain && ...``), wait for ``unhealthy``
   (the proxy stops sending them requests), wait ``SETTLE`` seconds for the
   proxy's reload throttle, then one ``docker stop`` (each its own
   ``stop_grace_period``) and one ``rm``.

A failure of any service before step 3 removes every new container: the old
ones never stopped serving. The end state is one container of the new
configuration per service, which a plain ``docker compose up -d`` keeps as
it is. The report gives each service its own seconds to healthy and total.
"""

from __future__ import annotations

import json
import time

DRAIN_MARKER = "/tmp/drain"  # noqa: S108 - a path inside the container, named by its healthcheck
SETTLE = 2.0  # seconds: Traefik's provider throttles its reloads (providersThrottleDuration 2s)
POLL = 0.5


class StartFirst:
    """``switch(services, timeout, probe)``; ``compose`` runs compose, ``run`` the Docker CLI."""

    def __init__(self, compose, run, clock=time.monotonic, sleep=time.sleep, progress=None, listing=None):
        self.compose = compose
        self.run = run
        self.listing = listing or (lambda: None)  # the project's containers in one call (quick_ps), None if unsure
        self.progress = progress or (lambda text: None)
        self.clock = clock
        self.sleep = sleep

    def containers(self, services, every=False):
        """``{svc: running ids}`` (``every``: and ``{svc: ids in any state}``): one listing of the project's
        containers, or Compose's ``ps`` of each service when that listing cannot be sure."""
        found = self.listing()
        running, anyhow = {}, {}
        for svc in services:
            if found is None:
                running[svc] = self.running(svc)
                anyhow[svc] = self.running(svc, every=True) if every else []
            else:
                running[svc] = [c["ID"] for c in found if c["Service"] == svc and c["State"] == "running"]
                anyhow[svc] = [c["ID"] for c in found if c["Service"] == svc]
        return (running, anyhow) if every else running

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

    def wait_health(self, cids, want, deadline, reached=None, poll=POLL):
        """``{cid: None once its health is want (or it runs without a healthcheck), else why not}``, all waited
        for together, the engine asked every ``poll`` seconds; ``reached(cid)`` is told when one gets there.
        Waiting for ``healthy`` stops at the first that cannot get there (it exited, or its healthcheck already
        failed its retries: ``unhealthy``, as Compose's own ``--wait`` stops)."""
        pending, done = list(cids), {}
        while pending:
            for cid in list(pending):
                state, _ip, _hc = self.state(cid)
                status = state.get("Status")
                health = (state.get("Health") or {}).get("Status")
                if want == "healthy" and health == "unhealthy":
                    done[cid] = "the new container %s is unhealthy" % cid[:12]
                    return done
                if status in ("exited", "dead"):
                    done[cid] = "the container %s exited (code %s)" % (cid[:12], state.get("ExitCode"))
                    if want == "healthy":
                        done[cid] = "the new container exited (code %s)" % state.get("ExitCode")
                        return done  # the release fails: no use waiting for the others
                    pending.remove(cid)
                    continue
                if health == want or (health is None and status == "running" and want == "healthy"):
                    done[cid] = None
                    pending.remove(cid)
                    if reached is not None:
                        reached(cid)
                elif self.clock() >= deadline:
                    done[cid] = "the container %s is %s, not %s" % (cid[:12], health or status or "gone", want)
                    pending.remove(cid)
            if pending:
                self.sleep(poll)
        return done

    def switch(self, services, timeout, probe=None):
        """``(problem, {svc: report})``: None once every new container serves alone, else why (the old ones
        still serve, every new one is gone)."""
        start = self.clock()
        deadline = start + timeout
        reports = {svc: {"mode": "start-first"} for svc in services}
        old, new, problem = self._start(services)
        failed = None
        if problem is None:
            for svc in services:
                self.progress("%s: waiting up to %ds for the new container %s to turn healthy"
                              % (svc, timeout, new[svc][:12]))
            owner = {cid: svc for svc, cid in new.items()}

            def healthy(cid):
                reports[owner[cid]]["healthy_after"] = round(self.clock() - start, 1)

            waited = self.wait_health([new[svc] for svc in services], "healthy", deadline, healthy)
            failed = next((owner[cid] for cid, why in waited.items() if why is not None), None)
            problem = waited[new[failed]] if failed else None
        if problem is None and probe is not None:
            for svc in services:
                self.progress("%s: checking the version of the new container %s" % (svc, new[svc][:12]))
                problem = self._probe(svc, new[svc], probe, deadline)
                if problem is not None:
                    failed = svc
                    break
        if problem is not None:
            if failed is not None:
                problem += self.last_words(new[failed])
            if len(services) > 1:
                problem = "%s%s; the new containers of %s were removed" % (
                    "%s: " % failed if failed else "", problem, ", ".join(services))
            # new[svc]: its new id, or the list of what started when the scale-up went wrong
            gone = [cid for svc in services
                    for cid in ([new[svc]] if isinstance(new.get(svc), str) else new.get(svc) or [])]
            if gone:
                self.run(["docker", "rm", "--force"] + gone)
            for svc in services:
                reports[svc]["total"] = round(self.clock() - start, 1)
            return problem, reports
        for svc in services:
            if old[svc]:
                self.progress("%s: draining the old container(s) %s" % (svc, ", ".join(cid[:12] for cid in old[svc])))
        drain_start = self.clock()
        for svc, note in self.drain(old, timeout).items():
            reports[svc]["drain"] = note
            reports[svc]["drained_in"] = round(self.clock() - drain_start, 1)
            reports[svc]["total"] = round(self.clock() - start, 1)
        return None, reports

    def _start(self, services):
        """``(old, new, problem)``: one ``up --scale`` starting a new container of each service beside its old
        ones; ``new[svc]`` is its new id, or the list of what started when that is not exactly one."""
        old, every = self.containers(services, every=True)
        for svc in services:
            stopped = [cid for cid in every[svc] if cid not in old[svc]]
            if stopped:
                # a stopped container serves nothing, and `up --no-recreate` would start it with its old configuration
                self.run(["docker", "rm", "--force"] + stopped)
        scales = [arg for svc in services for arg in ("--scale", "%s=%d" % (svc, len(old[svc]) + 1))]
        rc, out, err = self.compose("up", "--detach", "--no-deps", "--no-recreate", *scales, *services, check=False)
        now = self.containers(services)
        new = {svc: [cid for cid in now[svc] if cid not in old[svc]] for svc in services}
        names = ", ".join(services)
        if rc != 0:
            return old, new, "starting a new %s container beside the old one failed: %s" % (
                names, (err or out).strip()[-500:])
        for svc in services:
            if len(new[svc]) != 1:
                return old, new, "starting a new %s container beside the old one gave %d new containers" % (
                    svc, len(new[svc]))
        return old, {svc: ids[0] for svc, ids in new.items()}, None

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
        """Take the ``old`` containers (``{svc: [ids]}``) out of rotation together, then stop and remove them;
        ``{svc: what happened, as text}``."""
        notes = {svc: [] for svc in old}
        draining, wait = {}, 0.0  # cid -> svc
        for svc, cids in old.items():
            for cid in cids:
                rc, out, err = self.run(["docker", "exec", cid, "sh", "-c", "echo > %s" % DRAIN_MARKER])
                if rc != 0:
                    notes[svc].append("%s: no drain marker (%s); stopped at once"
                                      % (cid[:12], (err or out).strip()[-200:]))
                    continue
                _state, _ip, hc = self.state(cid)
                if not hc or hc.get("Test") in (None, ["NONE"]):
                    notes[svc].append("%s: no healthcheck to drain it; stopped at once" % cid[:12])
                    continue
                retries = int(hc.get("Retries") or 3)
                wait = max(wait, sum(float(hc.get(k) or 30e9) / 1e9 for k in ("Interval", "Timeout")) * (retries + 1))
                draining[cid] = svc
        waited = self.wait_health(list(draining), "unhealthy", self.clock() + min(timeout, wait + 5))
        for cid, svc in draining.items():
            problem = waited.get(cid, "the container %s never answered" % cid[:12])
            notes[svc].append("%s: %s" % (cid[:12], "unhealthy (out of rotation)" if problem is None
                                          else problem + ": its healthcheck ignores %s; stopped anyway" % DRAIN_MARKER))
        every = [cid for cids in old.values() for cid in cids]
        if every:
            self.sleep(SETTLE)
            self.run(["docker", "stop"] + every)
            self.run(["docker", "rm", "--force"] + every)
        return {svc: "; ".join(notes[svc]) if old[svc] else "nothing ran before" for svc in old}
