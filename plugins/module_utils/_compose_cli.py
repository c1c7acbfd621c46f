# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""Docker Compose v2 over one project made of many files.

The deploy repo's project is ``base-docker-compose.yml`` plus
``<service>/docker/docker-compose.yml`` for every service in
``ENABLED_SERVICES`` (colon separated), exactly as its ``make start`` builds
it. Commands run through a ``run(argv, cwd=None, data=None)`` callable
(``AnsibleModule.run_command`` in modules).

Why the CLI and not community.docker's compose module here: the whole deploy
transaction (pull before stop, up of the changed services only, health wait,
restore) runs inside one module call on the host, which is what keeps a CI
deploy within twice a hand-written script; community.docker's module would be
one more SSH round trip per step.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.aegee.deploy.plugins.module_utils._runtime import RuntimeFailure

DEFAULT_BASE_FILE = "base-docker-compose.yml"
DEFAULT_SERVICE_FILE = "{service}/docker/docker-compose.yml"

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ComposeCliError(RuntimeFailure):
    pass


def clean_output(text):
    """Compose output without the noise every old-style file causes (``version`` is obsolete)."""
    return "\n".join(
        line for line in (text or "").splitlines() if "the attribute `version` is obsolete" not in line
    ).strip()


def diagnose(run):
    """Why Docker Compose v2 cannot be used on this host, as an actionable sentence (None if it can)."""
    rc, out, err = run(["docker", "version", "--format", "{{.Server.Version}}"])
    if rc != 0:
        text = (err or out).strip()
        if "No such file" in text or "not found" in text or rc == 127:
            return "the docker CLI is not installed on this host: install Docker Engine"
        return "the Docker engine does not answer (%s): start it, and check that this user may use it" % text[-300:]
    rc, out, err = run(["docker", "compose", "version", "--short"])
    if rc == 0:
        return None
    rc1, out1, _err1 = run(["docker-compose", "version", "--short"])
    if rc1 == 0 and out1.strip().startswith("1."):
        return (
            "only Compose v1 (docker-compose %s) is installed; aegee.deploy needs Compose v2 (`docker compose`): "
            "install the docker-compose-plugin package (or the v2 binary as a CLI plugin)" % out1.strip()
        )
    return "Docker Compose v2 (`docker compose`) is not available: install the docker-compose-plugin package"


def parse_duration(value, default=0.0):
    """Seconds in a Go/Compose duration (``1m30s``, ``40s``) or a number of nanoseconds."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)):
        return float(value) / 1e9
    total, pos = 0.0, 0
    for m in _DURATION_RE.finditer(value):
        if m.start() != pos:
            return default
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total if pos == len(value) and pos else default


def project_files(root, env, base_file=DEFAULT_BASE_FILE, service_file=DEFAULT_SERVICE_FILE, files=None):
    """The compose files of the project, relative to ``root``, in order."""
    if files:
        names = list(files)
    else:
        enabled = [s for s in (env.get("ENABLED_SERVICES") or "").split(":") if s]
        if not enabled:
            raise ComposeCliError(
                "ENABLED_SERVICES is empty or missing in %s/.env: name the services to run, colon separated" % root
            )
        names = ([base_file] if base_file else []) + [service_file.format(service=s) for s in enabled]
    missing = [n for n in names if not os.path.isfile(os.path.join(root, n))]
    if missing:
        raise ComposeCliError("compose files missing in %s: %s" % (root, ", ".join(missing)))
    return names


def health_timeout(service_config, minimum=20.0, margin=10.0):
    """How long to wait for a service to be healthy, from its own healthcheck."""
    hc = service_config.get("healthcheck") or {}
    if not hc or hc.get("disable"):
        return minimum
    interval = parse_duration(hc.get("interval"), 30.0)
    timeout = parse_duration(hc.get("timeout"), 30.0)
    retries = int(hc.get("retries") or 3)
    start = parse_duration(hc.get("start_period"), 0.0)
    return max(minimum, start + (interval + timeout) * (retries + 1) + margin)


class Compose:
    def __init__(self, root, files, run, project=None):
        self.root = root
        self.files = files
        self._run = run
        self.project = project

    def argv(self, *args):
        cmd = ["docker", "compose", "--project-directory", self.root]
        if self.project:
            cmd += ["--project-name", self.project]
        for f in self.files:
            cmd += ["-f", os.path.join(self.root, f)]
        return cmd + list(args)

    def __call__(self, *args, check=True, data=None):
        rc, out, err = self._run(self.argv(*args), cwd=self.root, data=data)
        err = clean_output(err)
        if check and rc != 0:
            raise ComposeCliError("docker compose %s failed: %s" % (" ".join(args), (err or out).strip()[-2000:]))
        return rc, out, err

    def config(self):
        """The project's resolved configuration (validates every file)."""
        _rc, out, _err = self("config", "--format", "json")
        try:
            return json.loads(out)
        except ValueError:
            raise ComposeCliError("docker compose config did not print JSON: %s" % out[:500]) from None

    def ps(self, services=()):
        """One dict per container (all states) of the project."""
        _rc, out, _err = self("ps", "--all", "--no-trunc", "--format", "json", *services)
        out = out.strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def evidence(self, services):
        """compose ps, the health log and the last log lines of ``services``, as text."""
        parts = []
        _rc, table, err = self("ps", "--all", *services, check=False)
        parts.append("$ docker compose ps %s\n%s" % (" ".join(services), (table or err).rstrip()))
        for c in self.ps(services) if services else []:
            rc, health, _err = self._run(
                ["docker", "inspect", "--format", "{{json .State.Health}}", c.get("ID", "")], cwd=self.root
            )
            if rc == 0 and health.strip() not in ("", "null", "<nil>"):
                try:
                    log = json.loads(health).get("Log") or []
                    lines = [
                        "  %s exit %s: %s" % (e.get("End", "")[:19], e.get("ExitCode"), (e.get("Output") or "").strip())
                        for e in log[-5:]
                    ]
                    parts.append("health log of %s (%s):\n%s" % (c.get("Name"), json.loads(health).get("Status"),
                                                                 "\n".join(lines)))
                except ValueError:
                    pass
        _rc, logs, _err = self("logs", "--no-color", "--tail", "20", *services, check=False)
        parts.append("$ docker compose logs --tail 20 %s\n%s" % (" ".join(services), logs.rstrip()))
        return "\n".join(parts)
