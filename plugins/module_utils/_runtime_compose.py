# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The runtime interface (``_runtime.Runtime``) on Docker Compose v2 and the Docker CLI.

The stop-first switch is ``docker compose up --detach --no-deps`` of the
changed services only (stop the old container, start the new one), then a
wait for the new containers' health that looks every STOP_FIRST_POLL seconds
(``_compose_switch.StartFirst.wait_health``; Compose's ``--wait`` looks every
half second, and the service serves nothing meanwhile); the start-first one
starts the new containers beside the old ones, all services at once, and
drains the old ones together (``_compose_switch``).
The restore is ``up --detach --no-deps --wait`` of the previous ones
(start-first again for a service whose old container is already gone), and
``rm --stop --force`` of services that ran nothing before.
"""

from __future__ import annotations

import json

from ansible_collections.aegee.deploy.plugins.module_utils._compose_cli import (
    Compose,
    ComposeCliError,
    diagnose,
    health_timeout,
)
from ansible_collections.aegee.deploy.plugins.module_utils._compose_switch import StartFirst
from ansible_collections.aegee.deploy.plugins.module_utils._runtime import Runtime

# how much of Compose's output a failed switch or restore keeps
OUTPUT_KEEP = 1500
# seconds between two looks at the health of a stop-first switch's new containers: nothing serves the service
# until they are healthy, so the wait looks often (one ``docker inspect`` a look)
STOP_FIRST_POLL = 0.1


def _parse_json_list(out):
    out = (out or "").strip()
    if not out:
        return []
    try:
        data = json.loads(out)
    except ValueError:
        data = [json.loads(line) for line in out.splitlines() if line.strip()]
    return data if isinstance(data, list) else [data]


class ComposeRuntime(Runtime):
    """The deploy repo's project on Docker Compose v2 (``docker compose -f ... -f ...``)."""

    def __init__(self, root, files, run, project=None):
        super().__init__(root, files, run, project=project)
        self.compose = Compose(root, self.files, run, project=self.project)
        self.start_first = StartFirst(self.compose, run, progress=self._tell, listing=self.quick_ps)
        self.replaced = set()  # start-first services whose old container is gone

    def _tell(self, text):
        self.progress(text)  # looked up at each call: the caller sets ``progress`` after construction

    def diagnose(self):
        return diagnose(self.run)

    def login(self, registry, username, password):
        rc, out, err = self.run(["docker", "login", "--username", username, "--password-stdin", registry],
                                data=password or "")
        if rc != 0:
            raise ComposeCliError("docker login to %s as %s failed: %s" % (registry, username, (err or out).strip()))

    def config(self):
        return self.compose.config()

    def ensure_networks(self, config):
        """Create the external networks the project declares and the engine lacks (as ``make start`` does)."""
        created = []
        for key, net in sorted((config.get("networks") or {}).items()):
            if not isinstance(net, dict) or not net.get("external"):
                continue
            name = net.get("name") or key
            rc, _out, _err = self.run(["docker", "network", "inspect", "--format", "{{.Name}}", name])
            if rc == 0:
                continue
            rc, out, err = self.run(["docker", "network", "create", name])
            if rc != 0:
                raise ComposeCliError("cannot create the external network %s: %s" % (name, (err or out).strip()))
            created.append(name)
        return created

    def start(self, services, timeout):
        rc, out, err = self.compose("up", "--detach", "--no-recreate", "--wait", "--wait-timeout", str(int(timeout)),
                                    *services, check=False)
        return None if rc == 0 else (err or out).strip()[-OUTPUT_KEEP:]

    def health_timeout(self, config, services):
        return max(health_timeout((config.get("services") or {}).get(s) or {}) for s in services)

    def pull(self, services, config=None):
        images = {svc: ((config or {}).get("services") or {}).get(svc, {}).get("image") or "" for svc in services}
        here = [svc for svc in services if "@sha256:" in images[svc]]
        if here:  # one look for all of them; if one is missing, all are pulled (compose skips what it has)
            rc, _out, _err = self.run(["docker", "image", "inspect", "--format", "{{.Id}}",
                                       *sorted({images[svc] for svc in here})])
            if rc != 0:
                here = []
        todo = [svc for svc in services if svc not in here]
        if todo:
            self.compose("pull", "--quiet", *todo)
        return todo

    def _up(self, services, timeout):
        rc, out, err = self.compose("up", "--detach", "--no-deps", "--wait", "--wait-timeout", str(int(timeout)),
                                    *services, check=False)
        return None if rc == 0 else (err or out).strip()[-OUTPUT_KEEP:]

    def _stop_first(self, services, timeout):
        """``up --detach --no-deps`` of ``services`` (each old container stops, its new one starts), then every new
        container waited for ``healthy``, the engine asked every STOP_FIRST_POLL seconds (Compose's own ``--wait``
        looks every half second); None, or why not (with the failed container's last words)."""
        deadline = self.start_first.clock() + timeout
        rc, out, err = self.compose("up", "--detach", "--no-deps", *services, check=False)
        if rc != 0:
            return (err or out).strip()[-OUTPUT_KEEP:]
        ids = self.start_first.containers(services, every=True)[1]  # in any state: one that exited fails
        missing = [svc for svc in services if not ids[svc]]
        if missing:
            return "docker compose up started no container of %s" % ", ".join(missing)
        owner = {cid: svc for svc in services for cid in ids[svc]}
        waited = self.start_first.wait_health(list(owner), "healthy", deadline, poll=STOP_FIRST_POLL)
        failed = next((cid for cid, why in waited.items() if why is not None), None)
        if failed is None:
            return None
        return "%s: %s%s" % (owner[failed], waited[failed], self.start_first.last_words(failed))

    def switch(self, services, timeout, modes=None, probe=None):
        modes = modes or {}
        stop_first = [s for s in services if modes.get(s) != "start-first"]
        if stop_first:
            self._tell("%s: stop-first, waiting up to %ds for the new container(s) to turn healthy"
                       % (", ".join(stop_first), timeout))
            start = self.start_first.clock()
            problem = self._stop_first(stop_first, timeout)
            for svc in stop_first:
                self.report[svc] = {"mode": "stop-first", "total": round(self.start_first.clock() - start, 1)}
            if problem is not None:
                return problem
        start_first = [s for s in services if s not in stop_first]
        if start_first:
            problem, reports = self.start_first.switch(start_first, timeout, probe)
            self.report.update(reports)
            if problem is not None:
                return problem
            self.replaced.update(start_first)
        return None

    def remove(self, services):
        self.compose("rm", "--stop", "--force", *services, check=False)

    def restore(self, services, timeout, modes=None):
        # a start-first service that failed before its drain still runs its old container, which the
        # restored files describe: `up` leaves it as it is; one whose old container is gone comes back start-first
        again = [s for s in services if s in self.replaced and (modes or {}).get(s) == "start-first"]
        rest = [s for s in services if s not in again]
        problem = self._up(rest, timeout) if rest else None
        if problem is None and again:
            problem = self.switch(again, timeout, modes)
        return problem

    def ps(self, services=()):
        return self.compose.ps(services)

    QUICK_LABELS = ("com.docker.compose.service", "com.docker.compose.oneoff", "com.docker.compose.project")

    def quick_ps(self):
        """``docker ps`` of the project's containers by label (Compose's ``ps`` parses every file first)."""
        if not self.project:
            return None  # the project's name would have to come from the files
        fmt = "\t".join(["{{.ID}}", "{{.State}}", "{{.Image}}"] + ['{{.Label "%s"}}' % k for k in self.QUICK_LABELS])
        rc, out, _err = self.run(["docker", "ps", "--all", "--no-trunc", "--filter",
                                  "label=com.docker.compose.project=%s" % self.project, "--format", fmt])
        if rc != 0:
            return None
        found = []
        for line in (out or "").splitlines():
            fields = line.split("\t")
            if len(fields) != 6:
                return None
            cid, state, image, service, oneoff, project = fields
            if project != self.project:
                return None
            if oneoff != "True":  # `compose run` containers are no part of the services
                found.append({"ID": cid, "State": state, "Image": image, "Service": service})
        return found

    def inspect(self, kind, ids):
        """One ``docker inspect`` (kind ``container``) or ``docker image inspect`` (``image``) of all ``ids``."""
        ids = sorted({i for i in ids if i})
        if not ids:
            return {}, None
        argv = ["docker", "inspect", "--type", "container"] if kind == "container" else ["docker", "image", "inspect"]
        rc, out, err = self.run(argv + ids, cwd=self.root)
        found, problem = {}, None
        try:
            objects = _parse_json_list(out)
        except ValueError:
            objects = []
            problem = "docker %s inspect printed no JSON: %s" % (kind, (out or err or "").strip()[:300])
        if rc != 0 and problem is None:
            # some ids vanished between ps and inspect: the others are still printed
            problem = "docker %s inspect: %s" % (kind, (err or out or "").strip()[:300])
        for obj in objects:
            if isinstance(obj, dict) and obj.get("Id"):
                found[obj["Id"]] = obj
        return found, problem

    def evidence(self, services):
        return self.compose.evidence(services)
